import type { Scope } from '../../domain/ports/metadata-store.js';
import type { TaskHandler, TaskRecord } from '../../domain/ports/task-queue.js';
import type { VolumeDriver } from '../../domain/ports/volume-driver.js';
import { spaceFailure } from '../../domain/errors.js';
import { allows } from '../../domain/lifecycle.js';
import { type FailureEvent, type MessageActionName, type MessageDetailName, detailFor, volumeCreateFailure } from '../../domain/message.js';
import { type Snapshot, type SnapshotAction, snapshotLifecycle } from '../../domain/snapshot.js';
import { type Volume, type VolumeAction, volumeLifecycle } from '../../domain/volume.js';
import { type Core, GiB } from './core.js';
import { moveWithMessage } from './message-service.js';
import type { VolumeCreatePayload } from './volume-service.js';

/** Progress is written at most this often, and only when the percentage moved. */
const PROGRESS_INTERVAL_MS = 500;

/** Removes a volume's hidden backup bases (services/backup-data-path.ts); injected so task code stays apart from backups. */
export type DropVolumeBases = (driver: VolumeDriver, volumeId: string) => Promise<void>;

/** A task's step on a volume outside any transaction; false when the volume was no longer where the task left it. */
async function stepVolume(core: Core, id: string, action: VolumeAction, changes: Partial<Volume> = {}, to?: string): Promise<boolean> {
  return (await core.moveVolume(core.store.root, id, action, changes, to)).ok;
}

async function stepSnapshot(core: Core, id: string, action: SnapshotAction, changes: Partial<Snapshot> = {}): Promise<boolean> {
  return (await core.moveSnapshot(core.store.root, id, action, changes)).ok;
}

/** Forgets a volume (row, metadata, attachments) and releases its quota; shared by delete and unmanage. */
export async function removeVolumeRow(core: Core, tx: Scope, id: string): Promise<void> {
  const v = await core.repos.volumes.remove(tx, id);
  if (v?.use_quota) await core.releaseQuota(tx, v.project_id, core.volumeQuota(v.size, await core.volumeTypeName(tx, v.volume_type_id)));
}

/** Forgets a snapshot (row, metadata) and releases its quota; shared by delete and unmanage. */
export async function removeSnapshotRow(core: Core, tx: Scope, id: string): Promise<void> {
  const s = await core.repos.snapshots.remove(tx, id);
  if (s?.use_quota)
    await core.releaseQuota(tx, s.project_id, core.snapshotQuota(s.size, await core.volumeTypeName(tx, s.volume_type_id)));
}

/** A snapshot's failure as a user message (resource type `VOLUME_SNAPSHOT`, as Cinder's snapshot paths record). */
function snapshotEvent(s: Snapshot, action: MessageActionName, detail: MessageDetailName, taskId: string): FailureEvent {
  return { projectId: s.project_id, resourceType: 'VOLUME_SNAPSHOT', resourceUuid: s.id, action, detail, requestId: `req-${taskId}` };
}

export function blockStorageTaskHandlers(core: Core, dropVolumeBases: DropVolumeBases): TaskHandler<any>[] {
  const root = core.store.root;
  const volumeCreate: TaskHandler<VolumeCreatePayload> = {
    kind: 'volume.create',
    // After a crash: failed, not resumed: a half-made volume (a clone, a copy from a snapshot) cannot tell which bytes landed: error, partial data removed, as Cinder's init_host sets creating volumes to error.
    resumeAfterCrash: false,
    async run(task, { signal }) {
      const v = await core.volumeRow(root, task.resourceId);
      if (!v || !allows(volumeLifecycle, 'created', v.status)) return;
      const driver = core.driver(v.driver);
      const bytes = v.size * GiB;
      const p = task.payload;
      if (p.source === 'snapshot') await driver.createVolumeFromSnapshot(p.snapshotId, v.id, bytes, { signal });
      else if (p.source === 'volume') await driver.cloneVolume(p.volumeId, v.id, bytes, { signal });
      else await driver.createVolume(v.id, bytes);
      if (!(await stepVolume(core, v.id, 'created'))) {
        // Force-deleted meanwhile: the delete may have run before our file existed.
        if (!(await core.volumeRow(root, v.id))) await driver.deleteVolume(v.id);
      }
    },
    async fail(task, cause) {
      const v = await core.volumeRow(root, task.resourceId);
      if (!v) return;
      await core.driver(v.driver).deleteVolume(v.id);
      await moveWithMessage(core, (tx) => core.moveVolume(tx, v.id, 'createFailed'), {
        projectId: v.project_id,
        resourceType: 'VOLUME',
        resourceUuid: v.id,
        ...volumeCreateFailure(cause),
        requestId: `req-${task.id}`,
      });
    },
  };

  const volumeDelete: TaskHandler<Record<string, never>> = {
    kind: 'volume.delete',
    // Asked to be gone: a crash part-way resumes the delete (every step tolerates what is already gone).
    resumeAfterCrash: true,
    async run(task) {
      const v = await core.volumeRow(root, task.resourceId);
      if (!v) return;
      const driver = core.driver(v.driver);
      const snaps = await core.repos.snapshots.ofVolume(root, v.id);
      for (const s of snaps) {
        await driver.deleteSnapshot(v.id, s.id);
        await core.store.transaction((tx) => removeSnapshotRow(core, tx, s.id));
      }
      await driver.deleteVolume(v.id);
      // Hidden backup bases are no snapshot rows (they never block the delete) and go once the volume is gone.
      await dropVolumeBases(driver, v.id);
      await core.store.transaction((tx) => removeVolumeRow(core, tx, v.id));
    },
    async fail(task) {
      await stepVolume(core, task.resourceId, 'deleteFailed');
    },
  };

  const volumeExtend: TaskHandler<{
    newSize: number;
    oldSize: number;
    previousStatus: string;
    typeName: string | null;
  }> = {
    kind: 'volume.extend',
    // After a crash: failed, not resumed: fail moves the volume to error_extending (as Cinder does) and gives the quota back.
    resumeAfterCrash: false,
    async run(task) {
      const v = await core.volumeRow(root, task.resourceId);
      if (!v || !allows(volumeLifecycle, 'extended', v.status)) return;
      await core.driver(v.driver).extendVolume(v.id, task.payload.newSize * GiB);
      await stepVolume(core, v.id, 'extended', { previous_status: null, size: task.payload.newSize }, task.payload.previousStatus);
    },
    async fail(task, cause) {
      const v = await core.volumeRow(root, task.resourceId);
      if (!v) return;
      // The file may have grown before a crash; it is only ever larger than the recorded size, which reads fine.
      // Out of space, the driver refused before the volume grew (the file and its recorded size still agree), so the
      // volume goes back to where it was instead of to `error_extending`, which only an admin's reset-state clears:
      // a full disk is no reason to make a member's volume unusable. Other failures end as Cinder's do.
      const untouched = spaceFailure(cause) !== null;
      const move = async (tx: Scope) => {
        const moved = untouched
          ? await core.moveVolume(tx, v.id, 'extended', { previous_status: null }, task.payload.previousStatus)
          : await core.moveVolume(tx, v.id, 'extendFailed');
        if (!moved.ok) return moved;
        const delta = task.payload.newSize - task.payload.oldSize;
        const d: Record<string, number> = { gigabytes: delta };
        if (task.payload.typeName) d[`gigabytes_${task.payload.typeName}`] = delta;
        await core.releaseQuota(tx, v.project_id, d);
        return moved;
      };
      await moveWithMessage(core, move, {
        projectId: v.project_id,
        resourceType: 'VOLUME',
        resourceUuid: v.id,
        action: 'EXTEND_VOLUME',
        detail: detailFor('DRIVER_FAILED_EXTEND', cause),
        requestId: `req-${task.id}`,
      });
      core.deps.logger.warn({ volume: v.id, err: cause }, 'volume extend failed');
    },
  };

  const volumeRevert: TaskHandler<{ snapshotId: string }> = {
    kind: 'volume.revert',
    // After a crash: failed, not resumed: a revert cut short leaves the volume part old, part new; fail marks it (revertFailed).
    resumeAfterCrash: false,
    async run(task, { signal }) {
      const v = await core.volumeRow(root, task.resourceId);
      if (!v || !allows(volumeLifecycle, 'reverted', v.status)) return;
      await core.driver(v.driver).revertToSnapshot(v.id, task.payload.snapshotId, { signal });
      await stepVolume(core, v.id, 'reverted', { previous_status: null });
      await stepSnapshot(core, task.payload.snapshotId, 'restored');
    },
    async fail(task) {
      await stepVolume(core, task.resourceId, 'revertFailed');
      await stepSnapshot(core, task.payload.snapshotId, 'restored');
    },
  };

  const snapshotCreate: TaskHandler<{ volumeId: string; driver: string }> = {
    kind: 'snapshot.create',
    // After a crash: failed, not resumed: the snapshot's point in time is gone with the crash: error (Cinder's init_host does the same), never a later point.
    resumeAfterCrash: false,
    // Claimed in the create's own transaction: a separate claim statement (a commit, a round trip on PostgreSQL)
    // sat between the API's commit and the driver on every create.
    claimOnEnqueue: true,
    async run(task, { signal }) {
      const id = task.resourceId;
      const s = await core.snapshotRow(root, id);
      if (!s || !allows(snapshotLifecycle, 'created', s.status)) return;
      const driver = core.driver(task.payload.driver);
      let lastPct = 0;
      let lastAt = 0;
      let writing: Promise<unknown> = Promise.resolve();
      const onProgress = (f: number) => {
        // Done: the 'created' step writes 100% in the statement that makes it available. A driver that reports
        // completion (qcow2 does, once its flush returns) otherwise cost a create a 99% update, its commit and
        // its event, between the flush and 'available'.
        if (f >= 1) return;
        const pct = Math.min(99, Math.floor(f * 100));
        const now = Date.now();
        if (pct <= lastPct || now - lastAt < PROGRESS_INTERVAL_MS) return;
        lastPct = pct;
        lastAt = now;
        writing = writing.then(() => stepSnapshot(core, id, 'progress', { progress: `${pct}%` })).catch(() => {});
      };
      await driver.createSnapshot(task.payload.volumeId, id, { signal, onProgress });
      await writing;
      if (!(await stepSnapshot(core, id, 'created', { progress: '100%' }))) {
        // Deleted (force or cascade) while copying: make sure no orphan file remains.
        if (!(await core.snapshotRow(root, id))) await driver.deleteSnapshot(task.payload.volumeId, id);
      }
    },
    async fail(task, cause) {
      const s = await core.snapshotRow(root, task.resourceId);
      // Past `creating`, the create finished and only the task row's removal was cut short (a crash right after
      // `available`): the layer is the snapshot's, and deleting it would leave an available snapshot without data.
      if (s && !allows(snapshotLifecycle, 'createFailed', s.status)) return;
      await core.driver(task.payload.driver).deleteSnapshot(task.payload.volumeId, task.resourceId);
      await moveWithMessage(
        core,
        (tx) => core.moveSnapshot(tx, task.resourceId, 'createFailed'),
        async (tx) => {
          const s = await core.repos.snapshots.get(tx, task.resourceId);
          return s ? snapshotEvent(s, 'SNAPSHOT_CREATE', detailFor('SNAPSHOT_CREATE_ERROR', cause), task.id) : null;
        },
      );
    },
  };

  const snapshotDelete: TaskHandler<Record<string, never>> = {
    kind: 'snapshot.delete',
    // Asked to be gone: a crash part-way resumes the delete (every step tolerates what is already gone).
    resumeAfterCrash: true,
    async run(task) {
      const s = await core.snapshotRow(root, task.resourceId);
      if (!s) return;
      const v = await core.volumeRow(root, s.volume_id);
      await core.driver(v?.driver ?? core.backend().name).deleteSnapshot(s.volume_id, s.id);
      await core.store.transaction((tx) => removeSnapshotRow(core, tx, s.id));
    },
    async fail(task) {
      await moveWithMessage(
        core,
        (tx) => core.moveSnapshot(tx, task.resourceId, 'deleteFailed'),
        async (tx) => {
          const s = await core.repos.snapshots.get(tx, task.resourceId);
          return s ? snapshotEvent(s, 'SNAPSHOT_DELETE', 'SNAPSHOT_DELETE_ERROR', task.id) : null;
        },
      );
    },
  };

  return [volumeCreate, volumeDelete, volumeExtend, volumeRevert, snapshotCreate, snapshotDelete];
}

export type { TaskRecord };
