import { type ActionRule, lifecycle } from './lifecycle.js';

/**
 * A volume as the services see it. Field names are the stored column names (Cinder's vocabulary, so views map
 * one to one); the 0/1 flag columns are booleans.
 */
export interface Volume {
  id: string;
  project_id: string;
  user_id: string;
  name: string | null;
  description: string | null;
  /** GiB. */
  size: number;
  status: string;
  previous_status: string | null;
  /** attached | detached */
  attach_status: string;
  migration_status: string | null;
  availability_zone: string;
  volume_type_id: string;
  snapshot_id: string | null;
  source_volid: string | null;
  backup_id: string | null;
  bootable: boolean;
  multiattach: boolean;
  /** `host@backend#pool` owning the bytes. */
  host: string;
  /** Driver name recorded at creation; a volume keeps its driver. */
  driver: string;
  /** Backend object name (file name inside the backend directory). */
  provider_location: string | null;
  use_quota: boolean;
  created_at: string;
  updated_at: string | null;
}

export interface VolumeAttachment {
  id: string;
  volume_id: string;
  instance_uuid: string | null;
  host_name: string | null;
  mountpoint: string | null;
  attach_mode: string;
  attach_status: string;
  attached_at: string | null;
  /** Parsed connector (stored as JSON text); null when none was recorded. */
  connector: unknown;
  /** What the driver answered for the connector (attachments API), parsed; null until a connector is given. */
  connection_info: unknown;
  created_at: string;
}

/**
 * Statuses the attachment bookkeeping owns: a detach recomputes the status only from these, so a volume busy with
 * something else (creating, extending, backing-up…) keeps it and its task still finds it.
 */
export const ATTACHMENT_DRIVEN_STATUSES: readonly string[] = ['available', 'reserved', 'attaching', 'in-use', 'detaching'];

/** An attachment's `attach_status` (Cinder's `VolumeAttachStatus`, less the error ones nothing here records). */
export type AttachStatus = 'reserved' | 'attaching' | 'attached' | 'detaching';

/**
 * The volume's status and attach_status once these attachments remain (Cinder's `_get_statuses_from_attachments`):
 * the alphabetically first attach status wins, so attached beats attaching beats detaching beats reserved.
 */
export function statusFromAttachments(remaining: readonly { attach_status: string }[]): {
  status: string;
  attachStatus: string;
} {
  const first = remaining
    .map((a) => a.attach_status)
    .filter((s) => !s.startsWith('error_'))
    .sort()[0];
  if (first === undefined) return { status: 'available', attachStatus: 'detached' };
  return { status: first === 'attached' ? 'in-use' : first, attachStatus: first };
}

/** The statuses reset-status accepts: Cinder's `VolumeStatus` field values. */
export const RESETTABLE_VOLUME_STATUSES = [
  'creating',
  'available',
  'deleting',
  'error',
  'error_deleting',
  'error_managing',
  'managing',
  'attaching',
  'in-use',
  'detaching',
  'maintenance',
  'restoring-backup',
  'error_restoring',
  'reserved',
  'awaiting-transfer',
  'backing-up',
  'error_backing-up',
  'error_extending',
  'downloading',
  'uploading',
  'retyping',
  'extending',
] as const;

/** Every status a volume can be in: Cinder's field values plus the ones set internally (revert, unmanage). */
export const VOLUME_STATUSES = [...RESETTABLE_VOLUME_STATUSES, 'reverting', 'unmanaging'] as const;

export type VolumeStatus = (typeof VOLUME_STATUSES)[number];

/** Statuses a volume may be deleted (or unmanaged) from without force. */
const DELETABLE = ['available', 'error', 'error_restoring', 'error_extending', 'error_managing'] as const;

export const VOLUME_DELETE_REFUSED =
  'Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer.';

export const RETYPE_REFUSED =
  'Retype needs volume to be in available or in-use state, not be part of an active migration or a consistency group, requested type has to be different that the one from the volume, and for in-use volumes front-end qos specs cannot change.';

const except = (...out: VolumeStatus[]): VolumeStatus[] => VOLUME_STATUSES.filter((s) => !out.includes(s));

/**
 * A step a task takes when its work is done or has failed: only from the status its request left, so a task
 * whose volume was force-deleted or reset meanwhile changes nothing. Never shown to a client.
 */
function taskStep(from: VolumeStatus | VolumeStatus[], to?: VolumeStatus): ActionRule<VolumeStatus> {
  const statuses = Array.isArray(from) ? from : [from];
  return {
    from: statuses,
    ...(to === undefined ? {} : { to }),
    refuse: 'conflict',
    message: (v) => `Volume ${v.id} is ${v.status}, no longer ${statuses.join(' or ')}.`,
  };
}

/**
 * Which volume action may start from which status (cinder/volume/api.py), and what the API answers otherwise.
 * Conditions that are not the status (attachments, migration, snapshots, sizes) stay in the services.
 */
export const volumeLifecycle = lifecycle(VOLUME_STATUSES, {
  delete: { from: DELETABLE, to: 'deleting', refuse: 'badRequest', message: () => VOLUME_DELETE_REFUSED },
  forceDelete: { from: '*', to: 'deleting', refuse: 'badRequest', message: () => VOLUME_DELETE_REFUSED },
  unmanage: { from: DELETABLE, to: 'unmanaging', refuse: 'badRequest', message: () => VOLUME_DELETE_REFUSED },
  /** Before 3.42 only an available volume extends. */
  extend: {
    from: ['available'],
    to: 'extending',
    refuse: 'badRequest',
    message: (v) => `Invalid volume: Volume ${v.id} status must be available to extend, currently ${v.status}.`,
  },
  /** From 3.42 an attached volume extends too. */
  extendInUse: {
    from: ['available', 'in-use'],
    to: 'extending',
    refuse: 'badRequest',
    message: (v) => `Invalid volume: Volume ${v.id} status must be available or in-use to extend, currently ${v.status}.`,
  },
  /** Snapshot of a volume without force before 3.66. */
  snapshot: {
    from: ['available'],
    refuse: 'badRequest',
    message: (v) => `Invalid volume: Volume ${v.id} status must be available, but current status is: ${v.status}.`,
  },
  /** Snapshot with force, or any snapshot from 3.66 on. */
  snapshotInUse: {
    from: ['available', 'in-use'],
    refuse: 'badRequest',
    message: (v) =>
      `Invalid volume: Volume ${v.id} status must be available or in-use, but current status is: ${v.status}.`,
  },
  /** The volume of a managed snapshot. */
  manageSnapshot: {
    from: ['available', 'in-use'],
    refuse: 'badRequest',
    message: (v) =>
      `Invalid volume: Volume ${v.id} status must be available or in-use, but current status is: ${v.status}.`,
  },
  /** Source of a clone. */
  clone: {
    from: ['available', 'in-use'],
    refuse: 'badRequest',
    message: (v) => `Invalid volume: Unable to clone volumes that are in ${v.status} state.`,
  },
  /** Source of a backup (in-use additionally needs the force flag, checked by the backup service). */
  backup: {
    from: ['available', 'in-use'],
    to: 'backing-up',
    refuse: 'badRequest',
    message: (v) =>
      `Invalid volume: Volume to be backed up must be available or in-use, but the current status is "${v.status}".`,
  },
  /** Target of a backup restore. */
  restoreBackup: {
    from: ['available'],
    to: 'restoring-backup',
    refuse: 'badRequest',
    message: () => 'Invalid volume: Volume to be restored to must be available',
  },
  reserve: {
    from: ['available'],
    to: 'attaching',
    refuse: 'badRequest',
    message: (v) => `Invalid volume: Volume status must be available to reserve, but the status is ${v.status}.`,
  },
  reserveMultiattach: {
    from: ['available', 'in-use'],
    to: 'attaching',
    refuse: 'badRequest',
    message: (v) =>
      `Invalid volume: Volume status must be available or in-use to reserve, but the status is ${v.status}.`,
  },
  /** Attachments API (3.27) reserve; a volume in `reserved` takes no other new attachment until it moves on. */
  attachmentReserve: {
    from: ['available'],
    to: 'reserved',
    refuse: 'badRequest',
    message: (v) =>
      `Invalid volume: Volume ${v.id} status must be available or downloading to reserve, but the current status is ${v.status}.`,
  },
  attachmentReserveMultiattach: {
    from: ['available', 'in-use'],
    to: 'reserved',
    refuse: 'badRequest',
    message: (v) =>
      `Invalid volume: Volume ${v.id} status must be available or in-use or downloading to reserve, but the current status is ${v.status}.`,
  },
  /** Attachments API update with a connector: the volume is `attaching` until the attachment completes. */
  attachmentConnect: {
    from: ['reserved', 'attaching', 'in-use', 'detaching'],
    to: 'attaching',
    refuse: 'conflict',
    message: (v) => `Volume ${v.id} status must be reserved or in-use to be connected, but the status is ${v.status}.`,
  },
  /** Attachments API `os-complete` (3.44). */
  attachmentComplete: {
    from: ['reserved', 'attaching', 'in-use', 'detaching'],
    to: 'in-use',
    refuse: 'badRequest',
    message: (v) => `Invalid volume: Volume ${v.id} status must be attaching to complete an attachment, but the status is ${v.status}.`,
  },
  /** Not reserved is no error (Cinder does nothing); the target is in-use or available by the attachments. */
  unreserve: { from: ['attaching'], refuse: 'badRequest', message: (v) => `Invalid volume: Volume ${v.id} is not reserved.` },
  attach: {
    from: ['available', 'attaching'],
    to: 'in-use',
    refuse: 'badRequest',
    message: (v) =>
      `Invalid volume: Volume ${v.id} status must be available or attaching to attach, but the status is ${v.status}.`,
  },
  attachMultiattach: {
    from: ['available', 'attaching', 'in-use'],
    to: 'in-use',
    refuse: 'badRequest',
    message: (v) =>
      `Invalid volume: Volume ${v.id} status must be available or attaching to attach, but the status is ${v.status}.`,
  },
  beginDetaching: {
    from: ['in-use'],
    to: 'detaching',
    refuse: 'badRequest',
    message: () =>
      "Invalid volume: Unable to detach volume. Volume status must be 'in-use' and attach_status must be 'attached' to detach.",
  },
  /** Not detaching is no error (Cinder does nothing). */
  rollDetaching: {
    from: ['detaching'],
    to: 'in-use',
    refuse: 'badRequest',
    message: (v) => `Invalid volume: Volume ${v.id} is not detaching.`,
  },
  detach: {
    from: ['in-use', 'detaching'],
    refuse: 'badRequest',
    message: () => 'Invalid volume: Volume must be attached in order to detach.',
  },
  revert: {
    from: ['available'],
    to: 'reverting',
    refuse: 'conflict',
    message: (v) => `Volume ${v.id} status must be available to revert, but the status is ${v.status}.`,
  },
  /**
   * os-retype (cinder/volume/api.py `retype`): one refusal for every condition of its conditional update (status,
   * migration, type, front-end QoS of an in-use volume), in Cinder's words.
   */
  retype: {
    from: ['available', 'in-use'],
    to: 'retyping',
    refuse: 'badRequest',
    message: () => `Invalid volume: ${RETYPE_REFUSED}`,
  },
  /** os-migrate_volume (admin): the data moves to another backend of this node. */
  migrate: {
    from: ['available', 'in-use'],
    refuse: 'badRequest',
    message: (v) =>
      `Invalid volume: Volume ${v.id} status must be available or in-use, must not be migrating, have snapshots, be replicated, be part of a group and destination host/cluster must be different than the current one`,
  },
  resetStatus: { from: '*', refuse: 'badRequest', message: (v) => `Invalid volume: Volume ${v.id} cannot be reset.` },
  update: {
    from: except('maintenance'),
    refuse: 'badRequest',
    message: (v) => `Invalid volume: Volume ${v.id} is in maintenance.`,
  },
  setBootable: {
    from: except('maintenance'),
    refuse: 'badRequest',
    message: (v) => `Invalid volume: Volume ${v.id} is in maintenance.`,
  },
  updateMetadata: {
    from: except('maintenance', 'uploading'),
    refuse: 'badRequest',
    message: (v) => `Invalid volume: Volume ${v.id} status must not be ${v.status} to update its metadata.`,
  },
  updateReadonly: {
    from: ['available'],
    refuse: 'badRequest',
    message: () => 'Invalid volume: Volume status must be available to update readonly flag.',
  },
  initializeConnection: {
    from: except('creating', 'deleting', 'error', 'error_deleting', 'maintenance'),
    refuse: 'badRequest',
    message: (v) => `Invalid volume: Volume ${v.id} status must not be ${v.status} to initialize a connection.`,
  },
  /** cinderbox-data: writing bytes into an available volume. */
  uploadData: {
    from: ['available'],
    to: 'uploading',
    refuse: 'badRequest',
    message: (v) =>
      `Invalid volume: Volume ${v.id} status must be available to upload data, but the status is ${v.status}.`,
  },
  /** cinderbox-data: reading a volume's bytes. */
  downloadData: {
    from: except('creating', 'deleting', 'error', 'error_deleting', 'downloading'),
    refuse: 'badRequest',
    message: (v) => `Invalid volume: Volume ${v.id} status must not be ${v.status} to read its data.`,
  },
  /**
   * Offering the volume to another project (cinder/transfer/api.py). While it awaits the transfer every action
   * above that does not list `awaiting-transfer` is refused (delete, extend, attach, snapshot, backup, restore,
   * upload); reads, metadata and name changes are not, as in Cinder.
   */
  createTransfer: {
    from: ['available'],
    to: 'awaiting-transfer',
    refuse: 'badRequest',
    message: () => 'Invalid volume: status must be available',
  },
  /** The accepting project takes it over, or its owner withdraws the offer. */
  acceptTransfer: {
    from: ['awaiting-transfer'],
    to: 'available',
    refuse: 'badRequest',
    message: (v) => `Invalid volume: Volume ${v.id} is ${v.status}, not awaiting a transfer.`,
  },
  cancelTransfer: taskStep('awaiting-transfer', 'available'),
  // ---- task steps ----
  created: taskStep('creating', 'available'),
  createFailed: taskStep('creating', 'error'),
  deleteFailed: taskStep('deleting', 'error_deleting'),
  /** Back to the status the extend started from (in the task's payload). */
  extended: taskStep('extending'),
  extendFailed: taskStep('extending', 'error_extending'),
  reverted: taskStep('reverting', 'available'),
  revertFailed: taskStep('reverting', 'error'),
  /** The managed object's size is known: recorded (and reserved) once, still managing. */
  manageSized: taskStep('managing'),
  managed: taskStep('managing', 'available'),
  manageFailed: taskStep('managing', 'error_managing'),
  unmanageFailed: taskStep('unmanaging', 'error'),
  uploaded: taskStep('uploading', 'available'),
  /** The server died during an upload: what was written is unknown (Cinder's init_host errors a volume left downloading). */
  uploadInterrupted: taskStep('uploading', 'error'),
  /** A backup of the volume is over, done or failed: back to the status it was backed up from. */
  backedUp: taskStep('backing-up'),
  /** A restore into a volume created for it takes the new volume over. */
  restoreStarted: taskStep('creating', 'restoring-backup'),
  restored: taskStep(['restoring-backup', 'creating'], 'available'),
  /** error_restoring for an existing volume, error for one created for the restore. */
  restoreFailed: taskStep(['restoring-backup', 'creating']),
});

export type VolumeAction = keyof typeof volumeLifecycle.actions;

/** A migration in progress blocks delete, unmanage and snapshots (Cinder: `migration_status` not None/success/error). */
export function isMigrating(v: Pick<Volume, 'migration_status'>): boolean {
  return v.migration_status !== null && v.migration_status !== 'success' && v.migration_status !== 'error';
}
