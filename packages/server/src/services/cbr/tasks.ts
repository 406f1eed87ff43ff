import { type CbrBackup, cbrBackupLifecycle, checkpointLifecycle, vaultLifecycle, vaultResourceLifecycle } from '../../domain/cbr.js';
import { failureReport } from '../../domain/errors.js';
import { isLocked } from '../../domain/immutability.js';
import { fromStatuses } from '../../domain/lifecycle.js';
import type { Scope } from '../../domain/ports/metadata-store.js';
import type { TaskHandler } from '../../domain/ports/task-queue.js';
import { parseStoredTime } from '../../domain/time.js';
import { dropHidden, freezeHidden } from '../block-storage/hidden-snapshots.js';
import type { CbrBackupPayload, CbrFreezePayload } from './checkpoints.js';
import { type CbrContext, GiB } from './context.js';
import { startDeleteTx } from './deletion.js';
import type { OperationLogs } from './oplogs.js';
import { expiredPerResource, parseRetention } from './retention.js';
import { expandToFit } from './vaults.js';

export interface CbrRestorePayload {
  logId: string;
  volumeId: string;
  /** The vault resource whose protect_status shows the restore (null when the target is in no vault). */
  resourceId: string | null;
}

/** Progress is written at most this often. */
const PROGRESS_INTERVAL_MS = 500;

type BackupAction = keyof typeof cbrBackupLifecycle.actions;
type ResourceAction = keyof typeof vaultResourceLifecycle.actions;

/** Applies a backup's lifecycle action if its status still allows it; false when it did not (a task replayed). */
async function moveBackup(c: CbrContext, scope: Scope, id: string, action: BackupAction, changes: Record<string, unknown> = {}): Promise<boolean> {
  const to = cbrBackupLifecycle.actions[action].to ?? null;
  const t = await c.stores.backups.transition(scope, id, fromStatuses(cbrBackupLifecycle, action), to, { ...changes, updated_at: c.now() });
  return t.ok;
}

/** A resource's protect_status follows the operation's end; a resource removed meanwhile is left alone. */
async function moveResource(c: CbrContext, scope: Scope, resourceId: string, action: ResourceAction): Promise<void> {
  const rule = vaultResourceLifecycle.actions[action];
  await c.stores.vaults.setProtectStatus(scope, resourceId, fromStatuses(vaultResourceLifecycle, action), rule.to!);
}

function throttled(fn: (pct: number) => Promise<void>): (done: number, total: number) => void {
  let last = 0;
  let lastPct = 0;
  let chain: Promise<void> = Promise.resolve();
  return (done, total) => {
    const pct = total > 0 ? Math.min(99, Math.floor((done / total) * 100)) : 0;
    const now = Date.now();
    if (pct <= lastPct || now - last < PROGRESS_INTERVAL_MS) return;
    last = now;
    lastPct = pct;
    chain = chain.then(() => fn(pct)).catch(() => {});
  };
}

export function cbrTaskHandlers(c: CbrContext, oplogs: OperationLogs): TaskHandler<any>[] {
  const core = c.core;
  const { backups, checkpoints, vaults } = c.stores;

  /** Ends the checkpoint once none of its backups is still running; then applies the policy's retention. */
  async function settleCheckpoint(checkpointId: string): Promise<void> {
    const rows = await backups.ofCheckpoint(c.root, checkpointId);
    if (rows.some((r) => r.status === 'protecting')) return;
    const usable = rows.some((r) => r.status === 'available' || r.status === 'restoring' || r.status === 'deleting');
    const action = usable ? 'complete' : 'fail';
    const t = await checkpoints.transition(c.root, checkpointId, fromStatuses(checkpointLifecycle, action), checkpointLifecycle.actions[action].to!, {
      updated_at: c.now(),
    });
    if (!t.ok) return;
    if (t.record.policy_id) await applyRetention(t.record.vault_id, t.record.policy_id);
  }

  /**
   * Retention after a policy backup: per resource of the vault, the policy's rules over its automatic backups;
   * manual backups are never pruned, and the newest backup of a resource is always kept.
   */
  async function applyRetention(vaultId: string, policyId: string): Promise<void> {
    const policy = await c.stores.policies.byId(c.root, policyId);
    if (!policy) return;
    const rules = parseRetention(policy.operation_definition);
    const auto = (await backups.ofVault(c.root, vaultId)).filter((b) => b.auto_trigger && b.status === 'available');
    const doomed = expiredPerResource(auto, rules, c.nowDate(), (b) => ({
      id: b.id,
      createdAt: parseStoredTime(b.created_at),
      locked: isLocked(b, c.now()),
    }));
    for (const id of doomed) {
      const b = auto.find((x) => x.id === id)!;
      await c
        .inTx((tx, enqueue) => startDeleteTx(c, oplogs, tx, enqueue, b, policyId))
        .catch((err) => c.logger.warn({ err, backup: id }, 'retention could not delete a backup'));
    }
  }

  async function releaseVolume(p: CbrBackupPayload): Promise<void> {
    await c.disks.transition(c.root, p.volumeId, ['backing-up'], p.previousStatus, { previous_status: null });
  }

  /**
   * The parent's usable base, when this backup may read only what changed since it: the parent is a backup of
   * the same disk that kept its base and has the same size (after an extend the new tail was never tracked; the
   * engine then compares the data).
   */
  async function changedSince(b: CbrBackup): Promise<string | null> {
    if (b.parent_locator === null) return null;
    const parent = await backups.byLocator(c.root, b.parent_locator);
    if (!parent || parent.resource_id !== b.resource_id || parent.resource_size !== b.resource_size) return null;
    return parent.cbt_base_usable ? parent.cbt_base_id : null;
  }

  /** This backup's base as the base bookkeeping names it. */
  const baseOf = (b: CbrBackup, baseId: string) => ({ owner: 'cbr' as const, backupId: b.id, baseId });

  /**
   * Removes a backup's base when it leaves (its delete, its vault's delete). A disk that is gone took its bases
   * with it (volume delete and unmanage remove them), and an unmanaged disk's chain is no longer ours to touch.
   */
  async function dropBase(b: CbrBackup): Promise<void> {
    if (b.cbt_base_id === null) return;
    const disk = await c.disks.get(c.root, b.resource_id);
    if (disk) await c.data.bases.retire(core.driver(disk.driver), disk.id, baseOf(b, b.cbt_base_id));
  }

  /**
   * The data path of a CBR backup, the one Cinder backups take (services/backup-data-path.ts): a hidden snapshot
   * of the disk (the disk is released as soon as it exists), read with the extents changed since the parent's
   * base, into the repository. The snapshot stays as this backup's base where the row names it as one (cheap
   * snapshots); otherwise it goes before the backup commits, as it always did.
   */
  async function copyToRepository(
    b: CbrBackup,
    frozen: boolean,
    signal: AbortSignal,
    release: () => Promise<void>,
    onProgress: (done: number, total: number) => void,
  ) {
    const driver = core.driver(b.driver);
    const result = await c.data.copy({
      repo: c.repoOf(b),
      driver,
      volumeId: b.resource_id,
      // Frozen already, with the checkpoint's other disks (the freeze task below): read that snapshot.
      freeze: frozen ? null : b.snapshot_id,
      object: { kind: 'snapshot', id: b.snapshot_id },
      changedSince: await changedSince(b),
      // The snapshot is the consistent image; the volume is free again as soon as it exists.
      afterFreeze: release,
      backup: {
        id: b.id,
        container: `cbr-${b.vault_id}`,
        size: b.resource_size * GiB,
        ...(b.parent_locator !== null ? { parent: b.parent_locator } : {}),
        meta: { cbr: true, vault_id: b.vault_id, volume_id: b.resource_id, checkpoint_id: b.checkpoint_id },
        signal,
        onProgress: (pr) => onProgress(pr.bytesDone, pr.bytesTotal),
      },
    });
    if (b.cbt_base_id === null) await dropHidden(driver, b.resource_id, b.snapshot_id);
    // Immutable before it is reported available (the vault's or the target's lock_days).
    if (b.locked_until !== null) await c.repoOf(b).retain(result.locator, parseStoredTime(b.locked_until));
    return result;
  }

  const backup: TaskHandler<CbrBackupPayload> = {
    kind: 'cbr.backup',
    // After a crash: failed, not resumed: as backup.create: the restore point's time is when it started.
    resumeAfterCrash: false,
    async run(task, { signal }) {
      const p = task.payload;
      const b = await backups.byId(c.root, task.resourceId);
      if (!b || b.status !== 'protecting') {
        await releaseVolume(p);
        return;
      }
      await oplogs.started(p.logId);
      const onProgress = throttled(async (pct) => {
        await backups.setProgress(c.root, b.id, pct);
        await oplogs.progress(p.logId, pct);
      });
      const result = await copyToRepository(b, p.frozen === true, signal, () => releaseVolume(p), onProgress);
      const s = result.stats;
      const outcome = await c.metadata.transaction(async (tx) => {
        const vault = await vaults.byId(tx, b.vault_id);
        const used = await c.usedBytes(tx, b.vault_id);
        if (vault && used + s.storedBytes > c.capacityBytes(vault) && !(await expandToFit(c, tx, vault, used + s.storedBytes))) {
          await moveBackup(c, tx, b.id, 'fail', {
            fail_code: 'BackupService.6114',
            fail_reason: `The vault capacity (${vault.size} GB) would be exceeded.`,
          });
          await oplogs.finish(tx, p.logId, {
            ok: false,
            code: 'BackupService.6114',
            message: `The vault capacity (${vault.size} GB) would be exceeded; expand the vault or delete backups.`,
          });
          return 'full' as const;
        }
        const committed = await moveBackup(c, tx, b.id, 'complete', {
          locator: result.locator,
          stored_bytes: s.storedBytes,
          data_bytes: s.dataBytes,
          new_chunks: s.newChunks,
          progress: 100,
          protected_at: c.now(),
          ...(b.cbt_base_id !== null ? { cbt_base_usable: true } : {}),
        });
        if (committed) await oplogs.finish(tx, p.logId, { ok: true });
        return committed ? ('ok' as const) : ('gone' as const);
      });
      const driver = core.driver(b.driver);
      if (outcome !== 'ok') {
        await c.repoOf(b).deleteManifest(result.locator);
        // Nothing will compare against the snapshot of a backup that did not commit.
        if (b.cbt_base_id !== null) await c.data.bases.retire(driver, b.resource_id, baseOf(b, b.cbt_base_id));
      } else if (b.cbt_base_id !== null) {
        // One base per disk and vault: the vault's next backup of the disk compares against this one only.
        await c.data.bases.dropOlder(driver, { owner: 'cbr', volumeId: b.resource_id, vaultId: b.vault_id }, b);
        // A disk deleted or unmanaged while its snapshot was read had its bases removed before this one counted.
        const disk = await c.disks.get(c.root, b.resource_id);
        if (!disk || disk.status === 'deleting' || disk.status === 'unmanaging')
          await c.data.bases.retire(driver, b.resource_id, baseOf(b, b.cbt_base_id)).catch(() => {});
      }
      await moveResource(c, c.root, b.resource_id, 'protected');
      await settleCheckpoint(b.checkpoint_id);
    },
    async fail(task, cause) {
      const p = task.payload;
      const b = await backups.byId(c.root, task.resourceId);
      await releaseVolume(p);
      if (!b) return;
      // A row with a locator committed: its manifest and base stay (a failure after the commit changes nothing).
      const committed = b.locator !== null;
      if (!committed) {
        // The snapshot was named before it was made: whether or not it exists, it goes (idempotent).
        const base = baseOf(b, b.cbt_base_id ?? b.snapshot_id);
        await c.data.bases.retire(core.driver(b.driver), b.resource_id, base).catch((err: unknown) =>
          // The row keeps naming it, so deleting the backup (or the disk) retries.
          c.logger.error({ err, backup: b.id, snapshot: base.baseId }, 'a failed CBR backup could not remove its snapshot'),
        );
        // A crash after the manifest was written but before the row said so: the row wins, the manifest goes.
        await c.repoOf(b).deleteManifest(`cbr-${b.vault_id}/${b.id}`).catch(() => false);
      }
      // A crashed backup's lease would hold back GC for its whole TTL (as for Cinder backups); it is dead here.
      await c.repoOf(b).releaseLease(`cbr-${b.vault_id}/${b.id}`).catch(() => false);
      const report = failureReport(cause);
      await moveBackup(c, c.root, b.id, 'fail', {
        fail_code: report.code,
        fail_reason: report.message.slice(0, 255),
      });
      await oplogs.finish(c.root, p.logId, { ok: false, ...report });
      await moveResource(c, c.root, b.resource_id, 'protected');
      await settleCheckpoint(b.checkpoint_id);
    },
  };

  /**
   * A checkpoint of several disks: every disk is claimed (backing-up) since the checkpoint was recorded, so no
   * upload starts on any of them; behind their write gates (which also drain any write still in flight) each
   * backup's snapshot is taken, then all disks are given back together and the backups start reading their
   * snapshots. No disk is released, and so written, before every snapshot exists.
   */
  const freeze: TaskHandler<CbrFreezePayload> = {
    kind: 'cbr.freeze',
    // After a crash: failed, not resumed: the disks' common point in time is gone with the crash.
    resumeAfterCrash: false,
    async run(task, { signal }) {
      const live: CbrFreezePayload['backups'] = [];
      const rows: CbrBackup[] = [];
      for (const p of task.payload.backups) {
        const b = await backups.byId(c.root, p.backupId);
        if (b && b.status === 'protecting') {
          live.push(p);
          rows.push(b);
        }
      }
      try {
        await core.writeGates.holdAcrossNodes(
          rows.map((b) => b.resource_id),
          async () => {
            for (const b of rows) await freezeHidden(core.driver(b.driver), b.resource_id, b.snapshot_id, signal);
          },
        );
      } finally {
        await c.metadata.transaction(async (tx) => {
          for (const p of task.payload.backups)
            await c.disks.transition(tx, p.volumeId, ['backing-up'], p.previousStatus, { previous_status: null });
        });
      }
      await c.inTx(async (_tx, enqueue) => {
        for (const p of live) {
          const { backupId, ...payload } = p;
          await enqueue('cbr.backup', 'cbr_backup', backupId, { ...payload, frozen: true } satisfies CbrBackupPayload);
        }
      });
    },
    async fail(task, cause) {
      // Each backup fails as its own task would (its snapshot removed if it was made, its disk given back).
      for (const p of task.payload.backups) {
        const { backupId, ...payload } = p;
        await backup.fail({ ...task, kind: 'cbr.backup', resourceType: 'cbr_backup', resourceId: backupId, payload }, cause);
      }
    },
  };

  const restore: TaskHandler<CbrRestorePayload> = {
    kind: 'cbr.restore',
    // After a crash: failed, not resumed: as backup.restore: the target holds mixed bytes and goes to error.
    resumeAfterCrash: false,
    async run(task, { signal }) {
      const p = task.payload;
      const b = await backups.byId(c.root, task.resourceId);
      const v = await c.disks.get(c.root, p.volumeId);
      if (!v) throw new Error(`volume ${p.volumeId} vanished before the restore`);
      if (!b || b.status !== 'restoring' || b.locator === null) throw new Error(`backup ${task.resourceId} cannot be restored`);
      await oplogs.started(p.logId);
      const driver = core.driver(v.driver);
      const onProgress = throttled((pct) => oplogs.progress(p.logId, pct));
      // Raw volumes are written in place; other formats get a raw temporary that commit() puts into the volume.
      const target = await driver.importRaw(v.id);
      const inPlace = target.path === driver.path('volume', v.id);
      try {
        await c.repoOf(b).restore({
          locator: b.locator,
          targetPath: target.path,
          targetIsFresh: !inPlace,
          // A temporary is read back by the conversion right after: keep it in the page cache.
          directIo: inPlace,
          ...(target.window ? { window: target.window } : {}),
          zeroRange: (offset, length) => driver.zeroRange(v.id, offset, length),
          signal,
          onProgress: (pr) => onProgress(pr.bytesDone, pr.bytesTotal),
        });
        await target.commit({ signal });
      } finally {
        await target.release();
      }
      await c.metadata.transaction(async (tx) => {
        await c.disks.transition(tx, v.id, ['restoring-backup'], 'available', { previous_status: null });
        await moveBackup(c, tx, b.id, 'restored');
        await oplogs.finish(tx, p.logId, { ok: true });
        // In the same transaction: a client that sees the volume available must find the resource usable too.
        if (p.resourceId) await moveResource(c, tx, p.resourceId, 'restored');
      });
    },
    async fail(task, cause) {
      const p = task.payload;
      const failDisk = (tx: Scope) => c.disks.transition(tx, p.volumeId, ['restoring-backup'], 'error_restoring');
      // The volume written is a Cinder volume: its project's users find why it is error_restoring in Cinder's
      // messages (CBR's own record is the operation log below). The CBR backup is no Cinder backup, so the message
      // names the volume, with Cinder's restore action and detail.
      try {
        await c.metadata.transaction(async (tx) => {
          const t = await failDisk(tx);
          if (t.ok && c.messages)
            await c.messages.record(tx, {
              projectId: t.record.project_id,
              resourceType: 'VOLUME',
              resourceUuid: p.volumeId,
              action: 'BACKUP_RESTORE',
              detail: 'BACKUP_RESTORE_ERROR',
              requestId: `req-${task.id}`,
            });
        });
      } catch (err) {
        c.logger.warn({ err, volume: p.volumeId }, 'could not record a user message for a failed CBR restore');
        await failDisk(c.root);
      }
      await moveBackup(c, c.root, task.resourceId, 'restored');
      await oplogs.finish(c.root, p.logId, { ok: false, ...failureReport(cause) });
      if (p.resourceId) await moveResource(c, c.root, p.resourceId, 'restored');
    },
  };

  const remove: TaskHandler<{ logId: string }> = {
    kind: 'cbr.delete',
    // Asked to be gone: a crash part-way resumes the delete (every step tolerates what is already gone).
    resumeAfterCrash: true,
    async run(task) {
      const b = await backups.byId(c.root, task.resourceId);
      if (b) {
        await oplogs.started(task.payload.logId);
        // The manifest goes first: a crash in between leaves a row in `deleting` that a retry finishes.
        if (b.locator !== null) await c.repoOf(b).deleteManifest(b.locator);
        await dropBase(b);
        await backups.remove(c.root, b.id);
      }
      await oplogs.finish(c.root, task.payload.logId, { ok: true });
    },
    async fail(task, cause) {
      await moveBackup(c, c.root, task.resourceId, 'deleteFailed');
      await oplogs.finish(c.root, task.payload.logId, { ok: false, ...failureReport(cause) });
    },
  };

  const vaultDelete: TaskHandler<{ logId: string }> = {
    kind: 'cbr.vault.delete',
    // Asked to be gone: a crash part-way resumes the delete (every step tolerates what is already gone).
    resumeAfterCrash: true,
    async run(task) {
      const vaultId = task.resourceId;
      await oplogs.started(task.payload.logId);
      const all = await backups.ofVault(c.root, vaultId);
      let failed = 0;
      for (const b of all) {
        try {
          if (b.locator !== null) await c.repoOf(b).deleteManifest(b.locator);
          await dropBase(b);
          await c.metadata.transaction((tx) => backups.remove(tx, b.id));
        } catch (err) {
          failed++;
          c.logger.warn({ err, backup: b.id }, 'vault delete: a backup could not be removed');
        }
      }
      if (failed > 0) throw new Error(`${failed} of ${all.length} backups could not be deleted`);
      await c.metadata.transaction(async (tx) => {
        await vaults.remove(tx, vaultId);
        await oplogs.finish(tx, task.payload.logId, {
          ok: true,
          extra: { vault_delete: { fail_count: 0, total_count: all.length } },
        });
      });
    },
    async fail(task, cause) {
      const rule = vaultLifecycle.actions.deleteFailed;
      await vaults.transition(c.root, task.resourceId, fromStatuses(vaultLifecycle, 'deleteFailed'), rule.to!, { updated_at: c.now() });
      await oplogs.finish(c.root, task.payload.logId, { ok: false, ...failureReport(cause) });
    },
  };

  return [backup, freeze, restore, remove, vaultDelete];
}
