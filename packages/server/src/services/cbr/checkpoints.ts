import { randomBytes, randomUUID } from 'node:crypto';
import type { cbrContract } from '@cinderbox/api-schema';
import type { AuthContext } from '../../domain/auth-context.js';
import {
  type CbrBackup,
  cbrDiskLifecycle,
  type Checkpoint,
  type Policy,
  type SkippedResource,
  vaultLifecycle,
  vaultResourceLifecycle,
} from '../../domain/cbr.js';
import { allows, ensureAllowed, fromStatuses, refusal } from '../../domain/lifecycle.js';
import type { Scope } from '../../domain/ports/metadata-store.js';
import { parseStoredTime, storedTime } from '../../domain/time.js';
import { lockedUntilFor } from '../../domain/immutability.js';
import { type CbrContext, DISK_TYPE, type Enqueue, UUID_RE } from './context.js';
import { checkpointNotFound, refused, transit, vaultNotFound } from './errors.js';
import type { OperationLogs } from './oplogs.js';
import { parseRetention } from './retention.js';
import { nodesOfLocalVolumes } from '../service-hosts.js';

export type { SkippedResource };

export interface CheckpointRecord {
  checkpoint: Checkpoint;
  vaultName: string;
  backups: CbrBackup[];
}

/** A checkpoint's `parameters`, checked against the contract (api/cbr/validation.ts) or built by the scheduler. */
export type CheckpointParams = cbrContract.CheckpointParameters;

/** How a scheduled run came about, for its operation logs. */
export interface ScheduleInfo {
  policy: Policy;
  scheduledAt: string;
  late: boolean;
  missedRuns: number;
}

export interface CbrBackupPayload {
  logId: string;
  volumeId: string;
  /** Status the volume returns to once its snapshot is taken. */
  previousStatus: string;
  /** The snapshot was taken by the checkpoint's freeze (with the other disks'): the task only reads it. */
  frozen?: boolean;
}

/** The freeze of a checkpoint of several disks: every backup's snapshot at one point in time. */
export interface CbrFreezePayload {
  backups: (CbrBackupPayload & { backupId: string })[];
}

function selectedIds(p: CheckpointParams): string[] | null {
  const ids: string[] = [];
  if (p.resources !== undefined && p.resources !== null) ids.push(...p.resources);
  if (p.resource_details !== undefined && p.resource_details !== null) {
    const details = Array.isArray(p.resource_details) ? p.resource_details : [p.resource_details];
    for (const d of details) {
      if (d.type !== undefined && d.type !== DISK_TYPE) throw refused('6102', `Resource type ${d.type} cannot be backed up here.`);
      ids.push(d.id);
    }
  }
  return ids.length === 0 && p.resources === undefined && p.resource_details === undefined ? null : [...new Set(ids)];
}

/**
 * Checkpoints (restore points): one backup per selected vault resource, each from a driver snapshot, all in
 * parallel. The snapshots of a checkpoint of several disks are taken together behind the disks' write gates
 * (block-storage/write-gates.ts) while every disk is claimed, and only then are the disks given back: all of a
 * checkpoint's backups hold the disks as they were at one point in time, as a Cinder group snapshot does.
 */
export class CheckpointService {
  constructor(
    private readonly c: CbrContext,
    private readonly oplogs: OperationLogs,
  ) {}

  async get(ctx: AuthContext, id: string): Promise<CheckpointRecord> {
    const projectId = this.c.project(ctx);
    const checkpoint = UUID_RE.test(id) ? await this.c.stores.checkpoints.get(this.c.root, projectId, id) : undefined;
    if (!checkpoint) throw checkpointNotFound(id);
    return this.record(checkpoint);
  }

  private async record(checkpoint: Checkpoint): Promise<CheckpointRecord> {
    const [vault, backups] = await Promise.all([
      this.c.stores.vaults.byId(this.c.root, checkpoint.vault_id),
      this.c.stores.backups.ofCheckpoint(this.c.root, checkpoint.id),
    ]);
    return { checkpoint, vaultName: vault?.name ?? '', backups };
  }

  async create(ctx: AuthContext, input: cbrContract.CheckpointCreate): Promise<CheckpointRecord> {
    const projectId = this.c.project(ctx);
    const params = input.parameters ?? {};
    const vaultId = input.vault_id;
    // Uploads in flight through the data API finish before the disks are claimed (rather than make their disk
    // skipped as `uploading`); once claimed, a disk takes no upload until the checkpoint's freeze gives it back.
    const vault = UUID_RE.test(vaultId) ? await this.c.stores.vaults.get(this.c.root, projectId, vaultId) : undefined;
    const disks = vault ? (await this.c.stores.vaults.resources(this.c.root, [vault.id])).map((r) => r.resource_id) : [];
    const row = await this.c.core.writeGates.holdAcrossNodes(disks, () =>
      this.c.inTx((tx, enqueue) => this.createTx(tx, enqueue, projectId, vaultId, params, null)),
    );
    return this.record(row);
  }

  /**
   * Records a checkpoint and its backups inside `tx` and enqueues one task per backup. Each selected volume is
   * claimed (available|in-use → backing-up) here so no other backup or restore starts on it; the task gives it
   * back as soon as its snapshot exists. Resources that cannot be backed up now are skipped, with a code.
   */
  async createTx(
    tx: Scope,
    enqueue: Enqueue,
    projectId: string,
    vaultId: string,
    params: CheckpointParams,
    schedule: ScheduleInfo | null,
  ): Promise<Checkpoint> {
    const v = await this.c.vault(tx, projectId, vaultId);
    ensureAllowed(vaultLifecycle, 'backup', v);
    // A guarded touch of the vault row: it locks the row against a racing delete (which moves it first and
    // checks for busy backups after) and loses if the delete got there first.
    await transit(vaultLifecycle, 'backup', v.id, vaultNotFound(v.id), (from, to) =>
      this.c.stores.vaults.transition(tx, v.id, from, to, { updated_at: v.updated_at }),
    );
    const auto = schedule !== null || params.auto_trigger === true;
    const incremental = params.incremental !== false;
    const description = params.description ?? '';
    const name = params.name ?? `${auto ? 'autobk' : 'manualbk'}_${randomBytes(2).toString('hex')}`;
    const all = await this.c.stores.vaults.resources(tx, [v.id]);
    const wanted = selectedIds(params);
    if (wanted !== null)
      for (const id of wanted)
        if (!all.some((r) => r.resource_id === id)) throw refused('6135', `Resource ${id} is not associated with vault ${v.id}.`);
    const chosen = wanted === null ? all : all.filter((r) => wanted.includes(r.resource_id));
    if (chosen.length === 0) throw refused('0001', `Vault ${v.id} has no resource to back up.`);
    const core = this.c.core;
    if (chosen.length > 1 && core.deps.config.database.kind === 'postgres') {
      // Several disks are frozen at one point in time behind write gates, which live in one node's process;
      // another node's local files are out of that node's reach. Refused before any disk is claimed.
      const vols = await Promise.all(chosen.map((r) => core.volumeRow(tx, r.resource_id)));
      const nodes = nodesOfLocalVolumes(
        vols.filter((x): x is NonNullable<typeof x> => !!x),
        core.deps.config.backends,
      );
      if (nodes.length > 1)
        throw refused(
          '6116',
          `The disks of vault ${v.id} are on the local backends of several nodes (${nodes.join(', ')}); a checkpoint of several disks needs their local disks on one node (disks on a shared backend such as RBD may join them), since one node takes all the snapshots and another node's local files are out of its reach. Back the disks up one at a time (parameters.resources), or keep one node's local disks per vault.`,
        );
    }
    const used = await this.c.usedBytes(tx, v.id);
    // An auto_expand vault grows when a backup commits (tasks.ts) instead of refusing here.
    if (used >= this.c.capacityBytes(v) && !v.auto_expand)
      throw refused('6114', `Vault ${v.id} is full (${this.c.toMb(used)} MB used of ${v.size} GB); expand it or delete backups.`);

    const retention = schedule ? parseRetention(schedule.policy.operation_definition) : null;
    const retentionDays = retention?.retention_duration_days ?? -1;
    const now = this.c.now();
    const checkpointId = randomUUID();
    const skipped: SkippedResource[] = [];
    const backups: { row: CbrBackup; payload: Omit<CbrBackupPayload, 'logId'> }[] = [];
    for (const r of chosen) {
      const skip = (code: string, reason: string) =>
        skipped.push({ id: r.resource_id, type: r.type, name: r.name, code: `BackupService.${code}`, reason });
      // A refusal of the resource's or the disk's gate skips the resource, with that refusal's code and words.
      const skipFor = (e: { code: string | undefined; message: string }) => skip(e.code!.replace('BackupService.', ''), e.message);
      const vol = await this.c.disks.get(tx, r.resource_id);
      if (!vol) {
        skip('7000', 'The disk no longer exists.');
        continue;
      }
      const resourceSubject = { id: r.resource_id, status: r.protect_status };
      // A disk busy with a backup or restore is reported as such even when the resource row has not caught up.
      if (!allows(cbrDiskLifecycle, 'backup', vol.status) && ['backing-up', 'restoring-backup'].includes(vol.status)) {
        skipFor(refusal(cbrDiskLifecycle, 'backup', vol));
        continue;
      }
      if (!allows(vaultResourceLifecycle, 'protect', r.protect_status)) {
        skipFor(refusal(vaultResourceLifecycle, 'protect', resourceSubject));
        continue;
      }
      if (!allows(cbrDiskLifecycle, 'backup', vol.status)) {
        skipFor(refusal(cbrDiskLifecycle, 'backup', vol));
        continue;
      }
      // Both gates are claimed with guarded updates: a racing backup or restore makes this one skip, not double up.
      const protecting = await this.c.stores.vaults.setProtectStatus(
        tx,
        r.resource_id,
        fromStatuses(vaultResourceLifecycle, 'protect'),
        vaultResourceLifecycle.actions.protect.to!,
        vol.name ?? r.name,
      );
      if (!protecting) {
        skip('6125', 'The resource changed status while the backup was requested.');
        continue;
      }
      const claimed = await this.c.disks.transition(tx, vol.id, [vol.status], cbrDiskLifecycle.actions.backup.to!, {
        previous_status: vol.status,
      });
      if (!claimed.ok) {
        await this.c.stores.vaults.setProtectStatus(tx, r.resource_id, ['protecting'], r.protect_status, r.name);
        skip('6125', 'The disk changed status while the backup was requested.');
        continue;
      }
      const parentLocator = incremental ? await this.c.stores.backups.latestLocator(tx, v.id, r.resource_id) : null;
      const created = parseStoredTime(now);
      const snapshotId = randomUUID();
      backups.push({
        row: {
          id: randomUUID(),
          project_id: projectId,
          vault_id: v.id,
          checkpoint_id: checkpointId,
          policy_id: schedule?.policy.id ?? null,
          name,
          description,
          resource_id: vol.id,
          resource_name: vol.name ?? '',
          resource_type: DISK_TYPE,
          resource_az: vol.availability_zone,
          resource_size: vol.size,
          image_type: 'backup',
          status: 'protecting',
          auto_trigger: auto,
          incremental: parentLocator !== null,
          bootable: vol.bootable,
          driver: vol.driver,
          snapshot_id: snapshotId,
          parent_locator: parentLocator,
          locator: null,
          stored_bytes: 0,
          data_bytes: 0,
          new_chunks: 0,
          progress: 0,
          fail_code: null,
          fail_reason: null,
          expired_at: retentionDays > 0 ? storedTime(new Date(created.getTime() + retentionDays * 86_400_000)) : null,
          protected_at: null,
          created_at: now,
          updated_at: null,
          // Kept as the next backup's base where snapshots share blocks (elsewhere a base would be a full copy of
          // the disk); named before the snapshot exists, so a failure or a crash always knows what to remove.
          cbt_base_id: this.c.core.driver(vol.driver).capabilities.cheapSnapshots ? snapshotId : null,
          cbt_base_usable: false,
          backup_target: v.backup_target,
          locked_until: lockedUntilFor(now, v.lock_days, this.c.targets.info(v.backup_target)?.lockDays),
        },
        payload: { volumeId: vol.id, previousStatus: vol.status },
      });
    }
    const row: Checkpoint = {
      id: checkpointId,
      project_id: projectId,
      vault_id: v.id,
      // Nothing could be backed up: the checkpoint fails at once and says why in skipped_resources.
      status: backups.length === 0 ? 'error' : 'protecting',
      name,
      description,
      incremental,
      auto_trigger: auto,
      policy_id: schedule?.policy.id ?? null,
      retention_duration: retentionDays,
      skipped,
      created_at: now,
      updated_at: null,
    };
    await this.c.stores.checkpoints.insert(tx, row);
    const scheduleExtra = schedule
      ? { schedule: { scheduled_at: schedule.scheduledAt, late: schedule.late, missed_runs: schedule.missedRuns } }
      : {};
    const freeze: CbrFreezePayload = { backups: [] };
    for (const b of backups) {
      await this.c.stores.backups.insert(tx, b.row);
      const logId = await this.oplogs.record(tx, {
        projectId,
        operationType: 'backup',
        status: 'waiting',
        checkpointId,
        policyId: b.row.policy_id,
        vaultId: v.id,
        vaultName: v.name,
        resource: { id: b.row.resource_id, name: b.row.resource_name, type: DISK_TYPE },
        extra: {
          backup: { backup_id: b.row.id, backup_name: name, incremental: b.row.incremental ? 'true' : 'false' },
          ...scheduleExtra,
        },
      });
      const payload: CbrBackupPayload = { logId, ...b.payload };
      if (backups.length > 1) freeze.backups.push({ ...payload, backupId: b.row.id });
      else await enqueue('cbr.backup', 'cbr_backup', b.row.id, payload);
    }
    // Several disks: one task freezes them all at one point in time (tasks.ts), then starts their backups.
    if (freeze.backups.length > 0) await enqueue('cbr.freeze', 'cbr_checkpoint', checkpointId, freeze);
    for (const s of skipped) {
      await this.oplogs.record(tx, {
        projectId,
        operationType: 'backup',
        status: 'skipped',
        checkpointId,
        policyId: schedule?.policy.id ?? null,
        vaultId: v.id,
        vaultName: v.name,
        resource: { id: s.id, name: s.name, type: s.type },
        extra: scheduleExtra,
        error: { code: s.code, message: s.reason },
      });
    }
    return row;
  }
}
