import type { BackupRepository } from '../../backup-repo/index.js';
import type { TaskHandler } from '../../domain/ports/task-queue.js';
import type { BackupTable } from '../../store/schema.js';
import type { BackupProgress } from './backup-progress.js';
import {
  type BackupCreatePayload,
  type BackupRestorePayload,
  parseVolumeInfo,
} from './backup-service.js';
import { type LegacyCore as Core, GiB } from './legacy-core.js';
import { dropOlderBases, retireBase, usableBase } from './backup-bases.js';
import { dropHidden, freezeHidden, openBackupSource } from './hidden-snapshots.js';
import { deleteAllMetadata, writeMetadata } from './legacy-core.js';

async function guarded(
  core: Core,
  table: 'volumes' | 'snapshots' | 'backups',
  id: string,
  from: string[],
  set: Record<string, unknown>,
): Promise<boolean> {
  const res = await core.db
    .updateTable(table)
    .set({ ...set, updated_at: core.now() })
    .where('id', '=', id)
    .where('status', 'in', from)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** Gives the source back its status once the backup no longer reads it (success or failure). */
async function releaseSource(core: Core, p: BackupCreatePayload): Promise<void> {
  if (p.snapshotId !== null) await guarded(core, 'snapshots', p.snapshotId, ['backing-up'], { status: 'available' });
  else if (p.previousStatus !== null)
    await guarded(core, 'volumes', p.volumeId, ['backing-up'], { status: p.previousStatus, previous_status: null });
}

/**
 * The parent's usable base, when the new backup may read only what changed since it: the parent holds one and has
 * the same size (after an extend the new tail was never tracked; the old path then compares the data).
 */
async function changedSince(core: Core, b: BackupTable, p: BackupCreatePayload): Promise<string | null> {
  if (b.parent_id === null || p.parentLocator === null) return null;
  const parent = await core.db
    .selectFrom('backups')
    .select(['size', 'locator', 'volume_id'])
    .where('id', '=', b.parent_id)
    .executeTakeFirst();
  if (!parent || parent.locator !== p.parentLocator) return null;
  if (parent.size !== b.size || parent.volume_id !== b.volume_id) return null;
  return usableBase(core, b.parent_id);
}

export function backupTaskHandlers(core: Core, repo: BackupRepository, progress: BackupProgress): TaskHandler<any>[] {
  const create: TaskHandler<BackupCreatePayload> = {
    kind: 'backup.create',
    async run(task, { signal }) {
      const id = task.resourceId;
      const p = task.payload;
      const baseId = p.baseId ?? null;
      const driver = core.driver(p.driver);
      const b = await core.db.selectFrom('backups').selectAll().where('id', '=', id).executeTakeFirst();
      if (!b || b.status !== 'creating') {
        await releaseSource(core, p);
        return;
      }
      const size = b.size * GiB;
      const onProgress = progress.start(id, 'backup', size);
      let result;
      try {
        // With cheap snapshots the backup reads a frozen image (also for force backups of in-use volumes), which
        // stays as the base of the next incremental; otherwise the volume or snapshot is read in place.
        if (baseId !== null) await freezeHidden(driver, p.volumeId, baseId, signal);
        const kind = baseId !== null || p.snapshotId !== null ? 'snapshot' : 'volume';
        const objectId = baseId ?? p.snapshotId ?? p.volumeId;
        // A user snapshot newer than the parent's base is compared against it too (the driver answers null when
        // the two do not link, e.g. a snapshot older than the base); only volume backups leave a new base.
        const since = baseId !== null || p.snapshotId !== null ? await changedSince(core, b, p) : null;
        const source = await openBackupSource(driver, kind, objectId, {
          changedSince: since !== null ? { volumeId: p.volumeId, snapshotId: since } : null,
          chunkSize: repo.chunkSize,
          signal,
          logger: core.deps.logger,
        });
        try {
          result = await repo.backup({
            id,
            container: b.container,
            sourcePath: source.path,
            size,
            allocatedExtents: source.allocatedExtents,
            directIo: !source.temporary,
            ...(p.parentLocator !== null ? { parent: p.parentLocator } : {}),
            ...(p.parentLocator !== null && source.changedExtents !== null
              ? { changedExtents: source.changedExtents }
              : {}),
            meta: {
              volume_id: p.volumeId,
              snapshot_id: p.snapshotId,
              data_timestamp: b.data_timestamp,
              volume_info: b.volume_info,
            },
            signal,
            onProgress,
          });
        } finally {
          await source.release();
        }
      } finally {
        progress.finish(id);
      }
      if (baseId !== null) await dropOlderBases(core, driver, b);
      const s = result.stats;
      const committed = await guarded(core, 'backups', id, ['creating'], {
        status: 'available',
        locator: result.locator,
        object_count: s.chunks - s.zeroChunks,
        stored_bytes: s.storedBytes,
        data_bytes: s.dataBytes,
        ...(baseId !== null ? { cbt_base_usable: 1 } : {}),
      });
      if (!committed) {
        // Force-deleted while running: nothing may keep the manifest or the base alive.
        await repo.deleteManifest(result.locator);
        if (baseId !== null) await dropHidden(driver, p.volumeId, baseId);
      }
      await releaseSource(core, p);
      if (committed && baseId !== null) {
        // A volume force-deleted during the backup already had its bases removed; this one came after.
        const v = await core.volumeRow(core.db, p.volumeId);
        if (!v || v.status === 'deleting') await retireBase(core, driver, p.volumeId, id, baseId).catch(() => {});
      }
    },
    async fail(task, cause) {
      const p = task.payload;
      const b = await core.db.selectFrom('backups').selectAll().where('id', '=', task.resourceId).executeTakeFirst();
      // A row with a locator committed: its manifest and base stay (a failure after the commit changes nothing).
      const committed = b !== undefined && b.locator !== null;
      // The base is named by the task too: a force-deleted row no longer tells, and nothing else would remove it.
      const baseId = p.baseId ?? null;
      let dropped = false;
      if (baseId !== null && !committed) {
        // On error the row keeps naming the base, so deleting the backup removes it later.
        const driver = core.driver(p.driver);
        dropped = await dropHidden(driver, p.volumeId, baseId).then(
          () => true,
          (err: unknown) => {
            // With the row gone (force-deleted) nothing names the base any more: say which file an operator removes.
            core.deps.logger.error(
              { err, backup: task.resourceId, volume: p.volumeId, object: driver.objectName('snapshot', baseId) },
              b
                ? 'a failed backup could not remove its hidden base; deleting the backup retries'
                : 'a force-deleted backup left its hidden base behind: no backup names it any more',
            );
            return false;
          },
        );
      }
      if (b) {
        // A crash after the manifest was written but before the row said so: the row wins, the manifest goes.
        if (!committed) await repo.deleteManifest(`${b.container}/${b.id}`).catch(() => false);
        // A crashed backup's lease would hold back GC for its whole TTL; this node knows the backup is dead.
        await repo.releaseLease(`${b.container}/${b.id}`).catch(() => false);
        await guarded(core, 'backups', b.id, ['creating'], {
          status: 'error',
          fail_reason: cause.message.slice(0, 255),
          ...(dropped && b.cbt_base_id === baseId ? { cbt_base_id: null } : {}),
        });
      }
      await releaseSource(core, p);
    },
  };

  const restore: TaskHandler<BackupRestorePayload> = {
    kind: 'backup.restore',
    async run(task, { signal }) {
      const id = task.resourceId;
      const p = task.payload;
      const b = await core.db.selectFrom('backups').selectAll().where('id', '=', id).executeTakeFirst();
      const v = await core.volumeRow(core.db, p.volumeId);
      if (!v) throw new Error(`volume ${p.volumeId} vanished before the restore`);
      if (!b || b.status !== 'restoring' || b.locator === null) throw new Error(`backup ${id} cannot be restored`);
      const driver = core.driver(v.driver);
      if (p.origin === 'restore') await guarded(core, 'volumes', v.id, ['creating'], { status: 'restoring-backup' });
      if (p.fresh) await driver.createVolume(v.id, v.size * GiB);
      const onProgress = progress.start(id, 'restore', b.size * GiB);
      // Raw volumes are written in place; other formats get an all-zero raw file that commit() puts in the volume.
      const target = await driver.importRaw(v.id);
      const inPlace = target.path === driver.path('volume', v.id);
      try {
        await repo.restore({
          locator: b.locator,
          targetPath: target.path,
          targetIsFresh: inPlace ? p.fresh : true,
          // A temporary is read back by the conversion right after: keep it in the page cache.
          directIo: inPlace,
          zeroRange: (offset, length) => driver.zeroRange(v.id, offset, length),
          signal,
          onProgress,
        });
        await target.commit({ signal });
      } finally {
        progress.finish(id);
        await target.release();
      }
      const info = parseVolumeInfo(b.volume_info);
      await core.db.transaction().execute(async (tx) => {
        const md = { ...info.metadata };
        if (v.id !== b.volume_id) md.src_backup_id = b.id;
        await writeMetadata(tx, 'volume', v.id, md, false);
        await tx
          .updateTable('volumes')
          .set({ status: 'available', previous_status: null, bootable: info.bootable ? 1 : 0, updated_at: core.now() })
          .where('id', '=', v.id)
          .where('status', 'in', ['restoring-backup', 'creating'])
          .execute();
        await tx
          .updateTable('backups')
          .set({ status: 'available', updated_at: core.now() })
          .where('id', '=', id)
          .where('status', '=', 'restoring')
          .execute();
      });
    },
    async fail(task) {
      const p = task.payload;
      await guarded(core, 'volumes', p.volumeId, ['restoring-backup', 'creating'], {
        status: p.origin === 'existing' ? 'error_restoring' : 'error',
      });
      await guarded(core, 'backups', task.resourceId, ['restoring'], { status: 'available' });
    },
  };

  const remove: TaskHandler<Record<string, never>> = {
    kind: 'backup.delete',
    async run(task) {
      const b = await core.db.selectFrom('backups').selectAll().where('id', '=', task.resourceId).executeTakeFirst();
      if (!b) return;
      // The manifest goes first: a crash in between leaves a row in `deleting` that a retry finishes.
      if (b.locator !== null) await repo.deleteManifest(b.locator);
      if (b.cbt_base_id !== null) {
        // A volume that is gone took its bases with it (or, unmanaged, keeps them as layers of its chain).
        const v = await core.volumeRow(core.db, b.volume_id);
        if (v) await retireBase(core, core.driver(v.driver), v.id, b.id, b.cbt_base_id);
      }
      await core.db.transaction().execute(async (tx) => {
        const res = await tx.deleteFrom('backups').where('id', '=', b.id).executeTakeFirst();
        if (Number(res.numDeletedRows) === 0) return;
        await deleteAllMetadata(tx, 'backup', b.id);
        await core.deps.quotas.release(tx, b.project_id, { backups: 1, backup_gigabytes: b.size });
      });
    },
    async fail(task) {
      await guarded(core, 'backups', task.resourceId, ['deleting'], { status: 'error_deleting' });
    },
  };

  return [create, restore, remove];
}
