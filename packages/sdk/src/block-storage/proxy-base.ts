/**
 * Block-storage proxy methods shared by v2 and v3.
 * @packageDocumentation
 */
import { isNotFound } from '../errors.js';
import type { ListOptions, Paginator } from '../resource/pagination.js';
import type { FindOptions, OperationOptions, Resource, ResourceClass, ResourceInput } from '../resource/resource.js';
import {
  type WaitForStatusOptions,
  type WaitOptions,
  type WaitResult,
  waitForDelete,
  waitForStatus,
} from '../resource/waiter.js';
import type { ServiceClient } from '../service/service-client.js';
import type { VersionEntry } from '../service/discovery.js';
import type { CallOptions } from '../transport/types.js';
import { isRecord, stringEntries } from '../util/objects.js';
import { type Metadata, MetadataClient } from './metadata.js';
import { Backup, type BackupRecord, type RestoreResult } from './resources/backup.js';
import { type Extension, extensionFrom } from './resources/extension.js';
import { ManageableSnapshot } from './resources/manageable-snapshot.js';
import { ManageableVolume } from './resources/manageable-volume.js';
import { type Pool, poolFrom } from './resources/pool.js';
import { type Limits, QuotaSet, type ResourceFilter } from './resources/quota-set.js';
import {
  type BackendCapabilities,
  capabilitiesFrom,
  type Host,
  hostFrom,
  type HostResourceUsage,
  hostUsageFrom,
  type QuotaClassSet,
  quotaClassFrom,
  type Service,
  serviceFrom,
  type ServiceUpdateResult,
} from './resources/service.js';
import { type QoSAssociation, QoSSpec } from './resources/qos-spec.js';
import { Snapshot } from './resources/snapshot.js';
import { Transfer } from './resources/transfer.js';
import { type ConnectionInfo, Volume } from './resources/volume.js';
import { AvailabilityZone, VolumeType, type VolumeTypeEncryption } from './resources/volume-type.js';

/** A project's default volume type (3.62). */
export interface DefaultVolumeType {
  projectId: string;
  volumeTypeId: string;
}

function defaultTypeFrom(v: unknown): DefaultVolumeType {
  const r = isRecord(v) ? v : {};
  return { projectId: String(r.project_id ?? ''), volumeTypeId: String(r.volume_type_id ?? '') };
}

/** A resource or its id. */
export type Ref<R> = R | string;

/** List query for snapshots. */
export interface SnapshotQuery {
  /** `/snapshots/detail` (default) or `/snapshots`. */
  details?: boolean;
  /** All projects (admin) → `all_tenants`. */
  allProjects?: boolean;
  name?: string;
  status?: string;
  volumeId?: string;
  projectId?: string;
  sort?: string;
  sortKey?: string;
  sortDir?: 'asc' | 'desc';
  withCount?: boolean;
  offset?: number;
  /** Parameters passed through verbatim (`'name~'`, …). */
  rawQuery?: Record<string, string>;
  [filter: string]: unknown;
}

/** List query for backups. */
export type BackupQuery = Omit<SnapshotQuery, 'allProjects'> & { allProjects?: boolean };
/** List query for volumes. */
export type VolumeQuery = Omit<SnapshotQuery, 'volumeId'>;

/** Delete options. */
export interface DeleteOptions extends CallOptions {
  /** Admin force delete (`os-force_delete`). */
  force?: boolean;
  /** Do not fail on 404. Default false. Honoured with `force` too. */
  ignoreMissing?: boolean;
}

/** Input to manage an existing backend snapshot. */
export interface ManageSnapshotInput {
  volumeId: string;
  /** Backend reference, e.g. `{ 'source-name': '_snapshot-<uuid>' }`. */
  ref: Record<string, unknown> | string;
  name?: string;
  description?: string;
  metadata?: Metadata;
}

/** Input to manage an existing backend volume. */
export interface ManageVolumeInput {
  /** Backend reference, e.g. `{ 'source-name': 'volume-<uuid>' }`. */
  ref: Record<string, unknown> | string;
  /** Backend host (`host@backend#pool`); exactly one of host and cluster (3.16+). */
  host?: string;
  cluster?: string;
  name?: string;
  description?: string;
  volumeType?: string;
  availabilityZone?: string;
  bootable?: boolean;
  metadata?: Metadata;
}

/** Query of manageable-snapshot listings. */
export interface ManageableQuery {
  /** Detail view (adds reasonNotSafe, cinderId, extraInfo). Default false. */
  details?: boolean;
  host?: string;
  /** 3.17+. */
  cluster?: string;
  offset?: number;
  sort?: string;
  sortKey?: string;
  sortDir?: 'asc' | 'desc';
}

/**
 * Methods common to the v2 and v3 block-storage proxies.
 *
 * @example
 * ```ts
 * const bs = conn.blockStorage;
 * for await (const s of bs.snapshots({ status: 'available' })) console.log(s.name);
 * ```
 */
export abstract class BlockStorageProxyBase {
  /** The underlying service client (endpoint, microversions, raw requests). */
  readonly client: ServiceClient;
  /** Snapshot metadata sub-resource. */
  protected readonly snapshotMeta: MetadataClient;
  /** Volume metadata sub-resource. */
  protected readonly volumeMeta: MetadataClient;

  constructor(client: ServiceClient) {
    this.client = client;
    this.snapshotMeta = new MetadataClient(client, Snapshot.basePath, Snapshot.maxMicroversion);
    this.volumeMeta = new MetadataClient(client, Volume.basePath, Volume.maxMicroversion);
  }

  /**
   * Resolves a resource-or-id into an instance bound to this proxy's client (ids become `existing({id})`); a
   * resource read through another connection is rebound, so the proxy's credentials are the ones that act. @internal
   */
  protected ref<R extends Resource>(cls: ResourceClass<R>, value: Ref<R>): R {
    if (typeof value === 'string') return new cls({ id: value }, { synchronized: true, client: this.client });
    if (value.client !== this.client) value.bind(this.client);
    return value;
  }

  /** @internal */
  protected idOf(value: Ref<{ id?: string }>): string {
    return typeof value === 'string' ? value : String(value.id ?? '');
  }

  /** Deletes `value`; a 404 counts as done when `ignoreMissing`. @internal */
  protected async deleteRef<R extends Resource>(
    cls: ResourceClass<R>,
    value: Ref<R>,
    options: CallOptions & { ignoreMissing?: boolean },
  ): Promise<void> {
    const { ignoreMissing, ...call } = options;
    try {
      await this.ref(cls, value).delete(call);
    } catch (e) {
      if (!(ignoreMissing && isNotFound(e))) throw e;
    }
  }

  /** @internal */
  protected async deleteResource<R extends Resource & { forceDelete(o?: OperationOptions): Promise<void> }>(
    resource: R,
    options: DeleteOptions,
    plain: () => Promise<unknown>,
  ): Promise<void> {
    const { force, ignoreMissing, ...call } = options;
    try {
      if (force) await resource.forceDelete(call);
      else await plain();
    } catch (e) {
      if (!(ignoreMissing && isNotFound(e))) throw e;
    }
  }

  // ---------------------------------------------------------------- version documents

  /**
   * The API versions the server lists at its root (`GET /`), with each one's microversion range.
   *
   * @example
   * ```ts
   * for (const v of await bs.apiVersions()) console.log(v.id, v.status, v.maxMicroversion);
   * ```
   */
  apiVersions(options: CallOptions = {}): Promise<VersionEntry[]> {
    return this.client.versions(options);
  }

  /**
   * The version document of the API this proxy speaks (`GET /v3/` or `/v2/`); undefined when the server has none.
   *
   * @example
   * ```ts
   * const v = await bs.apiVersion(); // { id: 'v3.0', maxMicroversion: '3.70', … }
   * ```
   */
  async apiVersion(options: CallOptions = {}): Promise<VersionEntry | undefined> {
    return (await this.client.versions({ ...options, current: true }))[0];
  }

  // ---------------------------------------------------------------- snapshots

  /**
   * Lists snapshots (detail view by default) as an async iterable.
   *
   * @example
   * ```ts
   * const mine = await bs.snapshots({ volumeId: vol.id }, { limit: 100 }).toArray();
   * ```
   */
  snapshots(query: SnapshotQuery = {}, options: ListOptions = {}): Paginator<Snapshot> {
    const { details = true, ...rest } = query;
    return Snapshot.list(this.client, rest, { ...options, basePath: details ? '/snapshots/detail' : '/snapshots' });
  }

  /** GET one snapshot. @example `const s = await bs.getSnapshot(id)` */
  getSnapshot(snapshot: Ref<Snapshot>, options: CallOptions = {}): Promise<Snapshot> {
    return this.ref(Snapshot, snapshot).fetch(options);
  }

  /**
   * Finds a snapshot by id or name (throws NotFoundError unless `ignoreMissing`).
   *
   * @example
   * ```ts
   * const s = await bs.findSnapshot('nightly', { allProjects: true });
   * ```
   */
  findSnapshot(
    nameOrId: string,
    options: FindOptions & { details?: boolean; allProjects?: boolean } = {},
  ): Promise<Snapshot | undefined> {
    const { details = true, allProjects, ...rest } = options;
    return Snapshot.find(this.client, nameOrId, {
      ...rest,
      listBasePath: details ? '/snapshots/detail' : '/snapshots',
      query: { ...(rest.query ?? {}), ...(allProjects ? { allProjects: true } : {}) },
    });
  }

  /**
   * Creates a snapshot (`volumeId` required; `isForced`/`force` for in-use volumes below 3.66).
   *
   * @example
   * ```ts
   * const s = await bs.createSnapshot({ volumeId: vol.id, name: 'before-upgrade', metadata: { app: 'db' } });
   * ```
   */
  createSnapshot(attrs: ResourceInput<Snapshot>, options: CallOptions = {}): Promise<Snapshot> {
    return Snapshot.new(attrs, this.client).create(options);
  }

  /**
   * Updates name/description; only changed fields are sent.
   *
   * @example
   * ```ts
   * await bs.updateSnapshot(snap, { description: 'kept for audit' });
   * ```
   */
  updateSnapshot(
    snapshot: Ref<Snapshot>,
    attrs: ResourceInput<Snapshot>,
    options: CallOptions = {},
  ): Promise<Snapshot> {
    return this.ref(Snapshot, snapshot).update(attrs).commit(options);
  }

  /**
   * Deletes a snapshot; `force` uses the admin `os-force_delete` action. `ignoreMissing` is honoured in both cases.
   *
   * @example
   * ```ts
   * await bs.deleteSnapshot(snap, { ignoreMissing: true });
   * ```
   */
  async deleteSnapshot(snapshot: Ref<Snapshot>, options: DeleteOptions = {}): Promise<void> {
    const s = this.ref(Snapshot, snapshot);
    await this.deleteResource(s, options, () => s.delete(options));
  }

  /**
   * Fetches a snapshot's metadata map (openstacksdk `fetch_snapshot_metadata`).
   *
   * @example
   * ```ts
   * const md = await bs.snapshotMetadata(snap); // { app: 'db' }
   * ```
   */
  async snapshotMetadata(snapshot: Ref<Snapshot>, options: CallOptions = {}): Promise<Metadata> {
    const md = await this.snapshotMeta.get(this.idOf(snapshot), options);
    if (typeof snapshot !== 'string') snapshot.applyServerBody({ metadata: md });
    return md;
  }

  /**
   * Merges keys into a snapshot's metadata (POST), or replaces the whole map with `{ replace: true }` (PUT).
   * Returns the server's resulting map and updates a passed Snapshot from it.
   *
   * @example
   * ```ts
   * await bs.updateSnapshotMetadata(snap, { tier: 'gold' });
   * await bs.updateSnapshotMetadata(snap, { only: 'this' }, { replace: true });
   * ```
   */
  async updateSnapshotMetadata(
    snapshot: Ref<Snapshot>,
    metadata: Metadata,
    options: CallOptions & { replace?: boolean } = {},
  ): Promise<Metadata> {
    const { replace, ...call } = options;
    const id = this.idOf(snapshot);
    const md = replace
      ? await this.snapshotMeta.replace(id, metadata, call)
      : await this.snapshotMeta.merge(id, metadata, call);
    if (typeof snapshot !== 'string') snapshot.applyServerBody({ metadata: md });
    return md;
  }

  /** Replaces a snapshot's metadata (PUT). @example `await bs.replaceSnapshotMetadata(snap, {})` */
  replaceSnapshotMetadata(snapshot: Ref<Snapshot>, metadata: Metadata, options: CallOptions = {}): Promise<Metadata> {
    return this.updateSnapshotMetadata(snapshot, metadata, { ...options, replace: true });
  }

  /**
   * Deletes metadata keys (all keys when `keys` is omitted); `atomic` does one read-modify-PUT.
   *
   * @example
   * ```ts
   * await bs.deleteSnapshotMetadata(snap, ['tier']);
   * ```
   */
  deleteSnapshotMetadata(
    snapshot: Ref<Snapshot>,
    keys?: readonly string[],
    options: CallOptions & { atomic?: boolean; ignoreMissing?: boolean } = {},
  ): Promise<void> {
    return this.snapshotMeta.deleteKeys(this.idOf(snapshot), keys, options);
  }

  /** Reads one metadata key. @example `await bs.getSnapshotMetadataItem(snap, 'tier')` */
  getSnapshotMetadataItem(snapshot: Ref<Snapshot>, key: string, options: CallOptions = {}): Promise<string> {
    return this.snapshotMeta.getItem(this.idOf(snapshot), key, options);
  }

  /** Sets one metadata key. @example `await bs.setSnapshotMetadataItem(snap, 'tier', 'gold')` */
  setSnapshotMetadataItem(
    snapshot: Ref<Snapshot>,
    key: string,
    value: string,
    options: CallOptions = {},
  ): Promise<Metadata> {
    return this.snapshotMeta.setItem(this.idOf(snapshot), key, value, options);
  }

  /** Admin: resets a snapshot's status. @example `await bs.resetSnapshotStatus(snap, 'available')` */
  resetSnapshotStatus(snapshot: Ref<Snapshot>, status: string, options: CallOptions = {}): Promise<void> {
    return this.ref(Snapshot, snapshot).resetStatus(status, options);
  }

  /** `os-update_snapshot_status`. @example `await bs.setSnapshotStatus(snap, 'available', 100)` */
  setSnapshotStatus(
    snapshot: Ref<Snapshot>,
    status: string,
    progress?: number | string,
    options: CallOptions = {},
  ): Promise<void> {
    return this.ref(Snapshot, snapshot).setStatus(status, progress, options);
  }

  /** Admin: unmanages a snapshot. @example `await bs.unmanageSnapshot(snap)` */
  unmanageSnapshot(snapshot: Ref<Snapshot>, options: CallOptions = {}): Promise<void> {
    return this.ref(Snapshot, snapshot).unmanage(options);
  }

  /** Path used to manage snapshots or volumes. @internal */
  protected abstract managePath(options: CallOptions, kind?: 'snapshot' | 'volume'): Promise<string>;

  /**
   * Admin: brings an existing backend snapshot under management. Unset optionals are omitted.
   *
   * @example
   * ```ts
   * const s = await bs.manageSnapshot({ volumeId: vol.id, ref: { 'source-name': '_snapshot-1234' }, name: 'adopted' });
   * ```
   */
  async manageSnapshot(input: ManageSnapshotInput, options: CallOptions = {}): Promise<Snapshot> {
    const body: Record<string, unknown> = { volume_id: input.volumeId, ref: input.ref };
    if (input.name !== undefined) body.name = input.name;
    if (input.description !== undefined) body.description = input.description;
    if (input.metadata !== undefined) body.metadata = input.metadata;
    const res = await this.client.request('POST', await this.managePath(options), {
      ...options,
      body: { snapshot: body },
      maxMicroversion: Snapshot.maxMicroversion,
      operation: 'manage Snapshot',
    });
    return new Snapshot({}, { synchronized: true, client: this.client }).applyResponse(res);
  }

  /** Path of manageable listings. @internal */
  protected abstract manageableListPath(
    details: boolean,
    options: CallOptions,
    kind?: 'snapshot' | 'volume',
  ): Promise<{ path: string; minMicroversion?: string }>;

  /**
   * Admin: brings an existing backend volume under management. Unset optionals are omitted; `cluster` needs 3.16.
   *
   * @example
   * ```ts
   * const v = await bs.manageVolume({ host: 'node@raw#raw', ref: { 'source-name': 'import/disk.raw' }, name: 'adopted' });
   * ```
   */
  async manageVolume(input: ManageVolumeInput, options: CallOptions = {}): Promise<Volume> {
    const body: Record<string, unknown> = { ref: input.ref };
    const optional: Array<[keyof ManageVolumeInput, string]> = [
      ['host', 'host'],
      ['cluster', 'cluster'],
      ['name', 'name'],
      ['description', 'description'],
      ['volumeType', 'volume_type'],
      ['availabilityZone', 'availability_zone'],
      ['bootable', 'bootable'],
      ['metadata', 'metadata'],
    ];
    for (const [attr, wire] of optional) if (input[attr] !== undefined) body[wire] = input[attr];
    const res = await this.client.request('POST', await this.managePath(options, 'volume'), {
      ...options,
      body: { volume: body },
      maxMicroversion: Volume.maxMicroversion,
      ...(input.cluster !== undefined ? { minMicroversion: '3.16' } : {}),
      operation: 'manage Volume',
    });
    return new Volume({}, { synchronized: true, client: this.client }).applyResponse(res);
  }

  /** Admin: unmanages a volume (`os-unmanage`). @example `await bs.unmanageVolume(vol)` */
  unmanageVolume(volume: Ref<Volume>, options: CallOptions = {}): Promise<void> {
    return this.ref(Volume, volume).unmanage(options);
  }

  /**
   * Admin: lists backend volumes that could be managed (summary by default).
   *
   * @example
   * ```ts
   * const list = await bs.manageableVolumes({ host: 'node@raw#raw', details: true }).toArray();
   * ```
   */
  manageableVolumes(query: ManageableQuery = {}, options: ListOptions = {}): Paginator<ManageableVolume> {
    const { details = false, ...rest } = query;
    return ManageableVolume.list(this.client, rest, {
      ...options,
      prepare: async () => {
        const { path, minMicroversion } = await this.manageableListPath(details, options, 'volume');
        const min = rest.cluster !== undefined ? '3.17' : minMicroversion;
        return min === undefined ? { path } : { path, minMicroversion: min };
      },
    });
  }

  // ---------------------------------------------------------------- types and zones

  /**
   * Lists volume types; `extraSpecs` (3.52) keeps those having every given spec (members match only the specs
   * they can see). @example `await bs.volumeTypes({ extraSpecs: { volume_backend_name: 'raw' } }).toArray()`
   */
  volumeTypes(
    query: { isPublic?: boolean | 'none'; extraSpecs?: Record<string, string> } = {},
    options: ListOptions = {},
  ): Paginator<VolumeType> {
    const { extraSpecs, ...rest } = query;
    return VolumeType.list(this.client, extraSpecs ? { ...rest, extraSpecs: JSON.stringify(extraSpecs) } : rest, options);
  }

  /** GET one volume type (`default` is the default type). @example `await bs.getVolumeType('default')` */
  getVolumeType(type: Ref<VolumeType>, options: CallOptions = {}): Promise<VolumeType> {
    return this.ref(VolumeType, type).fetch(options);
  }

  /** Finds a volume type by id or name. @example `await bs.findVolumeType('__DEFAULT__')` */
  findVolumeType(nameOrId: string, options: FindOptions = {}): Promise<VolumeType | undefined> {
    return VolumeType.find(this.client, nameOrId, options);
  }

  /**
   * Admin: creates a volume type (`isPublic: false` makes it private: only admins and projects given access
   * see and use it). An extra spec `volume_backend_name` chooses the backend its volumes land on.
   *
   * @example
   * ```ts
   * const gold = await bs.createVolumeType({ name: 'gold', extraSpecs: { volume_backend_name: 'qcow2' } });
   * ```
   */
  createVolumeType(attrs: ResourceInput<VolumeType>, options: CallOptions = {}): Promise<VolumeType> {
    return VolumeType.new(attrs, this.client).create(options);
  }

  /** Admin: changes name, description or isPublic. @example `await bs.updateVolumeType(t, { description: 'x' })` */
  updateVolumeType(type: Ref<VolumeType>, attrs: ResourceInput<VolumeType>, options: CallOptions = {}): Promise<VolumeType> {
    return this.ref(VolumeType, type).update(attrs).commit(options);
  }

  /**
   * Admin: deletes a volume type; refused (400) while any volume uses it, and for the default type.
   *
   * @example
   * ```ts
   * await bs.deleteVolumeType(gold, { ignoreMissing: true });
   * ```
   */
  deleteVolumeType(type: Ref<VolumeType>, options: CallOptions & { ignoreMissing?: boolean } = {}): Promise<void> {
    return this.deleteRef(VolumeType, type, options);
  }

  /** Admin: adds or overwrites extra specs. @example `await bs.setVolumeTypeExtraSpecs(t, { volume_backend_name: 'raw' })` */
  setVolumeTypeExtraSpecs(type: Ref<VolumeType>, specs: Record<string, string>, options: CallOptions = {}): Promise<Record<string, string>> {
    return this.ref(VolumeType, type).setExtraSpecs(specs, options);
  }

  /** Admin: removes extra specs by key. @example `await bs.deleteVolumeTypeExtraSpecs(t, ['tier'])` */
  async deleteVolumeTypeExtraSpecs(type: Ref<VolumeType>, keys: readonly string[], options: CallOptions = {}): Promise<void> {
    const t = this.ref(VolumeType, type);
    for (const k of keys) await t.deleteExtraSpec(k, options);
  }

  /** Admin: projects given access to a private type. @example `await bs.volumeTypeAccess(t)` */
  volumeTypeAccess(type: Ref<VolumeType>, options: CallOptions = {}): Promise<string[]> {
    return this.ref(VolumeType, type).accessProjects(options);
  }

  /** Admin: gives a project access to a private type. @example `await bs.addVolumeTypeAccess(t, projectId)` */
  addVolumeTypeAccess(type: Ref<VolumeType>, projectId: string, options: CallOptions = {}): Promise<void> {
    return this.ref(VolumeType, type).addProjectAccess(projectId, options);
  }

  /** Admin: withdraws a project's access to a private type. @example `await bs.removeVolumeTypeAccess(t, projectId)` */
  removeVolumeTypeAccess(type: Ref<VolumeType>, projectId: string, options: CallOptions = {}): Promise<void> {
    return this.ref(VolumeType, type).removeProjectAccess(projectId, options);
  }

  /** Admin: a type's encryption spec (undefined when none). @example `await bs.getVolumeTypeEncryption(t)` */
  getVolumeTypeEncryption(type: Ref<VolumeType>, options: CallOptions = {}): Promise<VolumeTypeEncryption | undefined> {
    return this.ref(VolumeType, type).getEncryption(options);
  }

  /**
   * Admin: gives a type an encryption spec (refused while volumes of the type exist).
   *
   * @example
   * ```ts
   * await bs.createVolumeTypeEncryption(t, { provider: 'luks', controlLocation: 'front-end' });
   * ```
   */
  createVolumeTypeEncryption(type: Ref<VolumeType>, spec: VolumeTypeEncryption, options: CallOptions = {}): Promise<VolumeTypeEncryption> {
    return this.ref(VolumeType, type).createEncryption(spec, options);
  }

  /** Admin: changes a type's encryption spec. @example `await bs.updateVolumeTypeEncryption(t, { keySize: 512 })` */
  updateVolumeTypeEncryption(type: Ref<VolumeType>, spec: VolumeTypeEncryption, options: CallOptions = {}): Promise<void> {
    return this.ref(VolumeType, type).updateEncryption(spec, options);
  }

  /** Admin: removes a type's encryption spec. @example `await bs.deleteVolumeTypeEncryption(t)` */
  deleteVolumeTypeEncryption(type: Ref<VolumeType>, options: CallOptions = {}): Promise<void> {
    return this.ref(VolumeType, type).deleteEncryption(options);
  }

  /**
   * A type's extra specs (`GET …/extra_specs`); members see only the user-visible ones.
   * @example `const specs = await bs.volumeTypeExtraSpecs(t)`
   */
  async volumeTypeExtraSpecs(type: Ref<VolumeType>, options: CallOptions = {}): Promise<Record<string, string>> {
    const res = await this.client.request('GET', `${this.typePath(type)}/extra_specs`, { ...options, operation: 'list extra specs' });
    return stringEntries(isRecord(res.body) ? res.body.extra_specs : undefined);
  }

  /** One extra spec of a type (404 when absent). @example `await bs.getVolumeTypeExtraSpec(t, 'volume_backend_name')` */
  async getVolumeTypeExtraSpec(type: Ref<VolumeType>, key: string, options: CallOptions = {}): Promise<string> {
    const res = await this.client.request('GET', `${this.typePath(type)}/extra_specs/${encodeURIComponent(key)}`, {
      ...options,
      operation: 'get extra spec',
    });
    return String(isRecord(res.body) ? (res.body[key] ?? '') : '');
  }

  /**
   * Admin: sets one extra spec (`PUT …/extra_specs/{key}`); returns the spec as the server stored it.
   * @example `await bs.setVolumeTypeExtraSpec(t, 'tier', 'gold')`
   */
  async setVolumeTypeExtraSpec(type: Ref<VolumeType>, key: string, value: string, options: CallOptions = {}): Promise<Record<string, string>> {
    const res = await this.client.request('PUT', `${this.typePath(type)}/extra_specs/${encodeURIComponent(key)}`, {
      ...options,
      body: { [key]: value },
      operation: 'set extra spec',
    });
    if (typeof type !== 'string') type.applyServerBody({ extra_specs: { ...(type.extraSpecs ?? {}), [key]: value } });
    return stringEntries(res.body);
  }

  /**
   * Admin: one field of a type's encryption spec (`provider`, `cipher`, `key_size`, `control_location`); 404 when
   * the type has no encryption or the field is unknown.
   * @example `await bs.getVolumeTypeEncryptionSpec(t, 'cipher')`
   */
  async getVolumeTypeEncryptionSpec(type: Ref<VolumeType>, key: string, options: CallOptions = {}): Promise<unknown> {
    const res = await this.client.request('GET', `${this.typePath(type)}/encryption/${encodeURIComponent(key)}`, {
      ...options,
      operation: 'get encryption spec',
    });
    return isRecord(res.body) ? res.body[key] : undefined;
  }

  /** @internal */
  protected typePath(type: Ref<VolumeType>): string {
    return `${VolumeType.basePath}/${encodeURIComponent(this.idOf(type))}`;
  }

  /**
   * Admin (3.62): sets a project's default volume type (by name or id), used for its volumes created without one.
   *
   * @example
   * ```ts
   * await bs.setDefaultVolumeType(projectId, 'gold');
   * ```
   */
  async setDefaultVolumeType(projectId: string, type: Ref<VolumeType>, options: CallOptions = {}): Promise<DefaultVolumeType> {
    const res = await this.client.request('PUT', `/default-types/${encodeURIComponent(projectId)}`, {
      ...options,
      minMicroversion: '3.62',
      body: { default_type: { volume_type: this.idOf(type) } },
    });
    return defaultTypeFrom(isRecord(res.body) ? res.body.default_type : undefined);
  }

  /** Admin (3.62): a project's default type; 404 when it has none. @example `await bs.getDefaultVolumeType(pid)` */
  async getDefaultVolumeType(projectId: string, options: CallOptions = {}): Promise<DefaultVolumeType> {
    const res = await this.client.request('GET', `/default-types/${encodeURIComponent(projectId)}`, { ...options, minMicroversion: '3.62' });
    return defaultTypeFrom(isRecord(res.body) ? res.body.default_type : undefined);
  }

  /** Admin (3.62): every project default. @example `await bs.defaultVolumeTypes()` */
  async defaultVolumeTypes(options: CallOptions = {}): Promise<DefaultVolumeType[]> {
    const res = await this.client.request('GET', '/default-types', { ...options, minMicroversion: '3.62' });
    const list = isRecord(res.body) && Array.isArray(res.body.default_types) ? res.body.default_types : [];
    return list.map(defaultTypeFrom);
  }

  /** Admin (3.62): removes a project's default type. @example `await bs.unsetDefaultVolumeType(pid)` */
  async unsetDefaultVolumeType(projectId: string, options: CallOptions = {}): Promise<void> {
    await this.client.request('DELETE', `/default-types/${encodeURIComponent(projectId)}`, { ...options, minMicroversion: '3.62' });
  }

  /** Lists availability zones. @example `const [zone] = await bs.availabilityZones().toArray()` */
  availabilityZones(options: ListOptions = {}): Paginator<AvailabilityZone> {
    return AvailabilityZone.list(this.client, {}, { ...options, paginated: false });
  }

  /**
   * Admin: lists backend snapshots that could be managed (summary by default).
   *
   * @example
   * ```ts
   * const list = await bs.manageableSnapshots({ host: 'node@raw#pool', details: true }).toArray();
   * ```
   */
  manageableSnapshots(query: ManageableQuery = {}, options: ListOptions = {}): Paginator<ManageableSnapshot> {
    const { details = false, ...rest } = query;
    return ManageableSnapshot.list(this.client, rest, {
      ...options,
      prepare: async () => {
        const { path, minMicroversion } = await this.manageableListPath(details, options);
        const min = rest.cluster !== undefined ? '3.17' : minMicroversion;
        return min === undefined ? { path } : { path, minMicroversion: min };
      },
    });
  }

  // ---------------------------------------------------------------- backups

  /**
   * Lists backups (detail view by default).
   *
   * @example
   * ```ts
   * for await (const b of bs.backups({ volumeId: vol.id })) console.log(b.status, b.isIncremental);
   * ```
   */
  backups(query: BackupQuery = {}, options: ListOptions = {}): Paginator<Backup> {
    const { details = true, ...rest } = query;
    return Backup.list(this.client, rest, { ...options, basePath: details ? '/backups/detail' : '/backups' });
  }

  /** GET one backup. @example `const b = await bs.getBackup(id)` */
  getBackup(backup: Ref<Backup>, options: CallOptions = {}): Promise<Backup> {
    return this.ref(Backup, backup).fetch(options);
  }

  /** Finds a backup by id or name. @example `await bs.findBackup('weekly')` */
  findBackup(
    nameOrId: string,
    options: FindOptions & { details?: boolean; allProjects?: boolean } = {},
  ): Promise<Backup | undefined> {
    const { details = true, allProjects, ...rest } = options;
    return Backup.find(this.client, nameOrId, {
      ...rest,
      listBasePath: details ? '/backups/detail' : '/backups',
      query: { ...(rest.query ?? {}), ...(allProjects ? { allProjects: true } : {}) },
    });
  }

  /**
   * Creates a backup; `isIncremental` is sent as `incremental`. The response holds only id/name/links:
   * wait with {@link waitForStatus} to read the rest.
   *
   * @example
   * ```ts
   * const b = await bs.createBackup({ volumeId: vol.id, isIncremental: true, force: true });
   * ```
   */
  createBackup(attrs: ResourceInput<Backup>, options: CallOptions = {}): Promise<Backup> {
    return Backup.new(attrs, this.client).create(options);
  }

  /** Deletes a backup (`force` = admin `os-force_delete`). @example `await bs.deleteBackup(b, { force: true, ignoreMissing: true })` */
  async deleteBackup(backup: Ref<Backup>, options: DeleteOptions = {}): Promise<void> {
    const b = this.ref(Backup, backup);
    await this.deleteResource(b, options, () => b.delete(options));
  }

  /**
   * Restores a backup into an existing volume or a new one; both targets optional.
   *
   * @example
   * ```ts
   * const { volumeId } = await bs.restoreBackup(b, { name: 'restored' });
   * ```
   */
  restoreBackup(
    backup: Ref<Backup>,
    target: { volumeId?: string; name?: string } = {},
    options: CallOptions = {},
  ): Promise<RestoreResult> {
    return this.ref(Backup, backup).restore(target, options);
  }

  /** Admin: exports a backup record. @example `const rec = await bs.exportBackup(b)` */
  exportBackup(backup: Ref<Backup>, options: CallOptions = {}): Promise<BackupRecord> {
    return this.ref(Backup, backup).exportRecord(options);
  }

  /** Admin: imports a backup record (POST /backups/import_record). @example `await bs.importBackup(rec)` */
  importBackup(record: BackupRecord, options: CallOptions = {}): Promise<Backup> {
    return Backup.importRecord(this.client, record, options);
  }

  /** Admin: resets a backup's status. @example `await bs.resetBackupStatus(b, 'available')` */
  resetBackupStatus(backup: Ref<Backup>, status: string, options: CallOptions = {}): Promise<void> {
    return this.ref(Backup, backup).resetStatus(status, options);
  }

  // ---------------------------------------------------------------- volumes

  /** Lists volumes (detail view by default). @example `await bs.volumes({ status: 'available' }).toArray()` */
  volumes(query: VolumeQuery = {}, options: ListOptions = {}): Paginator<Volume> {
    const { details = true, ...rest } = query;
    return Volume.list(this.client, rest, { ...options, basePath: details ? '/volumes/detail' : '/volumes' });
  }

  /** GET one volume. @example `await bs.getVolume(id)` */
  getVolume(volume: Ref<Volume>, options: CallOptions = {}): Promise<Volume> {
    return this.ref(Volume, volume).fetch(options);
  }

  /** Finds a volume by id or name. @example `await bs.findVolume('data')` */
  findVolume(
    nameOrId: string,
    options: FindOptions & { details?: boolean; allProjects?: boolean } = {},
  ): Promise<Volume | undefined> {
    const { details = true, allProjects, ...rest } = options;
    return Volume.find(this.client, nameOrId, {
      ...rest,
      listBasePath: details ? '/volumes/detail' : '/volumes',
      query: { ...(rest.query ?? {}), ...(allProjects ? { allProjects: true } : {}) },
    });
  }

  /** Creates a volume. @example `await bs.createVolume({ size: 1, name: 'data' })` */
  createVolume(attrs: ResourceInput<Volume>, options: CallOptions = {}): Promise<Volume> {
    return Volume.new(attrs, this.client).create(options);
  }

  /** Updates a volume (only changed fields). @example `await bs.updateVolume(vol, { name: 'new' })` */
  updateVolume(volume: Ref<Volume>, attrs: ResourceInput<Volume>, options: CallOptions = {}): Promise<Volume> {
    return this.ref(Volume, volume).update(attrs).commit(options);
  }

  /**
   * Deletes a volume; `cascade` also deletes its snapshots; `force` uses the admin path.
   *
   * @example
   * ```ts
   * await bs.deleteVolume(vol, { cascade: true, ignoreMissing: true });
   * ```
   */
  async deleteVolume(volume: Ref<Volume>, options: DeleteOptions & { cascade?: boolean } = {}): Promise<void> {
    const v = this.ref(Volume, volume);
    const { cascade, ...rest } = options;
    await this.deleteResource(v, rest, () =>
      this.client.request('DELETE', `${Volume.basePath}/${encodeURIComponent(this.idOf(v))}`, {
        ...rest,
        query: cascade ? { cascade: true } : undefined,
        maxMicroversion: Volume.maxMicroversion,
      }),
    );
  }

  /** `os-extend`. @example `await bs.extendVolume(vol, 20)` */
  extendVolume(volume: Ref<Volume>, newSize: number, options: CallOptions = {}): Promise<void> {
    return this.ref(Volume, volume).extend(newSize, options);
  }

  /**
   * `os-retype` (see `Volume.retype`): `migrationPolicy` `'on-demand'` lets the data move to the backend the new
   * type names. @example `await bs.retypeVolume(vol, 'fast', 'on-demand')`
   */
  retypeVolume(volume: Ref<Volume>, newType: string, migrationPolicy: 'never' | 'on-demand' = 'never', options: CallOptions = {}): Promise<void> {
    return this.ref(Volume, volume).retype(newType, migrationPolicy, options);
  }

  /** `os-set_bootable` (see `Volume.setBootable`). @example `await bs.setVolumeBootable(vol, false)` */
  setVolumeBootable(volume: Ref<Volume>, bootable: boolean, options: CallOptions = {}): Promise<void> {
    return this.ref(Volume, volume).setBootable(bootable, options);
  }

  /** `os-update_readonly_flag` (see `Volume.setReadonly`). @example `await bs.setVolumeReadonly(vol, true)` */
  setVolumeReadonly(volume: Ref<Volume>, readonly: boolean, options: CallOptions = {}): Promise<void> {
    return this.ref(Volume, volume).setReadonly(readonly, options);
  }

  /** Admin: `os-migrate_volume` to another backend (see `Volume.migrate`). @example `await bs.migrateVolume(vol, { host: 'node1@raw#raw' })` */
  migrateVolume(
    volume: Ref<Volume>,
    target: { host: string; forceHostCopy?: boolean; lockVolume?: boolean },
    options: CallOptions = {},
  ): Promise<void> {
    return this.ref(Volume, volume).migrate(target, options);
  }

  /** Admin: `os-reset_status`. @example `await bs.resetVolumeStatus(vol, { status: 'available' })` */
  resetVolumeStatus(
    volume: Ref<Volume>,
    change: { status?: string; attachStatus?: string; migrationStatus?: string },
    options: CallOptions = {},
  ): Promise<void> {
    return this.ref(Volume, volume).resetStatus(change, options);
  }

  /** `os-reserve`. @example `await bs.reserveVolume(vol)` */
  reserveVolume(volume: Ref<Volume>, options: CallOptions = {}): Promise<void> {
    return this.ref(Volume, volume).reserve(options);
  }

  /** `os-unreserve`. @example `await bs.unreserveVolume(vol)` */
  unreserveVolume(volume: Ref<Volume>, options: CallOptions = {}): Promise<void> {
    return this.ref(Volume, volume).unreserve(options);
  }

  /** `os-attach`. @example `await bs.attachVolume(vol, { mountpoint: '/dev/vdb', hostName: 'node1' })` */
  attachVolume(
    volume: Ref<Volume>,
    target: { mountpoint: string; instanceUuid?: string; hostName?: string; mode?: 'rw' | 'ro' },
    options: CallOptions = {},
  ): Promise<void> {
    return this.ref(Volume, volume).attach(target, options);
  }

  /** `os-detach`; `force` (admin) sends `os-force_detach`. @example `await bs.detachVolume(vol, { force: true })` */
  detachVolume(
    volume: Ref<Volume>,
    target: { attachmentId?: string; force?: boolean; connector?: Record<string, unknown> } = {},
    options: CallOptions = {},
  ): Promise<void> {
    return this.ref(Volume, volume).detach(target, options);
  }

  /** `os-initialize_connection`. @example `const ci = await bs.initializeVolumeConnection(vol, { host: 'h' })` */
  initializeVolumeConnection(
    volume: Ref<Volume>,
    connector: Record<string, unknown>,
    options: CallOptions = {},
  ): Promise<ConnectionInfo> {
    return this.ref(Volume, volume).initializeConnection(connector, options);
  }

  /** `os-terminate_connection`. @example `await bs.terminateVolumeConnection(vol, { host: 'h' })` */
  terminateVolumeConnection(
    volume: Ref<Volume>,
    connector: Record<string, unknown> | null,
    options: CallOptions = {},
  ): Promise<void> {
    return this.ref(Volume, volume).terminateConnection(connector, options);
  }

  /** Volume metadata map. @example `await bs.volumeMetadata(vol)` */
  volumeMetadata(volume: Ref<Volume>, options: CallOptions = {}): Promise<Metadata> {
    return this.volumeMeta.get(this.idOf(volume), options);
  }

  /** Merges (or with `replace`, replaces) volume metadata. @example `await bs.updateVolumeMetadata(vol, { a: '1' })` */
  updateVolumeMetadata(
    volume: Ref<Volume>,
    metadata: Metadata,
    options: CallOptions & { replace?: boolean } = {},
  ): Promise<Metadata> {
    const { replace, ...call } = options;
    const id = this.idOf(volume);
    return replace ? this.volumeMeta.replace(id, metadata, call) : this.volumeMeta.merge(id, metadata, call);
  }

  /** Deletes volume metadata keys. @example `await bs.deleteVolumeMetadata(vol, ['a'])` */
  deleteVolumeMetadata(
    volume: Ref<Volume>,
    keys?: readonly string[],
    options: CallOptions & { atomic?: boolean; ignoreMissing?: boolean } = {},
  ): Promise<void> {
    return this.volumeMeta.deleteKeys(this.idOf(volume), keys, options);
  }

  /** Replaces a volume's whole metadata map (PUT). @example `await bs.replaceVolumeMetadata(vol, { only: 'this' })` */
  replaceVolumeMetadata(volume: Ref<Volume>, metadata: Metadata, options: CallOptions = {}): Promise<Metadata> {
    return this.updateVolumeMetadata(volume, metadata, { ...options, replace: true });
  }

  /** Reads one volume metadata key (404 when absent). @example `await bs.getVolumeMetadataItem(vol, 'tier')` */
  getVolumeMetadataItem(volume: Ref<Volume>, key: string, options: CallOptions = {}): Promise<string> {
    return this.volumeMeta.getItem(this.idOf(volume), key, options);
  }

  /** Sets one volume metadata key (PUT on the key). @example `await bs.setVolumeMetadataItem(vol, 'tier', 'gold')` */
  setVolumeMetadataItem(volume: Ref<Volume>, key: string, value: string, options: CallOptions = {}): Promise<Metadata> {
    return this.volumeMeta.setItem(this.idOf(volume), key, value, options);
  }

  /**
   * `os-begin_detaching`: marks an in-use volume `detaching` before a consumer disconnects it.
   * @example `await bs.beginDetachingVolume(vol)`
   */
  beginDetachingVolume(volume: Ref<Volume>, options: CallOptions = {}): Promise<void> {
    return this.ref(Volume, volume).beginDetaching(options);
  }

  /**
   * `os-roll_detaching`: puts a `detaching` volume back to `in-use` when the disconnect did not happen.
   * @example `await bs.rollDetachingVolume(vol)`
   */
  rollDetachingVolume(volume: Ref<Volume>, options: CallOptions = {}): Promise<void> {
    return this.ref(Volume, volume).rollDetaching(options);
  }

  // ---------------------------------------------------------------- volume transfers

  /**
   * Lists the project's open volume transfers (detail view by default); `allProjects` (admin) lists every
   * project's.
   *
   * @example
   * ```ts
   * const offers = await bs.transfers().toArray();
   * ```
   */
  transfers(query: { details?: boolean; allProjects?: boolean } = {}, options: ListOptions = {}): Paginator<Transfer> {
    const { details = true, ...rest } = query;
    return Transfer.list(this.client, rest, { ...options, basePath: details ? '/os-volume-transfer/detail' : '/os-volume-transfer' });
  }

  /** GET one open transfer of the caller's project. @example `const t = await bs.getTransfer(id)` */
  getTransfer(transfer: Ref<Transfer>, options: CallOptions = {}): Promise<Transfer> {
    return this.ref(Transfer, transfer).fetch(options);
  }

  /**
   * Offers a volume to another project: the volume goes `awaiting-transfer` and the returned transfer carries
   * the `authKey` (shown only here). `noSnapshots` (3.55+) leaves the snapshots with the donor; it is sent to
   * `volume-transfers`, the only path that takes it.
   *
   * @example
   * ```ts
   * const offer = await bs.createTransfer({ volumeId: vol.id, name: 'to bob' });
   * console.log(offer.id, offer.authKey);
   * ```
   */
  createTransfer(attrs: ResourceInput<Transfer>, options: CallOptions = {}): Promise<Transfer> {
    const t = Transfer.new(attrs, this.client);
    return t.create({ ...options, ...(attrs.noSnapshots !== undefined ? { basePath: '/volume-transfers' } : {}) });
  }

  /**
   * Accepts a transfer into the caller's project with its auth key: the volume (and its snapshots, unless the
   * offer said `noSnapshots`) becomes the caller's, with the quota usage moved.
   *
   * @example
   * ```ts
   * await bob.blockStorage.acceptTransfer(offer.id, offer.authKey!);
   * ```
   */
  acceptTransfer(transfer: Ref<Transfer>, authKey: string, options: CallOptions = {}): Promise<Transfer> {
    return this.ref(Transfer, transfer).accept(authKey, options);
  }

  /** Withdraws an offer; the volume is `available` to its owner again. @example `await bs.deleteTransfer(offer)` */
  deleteTransfer(transfer: Ref<Transfer>, options: CallOptions & { ignoreMissing?: boolean } = {}): Promise<void> {
    return this.deleteRef(Transfer, transfer, options);
  }

  // ---------------------------------------------------------------- QoS specs (admin)

  /**
   * Lists QoS specs (admin only); `name` and `consumer` filter exactly, `sort` is Cinder's `key:dir` list.
   *
   * @example
   * ```ts
   * const specs = await admin.blockStorage.qosSpecs({ consumer: 'front-end' }).toArray();
   * ```
   */
  qosSpecs(query: { name?: string; consumer?: string; sort?: string; limit?: number } = {}, options: ListOptions = {}): Paginator<QoSSpec> {
    return QoSSpec.list(this.client, query, options);
  }

  /** GET one QoS spec. @example `const q = await bs.getQoSSpec(id)` */
  getQoSSpec(spec: Ref<QoSSpec>, options: CallOptions = {}): Promise<QoSSpec> {
    return this.ref(QoSSpec, spec).fetch(options);
  }

  /**
   * Creates a QoS spec; `consumer` defaults to `back-end` on the server. Only `front-end` and `both` limits are
   * reported to hypervisors (in `initializeConnection`'s `data.qos_specs`).
   *
   * @example
   * ```ts
   * const q = await bs.createQoSSpec({ name: 'gold', consumer: 'front-end', specs: { total_iops_sec: '2000' } });
   * ```
   */
  createQoSSpec(attrs: ResourceInput<QoSSpec>, options: CallOptions = {}): Promise<QoSSpec> {
    return QoSSpec.new(attrs, this.client).createSpec(options);
  }

  /** Sets keys of a spec (a `consumer` key changes its consumer); the spec as it is after. @example `await bs.setQoSSpecKeys(q, { read_iops_sec: '500' })` */
  setQoSSpecKeys(spec: Ref<QoSSpec>, specs: Record<string, string | null>, options: CallOptions = {}): Promise<QoSSpec> {
    return this.ref(QoSSpec, spec).setKeys(specs, options);
  }

  /** Removes keys of a spec; the spec as it is after. @example `await bs.unsetQoSSpecKeys(q, ['read_iops_sec'])` */
  unsetQoSSpecKeys(spec: Ref<QoSSpec>, keys: string[], options: CallOptions = {}): Promise<QoSSpec> {
    return this.ref(QoSSpec, spec).unsetKeys(keys, options);
  }

  /**
   * Deletes a QoS spec. Refused (400) while a volume type is associated, unless `force`, which disassociates
   * them first.
   *
   * @example
   * ```ts
   * await bs.deleteQoSSpec(q, { force: true });
   * ```
   */
  async deleteQoSSpec(spec: Ref<QoSSpec>, options: CallOptions & { force?: boolean; ignoreMissing?: boolean } = {}): Promise<void> {
    const { ignoreMissing, force, ...call } = options;
    try {
      await this.ref(QoSSpec, spec).delete({ ...call, ...(force ? { query: { force: true } } : {}) });
    } catch (e) {
      if (!(ignoreMissing && isNotFound(e))) throw e;
    }
  }

  /** The volume types a spec is associated with. @example `await bs.qosSpecAssociations(q)` */
  qosSpecAssociations(spec: Ref<QoSSpec>, options: CallOptions = {}): Promise<QoSAssociation[]> {
    return this.ref(QoSSpec, spec).associations(options);
  }

  /** Associates a volume type with a spec. @example `await bs.associateQoSSpec(q, typeId)` */
  associateQoSSpec(spec: Ref<QoSSpec>, volumeType: Ref<VolumeType>, options: CallOptions = {}): Promise<void> {
    return this.ref(QoSSpec, spec).associate(this.idOf(volumeType), options);
  }

  /**
   * Disassociates a volume type from a spec, or every type when `volumeType` is omitted.
   *
   * @example
   * ```ts
   * await bs.disassociateQoSSpec(q); // all types
   * ```
   */
  disassociateQoSSpec(spec: Ref<QoSSpec>, volumeType?: Ref<VolumeType>, options: CallOptions = {}): Promise<void> {
    return this.ref(QoSSpec, spec).disassociate(volumeType === undefined ? undefined : this.idOf(volumeType), options);
  }

  // ---------------------------------------------------------------- quotas and limits

  /** Quotas of a project (default: the token's project). @example `await bs.getQuotaSet(undefined, { usage: true })` */
  async getQuotaSet(projectId?: string, options: CallOptions & { usage?: boolean } = {}): Promise<QuotaSet> {
    const { usage, ...call } = options;
    const id = projectId ?? (await this.client.projectId(call.signal)) ?? '';
    const res = await this.client.request('GET', `${QuotaSet.basePath}/${encodeURIComponent(id)}`, {
      ...call,
      query: usage ? { usage: true } : undefined,
    });
    return new QuotaSet({ id }, { synchronized: true, client: this.client }).applyResponse(res);
  }

  /** Default quotas. @example `await bs.getQuotaSetDefaults()` */
  async getQuotaSetDefaults(projectId?: string, options: CallOptions = {}): Promise<QuotaSet> {
    const id = projectId ?? (await this.client.projectId(options.signal)) ?? '';
    const res = await this.client.request('GET', `${QuotaSet.basePath}/${encodeURIComponent(id)}/defaults`, options);
    return new QuotaSet({ id }, { synchronized: true, client: this.client }).applyResponse(res);
  }

  /** Admin: updates quotas (only the given keys). @example `await bs.updateQuotaSet(pid, { snapshots: 20 })` */
  updateQuotaSet(projectId: string, values: ResourceInput<QuotaSet>, options: CallOptions = {}): Promise<QuotaSet> {
    return new QuotaSet({ id: projectId }, { synchronized: true, client: this.client }).update(values).commit(options);
  }

  /** Admin: resets quotas to defaults. @example `await bs.revertQuotaSet(pid)` */
  async revertQuotaSet(projectId: string, options: CallOptions = {}): Promise<void> {
    await new QuotaSet({ id: projectId }, { synchronized: true, client: this.client }).delete(options);
  }

  /**
   * The filter keys each list operation accepts (3.33+, `GET /resource_filters`); `resource` (e.g. `volume`)
   * narrows to one. An unknown resource gives an empty list.
   * @example `const [{ filters }] = await bs.resourceFilters('volume')`
   */
  async resourceFilters(resource?: string, options: CallOptions = {}): Promise<ResourceFilter[]> {
    const res = await this.client.request('GET', '/resource_filters', {
      ...options,
      query: resource === undefined ? undefined : { resource },
      minMicroversion: '3.33',
    });
    const list = isRecord(res.body) && Array.isArray(res.body.resource_filters) ? res.body.resource_filters : [];
    return list.filter(isRecord).map((f) => ({
      resource: String(f.resource ?? ''),
      filters: Array.isArray(f.filters) ? f.filters.map(String) : [],
    }));
  }

  /** Absolute limits and usage. @example `const { absolute } = await bs.getLimits()` */
  async getLimits(options: CallOptions = {}): Promise<Limits> {
    const res = await this.client.request('GET', '/limits', options);
    const limits = isRecord(res.body) && isRecord(res.body.limits) ? res.body.limits : {};
    const absolute: Record<string, number> = {};
    if (isRecord(limits.absolute))
      for (const [k, v] of Object.entries(limits.absolute)) if (typeof v === 'number') absolute[k] = v;
    return { absolute, rate: Array.isArray(limits.rate) ? limits.rate : [] };
  }

  // ---------------------------------------------------------------- quota classes

  /** Admin: a quota class's limits (`default` is what projects without their own get). @example `await bs.getQuotaClassSet('default')` */
  async getQuotaClassSet(name = 'default', options: CallOptions = {}): Promise<QuotaClassSet> {
    const res = await this.client.request('GET', `/os-quota-class-sets/${encodeURIComponent(name)}`, options);
    return quotaClassFrom(name, isRecord(res.body) ? res.body.quota_class_set : undefined);
  }

  /**
   * Admin: sets limits of a quota class (only the given keys; `-1` is unlimited). Changing `default` changes the
   * quotas of every project that has no limit of its own for that resource.
   *
   * @example
   * ```ts
   * await bs.updateQuotaClassSet('default', { volumes: 20, gigabytes_fast: 500 });
   * ```
   */
  async updateQuotaClassSet(name: string, limits: Record<string, number>, options: CallOptions = {}): Promise<QuotaClassSet> {
    const res = await this.client.request('PUT', `/os-quota-class-sets/${encodeURIComponent(name)}`, {
      ...options,
      body: { quota_class_set: limits },
    });
    return quotaClassFrom(name, isRecord(res.body) ? res.body.quota_class_set : undefined);
  }

  // ---------------------------------------------------------------- services, hosts, capabilities

  /**
   * Admin: the services (scheduler, a volume service per backend, backup) with their heartbeat state.
   *
   * @example
   * ```ts
   * const down = (await bs.services({ binary: 'cinder-volume' })).filter((s) => s.state === 'down');
   * ```
   */
  async services(query: { host?: string; binary?: string } = {}, options: CallOptions = {}): Promise<Service[]> {
    const q: Record<string, string> = {};
    if (query.host !== undefined) q.host = query.host;
    if (query.binary !== undefined) q.binary = query.binary;
    const res = await this.client.request('GET', '/os-services', { ...options, query: q });
    const list = isRecord(res.body) && Array.isArray(res.body.services) ? res.body.services : [];
    return list.map(serviceFrom);
  }

  private async serviceAction(action: string, body: Record<string, unknown>, options: CallOptions): Promise<ServiceUpdateResult> {
    const res = await this.client.request('PUT', `/os-services/${action}`, { ...options, body });
    const r = isRecord(res.body) ? res.body : {};
    const out: ServiceUpdateResult = {
      host: String(r.host ?? body.host ?? ''),
      binary: String(r.binary ?? body.binary ?? ''),
      status: String(r.status ?? ''),
      disabled: r.disabled === true,
    };
    if (typeof r.disabled_reason === 'string') out.disabledReason = r.disabled_reason;
    return out;
  }

  /** Admin: lets a service take new work again. @example `await bs.enableService('node1@raw', 'cinder-volume')` */
  enableService(host: string, binary: string, options: CallOptions = {}): Promise<ServiceUpdateResult> {
    return this.serviceAction('enable', { host, binary }, options);
  }

  /**
   * Admin: stops new work going to a service (a disabled volume service gets no new volumes, a disabled backup
   * service no new backups), with an optional reason shown in the service list.
   *
   * @example
   * ```ts
   * await bs.disableService('node1@raw', 'cinder-volume', { reason: 'disk replacement' });
   * ```
   */
  disableService(host: string, binary: string, opts: { reason?: string } & CallOptions = {}): Promise<ServiceUpdateResult> {
    const { reason, ...options } = opts;
    return reason === undefined
      ? this.serviceAction('disable', { host, binary }, options)
      : this.serviceAction('disable-log-reason', { host, binary, disabled_reason: reason }, options);
  }

  /** Admin: freezes a volume host's backends (no management operations on their volumes until thawed). @example `await bs.freezeHost('node1@raw')` */
  async freezeHost(host: string, options: CallOptions = {}): Promise<void> {
    await this.client.request('PUT', '/os-services/freeze', { ...options, body: { host } });
  }

  /** Admin: thaws a frozen volume host. @example `await bs.thawHost('node1@raw')` */
  async thawHost(host: string, options: CallOptions = {}): Promise<void> {
    await this.client.request('PUT', '/os-services/thaw', { ...options, body: { host } });
  }

  /** Admin: every service as `os-hosts` lists them, optionally in one zone. @example `await bs.hosts()` */
  async hosts(query: { zone?: string } = {}, options: CallOptions = {}): Promise<Host[]> {
    const res = await this.client.request('GET', '/os-hosts', { ...options, query: query.zone ? { zone: query.zone } : {} });
    const list = isRecord(res.body) && Array.isArray(res.body.hosts) ? res.body.hosts : [];
    return list.map(hostFrom);
  }

  /** Admin: volume and snapshot usage of a volume host (`(total)` first, then per project). @example `await bs.getHost('node1@raw')` */
  async getHost(host: string, options: CallOptions = {}): Promise<HostResourceUsage[]> {
    const res = await this.client.request('GET', `/os-hosts/${encodeURIComponent(host)}`, options);
    const rows = isRecord(res.body) && Array.isArray(res.body.host) ? res.body.host : [];
    return rows.map(hostUsageFrom);
  }

  /**
   * Admin: what a volume backend reports of itself (protocol, vendor, driver version, properties).
   *
   * @example
   * ```ts
   * const caps = await bs.getBackendCapabilities('node1@raw');
   * console.log(caps.storageProtocol, caps.vendorName);
   * ```
   */
  async getBackendCapabilities(host: string, options: CallOptions = {}): Promise<BackendCapabilities> {
    const res = await this.client.request('GET', `/capabilities/${encodeURIComponent(host)}`, options);
    return capabilitiesFrom(res.body);
  }

  /**
   * Admin: the scheduler's pools (`host@backend#pool`); `details` adds each pool's capacity and capabilities,
   * `name` (3.28+) keeps one pool.
   *
   * @example
   * ```ts
   * for (const p of await bs.pools({ details: true })) console.log(p.name, p.capabilities?.freeCapacityGb);
   * ```
   */
  async pools(query: { details?: boolean; name?: string } = {}, options: CallOptions = {}): Promise<Pool[]> {
    const q: Record<string, string> = {};
    if (query.details) q.detail = 'true';
    if (query.name !== undefined) q.name = query.name;
    const res = await this.client.request('GET', '/scheduler-stats/get_pools', {
      ...options,
      query: q,
      ...(query.name !== undefined ? { minMicroversion: '3.28' } : {}),
      operation: 'list pools',
    });
    const list = isRecord(res.body) && Array.isArray(res.body.pools) ? res.body.pools : [];
    return list.map(poolFrom);
  }

  /** The API extensions the server loads. @example `const aliases = (await bs.extensions()).map((e) => e.alias)` */
  async extensions(options: CallOptions = {}): Promise<Extension[]> {
    const res = await this.client.request('GET', '/extensions', { ...options, operation: 'list extensions' });
    const list = isRecord(res.body) && Array.isArray(res.body.extensions) ? res.body.extensions : [];
    return list.map(extensionFrom);
  }

  /** One extension by alias (404 when not loaded). @example `await bs.getExtension('os-hosts')` */
  async getExtension(alias: string, options: CallOptions = {}): Promise<Extension> {
    const res = await this.client.request('GET', `/extensions/${encodeURIComponent(alias)}`, { ...options, operation: 'get extension' });
    return extensionFrom(isRecord(res.body) ? res.body.extension : undefined);
  }

  // ---------------------------------------------------------------- waiters

  /**
   * Waits for a status (default `available`) with per-type failure states (snapshot: error,
   * error_deleting; backup: error, error_restoring; volume: error, error_restoring, error_extending),
   * a finite timeout and numeric progress.
   *
   * @example
   * ```ts
   * const r = await bs.waitForStatus(snap, { onProgress: (p) => bar.update(p ?? 0) });
   * if (r.state !== 'success') throw new Error(r.state);
   * ```
   */
  waitForStatus<R extends Resource>(resource: R, options: WaitForStatusOptions = {}): Promise<WaitResult<R>> {
    const failures =
      options.failures ??
      (resource instanceof Snapshot
        ? ['error', 'error_deleting']
        : resource instanceof Backup
          ? ['error', 'error_restoring']
          : resource instanceof Volume
            ? ['error', 'error_restoring', 'error_extending']
            : ['error']);
    if (!resource.client) resource.bind(this.client);
    return waitForStatus(resource, { ...options, failures });
  }

  /** Waits until the resource is gone (404 or `deleted`). @example `await bs.waitForDelete(snap)` */
  waitForDelete<R extends Resource>(resource: R, options: WaitOptions = {}): Promise<WaitResult<R>> {
    if (!resource.client) resource.bind(this.client);
    return waitForDelete(resource, options);
  }
}
