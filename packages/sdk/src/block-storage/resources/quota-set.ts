/**
 * Block-storage quotas and limits.
 * @packageDocumentation
 */
import { type BaseAttributes, Resource } from '../../resource/resource.js';

/** A quota value, or `{limit, in_use, reserved}` when fetched with `usage`. */
export type QuotaValue = number | { limit: number; in_use: number; reserved: number };

/** QuotaSet attributes (per-type keys such as `snapshots___DEFAULT__` stay in `raw`). */
export interface QuotaSetAttributes extends BaseAttributes {
  volumes?: QuotaValue;
  snapshots?: QuotaValue;
  gigabytes?: QuotaValue;
  backups?: QuotaValue;
  backupGigabytes?: QuotaValue;
  perVolumeGigabytes?: QuotaValue;
  groups?: QuotaValue;
}

export interface QuotaSet extends QuotaSetAttributes {}

/**
 * Quotas of a project (`/os-quota-sets/{project_id}`); `id` is the project id.
 *
 * @example
 * ```ts
 * const q = await conn.blockStorage.getQuotaSet(projectId, { usage: true });
 * ```
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: attribute accessors are installed from `fields`
export class QuotaSet extends Resource<QuotaSetAttributes> {
  static override readonly displayName: string = 'QuotaSet';
  static override readonly resourceKey: string | undefined = 'quota_set';
  static override readonly basePath: string = '/os-quota-sets';
  static override readonly allow = { create: false, fetch: true, commit: true, delete: true, list: false };
  static override readonly fields = {
    ...Resource.fields,
    volumes: { wire: 'volumes' },
    snapshots: { wire: 'snapshots' },
    gigabytes: { wire: 'gigabytes' },
    backups: { wire: 'backups' },
    backupGigabytes: { wire: 'backup_gigabytes' },
    perVolumeGigabytes: { wire: 'per_volume_gigabytes' },
    groups: { wire: 'groups' },
  } as const;
}

/**
 * Absolute limits and usage from `GET /limits`.
 *
 * @example
 * ```ts
 * const { absolute } = await conn.blockStorage.getLimits();
 * console.log(absolute.totalSnapshotsUsed, '/', absolute.maxTotalSnapshots);
 * ```
 */
export interface Limits {
  absolute: Record<string, number>;
  rate: unknown[];
}

/** One entry of `GET /resource_filters`: the query keys a list of `resource` accepts. */
export interface ResourceFilter {
  resource: string;
  filters: string[];
}
