import type { DefaultVolumeType, VolumeType, VolumeTypeEncryption } from '../volume-type.js';
import type { Scope } from './metadata-store.js';

/** Quota limits and usage counters, per (project, resource). */
export interface QuotaStore {
  /** The limits stored for the project (resources without a row follow the defaults). */
  limits(scope: Scope, projectId: string): Promise<Record<string, number>>;
  /** `in_use` per resource; resources never reserved are absent. */
  usage(scope: Scope, projectId: string): Promise<Record<string, number>>;
  /**
   * Moves `in_use` by `delta` in one conditional statement (the usage row is created first when missing), so
   * concurrent reservations serialize on the row and cannot overshoot: with `limit` >= 0 and `delta` > 0 the
   * update happens only while `in_use + delta <= limit`. Returns false when it was refused.
   */
  add(scope: Scope, projectId: string, resource: string, delta: number, limit: number): Promise<boolean>;
  setLimit(scope: Scope, projectId: string, resource: string, limit: number): Promise<void>;
  resetLimits(scope: Scope, projectId: string): Promise<void>;
}

/** The volume type catalogue (`__DEFAULT__` comes from a migration; admins manage the rest). */
export interface VolumeTypeStore {
  names(scope: Scope): Promise<string[]>;
  /**
   * `isPublic` null: both; newest first. `accessibleTo`: public types plus the private ones that project was
   * given access to (the `isPublic` filter is then ignored).
   */
  list(scope: Scope, filters: { isPublic: boolean | null; accessibleTo?: string }): Promise<VolumeType[]>;
  byId(scope: Scope, id: string): Promise<VolumeType | null>;
  byName(scope: Scope, name: string): Promise<VolumeType | null>;
  insert(scope: Scope, t: VolumeType): Promise<void>;
  /** Writes name, description, is_public and extra_specs of `t.id`. */
  update(scope: Scope, t: VolumeType): Promise<void>;
  /** Removes the type with its access list and encryption spec. */
  delete(scope: Scope, id: string): Promise<void>;
  /** Volumes (of any project, any status) recorded with this type. */
  volumesUsing(scope: Scope, id: string): Promise<number>;
  accessList(scope: Scope, id: string): Promise<string[]>;
  hasAccess(scope: Scope, id: string, projectId: string): Promise<boolean>;
  /** False when the pair was there already / was not there. */
  addAccess(scope: Scope, id: string, projectId: string, now: string): Promise<boolean>;
  removeAccess(scope: Scope, id: string, projectId: string): Promise<boolean>;
  encryption(scope: Scope, id: string): Promise<VolumeTypeEncryption | null>;
  putEncryption(scope: Scope, e: VolumeTypeEncryption): Promise<void>;
  deleteEncryption(scope: Scope, id: string): Promise<boolean>;
  defaultFor(scope: Scope, projectId: string): Promise<DefaultVolumeType | null>;
  defaults(scope: Scope): Promise<DefaultVolumeType[]>;
  /** Projects whose default is this type. */
  defaultedBy(scope: Scope, id: string): Promise<string[]>;
  setDefault(scope: Scope, projectId: string, typeId: string, now: string): Promise<void>;
  unsetDefault(scope: Scope, projectId: string): Promise<boolean>;
}
