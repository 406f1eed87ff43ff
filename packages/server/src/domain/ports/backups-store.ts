/**
 * The Cinder backups' tables as services see them (implemented in store/repositories/backups.ts). Every method
 * takes the `Scope` to run in first: `MetadataStore.root` or the transaction a service opened.
 */
import type { Backup, BackupChanges, BackupStatus } from '../backup.js';
import type { ListOutcome, ListQuery } from './block-storage-store.js';
import type { Scope, Transition } from './metadata-store.js';

export type { Transition };

export interface BackupsStore {
  get(scope: Scope, id: string): Promise<Backup | undefined>;
  /** False (and nothing written) when a backup with that id exists. */
  insert(scope: Scope, backup: Backup): Promise<boolean>;
  /** Changes columns without a status rule (name, description, timestamps); undefined when the backup is gone. */
  update(scope: Scope, id: string, changes: BackupChanges): Promise<Backup | undefined>;
  /**
   * `status ∈ from → to` with `changes`, in one guarded update; `from` null: any status, `to` null: the status
   * stays. The loser of a race learns the status the winner left.
   */
  transition(
    scope: Scope,
    id: string,
    from: readonly BackupStatus[] | null,
    to: BackupStatus | null,
    changes?: BackupChanges,
  ): Promise<Transition<Backup>>;
  /** Removes the row and its metadata; false when it was already gone. */
  remove(scope: Scope, id: string): Promise<boolean>;
  /** Maps rows the generic list query read from the backups table (services/block-storage/listing.ts). */
  /** One page of the Cinder backup list (filters, keyset paging, count). */
  list(scope: Scope, q: ListQuery): Promise<ListOutcome<Backup>>;

  /** Some backup names `id` as its parent (Cinder's num_dependent_backups > 0). */
  hasDependents(scope: Scope, id: string): Promise<boolean>;
  /** Which of `ids` are some backup's parent. */
  withDependents(scope: Scope, ids: readonly string[]): Promise<Set<string>>;
  /**
   * The parent of an incremental: the project's newest available backup of the volume holding data, taken before
   * `before` (a snapshot's creation time) when given.
   */
  latestForIncremental(
    scope: Scope,
    q: { volumeId: string; projectId: string; before: string | null },
  ): Promise<Backup | undefined>;

  metadata(scope: Scope, id: string): Promise<Record<string, string>>;
  metadataOf(scope: Scope, ids: readonly string[]): Promise<Map<string, Record<string, string>>>;
  replaceMetadata(scope: Scope, id: string, items: Record<string, string>): Promise<void>;

  /** The changed-block tracking bases (hidden snapshots) backups keep; see services/block-storage/backup-bases.ts. */
  readonly bases: BackupBasesStore;
  /** The few volume and snapshot moves a backup or restore makes; see `BackupVolumesStore`. */
  readonly volumes: BackupVolumesStore;
}

/** Which kind of backup keeps a base: a Cinder backup (`backups`) or a CBR backup (`cbr_backups`). */
export type BaseOwner = 'backup' | 'cbr';

/** A backup's base: the backup that names it and the hidden snapshot's id. */
export interface BackupBase {
  owner: BaseOwner;
  backupId: string;
  baseId: string;
}

/**
 * The changed-block tracking bases of Cinder and CBR backups, one store for both so that whoever removes a
 * volume's bases (delete, unmanage) finds all of them. `owner` defaults to a Cinder backup.
 */
export interface BackupBasesStore {
  /** Step 1 of a removal: the base may no longer be compared against. */
  markUnusable(scope: Scope, backupId: string, baseId: string, owner?: BaseOwner): Promise<void>;
  /** Last step of a removal: the backup no longer names it. */
  forget(scope: Scope, backupId: string, baseId: string, owner?: BaseOwner): Promise<void>;
  /** Every base kept for the volume's backups, Cinder's and CBR's (but those of CBR backups still running). */
  ofVolume(scope: Scope, volumeId: string): Promise<BackupBase[]>;
  /**
   * Bases of the other finished backups of the same chain taken no later than `createdAt` (the ones a new base
   * replaces): a Cinder backup's chain is its volume; a CBR backup's is its disk in its vault.
   */
  olderThan(scope: Scope, q: BaseChain & { exceptBackupId: string; createdAt: string }): Promise<BackupBase[]>;
}

/** The backups that share one base: a volume's Cinder backups, or a disk's CBR backups in one vault. */
export type BaseChain = { owner?: 'backup'; volumeId: string } | { owner: 'cbr'; volumeId: string; vaultId: string };

/**
 * Volume and snapshot rows a backup or restore changes. They belong with the volume and snapshot repositories;
 * they sit here, named for what they do, until those repositories offer them.
 */
export interface BackupVolumesStore {
  /** available → backing-up; false when the snapshot moved meanwhile. */
  snapshotToBackingUp(scope: Scope, snapshotId: string, now: string): Promise<boolean>;
  /** `previousStatus` → backing-up, remembering it; false when the volume moved meanwhile. */
  volumeToBackingUp(scope: Scope, volumeId: string, previousStatus: string, now: string): Promise<boolean>;
  /** backing-up → available, once the backup no longer reads the snapshot. */
  releaseSnapshot(scope: Scope, snapshotId: string, now: string): Promise<void>;
  /** backing-up → the status the volume had, once the backup no longer reads it. */
  releaseVolume(scope: Scope, volumeId: string, previousStatus: string, now: string): Promise<void>;
  /** available → restoring-backup; false when the volume moved meanwhile. */
  volumeToRestoring(scope: Scope, volumeId: string, now: string): Promise<boolean>;
  /** A volume made for a restore (creating) is now being written: → restoring-backup. */
  newVolumeToRestoring(scope: Scope, volumeId: string, now: string): Promise<void>;
  /** The new volume is filled from `backupId` (its `backup_id` column). */
  markRestoredFrom(scope: Scope, volumeId: string, backupId: string): Promise<void>;
  /** restoring-backup|creating → available with the backup's metadata (merged) and bootable flag. */
  restored(
    scope: Scope,
    volumeId: string,
    info: { metadata: Record<string, string>; bootable: boolean },
    now: string,
  ): Promise<void>;
  /** restoring-backup|creating → `status` (error_restoring or error). */
  restoreFailed(scope: Scope, volumeId: string, status: 'error' | 'error_restoring', now: string): Promise<void>;
  /** The volume's user metadata, recorded in a backup's volume_info. */
  volumeMetadata(scope: Scope, volumeId: string): Promise<Record<string, string>>;
}
