import { type ActionRule, lifecycle } from './lifecycle.js';

/** A snapshot as the services see it: the stored column names, flags as booleans. */
export interface Snapshot {
  id: string;
  project_id: string;
  user_id: string;
  volume_id: string;
  name: string | null;
  description: string | null;
  /** GiB. */
  size: number;
  status: string;
  progress: string;
  volume_type_id: string | null;
  use_quota: boolean;
  provider_location: string | null;
  /** Internal snapshots are invisible to every API. */
  hidden: boolean;
  created_at: string;
  updated_at: string | null;
  /**
   * The group snapshot this one was taken in, when the snapshot was read from its row (the column is there, so
   * listings need no second query); undefined when the object was built elsewhere and the answer is unknown.
   */
  group_snapshot_id?: string | null;
}

/** Cinder's `SnapshotStatus` field values; reset-status accepts exactly these. */
export const SNAPSHOT_STATUSES = [
  'creating',
  'available',
  'deleting',
  'deleted',
  'error',
  'error_deleting',
  'updating',
  'unmanaging',
  'backing-up',
  'restoring',
] as const;

export type SnapshotStatus = (typeof SNAPSHOT_STATUSES)[number];

export const SNAPSHOT_DELETE_REFUSED =
  'Invalid snapshot: Snapshot status must be available or error and must not be part of a group.';

/**
 * Nova's assisted-snapshot callback (`update_snapshot_status`): the statuses it may report per current status.
 * The current status must be a key (the `updateStatus` rule); the reported one must be in its list.
 */
export const UPDATE_STATUS_TARGETS: Readonly<Partial<Record<SnapshotStatus, readonly SnapshotStatus[]>>> = {
  creating: ['creating', 'available', 'error'],
  deleting: ['deleting', 'error_deleting'],
};

/** A step a task takes when its work is done or has failed (see volume.ts); never shown to a client. */
function taskStep(from: SnapshotStatus, to?: SnapshotStatus): ActionRule<SnapshotStatus> {
  return {
    from: [from],
    ...(to === undefined ? {} : { to }),
    refuse: 'conflict',
    message: (s) => `Snapshot ${s.id} is ${s.status}, no longer ${from}.`,
  };
}

/** Which snapshot action may start from which status (cinder/volume/api.py), and what the API answers otherwise. */
export const snapshotLifecycle = lifecycle(SNAPSHOT_STATUSES, {
  delete: { from: ['available', 'error'], to: 'deleting', refuse: 'badRequest', message: () => SNAPSHOT_DELETE_REFUSED },
  forceDelete: { from: '*', to: 'deleting', refuse: 'badRequest', message: () => SNAPSHOT_DELETE_REFUSED },
  unmanage: {
    from: ['available', 'error'],
    to: 'unmanaging',
    refuse: 'badRequest',
    message: () => SNAPSHOT_DELETE_REFUSED,
  },
  updateStatus: {
    from: ['creating', 'deleting'],
    refuse: 'badRequest',
    message: (s) => `Invalid snapshot: Snapshot status ${s.status} not allowed for update_snapshot_status`,
  },
  resetStatus: { from: '*', refuse: 'badRequest', message: (s) => `Invalid snapshot: Snapshot ${s.id} cannot be reset.` },
  /** The snapshot a volume is reverted to. */
  revert: {
    from: ['available'],
    to: 'restoring',
    refuse: 'conflict',
    message: (s) => `Snapshot ${s.id} status must be available to revert, but the status is ${s.status}.`,
  },
  /** The source of a new volume. */
  createVolume: {
    from: ['available'],
    refuse: 'badRequest',
    message: () => "Invalid snapshot: Originating snapshot status must be 'available' to create a volume from it.",
  },
  /** The source of a backup. */
  backup: {
    from: ['available'],
    to: 'backing-up',
    refuse: 'badRequest',
    message: (s) =>
      `Invalid snapshot: Snapshot to be backed up must be available, but the current status is "${s.status}".`,
  },
  /** cinderbox-data: reading a snapshot's bytes. */
  downloadData: {
    from: ['available'],
    refuse: 'badRequest',
    message: (s) => `Invalid snapshot: Snapshot ${s.id} status must be available to read its data.`,
  },
  // ---- task steps (create and manage share them) ----
  progress: taskStep('creating'),
  created: taskStep('creating', 'available'),
  createFailed: taskStep('creating', 'error'),
  deleteFailed: taskStep('deleting', 'error_deleting'),
  /** A revert is over, done or failed: the snapshot it read from is available again. */
  restored: taskStep('restoring', 'available'),
  unmanageFailed: taskStep('unmanaging', 'error'),
  /** A backup of the snapshot is over, done or failed. */
  backedUp: taskStep('backing-up', 'available'),
});

export type SnapshotAction = keyof typeof snapshotLifecycle.actions;

/** The message when nova reports a status the current one does not lead to. */
export function updateStatusTargetRefused(current: string, reported: string): string {
  return `Invalid snapshot: Provided snapshot status ${reported} not allowed for snapshot with status ${current}.`;
}
