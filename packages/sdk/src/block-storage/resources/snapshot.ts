/**
 * Block-storage Snapshot (v2 and v3; detail-only fields kept in both).
 * @packageDocumentation
 */
import type { SnapshotBody } from '@cinderbox/api-schema';
import { BASE_FIELDS, type ContractFields, parseProgress } from '../../resource/field.js';
import { type BaseAttributes, type OperationOptions, Resource } from '../../resource/resource.js';
import { OWNED_QUERY } from './list-query.js';

/** Snapshot attributes (camelCase of openstacksdk's names). */
export interface SnapshotAttributes extends BaseAttributes {
  description?: string;
  /** Volume the snapshot is of (required on create). */
  volumeId?: string;
  /** Wire `force`: snapshot an in-use volume (below 3.66). */
  isForced?: boolean;
  /** Size in GiB. */
  size?: number;
  /** creating, available, backing-up, deleting, error, deleted, unmanaging, restoring, error_deleting. */
  status?: string;
  createdAt?: string;
  updatedAt?: string;
  metadata?: Record<string, string>;
  /** Wire `os-extended-snapshot-attributes:progress`, e.g. `"45%"` (show and detail list only). */
  progress?: string;
  /** Wire `os-extended-snapshot-attributes:project_id` (show and detail list only). */
  projectId?: string;
  /** 3.14+. */
  groupSnapshotId?: string;
  /** 3.41+. */
  userId?: string;
  /** 3.65+. */
  consumesQuota?: boolean;
}

export interface Snapshot extends SnapshotAttributes {}

/**
 * A volume snapshot.
 *
 * @example
 * ```ts
 * const snap = await conn.blockStorage.createSnapshot({ volumeId: vol.id, name: 'nightly', force: true });
 * await conn.blockStorage.waitForStatus(snap, { status: 'available', onProgress: (p) => console.log(`${p}%`) });
 * await snap.resetStatus('error');
 * await snap.forceDelete();
 * ```
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: attribute accessors are installed from `fields`
export class Snapshot extends Resource<SnapshotAttributes> {
  static override readonly displayName: string = 'Snapshot';
  static override readonly resourceKey: string | undefined = 'snapshot';
  static override readonly resourcesKey: string | undefined = 'snapshots';
  static override readonly basePath: string = '/snapshots';
  static override readonly maxMicroversion: string | undefined = '3.65';
  static override readonly allow = { create: true, fetch: true, commit: true, delete: true, list: true };
  static override readonly queryParameters = {
    ...OWNED_QUERY,
    volumeId: 'volume_id',
    consumesQuota: 'consumes_quota',
    metadata: 'metadata',
  };
  static override readonly fields = {
    ...BASE_FIELDS,
    description: { wire: 'description', type: 'string' },
    volumeId: { wire: 'volume_id', type: 'string' },
    isForced: { wire: 'force', type: 'boolean' },
    size: { wire: 'size', type: 'integer', readOnly: true },
    status: { wire: 'status', type: 'string', readOnly: true },
    createdAt: { wire: 'created_at', type: 'string', readOnly: true },
    updatedAt: { wire: 'updated_at', type: 'string', readOnly: true },
    metadata: { wire: 'metadata', type: 'object' },
    progress: { wire: 'os-extended-snapshot-attributes:progress', type: 'string', readOnly: true },
    projectId: { wire: 'os-extended-snapshot-attributes:project_id', type: 'string', readOnly: true },
    groupSnapshotId: { wire: 'group_snapshot_id', type: 'string', readOnly: true },
    userId: { wire: 'user_id', type: 'string', readOnly: true },
    consumesQuota: { wire: 'consumes_quota', type: 'boolean', readOnly: true },
  } as const satisfies ContractFields<SnapshotBody, 'force'>;

  /** Progress as a number (`"45%"` → 45); undefined on summary listings. */
  get progressPercent(): number | undefined {
    return parseProgress(this.get('progress'));
  }

  /** Admin: `os-force_delete` (any status). @example `await snap.forceDelete()` */
  async forceDelete(options: OperationOptions = {}): Promise<void> {
    await this.action('os-force_delete', null, options);
  }

  /** Admin: `os-reset_status`. @example `await snap.resetStatus('available')` */
  async resetStatus(status: string, options: OperationOptions = {}): Promise<void> {
    await this.action('os-reset_status', { status }, { ...options, idempotent: true });
  }

  /** Alias of {@link resetStatus} (openstacksdk's deprecated `reset`). @example `await snap.reset('error')` */
  reset(status: string, options: OperationOptions = {}): Promise<void> {
    return this.resetStatus(status, options);
  }

  /** `os-update_snapshot_status` (used by Nova assisted snapshots). @example `await snap.setStatus('available', 100)` */
  async setStatus(status: string, progress?: number | string, options: OperationOptions = {}): Promise<void> {
    const body: Record<string, string> = { status };
    if (progress !== undefined) body.progress = typeof progress === 'number' ? `${progress}%` : progress;
    await this.action('os-update_snapshot_status', body, options);
  }

  /** Admin: `os-unmanage` (keep the backend data, forget the snapshot). @example `await snap.unmanage()` */
  async unmanage(options: OperationOptions = {}): Promise<void> {
    await this.action('os-unmanage', null, options);
  }
}

/**
 * Snapshot read from the detail listing (`/snapshots/detail`): same attributes, `progress` and
 * `projectId` filled. Kept as a class (openstacksdk collapsed it into an alias and lost the fields on v2).
 *
 * @example
 * ```ts
 * for await (const s of SnapshotDetail.list(client)) console.log(s.progressPercent, s.projectId);
 * ```
 */
export class SnapshotDetail extends Snapshot {
  static override readonly displayName: string = 'SnapshotDetail';
  static override readonly basePath: string = '/snapshots/detail';
  static override readonly allow = { create: false, fetch: false, commit: false, delete: false, list: true };
}
