/**
 * Tasks behind manage and unmanage. Manage looks at the referenced object, takes it under the driver's name and
 * only then makes the row usable; a bad reference leaves the row in error and the object untouched. Unmanage
 * never touches the backend: it forgets the row and, for a snapshot, lets the volume remember the object.
 */
import { allows } from '../../domain/lifecycle.js';
import type { TaskHandler } from '../../domain/ports/task-queue.js';
import type { VolumeDriver } from '../../domain/ports/volume-driver.js';
import { snapshotLifecycle } from '../../domain/snapshot.js';
import { volumeLifecycle } from '../../domain/volume.js';
import { type Core, GiB } from './core.js';
import type { ManagePayload } from './manage-service.js';
import { sizeGiB, UNMANAGED_SNAPSHOT_KEY } from './manageable.js';
import { type DropVolumeBases, removeSnapshotRow, removeVolumeRow } from './task-handlers.js';
import { detailFor } from '../../domain/message.js';
import { moveWithMessage } from './message-service.js';

/** The object a manage task is to adopt, or an error saying why the reference is unusable. */
async function referencedObject(driver: VolumeDriver, p: ManagePayload): Promise<{ name: string; size: number }> {
  if (p.name === null)
    throw new Error(`invalid backend reference ${JSON.stringify(p.ref)}: expected {"source-name": "<file name>"}`);
  const obj = await driver.inspectObject(p.name);
  if (!obj) throw new Error(`invalid backend reference ${JSON.stringify(p.ref)}: no such object`);
  return obj;
}

export function manageTaskHandlers(core: Core, dropVolumeBases: DropVolumeBases): TaskHandler<any>[] {
  const root = core.store.root;
  const { volumes, metadata } = core.repos;
  const snapshotManage: TaskHandler<ManagePayload> = {
    kind: 'snapshot.manage',
    // After a crash: failed, not resumed: fail records the error and keeps the row's claim on an object already adopted.
    resumeAfterCrash: false,
    async run(task) {
      const id = task.resourceId;
      const s = await core.snapshotRow(root, id);
      if (!s || !allows(snapshotLifecycle, 'created', s.status)) return;
      const v = await core.volumeRow(root, s.volume_id);
      if (!v) throw new Error(`volume ${s.volume_id} is gone`);
      const driver = core.driver(v.driver);
      let info = await driver.stat('snapshot', id);
      if (!info) {
        const obj = await referencedObject(driver, task.payload);
        // A raw snapshot holds exactly its volume's bytes; any other size cannot belong to this volume.
        if (obj.size !== v.size * GiB) {
          throw new Error(
            `${obj.name} (${obj.size} bytes) cannot be a snapshot of volume ${v.id}, whose size is ${v.size} GiB`,
          );
        }
        const parent = await metadata.ownerOfKey(root, 'volume_admin', `${UNMANAGED_SNAPSHOT_KEY}${obj.name}`);
        if (parent !== undefined && parent !== v.id)
          throw new Error(`${obj.name} is a snapshot of volume ${parent}, not of ${v.id}`);
        await driver.adoptObject(obj.name, 'snapshot', id);
        info = { size: obj.size, allocated: 0 };
      }
      const name = task.payload.name;
      await core.store.transaction(async (tx) => {
        const moved = await core.moveSnapshot(tx, id, 'created', {
          progress: '100%',
          size: sizeGiB(info.size),
          provider_location: driver.objectName('snapshot', id),
        });
        if (moved.ok && name !== null)
          await metadata.deleteKeyEverywhere(tx, 'volume_admin', `${UNMANAGED_SNAPSHOT_KEY}${name}`);
      });
    },
    async fail(task, cause) {
      const s = await core.snapshotRow(root, task.resourceId);
      if (!s) return;
      const v = await core.volumeRow(root, s.volume_id);
      // Adopted before the failure: the row keeps its claim so the bytes are not lost to a later delete.
      const adopted = v ? await core.driver(v.driver).stat('snapshot', s.id) : null;
      // Cinder has no manage action for snapshots; what failed is the snapshot's creation from backend storage.
      await moveWithMessage(
        core,
        (tx) =>
          core.moveSnapshot(tx, s.id, 'createFailed', {
            provider_location: adopted ? core.driver(v!.driver).objectName('snapshot', s.id) : null,
          }),
        {
          projectId: s.project_id,
          resourceType: 'VOLUME_SNAPSHOT',
          resourceUuid: s.id,
          action: 'SNAPSHOT_CREATE',
          detail: detailFor('SNAPSHOT_CREATE_ERROR', cause),
          requestId: `req-${task.id}`,
        },
      );
      core.deps.logger.warn({ snapshot: s.id, err: cause }, 'managing a snapshot failed');
    },
  };

  const volumeManage: TaskHandler<ManagePayload> = {
    kind: 'volume.manage',
    // After a crash: failed, not resumed: fail records the error and keeps the row's claim on an object already adopted.
    resumeAfterCrash: false,
    async run(task) {
      const id = task.resourceId;
      const v = await core.volumeRow(root, id);
      if (!v || !allows(volumeLifecycle, 'managed', v.status)) return;
      const driver = core.driver(v.driver);
      const adopted = await driver.stat('volume', id);
      const obj = adopted ? { name: driver.objectName('volume', id), size: adopted.size } : null;
      const { name, size: bytes } = obj ?? (await referencedObject(driver, task.payload));
      const size = sizeGiB(bytes);
      if (size < 1) throw new Error(`${name} is empty`);
      if (v.size === 0) {
        // Gigabytes are reserved once the size is known; over quota, the volume ends in error_managing.
        await core.store.transaction(async (tx) => {
          const typeName = await core.volumeTypeName(tx, v.volume_type_id);
          const d: Record<string, number> = { gigabytes: size };
          if (typeName) d[`gigabytes_${typeName}`] = size;
          // Only once: a replayed task finds the size already set (the task's lease keeps replays sequential).
          const now = await volumes.get(tx, id);
          if (now?.size !== 0) return;
          const moved = await core.moveVolume(tx, id, 'manageSized', { size });
          if (moved.ok) await core.reserveQuota(tx, v.project_id, d);
        });
      }
      if (!adopted) await driver.adoptObject(name, 'volume', id);
      // Readers expect size GiB of bytes; a file that is not a whole number of GiB is padded with zeros.
      await driver.extendVolume(id, size * GiB);
      await core.moveVolume(root, id, 'managed', { provider_location: driver.objectName('volume', id) });
    },
    async fail(task, cause) {
      const v = await core.volumeRow(root, task.resourceId);
      if (!v) return;
      const driver = core.driver(v.driver);
      const adopted = await driver.stat('volume', v.id);
      // Cinder's manage flow reports a failed adoption as a create from backend storage the driver could not do.
      await moveWithMessage(
        core,
        (tx) => core.moveVolume(tx, v.id, 'manageFailed', { provider_location: adopted ? driver.objectName('volume', v.id) : null }),
        {
          projectId: v.project_id,
          resourceType: 'VOLUME',
          resourceUuid: v.id,
          action: 'CREATE_VOLUME_FROM_BACKEND',
          detail: detailFor('DRIVER_FAILED_CREATE', cause),
          requestId: `req-${task.id}`,
        },
      );
      core.deps.logger.warn({ volume: v.id, err: cause }, 'managing a volume failed');
    },
  };

  const snapshotUnmanage: TaskHandler<Record<string, never>> = {
    kind: 'snapshot.unmanage',
    // Never touches the backend: replaying the forgetting after a crash is harmless.
    resumeAfterCrash: true,
    async run(task) {
      await core.store.transaction(async (tx) => {
        const s = await core.snapshotRow(tx, task.resourceId);
        if (!s || !allows(snapshotLifecycle, 'unmanageFailed', s.status)) return;
        await removeSnapshotRow(core, tx, s.id);
        // The object keeps its name; its volume remembers it, so the listing can name the parent.
        if (s.provider_location)
          await metadata.write(tx, 'volume_admin', s.volume_id, { [`${UNMANAGED_SNAPSHOT_KEY}${s.provider_location}`]: s.id }, false);
      });
    },
    async fail(task) {
      await core.moveSnapshot(root, task.resourceId, 'unmanageFailed');
    },
  };

  const volumeUnmanage: TaskHandler<Record<string, never>> = {
    kind: 'volume.unmanage',
    // Never touches the backend: replaying the forgetting after a crash is harmless.
    resumeAfterCrash: true,
    async run(task) {
      const v = await core.volumeRow(root, task.resourceId);
      if (!v || !allows(volumeLifecycle, 'unmanageFailed', v.status)) return;
      // The file leaves whole: a hidden backup base would stay behind as a layer (qcow2) or a copy nobody owns.
      await dropVolumeBases(core.driver(v.driver), v.id);
      await core.store.transaction(async (tx) => {
        const now = await volumes.get(tx, v.id);
        if (!now || !allows(volumeLifecycle, 'unmanageFailed', now.status)) return;
        await removeVolumeRow(core, tx, v.id);
      });
    },
    async fail(task) {
      await moveWithMessage(
        core,
        (tx) => core.moveVolume(tx, task.resourceId, 'unmanageFailed'),
        async (tx) => {
          const v = await volumes.get(tx, task.resourceId);
          return v
            ? { projectId: v.project_id, resourceType: 'VOLUME', resourceUuid: v.id, action: 'UNMANAGE_VOLUME', detail: 'UNKNOWN_ERROR', requestId: `req-${task.id}` }
            : null;
        },
      );
    },
  };

  return [snapshotManage, volumeManage, snapshotUnmanage, volumeUnmanage];
}
