import type { VolumeType } from '../volume-type.js';
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

/** The volume type catalogue (types are created by migrations). */
export interface VolumeTypeStore {
  names(scope: Scope): Promise<string[]>;
  /** `isPublic` null: both; newest first. */
  list(scope: Scope, filters: { isPublic: boolean | null }): Promise<VolumeType[]>;
  byId(scope: Scope, id: string): Promise<VolumeType | null>;
  byName(scope: Scope, name: string): Promise<VolumeType | null>;
}
