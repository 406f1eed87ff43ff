import type { BackupTargets } from '../../domain/ports/backup-targets.js';
import { type Backup, type BackupChanges, backupLifecycle } from '../../domain/backup.js';
import { failureReport } from '../../domain/errors.js';
import { parseStoredTime } from '../../domain/time.js';
import { fromStatuses } from '../../domain/lifecycle.js';
import type { BackupsStore } from '../../domain/ports/backups-store.js';
import type { MetadataStore, Scope } from '../../domain/ports/metadata-store.js';
import type { TaskHandler } from '../../domain/ports/task-queue.js';
import type { BackupDataPath } from '../backup-data-path.js';
import type { BackupProgress } from './backup-progress.js';
import { type BackupCreatePayload, type BackupRestorePayload } from './backup-service.js';
import { type Core, GiB } from './core.js';
import { dropHidden } from './hidden-snapshots.js';
import { type FailureEvent, detailFor } from '../../domain/message.js';
import { moveWithMessage } from './message-service.js';

/** A restore writes a volume made for it (creating, then restoring-backup) or an existing one (restoring-backup). */
const RESTORE_TARGET_STATUSES = ['restoring-backup', 'creating'];

export interface BackupTaskDeps {
  core: Core;
  store: MetadataStore;
  backups: BackupsStore;
  data: BackupDataPath;
  targets: BackupTargets;
  progress: BackupProgress;
}

export function backupTaskHandlers(deps: BackupTaskDeps): TaskHandler<any>[] {
  const { core, store, backups, data, targets, progress } = deps;
  /** Every operation on a backup goes to the target its record names. */
  const repoOf = (b: Pick<Backup, 'backup_target'>) => targets.repo(b.backup_target);
  const bases = data.bases;
  const root = store.root;

  /** One of the backup lifecycle's task moves; false when a force delete or reset got there first. */
  async function move(
    id: string,
    action: 'createDone' | 'createFailed' | 'restoreDone' | 'restoreFailed' | 'deleteFailed',
    changes: BackupChanges = {},
    scope: Scope = root,
  ): Promise<boolean> {
    const to = backupLifecycle.actions[action].to!;
    const t = await backups.transition(scope, id, fromStatuses(backupLifecycle, action), to, {
      ...changes,
      updated_at: core.now(),
    });
    return t.ok;
  }

  /** Gives the source back its status once the backup no longer reads it (success or failure). */
  async function releaseSource(p: BackupCreatePayload, scope: Scope = root): Promise<void> {
    const updated_at = core.now();
    if (p.snapshotId !== null) await core.repos.snapshots.transition(scope, p.snapshotId, ['backing-up'], 'available', { updated_at });
    else if (p.previousStatus !== null)
      await core.repos.volumes.transition(scope, p.volumeId, ['backing-up'], p.previousStatus, { previous_status: null, updated_at });
  }

  /**
   * The backup's final status and the source's release in one transaction, as Cinder frees the volume before it
   * reports the backup: a client that sees the backup finished may use the volume right away. False (and nothing
   * released) when a force delete got there first.
   */
  async function finish(
    id: string,
    p: BackupCreatePayload,
    action: 'createDone' | 'createFailed',
    changes: BackupChanges,
    failure?: FailureEvent,
  ): Promise<boolean> {
    const run = async (tx: Scope) => {
      if (!(await move(id, action, changes, tx))) return { ok: false };
      await releaseSource(p, tx);
      return { ok: true };
    };
    if (failure) return moveWithMessage(core, run, failure);
    return store.transaction(async (tx) => (await run(tx)).ok);
  }

  /** A backup's failure as a user message (resource type `VOLUME_BACKUP`, as Cinder's backup manager records). */
  const backupEvent = (projectId: string, id: string, taskId: string, action: FailureEvent['action'], detail: FailureEvent['detail']): FailureEvent => ({
    projectId,
    resourceType: 'VOLUME_BACKUP',
    resourceUuid: id,
    action,
    detail,
    requestId: `req-${taskId}`,
  });

  /**
   * The parent's usable base, when the new backup may read only what changed since it: the parent holds one and
   * has the same size (after an extend the new tail was never tracked; the old path then compares the data).
   */
  async function changedSince(b: Backup, p: BackupCreatePayload): Promise<string | null> {
    if (b.parent_id === null || p.parentLocator === null) return null;
    const parent = await backups.get(root, b.parent_id);
    if (!parent || parent.locator !== p.parentLocator) return null;
    if (parent.size !== b.size || parent.volume_id !== b.volume_id) return null;
    return parent.cbt_base_usable ? parent.cbt_base_id : null;
  }

  const create: TaskHandler<BackupCreatePayload> = {
    kind: 'backup.create',
    // After a crash: failed, not resumed: a backup's data_timestamp is when it started: a rerun would record another moment, so error (Cinder's backup manager does the same), partial chunks left to gc.
    resumeAfterCrash: false,
    async run(task, { signal }) {
      const id = task.resourceId;
      const p = task.payload;
      const baseId = p.baseId ?? null;
      const driver = core.driver(p.driver);
      const b = await backups.get(root, id);
      if (!b || b.status !== 'creating') {
        await releaseSource(p);
        return;
      }
      const size = b.size * GiB;
      const onProgress = progress.start(id, 'backup', size);
      let result;
      try {
        // With cheap snapshots the backup reads a frozen image (also for force backups of in-use volumes), which
        // stays as the base of the next incremental; otherwise the volume or snapshot is read in place. A user
        // snapshot newer than the parent's base is compared against it too (the driver answers null when the two
        // do not link, e.g. a snapshot older than the base); only volume backups leave a new base.
        const since = baseId !== null || p.snapshotId !== null ? await changedSince(b, p) : null;
        result = await data.copy({
          repo: repoOf(b),
          driver,
          volumeId: p.volumeId,
          freeze: baseId,
          object: p.snapshotId !== null ? { kind: 'snapshot', id: p.snapshotId } : { kind: 'volume', id: p.volumeId },
          changedSince: since,
          backup: {
            id,
            container: b.container,
            size,
            ...(p.parentLocator !== null ? { parent: p.parentLocator } : {}),
            meta: {
              volume_id: p.volumeId,
              snapshot_id: p.snapshotId,
              data_timestamp: b.data_timestamp,
              volume_info: JSON.stringify(b.volume_info),
            },
            signal,
            onProgress,
          },
        });
      } finally {
        progress.finish(id);
      }
      // Immutable before it is reported available: a backup the API calls done is locked on the store as well.
      if (b.locked_until !== null) await repoOf(b).retain(result.locator, parseStoredTime(b.locked_until));
      if (baseId !== null) await bases.dropOlder(driver, { volumeId: b.volume_id }, b);
      const s = result.stats;
      const committed = await finish(id, p, 'createDone', {
        locator: result.locator,
        object_count: s.chunks - s.zeroChunks,
        stored_bytes: s.storedBytes,
        data_bytes: s.dataBytes,
        ...(baseId !== null ? { cbt_base_usable: true } : {}),
      });
      if (!committed) {
        // Force-deleted while running: nothing may keep the manifest or the base alive.
        await repoOf(b).deleteManifest(result.locator);
        if (baseId !== null) await dropHidden(driver, p.volumeId, baseId);
        await releaseSource(p);
      }
      if (committed && baseId !== null) {
        // A volume force-deleted during the backup already had its bases removed; this one came after.
        const v = await core.volumeRow(root, p.volumeId);
        if (!v || v.status === 'deleting') await bases.retire(driver, p.volumeId, { owner: 'backup', backupId: id, baseId }).catch(() => {});
      }
    },
    async fail(task, cause) {
      const p = task.payload;
      const b = await backups.get(root, task.resourceId);
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
        if (!committed) await repoOf(b).deleteManifest(`${b.container}/${b.id}`).catch(() => false);
        // A crashed backup's lease would hold back GC for its whole TTL; this node knows the backup is dead.
        await repoOf(b).releaseLease(`${b.container}/${b.id}`).catch(() => false);
        const finished = await finish(
          b.id,
          p,
          'createFailed',
          {
            fail_reason: failureReport(cause).message.slice(0, 255),
            ...(dropped && b.cbt_base_id === baseId ? { cbt_base_id: null } : {}),
          },
          backupEvent(b.project_id, b.id, task.id, 'BACKUP_CREATE', detailFor('BACKUP_CREATE_DRIVER_ERROR', cause)),
        );
        if (finished) return;
      }
      await releaseSource(p);
    },
  };

  const restore: TaskHandler<BackupRestorePayload> = {
    kind: 'backup.restore',
    // After a crash: failed, not resumed: the target volume holds a mix of old and restored bytes: it goes to error, the backup is free again.
    resumeAfterCrash: false,
    async run(task, { signal }) {
      const id = task.resourceId;
      const p = task.payload;
      const b = await backups.get(root, id);
      const v = await core.volumeRow(root, p.volumeId);
      if (!v) throw new Error(`volume ${p.volumeId} vanished before the restore`);
      if (!b || b.status !== 'restoring' || b.locator === null) throw new Error(`backup ${id} cannot be restored`);
      const driver = core.driver(v.driver);
      if (p.origin === 'restore')
        await core.repos.volumes.transition(root, v.id, ['creating'], 'restoring-backup', { updated_at: core.now() });
      if (p.fresh) await driver.createVolume(v.id, v.size * GiB);
      const onProgress = progress.start(id, 'restore', b.size * GiB);
      // Raw volumes are written in place; other formats get an all-zero raw file that commit() puts in the volume.
      const target = await driver.importRaw(v.id);
      const inPlace = target.path === driver.path('volume', v.id);
      try {
        await repoOf(b).restore({
          locator: b.locator,
          targetPath: target.path,
          targetIsFresh: inPlace ? p.fresh : true,
          // A temporary is read back by the conversion right after: keep it in the page cache.
          directIo: inPlace,
          ...(target.window ? { window: target.window } : {}),
          zeroRange: (offset, length) => driver.zeroRange(v.id, offset, length),
          signal,
          onProgress,
        });
        await target.commit({ signal });
      } finally {
        progress.finish(id);
        await target.release();
      }
      const info = b.volume_info;
      await store.transaction(async (tx) => {
        const moved = await core.repos.volumes.transition(tx, v.id, RESTORE_TARGET_STATUSES, 'available', {
          previous_status: null,
          bootable: info.bootable,
          updated_at: core.now(),
        });
        // A reset or force delete that reached the volume during the restore owns it now: its status stands, and
        // a deleted volume must not get metadata rows back (nothing would ever remove them).
        if (moved.ok) {
          const metadata = { ...info.metadata };
          if (v.id !== b.volume_id) metadata.src_backup_id = b.id;
          // Merged into what the volume has, as Cinder applies a backup's metadata.
          await core.repos.metadata.write(tx, 'volume', v.id, metadata, false);
        } else {
          core.deps.logger.warn({ volumeId: v.id, backupId: id }, 'restore finished after the volume was reset or deleted: its status is left as is');
        }
        await backups.transition(tx, id, fromStatuses(backupLifecycle, 'restoreDone'), backupLifecycle.actions.restoreDone.to!, {
          updated_at: core.now(),
        });
      });
    },
    async fail(task, cause) {
      const p = task.payload;
      // Together, as on success: whoever sees the volume failed finds the backup free for another try. The message
      // goes to the project of the volume written, whose users asked for the restore.
      await moveWithMessage(
        core,
        async (tx) => {
          const status = p.origin === 'existing' ? 'error_restoring' : 'error';
          const v = await core.repos.volumes.transition(tx, p.volumeId, RESTORE_TARGET_STATUSES, status, { updated_at: core.now() });
          const b = await move(task.resourceId, 'restoreFailed', {}, tx);
          return { ok: v.ok || b };
        },
        async (tx) => {
          const v = await core.repos.volumes.get(tx, p.volumeId);
          const b = await backups.get(tx, task.resourceId);
          const projectId = v?.project_id ?? b?.project_id;
          if (projectId === undefined) return null;
          return backupEvent(projectId, task.resourceId, task.id, 'BACKUP_RESTORE', detailFor('BACKUP_RESTORE_ERROR', cause));
        },
      );
    },
  };

  const remove: TaskHandler<Record<string, never>> = {
    kind: 'backup.delete',
    // Asked to be gone: a crash part-way resumes the delete (every step tolerates what is already gone).
    resumeAfterCrash: true,
    async run(task) {
      const b = await backups.get(root, task.resourceId);
      if (!b) return;
      // The manifest goes first: a crash in between leaves a backup in `deleting` that a retry finishes.
      if (b.locator !== null) await repoOf(b).deleteManifest(b.locator);
      if (b.cbt_base_id !== null) {
        // A volume that is gone took its bases with it (or, unmanaged, keeps them as layers of its chain).
        const v = await core.volumeRow(root, b.volume_id);
        if (v) await bases.retire(core.driver(v.driver), v.id, { owner: 'backup', backupId: b.id, baseId: b.cbt_base_id });
      }
      await store.transaction(async (tx) => {
        if (!(await backups.remove(tx, b.id))) return;
        await core.deps.quotas.release(tx, b.project_id, { backups: 1, backup_gigabytes: b.size });
      });
    },
    async fail(task) {
      await moveWithMessage(
        core,
        async (tx) => ({ ok: await move(task.resourceId, 'deleteFailed', {}, tx) }),
        async (tx) => {
          const b = await backups.get(tx, task.resourceId);
          return b ? backupEvent(b.project_id, b.id, task.id, 'BACKUP_DELETE', 'BACKUP_DELETE_DRIVER_ERROR') : null;
        },
      );
    },
  };

  return [create, restore, remove];
}
