import type { Group, GroupSnapshot, GroupType } from '../group.js';
import type { Transition } from './block-storage-store.js';
import type { Scope } from './metadata-store.js';

/** Group types, groups, their volume types and members, and group snapshots (migration 0013). */
export interface GroupsRepository {
  // --- group types ---
  type(scope: Scope, id: string): Promise<GroupType | undefined>;
  typeByName(scope: Scope, name: string): Promise<GroupType | undefined>;
  /** Public types, and private ones when `includePrivate`; by name. */
  types(scope: Scope, includePrivate: boolean): Promise<GroupType[]>;
  /** False when a type of that name exists. */
  insertType(scope: Scope, t: GroupType): Promise<boolean>;
  /** False when the new name is taken. */
  updateType(scope: Scope, id: string, changes: Partial<Pick<GroupType, 'name' | 'description' | 'is_public'>>, at: string): Promise<boolean>;
  removeType(scope: Scope, id: string): Promise<void>;
  /** Whether any group uses the type. */
  typeInUse(scope: Scope, id: string): Promise<boolean>;
  setSpecs(scope: Scope, id: string, specs: Record<string, string>, at: string): Promise<void>;
  /** False when the key was not set. */
  deleteSpec(scope: Scope, id: string, key: string, at: string): Promise<boolean>;

  // --- groups ---
  get(scope: Scope, id: string): Promise<Group | undefined>;
  /** The project's groups (every project's when null), newest first. */
  list(scope: Scope, projectId: string | null): Promise<Group[]>;
  insert(scope: Scope, g: Group, volumeTypeIds: readonly string[]): Promise<void>;
  update(scope: Scope, id: string, changes: Partial<Group>): Promise<void>;
  transition(scope: Scope, id: string, from: readonly string[] | null, to: string | null, changes?: Partial<Group>): Promise<Transition<Group>>;
  remove(scope: Scope, id: string): Promise<void>;
  volumeTypes(scope: Scope, groupIds: readonly string[]): Promise<Map<string, string[]>>;
  /** Ids of the group's member volumes. */
  members(scope: Scope, groupId: string): Promise<string[]>;
  /** Each of `volumeIds`' group (absent: none). */
  groupsOf(scope: Scope, volumeIds: readonly string[]): Promise<Map<string, string>>;
  /** Sets (or clears, with null) the group of these volumes. */
  setGroup(scope: Scope, volumeIds: readonly string[], groupId: string | null): Promise<void>;
  /** Whether a group is being created from this group or group snapshot. */
  creatingFrom(scope: Scope, src: { groupId?: string; groupSnapshotId?: string }): Promise<boolean>;

  // --- group snapshots ---
  snapshot(scope: Scope, id: string): Promise<GroupSnapshot | undefined>;
  snapshots(scope: Scope, projectId: string | null): Promise<GroupSnapshot[]>;
  snapshotsOfGroup(scope: Scope, groupId: string): Promise<GroupSnapshot[]>;
  insertSnapshot(scope: Scope, s: GroupSnapshot): Promise<void>;
  updateSnapshot(scope: Scope, id: string, changes: Partial<GroupSnapshot>): Promise<void>;
  transitionSnapshot(
    scope: Scope,
    id: string,
    from: readonly string[] | null,
    to: string | null,
    changes?: Partial<GroupSnapshot>,
  ): Promise<Transition<GroupSnapshot>>;
  removeSnapshot(scope: Scope, id: string): Promise<void>;
  /** Ids of the snapshots taken for the group snapshot. */
  snapshotMembers(scope: Scope, groupSnapshotId: string): Promise<string[]>;
  /** Each of `snapshotIds`' group snapshot (absent: none). */
  groupSnapshotsOf(scope: Scope, snapshotIds: readonly string[]): Promise<Map<string, string>>;
  setGroupSnapshot(scope: Scope, snapshotIds: readonly string[], groupSnapshotId: string): Promise<void>;
}
