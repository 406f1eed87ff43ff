/**
 * Block-storage Volume (the subset used for data protection).
 * @packageDocumentation
 */

import type { VolumeBody } from '@cinderbox/api-schema';
import { type BaseAttributes, type OperationOptions, Resource } from '../../resource/resource.js';
import { isRecord } from '../../util/objects.js';
import { OWNED_QUERY } from './list-query.js';
import { BASE_FIELDS, type ContractFields } from '../../resource/field.js';

/** Volume attributes. */
export interface VolumeAttributes extends BaseAttributes {
  description?: string;
  /** Size in GiB. */
  size?: number;
  status?: string;
  availabilityZone?: string;
  volumeType?: string;
  snapshotId?: string;
  /** Wire `source_volid`. */
  sourceVolumeId?: string;
  /** Create from a backup (3.47+). */
  backupId?: string;
  metadata?: Record<string, string>;
  /** Wire `bootable` (a `"true"`/`"false"` string on the wire). */
  isBootable?: boolean;
  /** Wire `encrypted`. */
  isEncrypted?: boolean;
  /** Wire `multiattach`. */
  isMultiattach?: boolean;
  attachments?: Array<Record<string, unknown>>;
  createdAt?: string;
  updatedAt?: string;
  userId?: string;
  /** Wire `os-vol-tenant-attr:tenant_id`. */
  projectId?: string;
  /** Wire `os-vol-host-attr:host` (admin). */
  host?: string;
  migrationStatus?: string;
  replicationStatus?: string;
  consistencyGroupId?: string;
  groupId?: string;
  volumeTypeId?: string;
  consumesQuota?: boolean;
  links?: Array<{ rel: string; href: string }>;
}

/** Connection info returned by `os-initialize_connection`. @example `const ci = await vol.initializeConnection({ host: 'h' })` */
export interface ConnectionInfo {
  driverVolumeType: string;
  data: Record<string, unknown>;
  raw: Record<string, unknown>;
}

/** What `GET /volumes/summary` (3.12+) answers: totals over the volumes the caller sees. */
export interface VolumeSummary {
  /** Sum of the volumes' sizes, in GiB. */
  totalSize: number;
  totalCount: number;
  /** 3.36+: every metadata key in use with the values it has across those volumes. */
  metadata?: Record<string, string[]>;
}

export interface Volume extends VolumeAttributes {}

/**
 * A volume.
 *
 * @example
 * ```ts
 * const vol = await conn.blockStorage.createVolume({ size: 1, name: 'data' });
 * await conn.blockStorage.waitForStatus(vol);
 * await vol.extend(2);
 * ```
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: attribute accessors are installed from `fields`
export class Volume extends Resource<VolumeAttributes> {
  static override readonly displayName: string = 'Volume';
  static override readonly resourceKey: string | undefined = 'volume';
  static override readonly resourcesKey: string | undefined = 'volumes';
  static override readonly basePath: string = '/volumes';
  static override readonly maxMicroversion: string | undefined = '3.71';
  static override readonly allow = { create: true, fetch: true, commit: true, delete: true, list: true };
  static override readonly queryParameters = {
    ...OWNED_QUERY,
    metadata: 'metadata',
    bootable: 'bootable',
    availabilityZone: 'availability_zone',
  };
  static override readonly fields = {
    ...BASE_FIELDS,
    description: { wire: 'description', type: 'string' },
    size: { wire: 'size', type: 'integer' },
    status: { wire: 'status', type: 'string', readOnly: true },
    availabilityZone: { wire: 'availability_zone', type: 'string' },
    volumeType: { wire: 'volume_type', type: 'string' },
    snapshotId: { wire: 'snapshot_id', type: 'string' },
    sourceVolumeId: { wire: 'source_volid', type: 'string' },
    backupId: { wire: 'backup_id', type: 'string', minMicroversion: '3.47' },
    metadata: { wire: 'metadata', type: 'object' },
    isBootable: { wire: 'bootable', type: 'boolean', readOnly: true },
    isEncrypted: { wire: 'encrypted', type: 'boolean', readOnly: true },
    isMultiattach: { wire: 'multiattach', type: 'boolean' },
    attachments: { wire: 'attachments', type: 'array', readOnly: true },
    createdAt: { wire: 'created_at', type: 'string', readOnly: true },
    updatedAt: { wire: 'updated_at', type: 'string', readOnly: true },
    userId: { wire: 'user_id', type: 'string', readOnly: true },
    projectId: { wire: 'os-vol-tenant-attr:tenant_id', type: 'string', readOnly: true },
    host: { wire: 'os-vol-host-attr:host', type: 'string', readOnly: true },
    migrationStatus: { wire: 'migration_status', type: 'string', readOnly: true },
    replicationStatus: { wire: 'replication_status', type: 'string', readOnly: true },
    consistencyGroupId: { wire: 'consistencygroup_id', type: 'string' },
    groupId: { wire: 'group_id', type: 'string' },
    volumeTypeId: { wire: 'volume_type_id', type: 'string', readOnly: true },
    consumesQuota: { wire: 'consumes_quota', type: 'boolean', readOnly: true },
    links: { wire: 'links', type: 'array', readOnly: true },
  } as const satisfies ContractFields<VolumeBody, 'backup_id'>;

  /** `os-extend` to `newSize` GiB. @example `await vol.extend(10)` */
  async extend(newSize: number, options: OperationOptions = {}): Promise<void> {
    await this.action('os-extend', { new_size: newSize }, options);
  }

  /** Admin: `os-reset_status`. @example `await vol.resetStatus({ status: 'available', attachStatus: 'detached' })` */
  async resetStatus(
    change: { status?: string; attachStatus?: string; migrationStatus?: string },
    options: OperationOptions = {},
  ): Promise<void> {
    const body: Record<string, string> = {};
    if (change.status !== undefined) body.status = change.status;
    if (change.attachStatus !== undefined) body.attach_status = change.attachStatus;
    if (change.migrationStatus !== undefined) body.migration_status = change.migrationStatus;
    await this.action('os-reset_status', body, { ...options, idempotent: true });
  }

  /**
   * `os-retype` to `newType` (name or id). With `migrationPolicy: 'on-demand'` a type served by another backend
   * moves the data there (asynchronously: wait for `volumeType` to change); with `'never'` (the default) such a
   * retype is given back and the reason recorded as a user message.
   * @example `await vol.retype('fast', 'on-demand')`
   */
  async retype(newType: string, migrationPolicy: 'never' | 'on-demand' = 'never', options: OperationOptions = {}): Promise<void> {
    await this.action('os-retype', { new_type: newType, migration_policy: migrationPolicy }, options);
  }

  /**
   * Admin: `os-migrate_volume` to another backend (`host@backend#pool`); the type stays. Poll for
   * `migrationStatus` `success` (or `error`).
   * @example `await vol.migrate({ host: 'node1@qcow2#qcow2' })`
   */
  async migrate(
    target: { host: string; forceHostCopy?: boolean; lockVolume?: boolean },
    options: OperationOptions = {},
  ): Promise<void> {
    const body: Record<string, unknown> = { host: target.host };
    if (target.forceHostCopy !== undefined) body.force_host_copy = target.forceHostCopy;
    if (target.lockVolume !== undefined) body.lock_volume = target.lockVolume;
    await this.action('os-migrate_volume', body, options);
  }

  /** `os-set_bootable`: marks whether the volume can boot an instance. @example `await vol.setBootable(true)` */
  async setBootable(bootable: boolean, options: OperationOptions = {}): Promise<void> {
    await this.action('os-set_bootable', { bootable }, { ...options, idempotent: true });
  }

  /**
   * `os-update_readonly_flag`: attachments made afterwards get read-only (`ro`) or read-write mode.
   * @example `await vol.setReadonly(true)`
   */
  async setReadonly(readonly: boolean, options: OperationOptions = {}): Promise<void> {
    await this.action('os-update_readonly_flag', { readonly }, { ...options, idempotent: true });
  }

  /** Admin: `os-force_delete`. @example `await vol.forceDelete()` */
  async forceDelete(options: OperationOptions = {}): Promise<void> {
    await this.action('os-force_delete', {}, options);
  }

  /** Admin: `os-unmanage` (keep the backend data, forget the volume); a null payload, as cinderclient and openstacksdk send. @example `await vol.unmanage()` */
  async unmanage(options: OperationOptions = {}): Promise<void> {
    await this.action('os-unmanage', null, options);
  }

  /** `os-reserve` (available → attaching). @example `await vol.reserve()` */
  async reserve(options: OperationOptions = {}): Promise<void> {
    await this.action('os-reserve', {}, options);
  }

  /** `os-unreserve`. @example `await vol.unreserve()` */
  async unreserve(options: OperationOptions = {}): Promise<void> {
    await this.action('os-unreserve', {}, options);
  }

  /** `os-attach` to an instance or host. @example `await vol.attach({ mountpoint: '/dev/vdb', hostName: 'h1' })` */
  async attach(
    target: { mountpoint: string; instanceUuid?: string; hostName?: string; mode?: 'rw' | 'ro' },
    options: OperationOptions = {},
  ): Promise<void> {
    const body: Record<string, string> = { mountpoint: target.mountpoint };
    if (target.instanceUuid !== undefined) body.instance_uuid = target.instanceUuid;
    if (target.hostName !== undefined) body.host_name = target.hostName;
    if (target.mode !== undefined) body.mode = target.mode;
    await this.action('os-attach', body, options);
  }

  /** `os-begin_detaching`. @example `await vol.beginDetaching()` */
  async beginDetaching(options: OperationOptions = {}): Promise<void> {
    await this.action('os-begin_detaching', {}, options);
  }

  /** `os-roll_detaching`. @example `await vol.rollDetaching()` */
  async rollDetaching(options: OperationOptions = {}): Promise<void> {
    await this.action('os-roll_detaching', {}, options);
  }

  /**
   * `os-detach` (optionally one attachment); with `force` (admin) `os-force_detach`, which also rolls back a
   * detach left half done, as openstacksdk's `detach(force=True)`.
   *
   * @example
   * ```ts
   * await vol.detach({ attachmentId, force: true });
   * ```
   */
  async detach(
    target: { attachmentId?: string; force?: boolean; connector?: Record<string, unknown> } = {},
    options: OperationOptions = {},
  ): Promise<void> {
    const body: Record<string, unknown> = target.attachmentId === undefined ? {} : { attachment_id: target.attachmentId };
    if (target.force && target.connector !== undefined) body.connector = target.connector;
    await this.action(target.force ? 'os-force_detach' : 'os-detach', body, options);
  }

  /**
   * `os-initialize_connection`: how to reach the volume's bytes.
   *
   * @example
   * ```ts
   * const { driverVolumeType, data } = await vol.initializeConnection({ host: 'backup-node' });
   * ```
   */
  async initializeConnection(
    connector: Record<string, unknown>,
    options: OperationOptions = {},
  ): Promise<ConnectionInfo> {
    const res = await this.action('os-initialize_connection', { connector }, options);
    const info = isRecord(res.body) && isRecord(res.body.connection_info) ? res.body.connection_info : {};
    return {
      driverVolumeType: String(info.driver_volume_type ?? ''),
      data: isRecord(info.data) ? info.data : {},
      raw: info,
    };
  }

  /** `os-terminate_connection`. @example `await vol.terminateConnection({ host: 'backup-node' })` */
  async terminateConnection(connector: Record<string, unknown> | null, options: OperationOptions = {}): Promise<void> {
    await this.action('os-terminate_connection', { connector }, options);
  }

  /** `revert` to the volume's latest snapshot (3.40+). @example `await vol.revertToSnapshot(snap.id)` */
  async revertToSnapshot(snapshotId: string, options: OperationOptions = {}): Promise<void> {
    await this.action('revert', { snapshot_id: snapshotId }, { ...options, minMicroversion: '3.40' });
  }
}
