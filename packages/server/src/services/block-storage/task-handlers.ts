import type { TaskHandler, TaskRecord } from '../../domain/ports/task-queue.js';
import type { Tx } from '../../store/database.js';
import type { BackupBases } from './backup-bases.js';
import { type Core, GiB } from './core.js';
import { deleteAllMetadata } from './metadata-store.js';
import type { VolumeCreatePayload } from './volume-service.js';

/** Progress is written at most this often, and only when the percentage moved. */
const PROGRESS_INTERVAL_MS = 500;

async function setVolume(core: Core, id: string, from: string[], set: Record<string, unknown>): Promise<boolean> {
  const res = await core.db
    .updateTable('volumes')
    .set({ ...set, updated_at: core.now() })
    .where('id', '=', id)
    .where('status', 'in', from)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

async function setSnapshot(core: Core, id: string, from: string[], set: Record<string, unknown>): Promise<boolean> {
  const res = await core.db
    .updateTable('snapshots')
    .set({ ...set, updated_at: core.now() })
    .where('id', '=', id)
    .where('status', 'in', from)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** Forgets a volume (row, metadata, attachments) and releases its quota; shared by delete and unmanage. */
export async function removeVolumeRow(core: Core, tx: Tx, id: string): Promise<void> {
  const row = await tx.selectFrom('volumes').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) return;
  await tx.deleteFrom('volumes').where('id', '=', id).execute();
  await deleteAllMetadata(tx, 'volume', id);
  await deleteAllMetadata(tx, 'volume_admin', id);
  await tx.deleteFrom('volume_attachments').where('volume_id', '=', id).execute();
  if (row.use_quota)
    await core.deps.quotas.release(
      tx,
      row.project_id,
      core.volumeQuota(row.size, await core.volumeTypeName(tx, row.volume_type_id)),
    );
}

/** Forgets a snapshot (row, metadata) and releases its quota; shared by delete and unmanage. */
export async function removeSnapshotRow(core: Core, tx: Tx, id: string): Promise<void> {
  const s = await tx.selectFrom('snapshots').selectAll().where('id', '=', id).executeTakeFirst();
  if (!s) return;
  await tx.deleteFrom('snapshots').where('id', '=', id).execute();
  await deleteAllMetadata(tx, 'snapshot', id);
  if (s.use_quota)
    await core.deps.quotas.release(
      tx,
      s.project_id,
      core.snapshotQuota(s.size, await core.volumeTypeName(tx, s.volume_type_id)),
    );
}

export function blockStorageTaskHandlers(core: Core, bases: BackupBases): TaskHandler<any>[] {
  const volumeCreate: TaskHandler<VolumeCreatePayload> = {
    kind: 'volume.create',
    async run(task, { signal }) {
      const v = await core.volumeRow(core.db, task.resourceId);
      if (!v || v.status !== 'creating') return;
      const driver = core.driver(v.driver);
      const bytes = v.size * GiB;
      const p = task.payload;
      if (p.source === 'snapshot') await driver.createVolumeFromSnapshot(p.snapshotId, v.id, bytes, { signal });
      else if (p.source === 'volume') await driver.cloneVolume(p.volumeId, v.id, bytes, { signal });
      else await driver.createVolume(v.id, bytes);
      if (!(await setVolume(core, v.id, ['creating'], { status: 'available' }))) {
        // Force-deleted meanwhile: the delete may have run before our file existed.
        if (!(await core.volumeRow(core.db, v.id))) await driver.deleteVolume(v.id);
      }
    },
    async fail(task) {
      const v = await core.volumeRow(core.db, task.resourceId);
      if (!v) return;
      await core.driver(v.driver).deleteVolume(v.id);
      await setVolume(core, v.id, ['creating'], { status: 'error' });
    },
  };

  const volumeDelete: TaskHandler<Record<string, never>> = {
    kind: 'volume.delete',
    async run(task) {
      const v = await core.volumeRow(core.db, task.resourceId);
      if (!v) return;
      const driver = core.driver(v.driver);
      const snaps = await core.db.selectFrom('snapshots').select('id').where('volume_id', '=', v.id).execute();
      for (const s of snaps) {
        await driver.deleteSnapshot(v.id, s.id);
        await core.db.transaction().execute((tx) => removeSnapshotRow(core, tx, s.id));
      }
      await driver.deleteVolume(v.id);
      // Hidden backup bases are no snapshot rows (they never block the delete) and go once the volume is gone.
      await bases.dropVolumeBases(driver, v.id);
      await core.db.transaction().execute((tx) => removeVolumeRow(core, tx, v.id));
    },
    async fail(task) {
      await setVolume(core, task.resourceId, ['deleting'], { status: 'error_deleting' });
    },
  };

  const volumeExtend: TaskHandler<{
    newSize: number;
    oldSize: number;
    previousStatus: string;
    typeName: string | null;
  }> = {
    kind: 'volume.extend',
    async run(task) {
      const v = await core.volumeRow(core.db, task.resourceId);
      if (!v || v.status !== 'extending') return;
      await core.driver(v.driver).extendVolume(v.id, task.payload.newSize * GiB);
      await setVolume(core, v.id, ['extending'], {
        status: task.payload.previousStatus,
        previous_status: null,
        size: task.payload.newSize,
      });
    },
    async fail(task, cause) {
      const v = await core.volumeRow(core.db, task.resourceId);
      if (!v) return;
      // The file may have grown before a crash; it is only ever larger than the recorded size, which reads fine.
      await core.db.transaction().execute(async (tx) => {
        const res = await tx
          .updateTable('volumes')
          .set({ status: 'error_extending', updated_at: core.now() })
          .where('id', '=', v.id)
          .where('status', '=', 'extending')
          .executeTakeFirst();
        if (Number(res.numUpdatedRows) === 0) return;
        const delta = task.payload.newSize - task.payload.oldSize;
        const d: Record<string, number> = { gigabytes: delta };
        if (task.payload.typeName) d[`gigabytes_${task.payload.typeName}`] = delta;
        await core.deps.quotas.release(tx, v.project_id, d);
      });
      core.deps.logger.warn({ volume: v.id, err: cause }, 'volume extend failed');
    },
  };

  const volumeRevert: TaskHandler<{ snapshotId: string }> = {
    kind: 'volume.revert',
    async run(task, { signal }) {
      const v = await core.volumeRow(core.db, task.resourceId);
      if (!v || v.status !== 'reverting') return;
      await core.driver(v.driver).revertToSnapshot(v.id, task.payload.snapshotId, { signal });
      await setVolume(core, v.id, ['reverting'], { status: 'available', previous_status: null });
      await setSnapshot(core, task.payload.snapshotId, ['restoring'], { status: 'available' });
    },
    async fail(task) {
      await setVolume(core, task.resourceId, ['reverting'], { status: 'error' });
      await setSnapshot(core, task.payload.snapshotId, ['restoring'], { status: 'available' });
    },
  };

  const snapshotCreate: TaskHandler<{ volumeId: string; driver: string }> = {
    kind: 'snapshot.create',
    async run(task, { signal }) {
      const id = task.resourceId;
      const s = await core.snapshotRow(core.db, id);
      if (!s || s.status !== 'creating') return;
      const driver = core.driver(task.payload.driver);
      let lastPct = 0;
      let lastAt = 0;
      let writing: Promise<unknown> = Promise.resolve();
      const onProgress = (f: number) => {
        const pct = Math.min(99, Math.floor(f * 100));
        const now = Date.now();
        if (pct <= lastPct || now - lastAt < PROGRESS_INTERVAL_MS) return;
        lastPct = pct;
        lastAt = now;
        writing = writing.then(() => setSnapshot(core, id, ['creating'], { progress: `${pct}%` })).catch(() => {});
      };
      await driver.createSnapshot(task.payload.volumeId, id, { signal, onProgress });
      await writing;
      if (!(await setSnapshot(core, id, ['creating'], { status: 'available', progress: '100%' }))) {
        // Deleted (force or cascade) while copying: make sure no orphan file remains.
        if (!(await core.snapshotRow(core.db, id))) await driver.deleteSnapshot(task.payload.volumeId, id);
      }
    },
    async fail(task) {
      await core.driver(task.payload.driver).deleteSnapshot(task.payload.volumeId, task.resourceId);
      await setSnapshot(core, task.resourceId, ['creating'], { status: 'error' });
    },
  };

  const snapshotDelete: TaskHandler<Record<string, never>> = {
    kind: 'snapshot.delete',
    async run(task) {
      const s = await core.snapshotRow(core.db, task.resourceId);
      if (!s) return;
      const v = await core.volumeRow(core.db, s.volume_id);
      await core.driver(v?.driver ?? core.backend().name).deleteSnapshot(s.volume_id, s.id);
      await core.db.transaction().execute((tx) => removeSnapshotRow(core, tx, s.id));
    },
    async fail(task) {
      await setSnapshot(core, task.resourceId, ['deleting'], { status: 'error_deleting' });
    },
  };

  return [volumeCreate, volumeDelete, volumeExtend, volumeRevert, snapshotCreate, snapshotDelete];
}

export type { TaskRecord };
