import type { TaskHandler } from '../../domain/ports/task-queue.js';
import { parseStoredTime } from '../../domain/time.js';
import type { Executor } from '../../store/database.js';
import { GiB } from '../block-storage/core.js';
import { dropHidden, freezeHidden, openBackupSource } from '../block-storage/hidden-snapshots.js';
import type { CbrBackupPayload } from './checkpoints.js';
import { type CbrContext, jsonParse } from './context.js';
import { startDeleteTx } from './deletion.js';
import type { OperationLogs } from './oplogs.js';
import { expiredBackups, parseRetention } from './retention.js';

export interface CbrRestorePayload {
  logId: string;
  volumeId: string;
  /** The vault resource whose protect_status shows the restore (null when the target is in no vault). */
  resourceId: string | null;
}

/** Progress is written at most this often. */
const PROGRESS_INTERVAL_MS = 500;

async function guarded(
  c: CbrContext,
  exec: Executor,
  table: 'volumes' | 'cbr_backups',
  id: string,
  from: string[],
  set: Record<string, unknown>,
): Promise<boolean> {
  const res = await exec
    .updateTable(table)
    .set({ ...set, updated_at: c.now() })
    .where('id', '=', id)
    .where('status', 'in', from)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

async function setProtectStatus(exec: Executor, resourceId: string, from: string[], to: string): Promise<void> {
  await exec
    .updateTable('cbr_vault_resources')
    .set({ protect_status: to })
    .where('resource_id', '=', resourceId)
    .where('protect_status', 'in', from)
    .execute();
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

  /** Ends the checkpoint once none of its backups is still running; then applies the policy's retention. */
  async function settleCheckpoint(checkpointId: string): Promise<void> {
    const rows = await c.db.selectFrom('cbr_backups').select('status').where('checkpoint_id', '=', checkpointId).execute();
    if (rows.some((r) => r.status === 'protecting')) return;
    const status = rows.some((r) => r.status === 'available' || r.status === 'restoring' || r.status === 'deleting') ? 'available' : 'error';
    const res = await c.db
      .updateTable('cbr_checkpoints')
      .set({ status, updated_at: c.now() })
      .where('id', '=', checkpointId)
      .where('status', '=', 'protecting')
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) return;
    const cp = await c.db.selectFrom('cbr_checkpoints').selectAll().where('id', '=', checkpointId).executeTakeFirst();
    if (cp?.policy_id) await applyRetention(cp.vault_id, cp.policy_id);
  }

  /**
   * Retention after a policy backup: per resource of the vault, the policy's rules over its automatic backups;
   * manual backups are never pruned, and the newest backup of a resource is always kept.
   */
  async function applyRetention(vaultId: string, policyId: string): Promise<void> {
    const policy = await c.db.selectFrom('cbr_policies').selectAll().where('id', '=', policyId).executeTakeFirst();
    if (!policy) return;
    const rules = parseRetention(jsonParse(policy.operation_definition, {}));
    const backups = await c.db
      .selectFrom('cbr_backups')
      .selectAll()
      .where('vault_id', '=', vaultId)
      .where('auto_trigger', '=', 1)
      .where('status', '=', 'available')
      .execute();
    const byResource = new Map<string, typeof backups>();
    for (const b of backups) byResource.set(b.resource_id, [...(byResource.get(b.resource_id) ?? []), b]);
    const now = c.nowDate();
    const doomed = [...byResource.values()].flatMap((list) =>
      expiredBackups(
        list.map((b) => ({ id: b.id, createdAt: parseStoredTime(b.created_at) })),
        rules,
        now,
      ),
    );
    for (const id of doomed) {
      const b = backups.find((x) => x.id === id)!;
      await core
        .inTx((tx, enqueue) => startDeleteTx(c, oplogs, tx, enqueue, b, policyId))
        .catch((err) => core.deps.logger.warn({ err, backup: id }, 'retention could not delete a backup'));
    }
  }

  async function releaseVolume(p: CbrBackupPayload): Promise<void> {
    await guarded(c, c.db, 'volumes', p.volumeId, ['backing-up'], { status: p.previousStatus, previous_status: null });
  }

  const backup: TaskHandler<CbrBackupPayload> = {
    kind: 'cbr.backup',
    async run(task, { signal }) {
      const p = task.payload;
      const b = await c.db.selectFrom('cbr_backups').selectAll().where('id', '=', task.resourceId).executeTakeFirst();
      if (!b || b.status !== 'protecting') {
        await releaseVolume(p);
        return;
      }
      await oplogs.started(p.logId);
      const driver = core.driver(b.driver);
      // The snapshot is the consistent image; the volume is free again as soon as it exists.
      try {
        await freezeHidden(driver, b.resource_id, b.snapshot_id, signal);
      } finally {
        await releaseVolume(p);
      }
      let result;
      try {
        const size = b.resource_size * GiB;
        const onProgress = throttled(async (pct) => {
          await c.db.updateTable('cbr_backups').set({ progress: pct }).where('id', '=', b.id).execute();
          await oplogs.progress(p.logId, pct);
        });
        // A raw view of the guest bytes: the snapshot file itself for raw, a sparse export of a qcow2 chain.
        const source = await openBackupSource(driver, 'snapshot', b.snapshot_id, { chunkSize: c.repo.chunkSize, signal });
        try {
          result = await c.repo.backup({
            id: b.id,
            container: `cbr-${b.vault_id}`,
            sourcePath: source.path,
            size,
            allocatedExtents: source.allocatedExtents,
            directIo: !source.temporary,
            ...(b.parent_locator !== null ? { parent: b.parent_locator } : {}),
            meta: { cbr: true, vault_id: b.vault_id, volume_id: b.resource_id, checkpoint_id: b.checkpoint_id },
            signal,
            onProgress: (pr) => onProgress(pr.bytesDone, pr.bytesTotal),
          });
        } finally {
          await source.release();
        }
      } finally {
        await dropHidden(driver, b.resource_id, b.snapshot_id);
      }
      const s = result.stats;
      const outcome = await c.db.transaction().execute(async (tx) => {
        const vault = await tx.selectFrom('cbr_vaults').selectAll().where('id', '=', b.vault_id).executeTakeFirst();
        const used = await c.usedBytes(tx, b.vault_id);
        if (vault && used + s.storedBytes > c.capacityBytes(vault)) {
          await guarded(c, tx, 'cbr_backups', b.id, ['protecting'], {
            status: 'error',
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
        const committed = await guarded(c, tx, 'cbr_backups', b.id, ['protecting'], {
          status: 'available',
          locator: result.locator,
          stored_bytes: s.storedBytes,
          data_bytes: s.dataBytes,
          new_chunks: s.newChunks,
          progress: 100,
          protected_at: c.now(),
        });
        if (committed) await oplogs.finish(tx, p.logId, { ok: true });
        return committed ? ('ok' as const) : ('gone' as const);
      });
      if (outcome !== 'ok') await c.repo.deleteManifest(result.locator);
      await setProtectStatus(c.db, b.resource_id, ['protecting'], 'available');
      await settleCheckpoint(b.checkpoint_id);
    },
    async fail(task, cause) {
      const p = task.payload;
      const b = await c.db.selectFrom('cbr_backups').selectAll().where('id', '=', task.resourceId).executeTakeFirst();
      await releaseVolume(p);
      if (!b) return;
      await dropHidden(core.driver(b.driver), b.resource_id, b.snapshot_id).catch(() => {});
      // A crash after the manifest was written but before the row said so: the row wins, the manifest goes.
      await c.repo.deleteManifest(`cbr-${b.vault_id}/${b.id}`).catch(() => false);
      await guarded(c, c.db, 'cbr_backups', b.id, ['protecting'], {
        status: 'error',
        fail_code: 'BackupService.9910',
        fail_reason: cause.message.slice(0, 255),
      });
      await oplogs.finish(c.db, p.logId, { ok: false, code: 'BackupService.9910', message: cause.message });
      await setProtectStatus(c.db, b.resource_id, ['protecting'], 'available');
      await settleCheckpoint(b.checkpoint_id);
    },
  };

  const restore: TaskHandler<CbrRestorePayload> = {
    kind: 'cbr.restore',
    async run(task, { signal }) {
      const p = task.payload;
      const b = await c.db.selectFrom('cbr_backups').selectAll().where('id', '=', task.resourceId).executeTakeFirst();
      const v = await core.volumeRow(c.db, p.volumeId);
      if (!v) throw new Error(`volume ${p.volumeId} vanished before the restore`);
      if (!b || b.status !== 'restoring' || b.locator === null) throw new Error(`backup ${task.resourceId} cannot be restored`);
      await oplogs.started(p.logId);
      const driver = core.driver(v.driver);
      const onProgress = throttled((pct) => oplogs.progress(p.logId, pct));
      // Raw volumes are written in place; other formats get a raw temporary that commit() puts into the volume.
      const target = await driver.importRaw(v.id);
      const inPlace = target.path === driver.path('volume', v.id);
      try {
        await c.repo.restore({
          locator: b.locator,
          targetPath: target.path,
          targetIsFresh: !inPlace,
          // A temporary is read back by the conversion right after: keep it in the page cache.
          directIo: inPlace,
          zeroRange: (offset, length) => driver.zeroRange(v.id, offset, length),
          signal,
          onProgress: (pr) => onProgress(pr.bytesDone, pr.bytesTotal),
        });
        await target.commit({ signal });
      } finally {
        await target.release();
      }
      await c.db.transaction().execute(async (tx) => {
        await guarded(c, tx, 'volumes', v.id, ['restoring-backup'], { status: 'available', previous_status: null });
        await tx.updateTable('cbr_backups').set({ status: 'available' }).where('id', '=', b.id).where('status', '=', 'restoring').execute();
        await oplogs.finish(tx, p.logId, { ok: true });
      });
      if (p.resourceId) await setProtectStatus(c.db, p.resourceId, ['restoring'], 'available');
    },
    async fail(task, cause) {
      const p = task.payload;
      await guarded(c, c.db, 'volumes', p.volumeId, ['restoring-backup'], { status: 'error_restoring' });
      await c.db.updateTable('cbr_backups').set({ status: 'available', updated_at: c.now() }).where('id', '=', task.resourceId).where('status', '=', 'restoring').execute();
      await oplogs.finish(c.db, p.logId, { ok: false, code: 'BackupService.9910', message: cause.message });
      if (p.resourceId) await setProtectStatus(c.db, p.resourceId, ['restoring'], 'available');
    },
  };

  const remove: TaskHandler<{ logId: string }> = {
    kind: 'cbr.delete',
    async run(task) {
      const b = await c.db.selectFrom('cbr_backups').selectAll().where('id', '=', task.resourceId).executeTakeFirst();
      if (b) {
        await oplogs.started(task.payload.logId);
        // The manifest goes first: a crash in between leaves a row in `deleting` that a retry finishes.
        if (b.locator !== null) await c.repo.deleteManifest(b.locator);
        await c.db.transaction().execute(async (tx) => {
          await tx.deleteFrom('cbr_members').where('backup_id', '=', b.id).execute();
          await tx.deleteFrom('cbr_backups').where('id', '=', b.id).execute();
        });
      }
      await oplogs.finish(c.db, task.payload.logId, { ok: true });
    },
    async fail(task, cause) {
      await c.db.updateTable('cbr_backups').set({ status: 'error', updated_at: c.now() }).where('id', '=', task.resourceId).where('status', '=', 'deleting').execute();
      await oplogs.finish(c.db, task.payload.logId, { ok: false, code: 'BackupService.9910', message: cause.message });
    },
  };

  const vaultDelete: TaskHandler<{ logId: string }> = {
    kind: 'cbr.vault.delete',
    async run(task) {
      const vaultId = task.resourceId;
      await oplogs.started(task.payload.logId);
      const backups = await c.db.selectFrom('cbr_backups').selectAll().where('vault_id', '=', vaultId).execute();
      let failed = 0;
      for (const b of backups) {
        try {
          if (b.locator !== null) await c.repo.deleteManifest(b.locator);
          await c.db.transaction().execute(async (tx) => {
            await tx.deleteFrom('cbr_members').where('backup_id', '=', b.id).execute();
            await tx.deleteFrom('cbr_backups').where('id', '=', b.id).execute();
          });
        } catch (err) {
          failed++;
          core.deps.logger.warn({ err, backup: b.id }, 'vault delete: a backup could not be removed');
        }
      }
      if (failed > 0) throw new Error(`${failed} of ${backups.length} backups could not be deleted`);
      await c.db.transaction().execute(async (tx) => {
        await tx.deleteFrom('cbr_vault_resources').where('vault_id', '=', vaultId).execute();
        await tx.deleteFrom('cbr_vault_tags').where('vault_id', '=', vaultId).execute();
        await tx.deleteFrom('cbr_policy_bindings').where('vault_id', '=', vaultId).execute();
        await tx.deleteFrom('cbr_checkpoints').where('vault_id', '=', vaultId).execute();
        await tx.deleteFrom('cbr_vaults').where('id', '=', vaultId).execute();
        await oplogs.finish(tx, task.payload.logId, {
          ok: true,
          extra: { vault_delete: { fail_count: 0, total_count: backups.length } },
        });
      });
    },
    async fail(task, cause) {
      await c.db.updateTable('cbr_vaults').set({ status: 'error', updated_at: c.now() }).where('id', '=', task.resourceId).where('status', '=', 'deleting').execute();
      await oplogs.finish(c.db, task.payload.logId, { ok: false, code: 'BackupService.9910', message: cause.message });
    },
  };

  return [backup, restore, remove, vaultDelete];
}
