/**
 * Cinder backups: the record services and views work with, and the backup's lifecycle (which action may start
 * from which status, where it moves the backup, and what Cinder answers otherwise). The one rule about a source
 * volume that only the backup API states (an unforced backup of an in-use volume) is here too; the others are the
 * volume's and snapshot's own rules.
 */
import { badRequest, type DomainError } from './errors.js';
import { lifecycle } from './lifecycle.js';
import { VOLUME_STATUSES } from './volume.js';
import { setOwn } from './own.js';

/** The source volume's state a restore gives back: its metadata and bootable flag. */
export interface VolumeInfo {
  metadata: Record<string, string>;
  bootable: boolean;
}

export const BACKUP_STATUSES = ['creating', 'available', 'deleting', 'error', 'error_deleting', 'restoring'] as const;
export type BackupStatus = (typeof BACKUP_STATUSES)[number];

/** A backup as services see it: the backups table's columns, with flags as booleans and `volume_info` parsed. */
export interface Backup {
  id: string;
  project_id: string;
  user_id: string;
  volume_id: string;
  snapshot_id: string | null;
  name: string | null;
  description: string | null;
  /** Namespace of the manifest inside the backup repository. */
  container: string;
  availability_zone: string | null;
  status: BackupStatus;
  fail_reason: string | null;
  /** GiB. */
  size: number;
  object_count: number;
  parent_id: string | null;
  data_timestamp: string;
  /** "<container>/<id>" of the manifest; null until the backup committed. */
  locator: string | null;
  stored_bytes: number;
  data_bytes: number;
  volume_info: VolumeInfo;
  host: string | null;
  created_at: string;
  updated_at: string | null;
  /** Hidden driver snapshot of the volume this backup read: the changed-block tracking base. */
  cbt_base_id: string | null;
  /** The base may be compared against (from the commit until its removal starts). */
  cbt_base_usable: boolean;
  /** The backup target holding its manifest and chunks (`default`: the data directory's repository). */
  backup_target: string;
  /** cinderbox extension: end of the backup's retention (stored time; null = not locked); no API deletes it before. */
  locked_until: string | null;
}

/** Columns an update may change besides the status. */
export type BackupChanges = Partial<Omit<Backup, 'id' | 'status'>>;

/**
 * Tolerant reading of a stored or imported `volume_info`: a record from another deployment may carry anything,
 * and a restore must still work with what is usable in it.
 */
export function parseVolumeInfo(text: string): VolumeInfo {
  try {
    const v = JSON.parse(text) as Partial<VolumeInfo> | null;
    const metadata: Record<string, string> = {};
    if (v?.metadata && typeof v.metadata === 'object') {
      for (const [k, val] of Object.entries(v.metadata)) if (typeof val === 'string') setOwn(metadata, k, val);
    }
    return { metadata, bootable: v?.bootable === true };
  } catch {
    return { metadata: {}, bootable: false };
  }
}

const backupMustBeAvailable = () => 'Invalid backup: Backup status must be available';

/**
 * The backup's own transitions. API actions answer 400 `InvalidBackup` as Cinder does; the task rows are the
 * moves background work makes, refused (a conflict nobody sees) when a force delete or reset got there first.
 */
export const backupLifecycle = lifecycle(BACKUP_STATUSES, {
  delete: {
    from: ['available', 'error'],
    to: 'deleting',
    refuse: 'badRequest',
    message: () => 'Invalid backup: Backup status must be available or error',
  },
  forceDelete: {
    from: ['creating', 'available', 'error', 'error_deleting', 'restoring'],
    to: 'deleting',
    refuse: 'badRequest',
    message: () => 'Invalid backup: Backup is already being deleted.',
  },
  /** Restore into an existing or a new volume, and create volume from backup (3.47). */
  restore: { from: ['available'], to: 'restoring', refuse: 'badRequest', message: backupMustBeAvailable },
  exportRecord: {
    from: ['available'],
    refuse: 'badRequest',
    message: () => 'Invalid backup: Backup status must be available and not restoring.',
  },
  /** Admin reset: any current status; the target is checked by `ensureResetTarget`. */
  resetStatus: { from: '*', refuse: 'badRequest', message: () => 'Invalid backup: Backup status cannot be reset.' },
  createDone: { from: ['creating'], to: 'available', refuse: 'conflict', message: taskRaced('creating') },
  createFailed: { from: ['creating'], to: 'error', refuse: 'conflict', message: taskRaced('creating') },
  importDone: { from: ['creating'], to: 'available', refuse: 'conflict', message: taskRaced('creating') },
  restoreDone: { from: ['restoring'], to: 'available', refuse: 'conflict', message: taskRaced('restoring') },
  /** A failed restore leaves the backup as it was: its data is intact. */
  restoreFailed: { from: ['restoring'], to: 'available', refuse: 'conflict', message: taskRaced('restoring') },
  deleteFailed: { from: ['deleting'], to: 'error_deleting', refuse: 'conflict', message: taskRaced('deleting') },
});

function taskRaced(expected: BackupStatus) {
  return (s: { id: string; status: string }) => `Backup ${s.id} is ${s.status}, no longer ${expected}.`;
}

export type BackupAction = keyof typeof backupLifecycle.actions;

/** The statuses os-reset_status may set (Cinder accepts only these two for backups). */
export const BACKUP_RESET_STATUSES = ['available', 'error'] as const satisfies readonly BackupStatus[];

/** Throws Cinder's refusal unless `status` is a valid reset target. */
export function ensureResetTarget(status: string): (typeof BACKUP_RESET_STATUSES)[number] {
  if (!(BACKUP_RESET_STATUSES as readonly string[]).includes(status))
    throw badRequest(
      `Invalid input received: Backup status: ${status} is invalid, valid statuses are: ['available', 'error'].`,
    );
  return status as (typeof BACKUP_RESET_STATUSES)[number];
}

/** The backup's manifest is whole: the progress of an idle backup is 100%. */
export function holdsData(status: string): boolean {
  return status === 'available' || status === 'restoring';
}

/**
 * What a backup create without `force` accepts of its source volume: Cinder refuses an in-use volume with its own
 * words ("must use the force flag"), which the volume's own `backup` rule (the forced one, available or in-use)
 * does not say. The forced backup, the source snapshot and the restore target are the volume's and snapshot's own
 * rules (`volumeLifecycle.backup`, `snapshotLifecycle.backup`, `volumeLifecycle.restoreBackup`).
 */
export const backupSourceVolume = lifecycle(VOLUME_STATUSES, {
  backup: {
    from: ['available'],
    to: 'backing-up',
    refuse: 'badRequest',
    message: (s) =>
      s.status === 'in-use'
        ? 'Invalid volume: Backing up an in-use volume must use the force flag.'
        : `Invalid volume: Volume to be backed up must be available or in-use, but the current status is "${s.status}".`,
  },
});

/** Refusals that are not status rules but belong to the same API calls. */
export const backupRefusals = {
  hasDependents: (): DomainError => badRequest('Invalid backup: Incremental backups exist for this backup.'),
  noParent: (): DomainError => badRequest('Invalid backup: No backups available to do an incremental backup.'),
  statusChanged: (): DomainError => badRequest('Invalid backup: Backup status changed.'),
  alreadyExists: (): DomainError => badRequest('Invalid backup: Backup already exists in database.'),
} as const;
