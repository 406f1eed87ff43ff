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

  /** The changed-block tracking bases (hidden snapshots) backups keep; see services/backup-data-path.ts. */
  readonly bases: BackupBasesStore;
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
