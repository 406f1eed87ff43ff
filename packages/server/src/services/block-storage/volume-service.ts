import { randomUUID } from 'node:crypto';
import type { BackendConfig } from '../../config/config.js';
import type { AuthContext } from '../../domain/auth-context.js';
import { badRequest, notFound } from '../../domain/errors.js';
import { allows, ensureAllowed } from '../../domain/lifecycle.js';
import type { Scope } from '../../domain/ports/metadata-store.js';
import { snapshotLifecycle } from '../../domain/snapshot.js';
import { isMigrating, VOLUME_DELETE_REFUSED, type Volume, volumeLifecycle } from '../../domain/volume.js';
import { joinGroup } from './group-service.js';
import { callerProject, requireAdmin } from './access.js';
import { type Core, type Enqueue, GiB } from './core.js';
import { resolveFilters } from './filters.js';
import { listQuery } from './listing.js';
import { recordMessage } from './message-service.js';
import type { ListRequest, ListResult, Microversion, VolumeRecord } from './types.js';
import { VOLUME_SORT, volumeFilterPolicy } from './volume-filters.js';
import { getOwn, setOwn } from '../../domain/own.js';
import { isMultiattachType, type VolumeType } from '../../domain/volume-type.js';
import { backendForType, noValidBackend } from '../volume-types.js';

export interface VolumeCreateInput {
  size: number | null;
  name: string | null;
  description: string | null;
  metadata: Record<string, string>;
  snapshotId: string | null;
  sourceVolid: string | null;
  availabilityZone: string | null;
  volumeType: string | null;
  multiattach: boolean;
  /** The generic group the new volume joins (3.13 `group_id`); checked in the creating transaction. */
  groupId?: string | null;
  /**
   * Fills the new volume from a backup (restore, create from backup): called in the creating transaction
   * instead of enqueuing the plain create, so the backup is claimed atomically with the volume.
   */
  fromBackup?: (tx: Scope, volume: Volume, enqueue: Enqueue) => Promise<void>;
}

export interface VolumeUpdateInput {
  name?: string | null;
  description?: string | null;
  metadata?: Record<string, string>;
}

export type VolumeCreatePayload =
  | { source: 'none' }
  | { source: 'snapshot'; snapshotId: string }
  | { source: 'volume'; volumeId: string };


/** Volume lifecycle: create, read, update, delete, metadata. Actions live in VolumeActions. */
export class VolumeService {
  /** Built once: the policy depends only on the configuration. */
  private readonly filterPolicy;

  constructor(private readonly core: Core) {
    this.filterPolicy = volumeFilterPolicy(core.deps.config);
  }

  /**
   * A volume type by name or id (404 when unknown or private to the caller's project), else the inherited one,
   * else the project's default, else `__DEFAULT__`. `caller` defaults to an admin (manage).
   */
  async resolveType(
    scope: Scope,
    ref: string | null,
    inherit: string | null,
    caller: { isAdmin: boolean; projectId: string | null } = { isAdmin: true, projectId: null },
  ): Promise<VolumeType> {
    return this.core.deps.quotas.volumeTypes.resolveForVolume(scope, caller, ref, inherit);
  }

  async create(ctx: AuthContext, input: VolumeCreateInput): Promise<VolumeRecord> {
    const core = this.core;
    const projectId = callerProject(ctx);
    if (input.multiattach) {
      throw badRequest(
        'Invalid input received: multiattach must be set through a volume type with multiattach enabled.',
      );
    }
    let size = input.size;
    let inheritType: string | null = null;
    // Clones and volumes from snapshots are made by the source's driver, so they stay on its backend.
    let sourceBackend: string | null = null;
    // The source's `node@backend#pool`: a clone of a node-local volume is made by that node's driver.
    let sourceHost: string | null = null;
    let payload: VolumeCreatePayload = { source: 'none' };
    if (input.snapshotId !== null) {
      const snap = await core.visibleSnapshot(ctx, input.snapshotId);
      ensureAllowed(snapshotLifecycle, 'createVolume', snap);
      if (size === null) size = snap.size;
      else if (size < snap.size) {
        throw badRequest(
          `Invalid input received: Volume size '${size}'GB cannot be smaller than the snapshot size ${snap.size}GB. They must be >= original snapshot size.`,
        );
      }
      inheritType = snap.volume_type_id;
      const srcRow = await core.volumeRow(core.store.root, snap.volume_id);
      sourceBackend = srcRow?.driver ?? null;
      sourceHost = srcRow?.host ?? null;
      payload = { source: 'snapshot', snapshotId: snap.id };
    } else if (input.sourceVolid !== null) {
      const src = await core.visibleVolume(ctx, input.sourceVolid);
      ensureAllowed(volumeLifecycle, 'clone', src);
      if (size === null) size = src.size;
      else if (size < src.size) {
        throw badRequest(
          `Invalid input received: Volume size '${size}'GB cannot be smaller than original volume size ${src.size}GB. They must be >= original volume size.`,
        );
      }
      inheritType = src.volume_type_id;
      sourceBackend = src.driver;
      sourceHost = (await core.volumeRow(core.store.root, src.id))?.host ?? null;
      payload = { source: 'volume', volumeId: src.id };
    }
    if (size === null || !Number.isInteger(size) || size < 1) {
      throw badRequest(`Invalid input received: Volume size '${String(size)}' must be an integer and greater than 0`);
    }
    const az = input.availabilityZone ?? core.deps.config.availabilityZone;
    if (az !== core.deps.config.availabilityZone)
      throw badRequest(`Invalid input received: Availability zone '${az}' is invalid.`);
    const backends = core.deps.config.backends;
    const fallback = backends.find((b) => b.name === sourceBackend) ?? core.backend();
    const id = randomUUID();
    const now = core.now();
    const volSize = size;
    const volume = await core.inTx(async (tx, enqueue) => {
      const type = await this.resolveType(tx, input.volumeType, inheritType, ctx);
      // Only backends whose volume service is enabled and up take new volumes (os-services disable steers away);
      // with several nodes, any node's (the backend chosen first, then the node).
      const hosts = await core.deps.availability?.schedulableHosts?.(tx);
      const schedulable = hosts ? new Set(hosts.map((h) => h.backend)) : await core.deps.availability?.schedulableBackends(tx);
      const open = schedulable ? backends.filter((b) => schedulable.has(b.name)) : backends;
      const openFallback = open.includes(fallback) ? fallback : open[0];
      const chosen =
        sourceBackend !== null
          ? open.includes(fallback)
            ? fallback
            : null
          : openFallback
            ? backendForType(open, type, openFallback)
            : null;
      // Restoring into a new volume needs one now; otherwise, as Cinder's scheduler does, the volume is
      // recorded in `error` (on the default backend, so its delete takes the usual path) and nothing is created.
      if (!chosen && input.fromBackup)
        throw badRequest(open.length === 0 ? 'No valid backend was found. No volume service is enabled and up.' : noValidBackend(type));
      let node = core.deps.config.serviceHost;
      let placed = chosen;
      if (chosen && hosts) {
        const picked = pickNode(hosts, chosen, sourceHost, core.deps.config.serviceHost, isSharedBackend(chosen), volSize);
        if (picked === null) placed = null;
        else node = picked;
      }
      if (!placed && chosen && input.fromBackup) throw badRequest(noValidBackend(type));
      const backend = placed ?? fallback;
      await core.reserveQuota(tx, projectId, { ...core.volumeQuota(volSize, type.name), volume_size: volSize });
      const r: Volume = {
        id,
        project_id: projectId,
        user_id: ctx.userId,
        name: input.name,
        description: input.description,
        size: volSize,
        status: placed ? 'creating' : 'error',
        previous_status: null,
        attach_status: 'detached',
        migration_status: null,
        availability_zone: az,
        volume_type_id: type.id,
        snapshot_id: input.snapshotId,
        source_volid: input.sourceVolid,
        backup_id: null,
        bootable: false,
        multiattach: isMultiattachType(type),
        host: core.hostOf(backend, placed ? node : core.deps.config.serviceHost),
        driver: backend.name,
        provider_location: `volume-${id}`,
        use_quota: true,
        created_at: now,
        updated_at: null,
      };
      await core.repos.volumes.insert(tx, r);
      if (input.groupId) await joinGroup(core, ctx, tx, r, input.groupId);
      await core.repos.metadata.write(tx, 'volume', id, input.metadata, true);
      if (placed) for (const hook of core.volumeCreatedHooks) await hook(tx, r, input.metadata);
      if (input.fromBackup) await input.fromBackup(tx, r, enqueue);
      else if (placed) await enqueue('volume.create', 'volume', id, payload);
      // The scheduler's failure is asynchronous in Cinder: users learn why from a message, as they do there.
      else
        await recordMessage(core, tx, {
          projectId,
          resourceType: 'VOLUME',
          resourceUuid: id,
          action: 'SCHEDULE_ALLOCATE_VOLUME',
          detail: 'NO_BACKEND_AVAILABLE',
        });
      return r;
    });
    return core.volumeRecord(volume);
  }

  async get(ctx: AuthContext, id: string): Promise<VolumeRecord> {
    return this.core.volumeRecord(await this.core.visibleVolume(ctx, id));
  }

  async list(ctx: AuthContext, mv: Microversion, req: ListRequest): Promise<ListResult<VolumeRecord>> {
    const where = resolveFilters(ctx, mv, req.filters, this.filterPolicy);
    const sort = req.sort.map((s) => (s.key === 'name' ? { ...s, key: 'display_name' } : s));
    const q = listQuery(VOLUME_SORT, where, { ...req, sort });
    const page = await this.core.repos.volumes.list(this.core.store.root, q);
    if (!page.ok) throw notFound(`Marker ${req.marker} could not be found.`);
    return { items: await this.core.volumeRecords(page.items), count: page.count, limit: q.limit };
  }

  /** `GET /volumes/summary` (3.12): totals over the same filters as a list; metadata values merged per key (3.36). */
  async summary(
    ctx: AuthContext,
    mv: Microversion,
    filters: Record<string, string>,
  ): Promise<{ totalCount: number; totalSize: number; metadata: Record<string, string[]> }> {
    const where = resolveFilters(ctx, mv, filters, this.filterPolicy);
    let totalCount = 0;
    let totalSize = 0;
    const metadata: Record<string, string[]> = {};
    let marker: string | null = null;
    // Page through so memory stays bounded however many volumes match.
    for (;;) {
      const q = listQuery(VOLUME_SORT, where, { limit: 1000, marker, offset: null, sort: [], withCount: false, filters: {} });
      const page = await this.core.repos.volumes.list(this.core.store.root, q);
      if (!page.ok) throw notFound(`Marker ${marker} could not be found.`);
      for (const v of page.items) {
        totalCount++;
        totalSize += v.size;
      }
      const recs = await this.core.volumeRecords(page.items);
      for (const rec of recs) {
        for (const [k, v] of Object.entries(rec.metadata)) {
          const vals = getOwn(metadata, k) ?? [];
          if (!vals.includes(v)) vals.push(v);
          setOwn(metadata, k, vals);
        }
      }
      if (page.items.length < 1000) break;
      marker = page.items[page.items.length - 1]!.id;
    }
    return { totalCount, totalSize, metadata };
  }

  async update(ctx: AuthContext, id: string, input: VolumeUpdateInput): Promise<VolumeRecord> {
    const core = this.core;
    const volume = await core.inTx(async (tx) => {
      const v = await core.visibleVolume(ctx, id, tx);
      ensureAllowed(volumeLifecycle, 'update', v);
      const changes: Partial<Volume> = { updated_at: core.now() };
      if (input.name !== undefined) changes.name = input.name;
      if (input.description !== undefined) changes.description = input.description;
      const updated = await core.repos.volumes.update(tx, id, changes);
      if (input.metadata !== undefined) await core.repos.metadata.write(tx, 'volume', id, input.metadata, true);
      if (!updated) throw notFound(`Volume ${id} could not be found.`);
      return updated;
    });
    return core.volumeRecord(volume);
  }

  /** DELETE /volumes/{id} and os-force_delete: guarded move to `deleting`, the bytes go in a task. */
  async delete(ctx: AuthContext, id: string, opts: { cascade: boolean; force: boolean }): Promise<void> {
    const core = this.core;
    const { volumes, snapshots } = core.repos;
    if (opts.force) requireAdmin(ctx, 'volume:force_delete');
    await core.inTx(async (tx, enqueue) => {
      const v = await core.visibleVolume(ctx, id, tx);
      await core.assertNotFrozen(tx, v.host);
      if (v.attach_status === 'attached' || isMigrating(v)) throw badRequest(VOLUME_DELETE_REFUSED);
      // A group's member goes with the group's delete (delete-volumes) or after leaving it, as in Cinder.
      if ((await core.repos.groups.groupsOf(tx, [id])).size > 0) throw badRequest(VOLUME_DELETE_REFUSED);
      ensureAllowed(volumeLifecycle, opts.force ? 'forceDelete' : 'delete', v);
      // The guarded move comes before the checks below and holds the volume's row lock until commit: a snapshot
      // create touches that row under its own status guard, so on PostgreSQL (READ COMMITTED) either the create
      // committed first and the snapshot read below sees it, or it waits and then finds 'deleting'. A refusal
      // below throws, which rolls the move back.
      const moved = await volumes.transition(tx, id, [v.status], 'deleting', {
        previous_status: v.status,
        updated_at: core.now(),
      });
      // An attach that won the race rolls the whole transaction back.
      if (!moved.ok || moved.record.attach_status === 'attached') throw badRequest(VOLUME_DELETE_REFUSED);
      const snaps = await snapshots.ofVolume(tx, id);
      if (snaps.length > 0) {
        if (!opts.cascade) throw badRequest(VOLUME_DELETE_REFUSED);
        if (snaps.some((s) => s.project_id !== v.project_id)) throw badRequest(VOLUME_DELETE_REFUSED);
        // Snapshots already being deleted go along with the volume.
        if (!opts.force && snaps.some((s) => s.status !== 'deleting' && !allows(snapshotLifecycle, 'delete', s.status))) {
          throw badRequest('Invalid volume: Snapshot of volume not in a state that allows deletion.');
        }
      }
      if (await volumes.creatingFrom(tx, { volumeId: id }))
        throw badRequest(`Invalid volume: Volume ${id} is the source of a volume being created.`);
      if (snaps.length > 0) await snapshots.setStatusOfVolume(tx, id, 'deleting', { updated_at: core.now() });
      await enqueue('volume.delete', 'volume', id, {});
    });
  }

  // ---- metadata ----

  private async metadataTarget(ctx: AuthContext, id: string, write: boolean, scope: Scope): Promise<Volume> {
    const v = await this.core.visibleVolume(ctx, id, scope);
    if (write) ensureAllowed(volumeLifecycle, 'updateMetadata', v);
    return v;
  }

  async getMetadata(ctx: AuthContext, id: string): Promise<Record<string, string>> {
    const root = this.core.store.root;
    await this.metadataTarget(ctx, id, false, root);
    return this.core.repos.metadata.read(root, 'volume', id);
  }

  async setMetadata(
    ctx: AuthContext,
    id: string,
    items: Record<string, string>,
    replace: boolean,
  ): Promise<Record<string, string>> {
    const { metadata, volumes } = this.core.repos;
    return this.core.inTx(async (tx) => {
      await this.metadataTarget(ctx, id, true, tx);
      await metadata.write(tx, 'volume', id, items, replace);
      await volumes.update(tx, id, { updated_at: this.core.now() });
      return metadata.read(tx, 'volume', id);
    });
  }

  async getMetadataKey(ctx: AuthContext, id: string, key: string): Promise<string> {
    const md = await this.getMetadata(ctx, id);
    const v = getOwn(md, key);
    if (v === undefined) throw notFound(`Volume ${id} has no metadata with key ${key}.`);
    return v;
  }

  async deleteMetadataKey(ctx: AuthContext, id: string, key: string): Promise<void> {
    await this.core.inTx(async (tx) => {
      await this.metadataTarget(ctx, id, true, tx);
      if (!(await this.core.repos.metadata.deleteKey(tx, 'volume', id, key)))
        throw notFound(`Volume ${id} has no metadata with key ${key}.`);
    });
  }

  /** Bytes of a volume, for the download stream. */
  sizeBytes(v: Volume): number {
    return v.size * GiB;
  }
}

/** Backends whose data every node reaches (the others are files in one node's data directory). */
function isSharedBackend(b: BackendConfig): boolean {
  return b.driver === 'rbd';
}

/**
 * The node a new volume on `backend` goes to, or null when none may take it (no enabled, up node serves the backend, or
 * a node-local source's node does not). Nodes with room come first (see the capacity rule below). A clone (or a volume from a
 * snapshot) of a node-local volume is made by its source's node, so it goes there or nowhere; on a shared backend
 * the source's node is preferred but any will do. Otherwise the node with the fewest gigabytes already placed on
 * that backend wins (Cinder's allocated-capacity weigher), this node on a tie (no hop for its first task).
 */
/** Cinder's `max_over_subscription_ratio` default: thin pools may promise 20 times their free space. */
const MAX_OVER_SUBSCRIPTION_RATIO = 20;

function pickNode(
  hosts: readonly { node: string; backend: string; allocatedGb: number; freeGb: number | null }[],
  backend: BackendConfig,
  sourceHost: string | null,
  self: string,
  shared: boolean,
  sizeGb: number,
): string | null {
  // Cinder's capacity filter for thin pools (raw sparse files and qcow2 allocate nothing at create): a pool passes
  // when its last reported free space times the over-subscription ratio holds the volume (a shared RBD pool reports
  // the same for every node, and an unreported one is not held against its node). Unlike Cinder, a create is not
  // refused when no pool passes: a thin volume costs nothing until written, and a write that finds the disk full
  // fails cleanly (tests/full-disk), so the filter prefers the nodes with room and otherwise keeps the others.
  const onBackend = hosts.filter((h) => h.backend === backend.name);
  const roomy = onBackend.filter((h) => shared || h.freeGb === null || h.freeGb * MAX_OVER_SUBSCRIPTION_RATIO >= sizeGb);
  const candidates = roomy.length > 0 ? roomy : onBackend;
  if (sourceHost !== null) {
    const sourceNode = sourceHost.split('@')[0]!;
    if (candidates.some((h) => h.node === sourceNode)) return sourceNode;
    if (!shared) return null;
  }
  const best = [...candidates].sort((a, b) => a.allocatedGb - b.allocatedGb || Number(b.node === self) - Number(a.node === self) || (a.node < b.node ? -1 : 1))[0];
  return best?.node ?? null;
}
