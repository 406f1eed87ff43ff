/**
 * Block Storage v3 proxy.
 * @packageDocumentation
 */

import { isNotFound } from '../../errors.js';
import type { ListOptions, Paginator } from '../../resource/pagination.js';
import type { ResourceInput } from '../../resource/resource.js';
import type { ServiceClient } from '../../service/service-client.js';
import type { CallOptions, RawBody } from '../../transport/types.js';
import { stringEntries } from '../../util/objects.js';
import { BlockStorageProxyBase, type Ref } from '../proxy-base.js';
import { RepositoryApi } from '../repository.js';
import { Attachment, type AttachmentConnector, ATTACHMENTS_MIN_MICROVERSION } from '../resources/attachment.js';
import { Backup, type BackupProgress } from '../resources/backup.js';
import {
  GROUP_SNAPSHOTS_MIN_MICROVERSION,
  GROUP_TYPES_MIN_MICROVERSION,
  Group,
  GROUPS_MIN_MICROVERSION,
  GroupSnapshot,
  GroupType,
} from '../resources/group.js';
import { Message, MESSAGES_MIN_MICROVERSION } from '../resources/message.js';
import type { LogLevelTarget, ServiceLogLevels } from '../resources/service.js';
import { Snapshot } from '../resources/snapshot.js';
import { Volume, type VolumeSummary } from '../resources/volume.js';

/** One integrity problem found by {@link BlockStorageV3.verifyRepository}. */
export interface RepositoryProblem {
  /** `manifest` (unreadable or failing its checksum), `missing` (chunk absent) or `corrupt` (chunk bytes bad). */
  kind: string;
  /** The backup concerned, as `<container>/<backup id>`. */
  locator: string;
  /** Hex id of the chunk concerned (null for manifest problems). */
  chunkId: string | null;
  message: string;
}

/** What a cinderbox repository verification found. */
export interface RepositoryVerifyResult {
  /** True when no problem was found. */
  ok: boolean;
  /** Manifests (backups) read. */
  manifests: number;
  /** Distinct chunks checked. */
  chunks: number;
  /** Stored bytes read. */
  bytes: number;
  problems: RepositoryProblem[];
}

/** What a cinderbox repository garbage collection did (or, with `dryRun`, would do). */
export interface RepositoryGcResult {
  manifests: number;
  /** Chunk objects seen. */
  chunks: number;
  deleted: number;
  deletedBytes: number;
  /** Unreferenced chunks kept because they are younger than the grace period. */
  keptInGrace: number;
  dryRun: boolean;
}

/** A streamed download of volume or snapshot bytes (cinderbox-data extension). */
export interface DataDownload {
  /** The bytes; read it to the end (or cancel it) to release the connection. */
  stream: ReadableStream<Uint8Array>;
  /** 200 for the whole content, 206 for a range. */
  status: number;
  /** Bytes in `stream`. */
  contentLength: number | undefined;
  /** Total size of the volume or snapshot in bytes. */
  totalSize: number | undefined;
}

/** A byte range of a download: `start` (default 0) to `end` inclusive (default: the last byte). */
export interface ByteRange {
  start?: number;
  end?: number;
}

function field(body: unknown, key: string): Record<string, unknown> {
  const v = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[key] : undefined;
  if (typeof v !== 'object' || v === null) throw new Error(`unexpected response: no "${key}" object`);
  return v as Record<string, unknown>;
}

const count = (v: unknown): number => (typeof v === 'number' ? v : 0);

/**
 * Block Storage v3 with microversion negotiation: every call sends `min(resource cap, server max)`
 * (or the configured default) and per-operation minimums are checked before sending.
 *
 * @example
 * ```ts
 * const bs = conn.blockStorage;
 * console.log(await bs.negotiatedMicroversion());
 * const b = await bs.updateBackup(backup, { name: 'weekly' }); // needs 3.9
 * ```
 */
export class BlockStorageV3 extends BlockStorageProxyBase {
  /** Major API version. */
  readonly version = 3 as const;

  constructor(client: ServiceClient) {
    super(client);
  }

  /** The microversion sent for a resource type (default: Volume's cap). @example `await bs.negotiatedMicroversion()` */
  negotiatedMicroversion(
    cap: string | undefined = Volume.maxMicroversion,
    options: CallOptions = {},
  ): Promise<string | undefined> {
    return this.client.negotiatedMicroversion(cap, options.signal);
  }

  /** Whether the server (and the resource cap) reach `version`. @example `await bs.supportsMicroversion('3.8')` */
  supportsMicroversion(
    version: string,
    cap: string | undefined = Volume.maxMicroversion,
    options: CallOptions = {},
  ): Promise<boolean> {
    return this.client.supportsMicroversion(version, cap, options.signal);
  }

  /**
   * Updates a backup's name/description (3.9+) or metadata (3.43+); only changed fields are sent.
   *
   * @example
   * ```ts
   * await bs.updateBackup(b, { description: 'monthly', metadata: { keep: 'true' } });
   * ```
   */
  updateBackup(backup: Ref<Backup>, attrs: ResourceInput<Backup>, options: CallOptions = {}): Promise<Backup> {
    return this.ref(Backup, backup).update(attrs).commit(options);
  }

  /** Reverts a volume to its latest snapshot (3.40+). @example `await bs.revertVolumeToSnapshot(vol, snap)` */
  revertVolumeToSnapshot(volume: Ref<Volume>, snapshot: Ref<Snapshot>, options: CallOptions = {}): Promise<void> {
    return this.ref(Volume, volume).revertToSnapshot(this.idOf(snapshot), options);
  }

  /**
   * Totals over the volumes the caller sees (3.12+): count and size, and with 3.36+ every metadata key with its
   * values. `allProjects` (admin) sums every project's.
   *
   * @example
   * ```ts
   * const { totalCount, totalSize } = await bs.volumeSummary();
   * ```
   */
  async volumeSummary(query: { allProjects?: boolean } = {}, options: CallOptions = {}): Promise<VolumeSummary> {
    const res = await this.client.request('GET', '/volumes/summary', {
      ...options,
      query: query.allProjects ? { all_tenants: true } : undefined,
      minMicroversion: '3.12',
      maxMicroversion: Volume.maxMicroversion,
      operation: 'volume summary',
    });
    const s = field(res.body, 'volume-summary');
    const out: VolumeSummary = { totalSize: count(s.total_size), totalCount: count(s.total_count) };
    if (typeof s.metadata === 'object' && s.metadata !== null) {
      out.metadata = Object.fromEntries(
        Object.entries(s.metadata as Record<string, unknown>).map(([k, v]) => [k, Array.isArray(v) ? v.map(String) : [String(v)]]),
      );
    }
    return out;
  }

  /**
   * Cinderbox extension: how far a backup's (or its restore's) data transfer is. Finished backups report 1.
   *
   * @example
   * ```ts
   * const { fraction, operation } = await bs.backupProgress(b);
   * ```
   */
  async backupProgress(backup: Ref<Backup>, options: CallOptions = {}): Promise<BackupProgress> {
    const res = await this.client.request('GET', `/backups/${encodeURIComponent(this.idOf(backup))}/cinderbox-progress`, {
      ...options,
      operation: 'backup progress',
    });
    const p = field(res.body, 'progress');
    return {
      fraction: count(p.fraction),
      bytesDone: count(p.bytes_done),
      bytesTotal: count(p.bytes_total),
      operation: p.operation === 'backup' || p.operation === 'restore' ? p.operation : null,
    };
  }

  /**
   * Cinderbox extension: writes raw bytes into an `available` volume (`PUT /volumes/{id}/cinderbox-data`), from
   * its start or, with `range`, at `range.start` (`Content-Range`). Stream bodies are sent once, never retried.
   * Returns the bytes the server wrote.
   *
   * @example
   * ```ts
   * const { written } = await bs.uploadVolumeData(vol, new Uint8Array(4096));
   * ```
   */
  async uploadVolumeData(
    volume: Ref<Volume>,
    data: RawBody,
    opts: { range?: { start: number; end: number; total?: number }; contentLength?: number } = {},
    options: CallOptions = {},
  ): Promise<{ written: number }> {
    const headers: Record<string, string> = { ...options.headers, 'content-type': 'application/octet-stream' };
    if (opts.contentLength !== undefined) headers['content-length'] = String(opts.contentLength);
    if (opts.range) headers['content-range'] = `bytes ${opts.range.start}-${opts.range.end}/${opts.range.total ?? '*'}`;
    const res = await this.client.request('PUT', `/volumes/${encodeURIComponent(this.idOf(volume))}/cinderbox-data`, {
      ...options,
      headers,
      rawBody: data,
      operation: 'upload volume data',
    });
    const body = typeof res.body === 'object' && res.body !== null ? (res.body as Record<string, unknown>) : {};
    return { written: count(body.written) };
  }

  /**
   * Cinderbox extension: streams a volume's bytes (or a `range` of them). The volume must not be changing.
   *
   * @example
   * ```ts
   * const { stream } = await bs.downloadVolumeData(vol, { start: 0, end: 511 });
   * const mbr = new Uint8Array(await new Response(stream).arrayBuffer());
   * ```
   */
  downloadVolumeData(volume: Ref<Volume>, range?: ByteRange, options: CallOptions = {}): Promise<DataDownload> {
    return this.download(`/volumes/${encodeURIComponent(this.idOf(volume))}/cinderbox-data`, range, options, 'download volume data');
  }

  /**
   * Cinderbox extension: streams an available snapshot's bytes (or a `range` of them).
   * @example `const { stream, totalSize } = await bs.downloadSnapshotData(snap)`
   */
  downloadSnapshotData(snapshot: Ref<Snapshot>, range?: ByteRange, options: CallOptions = {}): Promise<DataDownload> {
    return this.download(`/snapshots/${encodeURIComponent(this.idOf(snapshot))}/cinderbox-data`, range, options, 'download snapshot data');
  }

  private async download(path: string, range: ByteRange | undefined, options: CallOptions, operation: string): Promise<DataDownload> {
    const headers: Record<string, string> = { ...options.headers, accept: 'application/octet-stream' };
    if (range && (range.start !== undefined || range.end !== undefined)) headers.range = `bytes=${range.start ?? 0}-${range.end ?? ''}`;
    const res = await this.client.request('GET', path, { ...options, headers, responseType: 'stream', operation });
    const len = res.headers.get('content-length');
    const contentRange = res.headers.get('content-range');
    const total = contentRange ? /\/(\d+)$/.exec(contentRange)?.[1] : len;
    return {
      stream: res.stream ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() }),
      status: res.status,
      contentLength: len === null ? undefined : Number(len),
      totalSize: total === undefined || total === null ? undefined : Number(total),
    };
  }

  /**
   * Admin, cinderbox extension: checks every backup manifest and the presence and CRC of every chunk they
   * reference (`full`: decrypts, decompresses and re-hashes every chunk). Integrity problems are returned, not
   * thrown. Long on big repositories: pass a generous `timeoutMs`. `target` names a configured backup target
   * (`serve --backup-target`); without it the server's default target is checked.
   *
   * @example
   * ```ts
   * const r = await bs.verifyRepository({ full: true }, { timeoutMs: 3_600_000 });
   * if (!r.ok) for (const p of r.problems) console.error(p.locator, p.chunkId, p.message);
   * ```
   */
  async verifyRepository(opts: { full?: boolean; target?: string } = {}, options: CallOptions = {}): Promise<RepositoryVerifyResult> {
    const body: Record<string, unknown> = {};
    if (opts.full !== undefined) body.full = opts.full;
    if (opts.target !== undefined) body.target = opts.target;
    const res = await this.client.request('POST', '/cinderbox-repo/verify', {
      ...options,
      body,
      operation: 'verify backup repository',
    });
    const v = field(res.body, 'verify');
    const problems = Array.isArray(v.problems) ? (v.problems as Record<string, unknown>[]) : [];
    return {
      ok: v.ok === true,
      manifests: count(v.manifests),
      chunks: count(v.chunks),
      bytes: count(v.bytes),
      problems: problems.map((p) => ({
        kind: String(p.kind),
        locator: String(p.locator),
        chunkId: typeof p.chunk_id === 'string' ? p.chunk_id : null,
        message: String(p.message),
      })),
    };
  }

  /**
   * Admin, cinderbox extension: garbage-collects chunks no backup references and that are older than
   * `graceSeconds` (server default 3600; chunks of running backups are always kept). `dryRun` only counts.
   * `target` names a configured backup target; without it the server's default target is collected.
   *
   * @example
   * ```ts
   * const r = await bs.gcRepository({ graceSeconds: 0 });
   * console.log(`${r.deleted} chunks, ${r.deletedBytes} bytes reclaimed`);
   * ```
   */
  async gcRepository(
    opts: { graceSeconds?: number; dryRun?: boolean; target?: string } = {},
    options: CallOptions = {},
  ): Promise<RepositoryGcResult> {
    const body: Record<string, unknown> = {};
    if (opts.graceSeconds !== undefined) body.grace_seconds = opts.graceSeconds;
    if (opts.dryRun !== undefined) body.dry_run = opts.dryRun;
    if (opts.target !== undefined) body.target = opts.target;
    const res = await this.client.request('POST', '/cinderbox-repo/gc', {
      ...options,
      body,
      operation: 'garbage-collect backup repository',
    });
    const g = field(res.body, 'gc');
    return {
      manifests: count(g.manifests),
      chunks: count(g.chunks),
      deleted: count(g.deleted),
      deletedBytes: count(g.deleted_bytes),
      keptInGrace: count(g.kept_in_grace),
      dryRun: g.dry_run === true,
    };
  }

  /** cinderbox extension: repository stats, history, verify/gc jobs and the change stream. @example `await bs.repository.stats()` */
  get repository(): RepositoryApi {
    return new RepositoryApi(this.client);
  }

  // ---------------------------------------------------------------- attachments (3.27+)

  /**
   * Lists the project's volume attachments (summary view unless `details`); `allProjects` (admin) lists every
   * project's.
   *
   * @example
   * ```ts
   * const onServer = await bs.attachments({ instanceId: serverId, details: true }).toArray();
   * ```
   */
  attachments(
    query: {
      details?: boolean;
      volumeId?: string;
      instanceId?: string;
      status?: string;
      projectId?: string;
      allProjects?: boolean;
      limit?: number;
      marker?: string;
      sort?: string;
    } = {},
    options: ListOptions = {},
  ): Paginator<Attachment> {
    const { details, ...rest } = query;
    return Attachment.list(this.client, rest, {
      ...options,
      prepare: async () => ({
        path: details ? '/attachments/detail' : '/attachments',
        minMicroversion: ATTACHMENTS_MIN_MICROVERSION,
      }),
    });
  }

  /** GET one attachment (detail view). @example `const a = await bs.getAttachment(id)` */
  getAttachment(attachment: Ref<Attachment>, options: CallOptions = {}): Promise<Attachment> {
    return this.ref(Attachment, attachment).fetch(options);
  }

  /**
   * Reserves a volume for a consumer (`instance`); with a `connector` it connects at once and the answer carries
   * `connectionInfo`. A volume that is not multiattach takes one attachment at a time.
   *
   * @example
   * ```ts
   * const a = await bs.createAttachment({ volumeId: vol.id, instance: serverId, mode: 'ro' });
   * ```
   */
  createAttachment(attrs: ResourceInput<Attachment>, options: CallOptions = {}): Promise<Attachment> {
    return Attachment.new(attrs, this.client).create(options);
  }

  /**
   * Gives an attachment its connector; returns it with the driver's `connectionInfo`.
   *
   * @example
   * ```ts
   * const { connectionInfo } = await bs.updateAttachment(a, { host: 'compute-1', mountpoint: '/dev/vdb' });
   * ```
   */
  updateAttachment(attachment: Ref<Attachment>, connector: AttachmentConnector, options: CallOptions = {}): Promise<Attachment> {
    return this.ref(Attachment, attachment).connect(connector, options);
  }

  /** Marks an attachment attached and its volume in-use (3.44). @example `await bs.completeAttachment(a)` */
  completeAttachment(attachment: Ref<Attachment>, options: CallOptions = {}): Promise<void> {
    return this.ref(Attachment, attachment).complete(options);
  }

  /**
   * Deletes (detaches) an attachment; the volume is `available` again once its last attachment goes.
   *
   * @example
   * ```ts
   * await bs.deleteAttachment(a, { ignoreMissing: true });
   * ```
   */
  deleteAttachment(attachment: Ref<Attachment>, options: CallOptions & { ignoreMissing?: boolean } = {}): Promise<void> {
    return this.deleteRef(Attachment, attachment, options);
  }

  // ---------------------------------------------------------------- group types (3.11+)

  /** Lists group types (public ones; admins see private ones too). @example `const types = await bs.groupTypes().toArray()` */
  groupTypes(query: { isPublic?: boolean; limit?: number; marker?: string } = {}, options: ListOptions = {}): Paginator<GroupType> {
    return GroupType.list(this.client, query, {
      ...options,
      prepare: async () => ({ path: '/group_types', minMicroversion: GROUP_TYPES_MIN_MICROVERSION }),
    });
  }

  /** GET one group type. @example `const gt = await bs.getGroupType(id)` */
  getGroupType(groupType: Ref<GroupType>, options: CallOptions = {}): Promise<GroupType> {
    return this.ref(GroupType, groupType).fetch(options);
  }

  /**
   * Admin: creates a group type, with its specs.
   *
   * @example
   * ```ts
   * const gt = await bs.createGroupType({ name: 'cg', groupSpecs: { consistent_group_snapshot_enabled: '<is> True' } });
   * ```
   */
  createGroupType(attrs: ResourceInput<GroupType>, options: CallOptions = {}): Promise<GroupType> {
    return GroupType.new(attrs, this.client).create(options);
  }

  /** Admin: renames or re-describes a group type, or changes `isPublic`. @example `await bs.updateGroupType(gt, { name: 'cg2' })` */
  updateGroupType(groupType: Ref<GroupType>, attrs: ResourceInput<GroupType>, options: CallOptions = {}): Promise<GroupType> {
    return this.ref(GroupType, groupType).update(attrs).commit(options);
  }

  /** Admin: deletes a group type no group uses. @example `await bs.deleteGroupType(gt, { ignoreMissing: true })` */
  deleteGroupType(groupType: Ref<GroupType>, options: CallOptions & { ignoreMissing?: boolean } = {}): Promise<void> {
    return this.deleteRef(GroupType, groupType, options);
  }

  /** Admin: sets group specs of a type. @example `await bs.setGroupTypeSpecs(gt, { k: 'v' })` */
  setGroupTypeSpecs(groupType: Ref<GroupType>, specs: Record<string, string>, options: CallOptions = {}): Promise<Record<string, string>> {
    return this.ref(GroupType, groupType).setSpecs(specs, options);
  }

  /** Admin: removes one group spec of a type. @example `await bs.deleteGroupTypeSpec(gt, 'k')` */
  deleteGroupTypeSpec(groupType: Ref<GroupType>, key: string, options: CallOptions = {}): Promise<void> {
    return this.ref(GroupType, groupType).deleteSpec(key, options);
  }

  /**
   * The default group type, when the deployment configures one (404 otherwise; none is configured by default).
   * @example `const gt = await bs.getDefaultGroupType()`
   */
  async getDefaultGroupType(options: CallOptions = {}): Promise<GroupType> {
    const res = await this.client.request('GET', '/group_types/default', {
      ...options,
      minMicroversion: GROUP_TYPES_MIN_MICROVERSION,
      maxMicroversion: GroupType.maxMicroversion,
      operation: 'get default GroupType',
    });
    return GroupType.existing(field(res.body, 'group_type') as Record<string, unknown>, this.client);
  }

  /** Admin: a group type's specs. @example `const specs = await bs.groupTypeSpecs(gt)` */
  async groupTypeSpecs(groupType: Ref<GroupType>, options: CallOptions = {}): Promise<Record<string, string>> {
    const res = await this.groupTypeRequest('GET', groupType, '', undefined, options, 'list group specs');
    return stringEntries(field(res.body, 'group_specs'));
  }

  /** Admin: one spec of a group type (404 when absent). @example `await bs.getGroupTypeSpec(gt, 'k')` */
  async getGroupTypeSpec(groupType: Ref<GroupType>, key: string, options: CallOptions = {}): Promise<string> {
    const res = await this.groupTypeRequest('GET', groupType, `/${encodeURIComponent(key)}`, undefined, options, 'get group spec');
    const body = typeof res.body === 'object' && res.body !== null ? (res.body as Record<string, unknown>) : {};
    return String(body[key] ?? '');
  }

  /** Admin: sets one spec of a group type (`PUT …/group_specs/{key}`). @example `await bs.setGroupTypeSpec(gt, 'k', 'v')` */
  async setGroupTypeSpec(groupType: Ref<GroupType>, key: string, value: string, options: CallOptions = {}): Promise<Record<string, string>> {
    const res = await this.groupTypeRequest('PUT', groupType, `/${encodeURIComponent(key)}`, { [key]: value }, options, 'set group spec');
    return stringEntries(res.body);
  }

  private groupTypeRequest(method: 'GET' | 'PUT', groupType: Ref<GroupType>, suffix: string, body: unknown, options: CallOptions, operation: string) {
    return this.client.request(method, `/group_types/${encodeURIComponent(this.idOf(groupType))}/group_specs${suffix}`, {
      ...options,
      ...(body === undefined ? {} : { body }),
      minMicroversion: GROUP_TYPES_MIN_MICROVERSION,
      maxMicroversion: GroupType.maxMicroversion,
      operation,
    });
  }

  // ---------------------------------------------------------------- groups (3.13+)

  /**
   * Lists the project's groups (detail view by default); `listVolume` adds member volume ids (3.25),
   * `allProjects` (admin) lists every project's.
   *
   * @example
   * ```ts
   * const groups = await bs.groups({ listVolume: true }).toArray();
   * ```
   */
  groups(
    query: { details?: boolean; listVolume?: boolean; allProjects?: boolean; status?: string; limit?: number; marker?: string } = {},
    options: ListOptions = {},
  ): Paginator<Group> {
    const { details = true, ...rest } = query;
    return Group.list(this.client, rest, {
      ...options,
      prepare: async () => ({ path: details ? '/groups/detail' : '/groups', minMicroversion: GROUPS_MIN_MICROVERSION }),
    });
  }

  /** GET one group; `listVolume` adds its member volume ids (3.25). @example `const g = await bs.getGroup(id, { listVolume: true })` */
  async getGroup(group: Ref<Group>, query: { listVolume?: boolean } = {}, options: CallOptions = {}): Promise<Group> {
    const g = this.ref(Group, group);
    if (!query.listVolume) return g.fetch(options);
    const res = await this.client.request('GET', `/groups/${encodeURIComponent(this.idOf(group))}?list_volume=True`, {
      ...options,
      minMicroversion: '3.25',
      maxMicroversion: Group.maxMicroversion,
      operation: 'get Group',
    });
    return Group.existing(field(res.body, 'group') as Record<string, unknown>, this.client);
  }

  /**
   * Creates a group of `groupType` (name or id) for volumes of `volumeTypes` (names or ids); it is available at
   * once.
   *
   * @example
   * ```ts
   * const g = await bs.createGroup({ name: 'db', groupType: 'cg', volumeTypes: ['__DEFAULT__'] });
   * ```
   */
  createGroup(attrs: ResourceInput<Group>, options: CallOptions = {}): Promise<Group> {
    return Group.new(attrs, this.client).create(options);
  }

  /**
   * Renames a group or changes its members: `addVolumes` must be available or in-use volumes of the group's
   * volume types and in no other group; `removeVolumes` must be members.
   *
   * @example
   * ```ts
   * await bs.updateGroup(g, { addVolumes: [data.id, log.id] });
   * ```
   */
  async updateGroup(
    group: Ref<Group>,
    changes: { name?: string | null; description?: string | null; addVolumes?: string[]; removeVolumes?: string[] },
    options: CallOptions = {},
  ): Promise<void> {
    const body: Record<string, unknown> = {};
    if (changes.name !== undefined) body.name = changes.name;
    if (changes.description !== undefined) body.description = changes.description;
    if (changes.addVolumes) body.add_volumes = changes.addVolumes.join(',');
    if (changes.removeVolumes) body.remove_volumes = changes.removeVolumes.join(',');
    await this.client.request('PUT', `/groups/${encodeURIComponent(this.idOf(group))}`, {
      ...options,
      body: { group: body },
      minMicroversion: GROUPS_MIN_MICROVERSION,
      maxMicroversion: Group.maxMicroversion,
      operation: 'update Group',
    });
  }

  /**
   * Deletes a group; `deleteVolumes` deletes its member volumes with it (else a group with members is refused).
   *
   * @example
   * ```ts
   * await bs.deleteGroup(g, { deleteVolumes: true });
   * ```
   */
  async deleteGroup(group: Ref<Group>, opts: { deleteVolumes?: boolean; ignoreMissing?: boolean } = {}, options: CallOptions = {}): Promise<void> {
    try {
      await this.ref(Group, group).deleteGroup({ deleteVolumes: opts.deleteVolumes === true }, options);
    } catch (e) {
      if (!(opts.ignoreMissing && isNotFound(e))) throw e;
    }
  }

  /** Admin: sets a group's status (3.20+). @example `await bs.resetGroupStatus(g, 'available')` */
  resetGroupStatus(group: Ref<Group>, status: string, options: CallOptions = {}): Promise<void> {
    return this.ref(Group, group).resetStatus(status, options);
  }

  /**
   * Creates a group from a group snapshot (a volume per member snapshot) or from a source group (a clone per
   * member), 3.14+.
   *
   * @example
   * ```ts
   * const copy = await bs.createGroupFromSource({ name: 'copy', groupSnapshotId: gs.id });
   * ```
   */
  async createGroupFromSource(
    src: { name?: string; description?: string; groupSnapshotId?: string; sourceGroupId?: string },
    options: CallOptions = {},
  ): Promise<Group> {
    const body: Record<string, unknown> = {};
    if (src.name !== undefined) body.name = src.name;
    if (src.description !== undefined) body.description = src.description;
    if (src.groupSnapshotId !== undefined) body.group_snapshot_id = src.groupSnapshotId;
    if (src.sourceGroupId !== undefined) body.source_group_id = src.sourceGroupId;
    const res = await this.client.request('POST', '/groups/action', {
      ...options,
      body: { 'create-from-src': body },
      minMicroversion: GROUP_SNAPSHOTS_MIN_MICROVERSION,
      maxMicroversion: Group.maxMicroversion,
      operation: 'create Group from source',
    });
    return Group.existing(field(res.body, 'group') as Record<string, unknown>, this.client);
  }

  // ---------------------------------------------------------------- group snapshots (3.14+)

  /** Lists the project's group snapshots (detail view by default). @example `await bs.groupSnapshots({ groupId: g.id }).toArray()` */
  groupSnapshots(
    query: { details?: boolean; groupId?: string; status?: string; allProjects?: boolean; limit?: number; marker?: string } = {},
    options: ListOptions = {},
  ): Paginator<GroupSnapshot> {
    const { details = true, ...rest } = query;
    return GroupSnapshot.list(this.client, rest, {
      ...options,
      prepare: async () => ({
        path: details ? '/group_snapshots/detail' : '/group_snapshots',
        minMicroversion: GROUP_SNAPSHOTS_MIN_MICROVERSION,
      }),
    });
  }

  /** GET one group snapshot. @example `const gs = await bs.getGroupSnapshot(id)` */
  getGroupSnapshot(groupSnapshot: Ref<GroupSnapshot>, options: CallOptions = {}): Promise<GroupSnapshot> {
    return this.ref(GroupSnapshot, groupSnapshot).fetch(options);
  }

  /**
   * Snapshots every member of a group at one point in time (`creating`, then `available`); each member gets a
   * snapshot whose `group_snapshot_id` names it.
   *
   * @example
   * ```ts
   * const gs = await bs.createGroupSnapshot({ groupId: g.id, name: 'nightly' });
   * ```
   */
  createGroupSnapshot(attrs: ResourceInput<GroupSnapshot>, options: CallOptions = {}): Promise<GroupSnapshot> {
    return GroupSnapshot.new(attrs, this.client).create(options);
  }

  /** Deletes a group snapshot with its member snapshots. @example `await bs.deleteGroupSnapshot(gs, { ignoreMissing: true })` */
  deleteGroupSnapshot(groupSnapshot: Ref<GroupSnapshot>, options: CallOptions & { ignoreMissing?: boolean } = {}): Promise<void> {
    return this.deleteRef(GroupSnapshot, groupSnapshot, options);
  }

  /** Admin: sets a group snapshot's status (3.19+). @example `await bs.resetGroupSnapshotStatus(gs, 'error')` */
  resetGroupSnapshotStatus(groupSnapshot: Ref<GroupSnapshot>, status: string, options: CallOptions = {}): Promise<void> {
    return this.ref(GroupSnapshot, groupSnapshot).resetStatus(status, options);
  }

  // ---------------------------------------------------------------- user messages (3.3+)

  /**
   * Lists the project's user messages, newest first; filters, sort and paging need 3.5. `allProjects` (admin)
   * lists every project's.
   *
   * @example
   * ```ts
   * const failures = await bs.messages({ resourceUuid: volume.id }).toArray();
   * ```
   */
  messages(
    query: {
      resourceUuid?: string;
      resourceType?: string;
      eventId?: string;
      requestId?: string;
      messageLevel?: string;
      allProjects?: boolean;
      limit?: number;
      marker?: string;
      sort?: string;
    } = {},
    options: ListOptions = {},
  ): Paginator<Message> {
    return Message.list(this.client, query, {
      ...options,
      prepare: async () => ({ path: '/messages', minMicroversion: MESSAGES_MIN_MICROVERSION }),
    });
  }

  /** GET one user message. @example `const m = await bs.getMessage(id)` */
  getMessage(message: Ref<Message>, options: CallOptions = {}): Promise<Message> {
    return this.ref(Message, message).fetch(options);
  }

  /** Deletes a user message (member or admin). @example `await bs.deleteMessage(m, { ignoreMissing: true })` */
  deleteMessage(message: Ref<Message>, options: CallOptions & { ignoreMissing?: boolean } = {}): Promise<void> {
    return this.deleteRef(Message, message, options);
  }

  protected async managePath(options: CallOptions, kind: 'snapshot' | 'volume' = 'snapshot'): Promise<string> {
    const cap = kind === 'snapshot' ? Snapshot.maxMicroversion : Volume.maxMicroversion;
    return (await this.client.supportsMicroversion('3.8', cap, options.signal))
      ? `/manageable_${kind}s`
      : `/os-${kind}-manage`;
  }

  protected async manageableListPath(
    details: boolean,
    options: CallOptions,
    kind: 'snapshot' | 'volume' = 'snapshot',
  ): Promise<{ path: string }> {
    const base = await this.managePath(options, kind);
    return { path: details ? `${base}/detail` : base };
  }

  // ---------------------------------------------------------------- service log levels (3.32)

  /**
   * Admin (3.32): sets the log level of the services addressed (all by default) for a logger prefix.
   *
   * @example
   * ```ts
   * await bs.setServiceLogLevel('DEBUG', { binary: 'cinder-volume' });
   * ```
   */
  async setServiceLogLevel(level: string, target: LogLevelTarget = {}, options: CallOptions = {}): Promise<void> {
    await this.client.request('PUT', '/os-services/set-log', {
      ...options,
      minMicroversion: '3.32',
      body: { ...logTarget(target), level },
    });
  }

  /** Admin (3.32): the log levels of the services addressed, by prefix. @example `await bs.getServiceLogLevels({ binary: 'cinder-api' })` */
  async getServiceLogLevels(target: LogLevelTarget = {}, options: CallOptions = {}): Promise<ServiceLogLevels[]> {
    const res = await this.client.request('PUT', '/os-services/get-log', { ...options, minMicroversion: '3.32', body: logTarget(target) });
    const list = typeof res.body === 'object' && res.body !== null ? (res.body as { log_levels?: unknown }).log_levels : undefined;
    return (Array.isArray(list) ? list : []).map((e) => {
      const r = (typeof e === 'object' && e !== null ? e : {}) as Record<string, unknown>;
      const levels = typeof r.levels === 'object' && r.levels !== null ? (r.levels as Record<string, string>) : {};
      return { host: String(r.host ?? ''), binary: String(r.binary ?? ''), levels: { ...levels } };
    });
  }
}

function logTarget(t: LogLevelTarget): Record<string, string> {
  const body: Record<string, string> = {};
  if (t.binary !== undefined) body.binary = t.binary;
  if (t.server !== undefined) body.server = t.server;
  if (t.prefix !== undefined) body.prefix = t.prefix;
  return body;
}
