import { lifecycle } from './lifecycle.js';

/** A group type (Cinder's `group_types`) with its specs. */
export interface GroupType {
  id: string;
  name: string;
  description: string | null;
  is_public: boolean;
  group_specs: Record<string, string>;
  created_at: string;
  updated_at: string | null;
}

/** A generic volume group (Cinder's `groups`, 3.13). */
export interface Group {
  id: string;
  project_id: string;
  user_id: string;
  name: string | null;
  description: string | null;
  status: string;
  availability_zone: string;
  group_type_id: string;
  /** The group snapshot or group it was created from (3.14 create-from-src). */
  group_snapshot_id: string | null;
  source_group_id: string | null;
  created_at: string;
  updated_at: string | null;
}

/** A snapshot of every member volume of a group, at one point in time (Cinder's `group_snapshots`, 3.14). */
export interface GroupSnapshot {
  id: string;
  project_id: string;
  user_id: string;
  group_id: string;
  group_type_id: string;
  name: string | null;
  description: string | null;
  status: string;
  created_at: string;
  updated_at: string | null;
}

/** Cinder's `GroupStatus` values (reset_status accepts these). */
export const GROUP_STATUSES = ['error', 'available', 'creating', 'deleting', 'deleted', 'updating', 'in-use', 'error_deleting'] as const;
/** Cinder's `GroupSnapshotStatus` values. */
export const GROUP_SNAPSHOT_STATUSES = ['error', 'available', 'creating', 'deleting', 'deleted', 'updating', 'error_deleting'] as const;

/** Member volume statuses a volume may be added in (cinder/group/api.py VALID_ADD_VOL_TO_GROUP_STATUS). */
export const ADD_VOLUME_STATUSES = ['available', 'in-use'];
/** VALID_REMOVE_VOL_FROM_GROUP_STATUS. */
export const REMOVE_VOLUME_STATUSES = ['available', 'in-use', 'error', 'error_deleting'];

export const groupLifecycle = lifecycle(GROUP_STATUSES, {
  delete: {
    from: ['available', 'error'],
    to: 'deleting',
    refuse: 'badRequest',
    message: (g) => `Invalid group: Group status must be available or error, but current status is: ${g.status}`,
  },
  /** delete-volumes deletes the group whatever its status (Cinder overloads the flag so). */
  deleteWithVolumes: {
    from: '*',
    to: 'deleting',
    refuse: 'badRequest',
    message: (g) => `Invalid group: Group ${g.id} cannot be deleted.`,
  },
  update: { from: ['available'], refuse: 'badRequest', message: () => 'Invalid group: Group status must be available.' },
  snapshot: {
    from: ['available', 'in-use'],
    refuse: 'badRequest',
    message: (g) => `Invalid group: Group ${g.id} status must be available or in-use, but current status is: ${g.status}.`,
  },
  /** The source of create-from-src. */
  source: {
    from: ['available', 'in-use'],
    refuse: 'badRequest',
    message: (g) => `Invalid group: Source group status must be available or in-use, but current status is: ${g.status}.`,
  },
  resetStatus: { from: '*', refuse: 'badRequest', message: (g) => `Invalid group: Group ${g.id} cannot be reset.` },
});

export const groupSnapshotLifecycle = lifecycle(GROUP_SNAPSHOT_STATUSES, {
  delete: {
    from: ['available', 'error'],
    to: 'deleting',
    refuse: 'badRequest',
    message: () =>
      'Invalid group snapshot: GroupSnapshot status must be available or error, and no Group can be currently using it as source for its creation.',
  },
  created: { from: ['creating'], to: 'available', refuse: 'badRequest', message: (s) => `Group snapshot ${s.id} is ${s.status}.` },
  createFailed: { from: ['creating'], to: 'error', refuse: 'badRequest', message: (s) => `Group snapshot ${s.id} is ${s.status}.` },
  source: {
    from: ['available'],
    refuse: 'badRequest',
    message: (s) => `Invalid group snapshot: Group snapshot status must be available, but current status is: ${s.status}.`,
  },
  resetStatus: { from: '*', refuse: 'badRequest', message: (s) => `Invalid group snapshot: ${s.id} cannot be reset.` },
});
