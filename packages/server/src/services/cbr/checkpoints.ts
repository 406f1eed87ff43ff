import { randomBytes, randomUUID } from 'node:crypto';
import type { AuthContext } from '../../domain/auth-context.js';
import { parseStoredTime, storedTime } from '../../domain/time.js';
import type { Tx } from '../../store/database.js';
import type { CbrBackupTable, CbrCheckpointTable, CbrPolicyTable } from '../../store/schema.js';
import { UUID_RE } from '../block-storage/core.js';
import { type CbrContext, DISK_TYPE, jsonParse } from './context.js';
import { checkpointNotFound, invalid, refused } from './errors.js';
import type { OperationLogs } from './oplogs.js';
import { parseRetention } from './retention.js';

export interface SkippedResource {
  id: string;
  type: string;
  name: string;
  code: string;
  reason: string;
}

export interface CheckpointRecord {
  row: CbrCheckpointTable;
  vaultName: string;
  backups: CbrBackupTable[];
  skipped: SkippedResource[];
}

export interface CheckpointParams {
  auto_trigger?: unknown;
  description?: unknown;
  incremental?: unknown;
  name?: unknown;
  resources?: unknown;
  resource_details?: unknown;
}

/** How a scheduled run came about, for its operation logs. */
export interface ScheduleInfo {
  policy: CbrPolicyTable;
  scheduledAt: string;
  late: boolean;
  missedRuns: number;
}

export interface CbrBackupPayload {
  logId: string;
  volumeId: string;
  /** Status the volume returns to once its snapshot is taken. */
  previousStatus: string;
}

const BACKUP_NAME_RE = /^[\p{L}\p{N}_-]{1,64}$/u;

function selectedIds(p: CheckpointParams): string[] | null {
  const ids: string[] = [];
  if (p.resources !== undefined && p.resources !== null) {
    if (!Array.isArray(p.resources) || p.resources.some((r) => typeof r !== 'string'))
      throw invalid('parameters.resources must be a list of resource ids.');
    ids.push(...(p.resources as string[]));
  }
  if (p.resource_details !== undefined && p.resource_details !== null) {
    const details = Array.isArray(p.resource_details) ? p.resource_details : [p.resource_details];
    if (details.length > 256) throw invalid('parameters.resource_details takes at most 256 resources.');
    for (const d of details) {
      if (d === null || typeof d !== 'object' || typeof (d as { id?: unknown }).id !== 'string')
        throw invalid('parameters.resource_details[].id is required.');
      const type = (d as { type?: unknown }).type;
      if (type !== undefined && type !== DISK_TYPE) throw refused('6102', `Resource type ${String(type)} cannot be backed up here.`);
      ids.push((d as { id: string }).id);
    }
  }
  return ids.length === 0 && p.resources === undefined && p.resource_details === undefined ? null : [...new Set(ids)];
}

/** Checkpoints (restore points): one backup per selected vault resource, each from a driver snapshot, all in parallel. */
export class CheckpointService {
  constructor(
    private readonly c: CbrContext,
    private readonly oplogs: OperationLogs,
  ) {}

  async get(ctx: AuthContext, id: string): Promise<CheckpointRecord> {
    const projectId = this.c.project(ctx);
    const row = UUID_RE.test(id)
      ? await this.c.db.selectFrom('cbr_checkpoints').selectAll().where('id', '=', id).where('project_id', '=', projectId).executeTakeFirst()
      : undefined;
    if (!row) throw checkpointNotFound(id);
    return this.record(row);
  }

  private async record(row: CbrCheckpointTable): Promise<CheckpointRecord> {
    const [vault, backups] = await Promise.all([
      this.c.db.selectFrom('cbr_vaults').select('name').where('id', '=', row.vault_id).executeTakeFirst(),
      this.c.db.selectFrom('cbr_backups').selectAll().where('checkpoint_id', '=', row.id).orderBy('resource_name').execute(),
    ]);
    return { row, vaultName: vault?.name ?? '', backups, skipped: jsonParse<SkippedResource[]>(row.skipped, []) };
  }

  async create(ctx: AuthContext, input: { vault_id?: unknown; parameters?: unknown }): Promise<CheckpointRecord> {
    const projectId = this.c.project(ctx);
    if (typeof input.vault_id !== 'string') throw invalid('vault_id is required.');
    const params = (input.parameters ?? {}) as CheckpointParams;
    if (params === null || typeof params !== 'object' || Array.isArray(params)) throw invalid('parameters must be an object.');
    const vaultId = input.vault_id;
    const row = await this.c.core.inTx((tx, enqueue) => this.createTx(tx, enqueue, projectId, vaultId, params, null));
    return this.record(row);
  }

  /**
   * Records a checkpoint and its backups inside `tx` and enqueues one task per backup. Each selected volume is
   * claimed (available|in-use → backing-up) here so no other backup or restore starts on it; the task gives it
   * back as soon as its snapshot exists. Resources that cannot be backed up now are skipped, with a code.
   */
  async createTx(
    tx: Tx,
    enqueue: (kind: string, resourceType: string, resourceId: string, payload: unknown) => Promise<void>,
    projectId: string,
    vaultId: string,
    params: CheckpointParams,
    schedule: ScheduleInfo | null,
  ): Promise<CbrCheckpointTable> {
    const v = await this.c.vault(tx, projectId, vaultId);
    if (v.status !== 'available') throw refused('6113', `Vault ${vaultId} is ${v.status}: no backup can be made in it.`);
    const auto = schedule !== null || params.auto_trigger === true;
    if (params.auto_trigger !== undefined && typeof params.auto_trigger !== 'boolean') throw invalid('parameters.auto_trigger must be a boolean.');
    if (params.incremental !== undefined && typeof params.incremental !== 'boolean') throw invalid('parameters.incremental must be a boolean.');
    const incremental = params.incremental !== false;
    if (params.description !== undefined && params.description !== null && (typeof params.description !== 'string' || params.description.length > 255))
      throw invalid('parameters.description is at most 255 characters.');
    const description = (params.description as string | undefined | null) ?? '';
    let name: string;
    if (params.name !== undefined && params.name !== null) {
      if (typeof params.name !== 'string' || !BACKUP_NAME_RE.test(params.name))
        throw invalid('parameters.name must be 1-64 characters: letters, digits, underscores and hyphens.');
      name = params.name;
    } else {
      name = `${auto ? 'autobk' : 'manualbk'}_${randomBytes(2).toString('hex')}`;
    }
    const all = await tx.selectFrom('cbr_vault_resources').selectAll().where('vault_id', '=', v.id).orderBy('created_at').execute();
    const wanted = selectedIds(params);
    if (wanted !== null)
      for (const id of wanted)
        if (!all.some((r) => r.resource_id === id)) throw refused('6135', `Resource ${id} is not associated with vault ${v.id}.`);
    const chosen = wanted === null ? all : all.filter((r) => wanted.includes(r.resource_id));
    if (chosen.length === 0) throw refused('0001', `Vault ${v.id} has no resource to back up.`);
    const used = await this.c.usedBytes(tx, v.id);
    if (used >= this.c.capacityBytes(v))
      throw refused('6114', `Vault ${v.id} is full (${this.c.toMb(used)} MB used of ${v.size} GB); expand it or delete backups.`);

    const retention = schedule ? parseRetention(jsonParse(schedule.policy.operation_definition, {})) : null;
    const retentionDays = retention?.retention_duration_days ?? -1;
    const now = this.c.now();
    const checkpointId = randomUUID();
    const skipped: SkippedResource[] = [];
    const backups: { row: CbrBackupTable; payload: Omit<CbrBackupPayload, 'logId'> }[] = [];
    for (const r of chosen) {
      const skip = (code: string, reason: string) =>
        skipped.push({ id: r.resource_id, type: r.type, name: r.name, code: `BackupService.${code}`, reason });
      const vol = await tx.selectFrom('volumes').selectAll().where('id', '=', r.resource_id).executeTakeFirst();
      if (!vol) {
        skip('7000', 'The disk no longer exists.');
        continue;
      }
      if (r.protect_status === 'protecting' || vol.status === 'backing-up') {
        skip('6125', 'The resource is already being backed up.');
        continue;
      }
      if (r.protect_status === 'restoring' || vol.status === 'restoring-backup') {
        skip('2010', 'The resource is being restored.');
        continue;
      }
      if (vol.status !== 'available' && vol.status !== 'in-use') {
        skip('7003', `The disk is ${vol.status}; only available or in-use disks can be backed up.`);
        continue;
      }
      const claimed = await tx
        .updateTable('volumes')
        .set({ status: 'backing-up', previous_status: vol.status, updated_at: now })
        .where('id', '=', vol.id)
        .where('status', '=', vol.status)
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) === 0) {
        skip('6125', 'The disk changed status while the backup was requested.');
        continue;
      }
      await tx
        .updateTable('cbr_vault_resources')
        .set({ protect_status: 'protecting', name: vol.name ?? r.name })
        .where('resource_id', '=', r.resource_id)
        .execute();
      const parent = incremental
        ? await tx
            .selectFrom('cbr_backups')
            .select('locator')
            .where('vault_id', '=', v.id)
            .where('resource_id', '=', r.resource_id)
            .where('status', 'in', ['available', 'restoring'])
            .where('locator', 'is not', null)
            .orderBy('created_at', 'desc')
            .orderBy('id', 'desc')
            .limit(1)
            .executeTakeFirst()
        : undefined;
      const created = parseStoredTime(now);
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
          auto_trigger: auto ? 1 : 0,
          incremental: parent?.locator ? 1 : 0,
          bootable: vol.bootable,
          driver: vol.driver,
          snapshot_id: randomUUID(),
          parent_locator: parent?.locator ?? null,
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
        },
        payload: { volumeId: vol.id, previousStatus: vol.status },
      });
    }
    const row: CbrCheckpointTable = {
      id: checkpointId,
      project_id: projectId,
      vault_id: v.id,
      // Nothing could be backed up: the checkpoint fails at once and says why in skipped_resources.
      status: backups.length === 0 ? 'error' : 'protecting',
      name,
      description,
      incremental: incremental ? 1 : 0,
      auto_trigger: auto ? 1 : 0,
      policy_id: schedule?.policy.id ?? null,
      retention_duration: retentionDays,
      skipped: JSON.stringify(skipped),
      created_at: now,
      updated_at: null,
    };
    await tx.insertInto('cbr_checkpoints').values(row).execute();
    const scheduleExtra = schedule
      ? { schedule: { scheduled_at: schedule.scheduledAt, late: schedule.late, missed_runs: schedule.missedRuns } }
      : {};
    for (const b of backups) {
      await tx.insertInto('cbr_backups').values(b.row).execute();
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
      await enqueue('cbr.backup', 'cbr_backup', b.row.id, payload);
    }
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
