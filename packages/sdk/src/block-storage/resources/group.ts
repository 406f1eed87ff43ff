/**
 * Generic volume groups (Block Storage 3.13+), their types (3.11+) and group snapshots (3.14+).
 * @packageDocumentation
 */
import type { Group as GroupSchema, GroupSnapshot as GroupSnapshotSchema, GroupType as GroupTypeSchema } from '@cinderbox/api-schema';
import type { Static } from 'typebox';
import type { HttpResponse } from '../../transport/types.js';
import type { ServiceRequestOptions } from '../../service/service-client.js';
import { type BaseAttributes, type OperationOptions, Resource } from '../../resource/resource.js';
import type { HttpMethod } from '../../transport/types.js';
import { maxMicroversion } from '../../util/microversion.js';
import { PAGING_QUERY } from './list-query.js';
import { BASE_FIELDS, type ContractFields } from '../../resource/field.js';

/** The first microversion of each resource; below it the server answers 404, so the SDK refuses before sending. */
export const GROUP_TYPES_MIN_MICROVERSION = '3.11';
export const GROUPS_MIN_MICROVERSION = '3.13';
export const GROUP_SNAPSHOTS_MIN_MICROVERSION = '3.14';

type SendOptions = OperationOptions & Omit<ServiceRequestOptions, 'signal' | 'timeoutMs' | 'headers'> & { minMicroversion?: string };

function atLeast(min: string, options: { minMicroversion?: string }): string {
  return options.minMicroversion ? maxMicroversion(min, options.minMicroversion) : min;
}

/** Group type attributes. */
export interface GroupTypeAttributes extends BaseAttributes {
  description?: string | null;
  isPublic?: boolean;
  /** Shown to admins only. */
  groupSpecs?: Record<string, string>;
}

export interface GroupType extends GroupTypeAttributes {}

/**
 * A group type: what kind of group (e.g. `consistent_group_snapshot_enabled`) a group is. Admins create and
 * change them; every project lists the public ones.
 *
 * @example
 * ```ts
 * const gt = await admin.blockStorage.createGroupType({ name: 'cg', groupSpecs: { consistent_group_snapshot_enabled: '<is> True' } });
 * ```
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: attribute accessors are installed from `fields`
export class GroupType extends Resource<GroupTypeAttributes> {
  static override readonly displayName: string = 'GroupType';
  static override readonly resourceKey: string | undefined = 'group_type';
  static override readonly resourcesKey: string | undefined = 'group_types';
  static override readonly basePath: string = '/group_types';
  static override readonly maxMicroversion: string | undefined = '3.11';
  static override readonly allow = { create: true, fetch: true, commit: true, delete: true, list: true };
  static override readonly queryParameters = { ...PAGING_QUERY, isPublic: 'is_public' };
  static override readonly fields = {
    ...BASE_FIELDS,
    description: { wire: 'description', type: 'string' },
    isPublic: { wire: 'is_public', type: 'boolean' },
    groupSpecs: { wire: 'group_specs', type: 'object' },
  } as const satisfies ContractFields<Static<typeof GroupTypeSchema>>;

  protected override send(method: HttpMethod, path: string, options: SendOptions): Promise<HttpResponse> {
    return super.send(method, path, { ...options, minMicroversion: atLeast(GROUP_TYPES_MIN_MICROVERSION, options) });
  }

  /**
   * Sets (adds or overwrites) group specs (`POST …/group_specs`); returns the specs the server answered.
   *
   * @example
   * ```ts
   * await gt.setSpecs({ consistent_group_snapshot_enabled: '<is> True' });
   * ```
   */
  async setSpecs(specs: Record<string, string>, options: OperationOptions = {}): Promise<Record<string, string>> {
    const res = await this.send('POST', `${this.itemPath(options)}/group_specs`, {
      ...options,
      body: { group_specs: specs },
      operation: 'set GroupType specs',
    });
    return ((res.body as { group_specs?: Record<string, string> } | null)?.group_specs ?? {}) as Record<string, string>;
  }

  /** Removes one group spec (`DELETE …/group_specs/{key}`). @example `await gt.deleteSpec('k')` */
  async deleteSpec(key: string, options: OperationOptions = {}): Promise<void> {
    await this.send('DELETE', `${this.itemPath(options)}/group_specs/${encodeURIComponent(key)}`, {
      ...options,
      operation: 'delete GroupType spec',
    });
  }
}

/** Group attributes. */
export interface GroupAttributes extends BaseAttributes {
  description?: string | null;
  status?: string;
  availabilityZone?: string;
  createdAt?: string;
  /** The group type's id (name or id on create). */
  groupType?: string;
  /** Volume type ids (names or ids on create). */
  volumeTypes?: string[];
  /** 3.14+: what the group was created from. */
  groupSnapshotId?: string | null;
  sourceGroupId?: string | null;
  /** 3.25+: member volume ids, when fetched with `listVolume`. */
  volumes?: string[];
  /** 3.58+. */
  projectId?: string;
}

export interface Group extends GroupAttributes {}

/**
 * A generic volume group: volumes of the group's volume types, snapshotted together at one point in time by a
 * {@link GroupSnapshot}.
 *
 * @example
 * ```ts
 * const g = await bs.createGroup({ name: 'db', groupType: gt.id, volumeTypes: ['__DEFAULT__'] });
 * await bs.updateGroup(g, { addVolumes: [data.id, log.id] });
 * ```
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: attribute accessors are installed from `fields`
export class Group extends Resource<GroupAttributes> {
  static override readonly displayName: string = 'Group';
  static override readonly resourceKey: string | undefined = 'group';
  static override readonly resourcesKey: string | undefined = 'groups';
  static override readonly basePath: string = '/groups';
  static override readonly maxMicroversion: string | undefined = '3.58';
  static override readonly allow = { create: true, fetch: true, commit: true, delete: false, list: true };
  static override readonly queryParameters = { ...PAGING_QUERY, allProjects: 'all_tenants', listVolume: 'list_volume', status: 'status' };
  static override readonly fields = {
    ...BASE_FIELDS,
    description: { wire: 'description', type: 'string' },
    status: { wire: 'status', type: 'string', readOnly: true },
    availabilityZone: { wire: 'availability_zone', type: 'string' },
    createdAt: { wire: 'created_at', type: 'string', readOnly: true },
    groupType: { wire: 'group_type', type: 'string' },
    volumeTypes: { wire: 'volume_types', type: 'array' },
    groupSnapshotId: { wire: 'group_snapshot_id', type: 'string', readOnly: true },
    sourceGroupId: { wire: 'source_group_id', type: 'string', readOnly: true },
    volumes: { wire: 'volumes', type: 'array', readOnly: true },
    projectId: { wire: 'project_id', type: 'string', readOnly: true },
  } as const satisfies ContractFields<Static<typeof GroupSchema>>;

  protected override send(method: HttpMethod, path: string, options: SendOptions): Promise<HttpResponse> {
    return super.send(method, path, { ...options, minMicroversion: atLeast(GROUPS_MIN_MICROVERSION, options) });
  }

  /**
   * Deletes the group (`delete` action); `deleteVolumes` deletes its member volumes too (else a group with
   * volumes is refused).
   *
   * @example
   * ```ts
   * await g.deleteGroup({ deleteVolumes: true });
   * ```
   */
  async deleteGroup(opts: { deleteVolumes?: boolean } = {}, options: OperationOptions = {}): Promise<void> {
    await this.action('delete', { 'delete-volumes': opts.deleteVolumes === true }, options);
  }

  /** Admin: sets the group's status (`reset_status`, 3.20+). @example `await g.resetStatus('available')` */
  async resetStatus(status: string, options: OperationOptions = {}): Promise<void> {
    await this.action('reset_status', { status }, { ...options, minMicroversion: '3.20' });
  }
}

/** Group snapshot attributes. */
export interface GroupSnapshotAttributes extends BaseAttributes {
  description?: string | null;
  status?: string;
  createdAt?: string;
  /** The group snapshotted (required on create). */
  groupId?: string;
  groupTypeId?: string;
  /** 3.58+. */
  projectId?: string;
}

export interface GroupSnapshot extends GroupSnapshotAttributes {}

/**
 * A snapshot of every member volume of a group, all at one point in time: writes through the data API are held
 * while the member snapshots are taken, so none holds a write another lacks.
 *
 * @example
 * ```ts
 * const gs = await bs.createGroupSnapshot({ groupId: g.id, name: 'nightly' });
 * ```
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: attribute accessors are installed from `fields`
export class GroupSnapshot extends Resource<GroupSnapshotAttributes> {
  static override readonly displayName: string = 'GroupSnapshot';
  static override readonly resourceKey: string | undefined = 'group_snapshot';
  static override readonly resourcesKey: string | undefined = 'group_snapshots';
  static override readonly basePath: string = '/group_snapshots';
  static override readonly maxMicroversion: string | undefined = '3.58';
  static override readonly allow = { create: true, fetch: true, commit: false, delete: true, list: true };
  static override readonly queryParameters = { ...PAGING_QUERY, allProjects: 'all_tenants', groupId: 'group_id', status: 'status' };
  static override readonly fields = {
    ...BASE_FIELDS,
    description: { wire: 'description', type: 'string' },
    status: { wire: 'status', type: 'string', readOnly: true },
    createdAt: { wire: 'created_at', type: 'string', readOnly: true },
    groupId: { wire: 'group_id', type: 'string' },
    groupTypeId: { wire: 'group_type_id', type: 'string', readOnly: true },
    projectId: { wire: 'project_id', type: 'string', readOnly: true },
  } as const satisfies ContractFields<Static<typeof GroupSnapshotSchema>>;

  protected override send(method: HttpMethod, path: string, options: SendOptions): Promise<HttpResponse> {
    return super.send(method, path, { ...options, minMicroversion: atLeast(GROUP_SNAPSHOTS_MIN_MICROVERSION, options) });
  }

  /** Admin: sets the group snapshot's status (`reset_status`, 3.19+). @example `await gs.resetStatus('error')` */
  async resetStatus(status: string, options: OperationOptions = {}): Promise<void> {
    await this.action('reset_status', { status }, { ...options, minMicroversion: '3.19' });
  }
}
