import type { BackupRepository } from '../../backup-repo/index.js';
import type { TaskHandler } from '../../domain/ports/task-queue.js';
import type { BackupProgress } from './backup-progress.js';
import {
  type BackupCreatePayload,
  type BackupRestorePayload,
  parseVolumeInfo,
} from './backup-service.js';
import { type Core, GiB } from './core.js';
import { deleteAllMetadata, writeMetadata } from './metadata-store.js';

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

export function backupTaskHandlers(core: Core, repo: BackupRepository, progress: BackupProgress): TaskHandler<any>[] {
  const create: TaskHandler<BackupCreatePayload> = {
    kind: 'backup.create',
    async run(task, { signal }) {
      const id = task.resourceId;
      const p = task.payload;
      const b = await core.db.selectFrom('backups').selectAll().where('id', '=', id).executeTakeFirst();
      if (!b || b.status !== 'creating') {
        await releaseSource(core, p);
        return;
      }
      const driver = core.driver(p.driver);
      const kind = p.snapshotId !== null ? 'snapshot' : 'volume';
      const objectId = p.snapshotId ?? p.volumeId;
      const size = b.size * GiB;
      const onProgress = progress.start(id, 'backup', size);
      let result;
      // A raw view of the bytes: the file itself for raw volumes, a sparse export for qcow2 chains.
      const source = await driver.exportRaw(kind, objectId, { signal });
      try {
        result = await repo.backup({
          id,
          container: b.container,
          sourcePath: source.path,
          size,
          allocatedExtents: await driver.allocatedExtents(kind, objectId),
          ...(p.parentLocator !== null ? { parent: p.parentLocator } : {}),
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
        progress.finish(id);
        await source.release();
      }
      const s = result.stats;
      const committed = await guarded(core, 'backups', id, ['creating'], {
        status: 'available',
        locator: result.locator,
        object_count: s.chunks - s.zeroChunks,
        stored_bytes: s.storedBytes,
        data_bytes: s.dataBytes,
      });
      // Force-deleted while running: nothing may keep the manifest alive.
      if (!committed) await repo.deleteManifest(result.locator);
      await releaseSource(core, p);
    },
    async fail(task, cause) {
      const b = await core.db.selectFrom('backups').selectAll().where('id', '=', task.resourceId).executeTakeFirst();
      if (b) {
        // A crash after the manifest was written but before the row said so: the row wins, the manifest goes.
        await repo.deleteManifest(`${b.container}/${b.id}`).catch(() => false);
        // A crashed backup's lease would hold back GC for its whole TTL; this node knows the backup is dead.
        // (The engine has no call for this yet, so the lease key of its layout is named here.)
        await repo.store.delete(`locks/leases/${b.container}/${b.id}`).catch(() => false);
        await guarded(core, 'backups', b.id, ['creating'], { status: 'error', fail_reason: cause.message.slice(0, 255) });
      }
      await releaseSource(core, task.payload);
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
