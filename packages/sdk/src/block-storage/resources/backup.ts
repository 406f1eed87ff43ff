/**
 * Block-storage Backup.
 * @packageDocumentation
 */

import type { BackupBody } from '@cinderbox/api-schema';
import { type BaseAttributes, type OperationOptions, Resource } from '../../resource/resource.js';
import type { ServiceClient } from '../../service/service-client.js';
import { isRecord } from '../../util/objects.js';
import { OWNED_QUERY } from './list-query.js';
import { BASE_FIELDS, type ContractFields } from '../../resource/field.js';

/** Backup attributes. */
export interface BackupAttributes extends BaseAttributes {
  description?: string;
  volumeId?: string;
  snapshotId?: string;
  container?: string;
  /** Back up an in-use volume. */
  force?: boolean;
  /** Wire `is_incremental` (sent as `incremental` on create). */
  isIncremental?: boolean;
  /** Create input from 3.51. */
  availabilityZone?: string;
  /** creating, available, deleting, error, restoring, error_restoring. */
  status?: string;
  failReason?: string;
  size?: number;
  objectCount?: number;
  hasDependentBackups?: boolean;
  dataTimestamp?: string;
  createdAt?: string;
  updatedAt?: string;
  links?: Array<{ rel: string; href: string }>;
  /** 3.43+. */
  metadata?: Record<string, string>;
  /** Wire `os-backup-project-attr:project_id` (3.18+, admin). */
  projectId?: string;
  /** 3.56+, admin. */
  userId?: string;
  /** 3.64+. */
  encryptionKeyId?: string;
  /**
   * cinderbox extension, present on immutable backups only (a target with `lock_days`): the end of the retention;
   * delete and force-delete answer 400 until then.
   */
  lockedUntil?: string;
}

/** Result of a restore: where the data went. @example `const { volumeId } = await backup.restore()` */
export interface RestoreResult {
  backupId: string;
  volumeId: string;
  volumeName: string | undefined;
}

/** An exported backup record (`backup-record`). @example `const rec = await backup.exportRecord()` */
export interface BackupRecord {
  backupService: string;
  /** Base64 JSON of the full backup row. Treat as a secret. */
  backupUrl: string;
}

/** A backup's data progress (cinderbox extension, `GET /backups/{id}/cinderbox-progress`). */
export interface BackupProgress {
  /** 0…1; 1 once the backup holds its data. */
  fraction: number;
  bytesDone: number;
  bytesTotal: number;
  /** The transfer running now (`backup` or `restore`), null when none is. */
  operation: 'backup' | 'restore' | null;
}

export interface Backup extends BackupAttributes {}

/**
 * A volume backup.
 *
 * @example
 * ```ts
 * const b = await conn.blockStorage.createBackup({ volumeId: vol.id, isIncremental: true });
 * await conn.blockStorage.waitForStatus(b);
 * const { volumeId } = await b.restore({ name: 'restored' });
 * ```
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: attribute accessors are installed from `fields`
export class Backup extends Resource<BackupAttributes> {
  static override readonly displayName: string = 'Backup';
  static override readonly resourceKey: string | undefined = 'backup';
  static override readonly resourcesKey: string | undefined = 'backups';
  static override readonly basePath: string = '/backups';
  static override readonly maxMicroversion: string | undefined = '3.64';
  static override readonly allow = { create: true, fetch: true, commit: true, delete: true, list: true };
  static override readonly queryParameters = {
    ...OWNED_QUERY,
    volumeId: 'volume_id',
  };
  static override readonly fields = {
    ...BASE_FIELDS,
    description: { wire: 'description', type: 'string' },
    volumeId: { wire: 'volume_id', type: 'string' },
    snapshotId: { wire: 'snapshot_id', type: 'string' },
    container: { wire: 'container', type: 'string' },
    force: { wire: 'force', type: 'boolean' },
    isIncremental: { wire: 'is_incremental', type: 'boolean', createWire: 'incremental' },
    availabilityZone: { wire: 'availability_zone', type: 'string', minMicroversion: '3.51' },
    status: { wire: 'status', type: 'string', readOnly: true },
    failReason: { wire: 'fail_reason', type: 'string', readOnly: true },
    size: { wire: 'size', type: 'integer', readOnly: true },
    objectCount: { wire: 'object_count', type: 'integer', readOnly: true },
    hasDependentBackups: { wire: 'has_dependent_backups', type: 'boolean', readOnly: true },
    dataTimestamp: { wire: 'data_timestamp', type: 'string', readOnly: true },
    createdAt: { wire: 'created_at', type: 'string', readOnly: true },
    updatedAt: { wire: 'updated_at', type: 'string', readOnly: true },
    links: { wire: 'links', type: 'array', readOnly: true },
    metadata: { wire: 'metadata', type: 'object', minMicroversion: '3.43' },
    projectId: { wire: 'os-backup-project-attr:project_id', type: 'string', readOnly: true },
    userId: { wire: 'user_id', type: 'string', readOnly: true },
    encryptionKeyId: { wire: 'encryption_key_id', type: 'string', readOnly: true },
    lockedUntil: { wire: 'locked_until', type: 'string', readOnly: true },
  } as const satisfies ContractFields<BackupBody, 'force'>;

  /** Updates need 3.9 (name, description) and 3.43 for metadata. */
  override commit(options: OperationOptions = {}): Promise<this> {
    return super.commit({ ...options, minMicroversion: '3.9' });
  }

  /**
   * Restores into `volumeId` (must be available and large enough) or into a new volume (optionally named).
   * Both are optional; the Backup object is not modified.
   *
   * @example
   * ```ts
   * const r = await backup.restore({ volumeId: target.id });
   * ```
   */
  async restore(
    target: { volumeId?: string; name?: string } = {},
    options: OperationOptions = {},
  ): Promise<RestoreResult> {
    const body: Record<string, string> = {};
    if (target.volumeId !== undefined) body.volume_id = target.volumeId;
    if (target.name !== undefined) body.name = target.name;
    const res = await this.send('POST', `${this.itemPath(options)}/restore`, {
      ...options,
      body: { restore: body },
      operation: 'restore Backup',
    });
    this.$metadata = res.$metadata;
    const r = isRecord(res.body) && isRecord(res.body.restore) ? res.body.restore : {};
    return {
      backupId: String(r.backup_id ?? this.requireId()),
      volumeId: String(r.volume_id ?? target.volumeId ?? ''),
      volumeName: typeof r.volume_name === 'string' ? r.volume_name : undefined,
    };
  }

  /** Admin: `os-force_delete`. @example `await backup.forceDelete()` */
  async forceDelete(options: OperationOptions = {}): Promise<void> {
    await this.action('os-force_delete', null, options);
  }

  /** Admin: `os-reset_status` (`available` or `error`). @example `await backup.resetStatus('error')` */
  async resetStatus(status: string, options: OperationOptions = {}): Promise<void> {
    await this.action('os-reset_status', { status }, { ...options, idempotent: true });
  }

  /** Alias of {@link resetStatus}. @example `await backup.reset('available')` */
  reset(status: string, options: OperationOptions = {}): Promise<void> {
    return this.resetStatus(status, options);
  }

  /** Admin: `GET /backups/{id}/export_record`. @example `const rec = await backup.exportRecord()` */
  async exportRecord(options: OperationOptions = {}): Promise<BackupRecord> {
    const res = await this.send('GET', `${this.itemPath(options)}/export_record`, {
      ...options,
      operation: 'export Backup',
    });
    const rec = isRecord(res.body) && isRecord(res.body['backup-record']) ? res.body['backup-record'] : {};
    return { backupService: String(rec.backup_service ?? ''), backupUrl: String(rec.backup_url ?? '') };
  }

  /**
   * Admin: `POST /backups/import_record` (openstacksdk posts to the wrong path). Returns the new Backup (status `creating`).
   *
   * @example
   * ```ts
   * const copy = await Backup.importRecord(client, record);
   * ```
   */
  static async importRecord(
    client: ServiceClient,
    record: BackupRecord,
    options: OperationOptions = {},
  ): Promise<Backup> {
    const res = await client.request('POST', `${options.basePath ?? Backup.basePath}/import_record`, {
      ...options,
      body: { 'backup-record': { backup_service: record.backupService, backup_url: record.backupUrl } },
      maxMicroversion: Backup.maxMicroversion,
      operation: 'import Backup',
    });
    return new Backup({}, { synchronized: true, client }).applyResponse(res);
  }
}
