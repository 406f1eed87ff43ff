/**
 * CBR replication between regions. A region is a configured backup target (`serve --region NAME=TARGET`); a
 * replica is a CBR backup (`image_type: replication`) in a vault of the destination region, made by a durable
 * task that copies the source backup's manifest and only the chunks the destination repository lacks
 * (BackupStore.copyTo). The replica is a complete backup on its own: it restores with the source target gone.
 */
import { tmpdir } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { cbrContract } from '@cinderbox/api-schema';
import type { AuthContext } from '../../domain/auth-context.js';
import { type CbrBackup, cbrBackupLifecycle, type Checkpoint, checkpointLifecycle, vaultLifecycle } from '../../domain/cbr.js';
import { failureReport } from '../../domain/errors.js';
import { isLocked, lockedUntilFor } from '../../domain/immutability.js';
import { ensureAllowed, fromStatuses } from '../../domain/lifecycle.js';
import type { Scope } from '../../domain/ports/metadata-store.js';
import type { TaskHandler } from '../../domain/ports/task-queue.js';
import { parseStoredTime } from '../../domain/time.js';
import { type CbrContext, DISK_PROVIDER_ID, type Enqueue, UUID_RE } from './context.js';
import { startDeleteTx } from './deletion.js';
import { backupNotFound, invalid, refused, transit, vaultNotFound } from './errors.js';
import type { OperationLogs } from './oplogs.js';
import { expiredPerResource, parseRetention } from './retention.js';
import { expandToFit } from './vaults.js';

/** A region as configured: its name and the backup target its vaults are on. */
export interface Region {
  name: string;
  target: string;
}

export interface ReplicatePayload {
  logId: string;
}

export interface BackupReplication {
  backup_id: string;
  destination_project_id: string;
  destination_region: string;
  destination_vault_id: string;
  project_id: string;
  provider_id: string;
  replication_record_id: string;
  source_region: string;
}

export interface CheckpointReplication {
  backups: { backup_id: string; replication_record_id: string }[];
  destination_project_id: string;
  destination_region: string;
  destination_vault_id: string;
  project_id: string;
  provider_id: string;
  source_region: string;
  vault_id: string;
}

/** Where a replication goes, as a request (checked against the contract) or a policy's scheduled run names it. */
type DestinationInput = Pick<cbrContract.CheckpointReplicate, 'destination_region' | 'destination_project_id' | 'destination_vault_id'>;

/** Where a replication goes, checked against the caller and the regions. */
interface Destination {
  projectId: string;
  region: Region;
  vaultId: string;
}

/** A replication record as the API shows it, on the source backup and on the replica (`replication_records`). */
export function replicationRecord(r: CbrBackup): cbrContract.ReplicationRecord {
  const status = r.status === 'available' ? 'available' : r.status === 'protecting' ? 'replicating' : r.status === 'error' ? 'failed' : r.status;
  return {
    id: r.replication_record_id ?? null,
    created_at: r.created_at,
    updated_at: r.updated_at ?? r.created_at,
    status,
    project_id: r.source_project_id ?? null,
    vault_id: r.source_vault_id ?? null,
    source_backup_id: r.source_backup_id ?? null,
    source_checkpoint_id: r.source_checkpoint_id ?? null,
    source_project_id: r.source_project_id ?? null,
    source_region: r.source_region ?? null,
    destination_backup_id: r.id,
    destination_checkpoint_id: r.checkpoint_id,
    destination_project_id: r.project_id,
    destination_region: r.destination_region ?? null,
    destination_vault_id: r.vault_id,
    extra_info: {
      progress: r.status === 'available' ? 100 : r.progress,
      fail_code: r.fail_code ?? '',
      fail_reason: r.fail_reason ?? '',
      // cinderbox: what the copy added to the destination repository (chunks it already had are not written).
      new_chunks: r.new_chunks,
      stored_bytes: r.stored_bytes,
    },
  };
}

export class ReplicationService {
  constructor(
    private readonly c: CbrContext,
    private readonly oplogs: OperationLogs,
    private readonly regions: readonly Region[],
  ) {}

  /** Whether any region is configured (`serve --region`): without, nothing can be replicated anywhere. */
  get enabled(): boolean {
    return this.regions.length > 0;
  }

  /** `GET /replication-capabilities`: every region and the regions its backups can be replicated to. */
  capabilities(): { regions: { name: string; replication_destinations: string[] }[] } {
    return {
      regions: this.regions.map((r) => ({
        name: r.name,
        replication_destinations: this.regions.filter((o) => o.target !== r.target).map((o) => o.name),
      })),
    };
  }

  /** The region a backup is in: the first region on its target, or the target's own name. */
  regionOf(target: string): string {
    return this.regions.find((r) => r.target === target)?.name ?? target;
  }

  private async destination(tx: Scope, projectId: string, input: DestinationInput, sourceTarget: string): Promise<Destination> {
    if (this.regions.length === 0) throw refused('6116', 'Replication is not configured on this cloud (serve --region NAME=TARGET).');
    const regionName = input.destination_region;
    const region = this.regions.find((r) => r.name === regionName);
    if (!region) {
      throw invalid(`destination_region ${JSON.stringify(regionName)} is not a region of this cloud (regions: ${this.regions.map((r) => r.name).join(', ')}).`);
    }
    if (region.target === sourceTarget) throw invalid(`The backup is already in region ${regionName}; replicate it to another region.`);
    const destProject = input.destination_project_id;
    // One Keystone serves every region here, so the destination project is the caller's own.
    if (destProject !== projectId) throw invalid('destination_project_id must be the project of the request (every region shares its projects).');
    const vaultId = input.destination_vault_id;
    const vault = await this.c.vault(tx, projectId, vaultId);
    if (vault.backup_target !== region.target)
      throw invalid(`Vault ${vault.id} is not in region ${regionName} (its backups go to target ${vault.backup_target}).`);
    ensureAllowed(vaultLifecycle, 'backup', vault);
    // Holds the vault row against a racing delete, as a checkpoint does.
    await transit(vaultLifecycle, 'backup', vault.id, vaultNotFound(vault.id), (from, to) =>
      this.c.stores.vaults.transition(tx, vault.id, from, to, { updated_at: vault.updated_at }),
    );
    return { projectId: destProject, region, vaultId: vault.id };
  }

  private replicable(b: CbrBackup): void {
    if (b.image_type === 'replication') throw refused('6216', `Backup ${b.id} is itself a replica; replicate its source.`);
    if (b.status !== 'available' || b.locator === null)
      throw refused('6216', `Backup ${b.id} is ${b.status}; only available backups can be replicated.`);
  }

  /** The destination checkpoint the replicas of one request belong to. */
  private async checkpoint(
    tx: Scope,
    dest: Destination,
    name: string,
    description: string,
    incremental: boolean,
    auto: boolean,
    policyId: string | null = null,
  ): Promise<string> {
    const row: Checkpoint = {
      id: randomUUID(),
      project_id: dest.projectId,
      vault_id: dest.vaultId,
      status: 'protecting',
      name,
      description,
      incremental,
      auto_trigger: auto,
      // A replication policy's run: its retention applies to the replicas once the restore point ends (settle).
      policy_id: policyId,
      retention_duration: -1,
      skipped: [],
      created_at: this.c.now(),
      updated_at: null,
    };
    await this.c.stores.checkpoints.insert(tx, row);
    return row.id;
  }

  /** Records the replica (protecting), its operation log in the source project and the copy task. */
  private async startTx(
    tx: Scope,
    enqueue: Enqueue,
    src: CbrBackup,
    dest: Destination,
    checkpointId: string,
    naming: { name: string; description: string; auto: boolean; policyId?: string | null },
  ): Promise<CbrBackup> {
    // A guarded touch of the source row: it orders this transaction with a racing delete (deletion.ts refuses to
    // delete a backup that has a replica being copied, and this refuses a source already being deleted).
    const held = await this.c.stores.backups.transition(tx, src.id, ['available'], null, { updated_at: src.updated_at });
    if (!held.ok) throw refused('6216', `Backup ${src.id} is ${held.reason === 'gone' ? 'gone' : held.status}; only available backups can be replicated.`);
    const sourceVault = await this.c.stores.vaults.byId(tx, src.vault_id);
    const destVault = await this.c.stores.vaults.byId(tx, dest.vaultId);
    const now = this.c.now();
    // Immutable as long as its source, and as the destination vault or target locks what it holds (the longer).
    const destLock = lockedUntilFor(now, destVault?.lock_days, this.c.targets.info(dest.region.target)?.lockDays);
    const lockedUntil = [src.locked_until, destLock].reduce<string | null>((a, b) => (b !== null && (a === null || b > a) ? b : a), null);
    const replica: CbrBackup = {
      ...src,
      id: randomUUID(),
      project_id: dest.projectId,
      vault_id: dest.vaultId,
      checkpoint_id: checkpointId,
      policy_id: naming.policyId ?? null,
      name: naming.name,
      description: naming.description,
      image_type: 'replication',
      status: 'protecting',
      auto_trigger: naming.auto,
      parent_locator: null,
      locator: null,
      stored_bytes: 0,
      data_bytes: 0,
      new_chunks: 0,
      progress: 0,
      fail_code: null,
      fail_reason: null,
      expired_at: null,
      protected_at: null,
      created_at: now,
      updated_at: null,
      cbt_base_id: null,
      cbt_base_usable: false,
      backup_target: dest.region.target,
      locked_until: lockedUntil,
      replication_record_id: randomUUID(),
      source_backup_id: src.id,
      source_project_id: src.project_id,
      source_vault_id: src.vault_id,
      source_checkpoint_id: src.checkpoint_id,
      source_region: this.regionOf(src.backup_target),
      destination_region: dest.region.name,
    };
    await this.c.stores.backups.insert(tx, replica);
    const logId = await this.oplogs.record(tx, {
      projectId: src.project_id,
      operationType: 'replication',
      status: 'waiting',
      checkpointId: src.checkpoint_id,
      vaultId: src.vault_id,
      vaultName: sourceVault?.name ?? null,
      resource: { id: src.resource_id, name: src.resource_name, type: src.resource_type },
      extra: {
        replication: {
          replication_record_id: replica.replication_record_id,
          source_backup_id: src.id,
          source_region: replica.source_region,
          destination_backup_id: replica.id,
          destination_checkpoint_id: checkpointId,
          destination_project_id: dest.projectId,
          destination_region: dest.region.name,
          destination_vault_id: dest.vaultId,
        },
      },
    });
    await enqueue('cbr.replicate', 'cbr_backup', replica.id, { logId } satisfies ReplicatePayload);
    return replica;
  }

  /** `POST /backups/{backup_id}/replicate`. */
  async replicateBackup(ctx: AuthContext, backupId: string, input: cbrContract.BackupReplicate): Promise<BackupReplication> {
    const projectId = this.c.project(ctx);
    const name = input.name ?? undefined;
    const description = input.description ?? '';
    return this.c.inTx(async (tx, enqueue) => {
      const src = UUID_RE.test(backupId) ? await this.c.stores.backups.get(tx, projectId, backupId) : undefined;
      if (!src) throw backupNotFound(backupId);
      this.replicable(src);
      const dest = await this.destination(tx, projectId, input, src.backup_target);
      const checkpointId = await this.checkpoint(tx, dest, name ?? src.name, description, src.incremental, false);
      const replica = await this.startTx(tx, enqueue, src, dest, checkpointId, { name: name ?? src.name, description, auto: false });
      return {
        backup_id: src.id,
        destination_project_id: dest.projectId,
        destination_region: dest.region.name,
        destination_vault_id: dest.vaultId,
        project_id: projectId,
        provider_id: DISK_PROVIDER_ID,
        replication_record_id: replica.replication_record_id!,
        source_region: replica.source_region!,
      };
    });
  }

  /**
   * `POST /checkpoints/replicate`: every available backup of the vault that has no replica in the destination
   * vault yet (a failed one is tried again), under one restore point there.
   */
  async replicateVault(ctx: AuthContext, input: cbrContract.CheckpointReplicate): Promise<CheckpointReplication> {
    const projectId = this.c.project(ctx);
    return this.c.inTx((tx, enqueue) => this.replicateVaultTx(tx, enqueue, projectId, input));
  }

  /** `replicateVault` in the caller's transaction (a replication policy's scheduled run). */
  async replicateVaultTx(
    tx: Scope,
    enqueue: Enqueue,
    projectId: string,
    input: cbrContract.CheckpointReplicate,
    policyId: string | null = null,
  ): Promise<CheckpointReplication> {
    const vaultId = input.vault_id;
    const auto = input.auto_trigger === true;
    {
      const vault = await this.c.vault(tx, projectId, vaultId);
      const dest = await this.destination(tx, projectId, input, vault.backup_target);
      if (dest.vaultId === vault.id) throw invalid('destination_vault_id must be another vault.');
      const candidates = (await this.c.stores.backups.ofVault(tx, vault.id)).filter(
        (b) => b.status === 'available' && b.locator !== null && b.image_type !== 'replication',
      );
      const replicas = await this.c.stores.backups.replicasOf(tx, candidates.map((b) => b.id));
      const done = new Set(replicas.filter((r) => r.vault_id === dest.vaultId && r.status !== 'error').map((r) => r.source_backup_id));
      const pending = candidates.filter((b) => !done.has(b.id)).sort((a, b) => a.created_at.localeCompare(b.created_at));
      const out: CheckpointReplication['backups'] = [];
      if (pending.length > 0) {
        const checkpointId = await this.checkpoint(tx, dest, `replication-${vault.name}`.slice(0, 64), '', true, auto, policyId);
        for (const b of pending) {
          const replica = await this.startTx(tx, enqueue, b, dest, checkpointId, { name: b.name, description: b.description, auto, policyId });
          out.push({ backup_id: b.id, replication_record_id: replica.replication_record_id! });
        }
      }
      return {
        backups: out,
        destination_project_id: dest.projectId,
        destination_region: dest.region.name,
        destination_vault_id: dest.vaultId,
        project_id: projectId,
        provider_id: DISK_PROVIDER_ID,
        source_region: this.regionOf(vault.backup_target),
        vault_id: vault.id,
      };
    }
  }

  /**
   * A replication policy's `destination_region` / `destination_project_id` (operation_definition): a configured
   * region and the policy's own project. Returns the two to store.
   */
  policyDestination(projectId: string, def: Record<string, unknown>): { destination_region: string; destination_project_id: string } {
    if (this.regions.length === 0) throw refused('6117', 'Replication policies need regions (serve --region NAME=TARGET); none are configured.');
    // Required of replication policies only: the contract cannot tell the two kinds' definitions apart.
    if (typeof def.destination_region !== 'string') throw invalid('operation_definition.destination_region is required for a replication policy.');
    const region = def.destination_region;
    if (!this.regions.some((r) => r.name === region))
      throw invalid(`destination_region ${JSON.stringify(region)} is not a region of this cloud (regions: ${this.regions.map((r) => r.name).join(', ')}).`);
    const project = def.destination_project_id === undefined ? projectId : String(def.destination_project_id);
    if (project !== projectId) throw invalid('destination_project_id must be the project of the policy (every region shares its projects).');
    return { destination_region: region, destination_project_id: project };
  }

  /** Binding a replication policy to a vault: `destination_vault_id` must be a vault of the policy's region. */
  async bindingDestination(tx: Scope, projectId: string, def: Record<string, unknown>, vault: { id: string; backup_target: string }, destVaultId: string | undefined): Promise<string> {
    // Required only when the policy bound is a replication policy, which the body alone does not tell.
    if (destVaultId === undefined) throw invalid('destination_vault_id is required to apply a replication policy.');
    const id = destVaultId;
    const region = this.regions.find((r) => r.name === def.destination_region);
    if (!region) throw invalid(`The policy's destination_region ${String(def.destination_region)} is no longer configured.`);
    if (region.target === vault.backup_target) throw invalid(`Vault ${vault.id} is already in region ${region.name}.`);
    const dest = await this.c.vault(tx, projectId, id);
    if (dest.backup_target !== region.target)
      throw invalid(`Vault ${dest.id} is not in region ${region.name} (its backups go to target ${dest.backup_target}).`);
    return dest.id;
  }
}

/** Applies a backup's lifecycle action if its status still allows it; false when it did not (a task replayed). */
async function move(c: CbrContext, scope: Scope, id: string, action: 'complete' | 'fail', changes: Partial<CbrBackup>): Promise<boolean> {
  const t = await c.stores.backups.transition(scope, id, fromStatuses(cbrBackupLifecycle, action), cbrBackupLifecycle.actions[action].to!, {
    ...changes,
    updated_at: c.now(),
  });
  return t.ok;
}

/**
 * Ends the destination restore point once none of its replicas is still copying (in the replica's transaction).
 * Returns what a replication policy's retention then applies to (the vault and policy), when it ended a policy run.
 */
async function settle(c: CbrContext, scope: Scope, checkpointId: string): Promise<{ vaultId: string; policyId: string } | null> {
  const rows = await c.stores.backups.ofCheckpoint(scope, checkpointId);
  if (rows.some((r) => r.status === 'protecting')) return null;
  const action = rows.some((r) => r.status !== 'error') ? 'complete' : 'fail';
  const t = await c.stores.checkpoints.transition(scope, checkpointId, fromStatuses(checkpointLifecycle, action), checkpointLifecycle.actions[action].to!, {
    updated_at: c.now(),
  });
  return t.ok && t.record.policy_id ? { vaultId: t.record.vault_id, policyId: t.record.policy_id } : null;
}

/**
 * A replication policy's retention (max_backups, retention_duration_days, long-term counts) over the replicas its
 * runs made in the destination vault, per resource, as a backup policy's over its automatic backups: replicas
 * made by hand or by another policy are not pruned, the newest is always kept, and locked ones wait for their lock.
 */
export async function applyReplicaRetention(c: CbrContext, oplogs: OperationLogs, vaultId: string, policyId: string): Promise<string[]> {
  const policy = await c.stores.policies.byId(c.root, policyId);
  if (!policy) return [];
  const rules = parseRetention(policy.operation_definition);
  const mine = (await c.stores.backups.ofVault(c.root, vaultId)).filter(
    (b) => b.image_type === 'replication' && b.policy_id === policyId && b.status === 'available',
  );
  const doomed = expiredPerResource(mine, rules, c.nowDate(), (b) => ({
    id: b.id,
    createdAt: parseStoredTime(b.created_at),
    locked: isLocked(b, c.now()),
  }));
  const deleted: string[] = [];
  for (const id of doomed) {
    const b = mine.find((x) => x.id === id)!;
    try {
      await c.inTx((tx, enqueue) => startDeleteTx(c, oplogs, tx, enqueue, b, policyId));
      deleted.push(id);
    } catch (err) {
      c.logger.warn({ err, backup: id }, 'replication retention could not delete a replica');
    }
  }
  return deleted;
}

/** The copy task: source backup → destination repository, then the replica commits with what the copy added. */
export function replicationTaskHandler(c: CbrContext, oplogs: OperationLogs, scratchDir: string = tmpdir()): TaskHandler<ReplicatePayload> {
  const container = (r: CbrBackup) => `cbr-${r.vault_id}`;
  return {
    kind: 'cbr.replicate',
    // After a crash: failed, not resumed: the replica is failed and its partial copy left to gc; the user replicates again (only missing chunks are copied).
    resumeAfterCrash: false,
    async run(task, { signal }) {
      const r = await c.stores.backups.byId(c.root, task.resourceId);
      if (!r || r.status !== 'protecting') return;
      const src = r.source_backup_id ? await c.stores.backups.byId(c.root, r.source_backup_id) : undefined;
      if (!src || src.locator === null) throw new Error(`the source backup ${r.source_backup_id ?? ''} is gone`);
      await oplogs.started(task.payload.logId);
      const parent = await c.stores.backups.latestLocator(c.root, r.vault_id, r.resource_id);
      let last = 0;
      const result = await c.repoOf(src).copyTo(c.repoOf(r), src.locator, {
        container: container(r),
        id: r.id,
        ...(parent !== null ? { parent } : {}),
        meta: { cbr: true, vault_id: r.vault_id, volume_id: r.resource_id, checkpoint_id: r.checkpoint_id, replica_of: src.id },
        scratchDir,
        signal,
        onProgress: (p) => {
          const pct = p.bytesTotal > 0 ? Math.min(99, Math.floor((p.bytesDone / p.bytesTotal) * 100)) : 0;
          if (pct >= last + 10) {
            last = pct;
            void c.stores.backups.setProgress(c.root, r.id, pct).catch(() => {});
          }
        },
      });
      // Locked on the destination store before the replica is reported available, as a backup is (backup-tasks).
      if (r.locked_until !== null) await c.repoOf(r).retain(result.locator, parseStoredTime(r.locked_until));
      const s = result.stats;
      // Set inside the transaction (a holder, so the compiler does not narrow it to its initial null).
      const settled: { ended: Awaited<ReturnType<typeof settle>> } = { ended: null };
      const committed = await c.metadata.transaction(async (tx) => {
        // What the copy added counts against the destination vault, as a backup's new chunks do.
        const vault = await c.stores.vaults.byId(tx, r.vault_id);
        const used = await c.usedBytes(tx, r.vault_id);
        if (vault && used + s.storedBytes > c.capacityBytes(vault) && !(await expandToFit(c, tx, vault, used + s.storedBytes))) {
          return `The capacity of vault ${vault.id} (${vault.size} GB) would be exceeded; expand it or delete backups.`;
        }
        const ok = await move(c, tx, r.id, 'complete', {
          locator: result.locator,
          stored_bytes: s.storedBytes,
          data_bytes: s.dataBytes,
          new_chunks: s.newChunks,
          progress: 100,
          protected_at: c.now(),
        });
        if (ok) {
          await oplogs.finish(tx, task.payload.logId, { ok: true });
          settled.ended = await settle(c, tx, r.checkpoint_id);
        }
        return ok;
      });
      if (settled.ended) await applyReplicaRetention(c, oplogs, settled.ended.vaultId, settled.ended.policyId);
      if (committed === true) return;
      // The manifest goes before the replica reads `error`, so nobody sees a failed replica with data behind it (a
      // crash in between leaves the row protecting: `fail` removes the manifest then).
      await c.repoOf(r).deleteManifest(result.locator);
      if (typeof committed === 'string') {
        const message = committed;
        await c.metadata.transaction(async (tx) => {
          if (!(await move(c, tx, r.id, 'fail', { fail_code: 'BackupService.6114', fail_reason: message }))) return;
          await oplogs.finish(tx, task.payload.logId, { ok: false, code: 'BackupService.6114', message });
          await settle(c, tx, r.checkpoint_id);
        });
      }
    },
    async fail(task, cause) {
      const r = await c.stores.backups.byId(c.root, task.resourceId);
      if (r && r.locator === null) {
        // A crash after the manifest was written but before the row said so: the row wins, the manifest goes.
        await c.repoOf(r).deleteManifest(`${container(r)}/${r.id}`).catch(() => false);
        await c.repoOf(r).releaseLease(`${container(r)}/${r.id}`).catch(() => false);
      }
      const report = failureReport(cause);
      await c.metadata.transaction(async (tx) => {
        if (r) await move(c, tx, r.id, 'fail', { fail_code: report.code, fail_reason: report.message.slice(0, 255) });
        await oplogs.finish(tx, task.payload.logId, { ok: false, ...report });
        if (r) await settle(c, tx, r.checkpoint_id);
      });
    },
  };
}
