/**
 * Managing existing backend objects (Cinder's os-volume-manage / os-snapshot-manage) and forgetting managed
 * ones (os-unmanage). A manage request records intent: a row that claims the object through its
 * provider_location, in `managing` (volumes) or `creating` (snapshots); a task then checks the object, takes it
 * under the driver's naming scheme and makes the row usable. Unmanage removes the row and leaves the bytes.
 */
import { randomUUID } from 'node:crypto';
import type { AuthContext } from '../../domain/auth-context.js';
import { badRequest, DomainError } from '../../domain/errors.js';
import { ensureAllowed, fromStatuses, refusal } from '../../domain/lifecycle.js';
import type { Scope } from '../../domain/ports/metadata-store.js';
import type { VolumeDriver } from '../../domain/ports/volume-driver.js';
import { snapshotLifecycle } from '../../domain/snapshot.js';
import { isMigrating, VOLUME_DELETE_REFUSED, type Volume, volumeLifecycle } from '../../domain/volume.js';
import { callerProject, requireAdmin } from './access.js';
import type { Core } from './core.js';
import { hiddenSnapshotNames } from './hidden-snapshots.js';
import { backendNamed, listManageable, type ManageableEntry, type ManageableQuery, referenceName } from './manageable.js';
import type { SnapshotRecord, VolumeRecord } from './types.js';
import type { VolumeService } from './volume-service.js';

export interface ManageSnapshotInput {
  volumeId: string;
  ref: unknown;
  name: string | null;
  description: string | null;
  metadata: Record<string, string>;
}

export interface ManageVolumeInput {
  host: string | null;
  cluster: string | null;
  /** Whether `cluster` may name the backend (3.16+). */
  clusterAllowed: boolean;
  ref: unknown;
  name: string | null;
  description: string | null;
  metadata: Record<string, string>;
  volumeType: string | null;
  availabilityZone: string | null;
  bootable: boolean;
}

/** What the manage tasks need besides the row: the reference as sent, and the name it resolved to (if any). */
export interface ManagePayload {
  ref: unknown;
  name: string | null;
}

/** Cinder's `get_cluster_host`: exactly one of the two once clusters are allowed, else a host. */
export function hostOrCluster(host: string | null, cluster: string | null, clusterAllowed: boolean): string {
  if (clusterAllowed) {
    if (Boolean(host) === Boolean(cluster))
      throw badRequest('Invalid input received: One and only one of cluster and host must be set.');
    return (host || cluster)!;
  }
  if (!host) throw badRequest('Invalid input received: Host field is missing.');
  return host;
}

/** Refuses a reference another row already owns, so two records never share one object. */
async function assertUnclaimed(
  core: Core,
  scope: Scope,
  driverName: string,
  driver: VolumeDriver,
  name: string,
  what: string,
): Promise<void> {
  const v = (await core.repos.volumes.byObjectNames(scope, driverName, [name])).get(name);
  const s = (await core.repos.snapshots.byObjectNames(scope, driverName, [name])).get(name);
  const owner = v ?? s?.id;
  if (owner)
    throw badRequest(`Manage existing ${what} failed: the backend object ${name} is already managed as ${owner}.`);
  // Hidden snapshots (backup bases, CBR checkpoints) have no row but belong to cinderbox all the same.
  if ((await hiddenSnapshotNames(core.repos.hiddenSnapshots, scope, driver, [name])).size > 0)
    throw badRequest(`Manage existing ${what} failed: the backend object ${name} is in use by cinderbox backups.`);
}

export class ManageService {
  constructor(
    private readonly core: Core,
    private readonly volumes: VolumeService,
  ) {}

  async manageSnapshot(ctx: AuthContext, input: ManageSnapshotInput): Promise<SnapshotRecord> {
    const core = this.core;
    const volume = await core.visibleVolume(ctx, input.volumeId);
    requireAdmin(ctx, 'snapshot_extension:snapshot_manage');
    const projectId = callerProject(ctx);
    const name = await referenceName(core.driver(volume.driver), input.ref, 'snapshot');
    const id = randomUUID();
    const snapshot = await core.inTx(async (tx, enqueue) => {
      const v = await core.visibleVolume(ctx, input.volumeId, tx);
      ensureAllowed(volumeLifecycle, 'manageSnapshot', v);
      if (name !== null) await assertUnclaimed(core, tx, v.driver, core.driver(v.driver), name, 'snapshot');
      const typeName = await core.volumeTypeName(tx, v.volume_type_id);
      await core.reserveQuota(tx, projectId, core.snapshotQuota(v.size, typeName));
      const r = core.newSnapshot(v, {
        id,
        projectId,
        userId: ctx.userId,
        name: input.name,
        description: input.description,
        providerLocation: name,
      });
      await core.repos.snapshots.insert(tx, r);
      await core.repos.metadata.write(tx, 'snapshot', id, input.metadata, true);
      const payload: ManagePayload = { ref: input.ref, name };
      await enqueue('snapshot.manage', 'snapshot', id, payload);
      return r;
    });
    return core.snapshotRecord(snapshot);
  }

  async manageVolume(ctx: AuthContext, input: ManageVolumeInput): Promise<VolumeRecord> {
    const core = this.core;
    requireAdmin(ctx, 'volume_extension:volume_manage');
    const projectId = callerProject(ctx);
    const named = hostOrCluster(input.host, input.cluster, input.clusterAllowed);
    const backend = backendNamed(core, named);
    if (!backend)
      throw new DomainError('serviceUnavailable', `${input.host !== null ? 'Host' : 'Cluster'} '${named}' not found`);
    const az = input.availabilityZone ?? core.deps.config.availabilityZone;
    if (az !== core.deps.config.availabilityZone)
      throw badRequest(`Invalid input received: Availability zone '${az}' is invalid.`);
    const name = await referenceName(core.driver(backend.name), input.ref, 'volume');
    const id = randomUUID();
    const volume = await core.inTx(async (tx, enqueue) => {
      let type: { id: string; name: string };
      try {
        type = await this.volumes.resolveType(tx, input.volumeType, null);
      } catch (e) {
        if (e instanceof DomainError && e.kind === 'notFound')
          throw badRequest(`Invalid volume type: Cannot find requested '${input.volumeType}' volume type`);
        throw e;
      }
      if (name !== null) await assertUnclaimed(core, tx, backend.name, core.driver(backend.name), name, 'volume');
      // The size is the object's, known once the task has looked at it; the task reserves the gigabytes then.
      await core.reserveQuota(tx, projectId, core.volumeQuota(0, type.name));
      const r: Volume = {
        id,
        project_id: projectId,
        user_id: ctx.userId,
        name: input.name,
        description: input.description,
        size: 0,
        status: 'managing',
        previous_status: null,
        attach_status: 'detached',
        migration_status: null,
        availability_zone: az,
        volume_type_id: type.id,
        snapshot_id: null,
        source_volid: null,
        backup_id: null,
        bootable: input.bootable,
        multiattach: false,
        host: core.hostOf(backend),
        driver: backend.name,
        provider_location: name,
        use_quota: true,
        created_at: core.now(),
        updated_at: null,
      };
      await core.repos.volumes.insert(tx, r);
      await core.repos.metadata.write(tx, 'volume', id, input.metadata, true);
      const payload: ManagePayload = { ref: input.ref, name };
      await enqueue('volume.manage', 'volume', id, payload);
      return r;
    });
    return core.volumeRecord(volume);
  }

  /** os-unmanage on a snapshot: the preconditions of a delete, then `unmanaging`; the task forgets the row. */
  async unmanageSnapshot(ctx: AuthContext, id: string): Promise<void> {
    const core = this.core;
    await core.visibleSnapshot(ctx, id);
    requireAdmin(ctx, 'snapshot_extension:snapshot_unmanage');
    await core.inTx(async (tx, enqueue) => {
      const s = await core.visibleSnapshot(ctx, id, tx);
      ensureAllowed(snapshotLifecycle, 'unmanage', s);
      const user = await core.repos.volumes.creatingFrom(tx, { snapshotId: id });
      if (user)
        throw badRequest(`Invalid snapshot: Snapshot ${id} is the source of volume ${user}, which is being created.`);
      const moved = await core.repos.snapshots.transition(tx, id, fromStatuses(snapshotLifecycle, 'unmanage'), 'unmanaging', {
        updated_at: core.now(),
      });
      if (!moved.ok) throw refusal(snapshotLifecycle, 'unmanage', s);
      await enqueue('snapshot.unmanage', 'snapshot', id, {});
    });
  }

  /** os-unmanage on a volume: what a (non-cascading) delete requires, then `unmanaging`; the file stays. */
  async unmanageVolume(ctx: AuthContext, id: string): Promise<void> {
    const core = this.core;
    await core.visibleVolume(ctx, id);
    requireAdmin(ctx, 'volume_extension:volume_unmanage');
    await core.inTx(async (tx, enqueue) => {
      const v = await core.visibleVolume(ctx, id, tx);
      if (v.attach_status === 'attached' || isMigrating(v)) throw badRequest(VOLUME_DELETE_REFUSED);
      ensureAllowed(volumeLifecycle, 'unmanage', v);
      if ((await core.repos.snapshots.ofVolume(tx, id)).length > 0) throw badRequest(VOLUME_DELETE_REFUSED);
      if (await core.repos.volumes.creatingFrom(tx, { volumeId: id }))
        throw badRequest(`Invalid volume: Volume ${id} is the source of a volume being created.`);
      const moved = await core.repos.volumes.transition(tx, id, [v.status], 'unmanaging', {
        previous_status: v.status,
        updated_at: core.now(),
      });
      // An attach that won the race rolls the whole transaction back.
      if (!moved.ok || moved.record.attach_status === 'attached') throw badRequest(VOLUME_DELETE_REFUSED);
      await enqueue('volume.unmanage', 'volume', id, {});
    });
  }

  async listManageable(ctx: AuthContext, kind: 'volume' | 'snapshot', q: ManageableQuery): Promise<ManageableEntry[]> {
    requireAdmin(ctx, kind === 'volume' ? 'volume_extension:list_manageable' : 'snapshot_extension:list_manageable');
    return listManageable(this.core, kind, hostOrCluster(q.host, q.cluster, q.clusterAllowed), q);
  }
}
