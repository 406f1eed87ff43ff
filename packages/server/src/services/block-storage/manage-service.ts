/**
 * Managing existing backend objects (Cinder's os-volume-manage / os-snapshot-manage) and forgetting managed
 * ones (os-unmanage). A manage request records intent: a row that claims the object through its
 * provider_location, in `managing` (volumes) or `creating` (snapshots); a task then checks the object, takes it
 * under the driver's naming scheme and makes the row usable. Unmanage removes the row and leaves the bytes.
 */
import { randomUUID } from 'node:crypto';
import type { AuthContext } from '../../domain/auth-context.js';
import { badRequest, DomainError } from '../../domain/errors.js';
import type { VolumeDriver } from '../../domain/ports/volume-driver.js';
import type { Executor } from '../../store/database.js';
import type { SnapshotTable, VolumeTable } from '../../store/schema.js';
import { callerProject, requireAdmin } from './access.js';
import type { Core } from './core.js';
import { hiddenSnapshotNames } from './hidden-snapshots.js';
import { backendNamed, listManageable, type ManageableEntry, type ManageableQuery, referenceName } from './manageable.js';
import { writeMetadata } from './metadata-store.js';
import type { SnapshotRecord, VolumeRecord } from './types.js';
import { DELETABLE, DELETE_REFUSED, type VolumeService } from './volume-service.js';

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

const SNAPSHOT_UNMANAGE_REFUSED =
  'Invalid snapshot: Snapshot status must be available or error and must not be part of a group.';

/** Refuses a reference another row already owns, so two records never share one object. */
async function assertUnclaimed(
  exec: Executor,
  driverName: string,
  driver: VolumeDriver,
  name: string,
  what: string,
): Promise<void> {
  const v = await exec
    .selectFrom('volumes')
    .select('id')
    .where('driver', '=', driverName)
    .where('provider_location', '=', name)
    .executeTakeFirst();
  const s = await exec
    .selectFrom('snapshots')
    .innerJoin('volumes', 'volumes.id', 'snapshots.volume_id')
    .select('snapshots.id as id')
    .where('volumes.driver', '=', driverName)
    .where('snapshots.provider_location', '=', name)
    .executeTakeFirst();
  const owner = v?.id ?? s?.id;
  if (owner)
    throw badRequest(`Manage existing ${what} failed: the backend object ${name} is already managed as ${owner}.`);
  // Hidden snapshots (backup bases, CBR checkpoints) have no row but belong to cinderbox all the same.
  if ((await hiddenSnapshotNames(exec, driver, [name])).size > 0)
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
    const row = await core.inTx(async (tx, enqueue) => {
      const v = await core.visibleVolume(ctx, input.volumeId, tx);
      const allowed = ['available', 'in-use'];
      if (!allowed.includes(v.status)) {
        throw badRequest(
          `Invalid volume: Volume ${v.id} status must be available or in-use, but current status is: ${v.status}.`,
        );
      }
      if (name !== null) await assertUnclaimed(tx, v.driver, core.driver(v.driver), name, 'snapshot');
      const typeName = await core.volumeTypeName(tx, v.volume_type_id);
      await core.deps.quotas.reserve(tx, projectId, core.snapshotQuota(v.size, typeName));
      const r: SnapshotTable = {
        id,
        project_id: projectId,
        user_id: ctx.userId,
        volume_id: v.id,
        name: input.name,
        description: input.description,
        size: v.size,
        status: 'creating',
        progress: '0%',
        volume_type_id: v.volume_type_id,
        use_quota: 1,
        provider_location: name,
        hidden: 0,
        created_at: core.now(),
        updated_at: null,
      };
      await tx.insertInto('snapshots').values(r).execute();
      await writeMetadata(tx, 'snapshot', id, input.metadata, true);
      const payload: ManagePayload = { ref: input.ref, name };
      await enqueue('snapshot.manage', 'snapshot', id, payload);
      return r;
    });
    return core.snapshotRecord(row);
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
    const row = await core.inTx(async (tx, enqueue) => {
      let type: { id: string; name: string };
      try {
        type = await this.volumes.resolveType(tx, input.volumeType, null);
      } catch (e) {
        if (e instanceof DomainError && e.kind === 'notFound')
          throw badRequest(`Invalid volume type: Cannot find requested '${input.volumeType}' volume type`);
        throw e;
      }
      if (name !== null) await assertUnclaimed(tx, backend.name, core.driver(backend.name), name, 'volume');
      // The size is the object's, known once the task has looked at it; the task reserves the gigabytes then.
      await core.deps.quotas.reserve(tx, projectId, core.volumeQuota(0, type.name));
      const r: VolumeTable = {
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
        bootable: input.bootable ? 1 : 0,
        multiattach: 0,
        host: core.hostOf(backend),
        driver: backend.name,
        provider_location: name,
        use_quota: 1,
        created_at: core.now(),
        updated_at: null,
      };
      await tx.insertInto('volumes').values(r).execute();
      await writeMetadata(tx, 'volume', id, input.metadata, true);
      const payload: ManagePayload = { ref: input.ref, name };
      await enqueue('volume.manage', 'volume', id, payload);
      return r;
    });
    return core.volumeRecord(row);
  }

  /** os-unmanage on a snapshot: the preconditions of a delete, then `unmanaging`; the task forgets the row. */
  async unmanageSnapshot(ctx: AuthContext, id: string): Promise<void> {
    const core = this.core;
    await core.visibleSnapshot(ctx, id);
    requireAdmin(ctx, 'snapshot_extension:snapshot_unmanage');
    await core.inTx(async (tx, enqueue) => {
      const s = await core.visibleSnapshot(ctx, id, tx);
      if (!['available', 'error'].includes(s.status)) throw badRequest(SNAPSHOT_UNMANAGE_REFUSED);
      const user = await tx
        .selectFrom('volumes')
        .select('id')
        .where('snapshot_id', '=', id)
        .where('status', '=', 'creating')
        .executeTakeFirst();
      if (user)
        throw badRequest(
          `Invalid snapshot: Snapshot ${id} is the source of volume ${user.id}, which is being created.`,
        );
      const res = await tx
        .updateTable('snapshots')
        .set({ status: 'unmanaging', updated_at: core.now() })
        .where('id', '=', id)
        .where('status', 'in', ['available', 'error'])
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) throw badRequest(SNAPSHOT_UNMANAGE_REFUSED);
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
      const migrating = v.migration_status !== null && !['success', 'error'].includes(v.migration_status);
      if (v.attach_status === 'attached' || migrating || !DELETABLE.includes(v.status)) throw badRequest(DELETE_REFUSED);
      const snap = await tx.selectFrom('snapshots').select('id').where('volume_id', '=', id).executeTakeFirst();
      if (snap) throw badRequest(DELETE_REFUSED);
      const clone = await tx
        .selectFrom('volumes')
        .select('id')
        .where('status', '=', 'creating')
        .where('source_volid', '=', id)
        .executeTakeFirst();
      if (clone) throw badRequest(`Invalid volume: Volume ${id} is the source of a volume being created.`);
      const res = await tx
        .updateTable('volumes')
        .set({ status: 'unmanaging', previous_status: v.status, updated_at: core.now() })
        .where('id', '=', id)
        .where('status', '=', v.status)
        .where('attach_status', '<>', 'attached')
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) throw badRequest(DELETE_REFUSED);
      await enqueue('volume.unmanage', 'volume', id, {});
    });
  }

  async listManageable(ctx: AuthContext, kind: 'volume' | 'snapshot', q: ManageableQuery): Promise<ManageableEntry[]> {
    requireAdmin(ctx, kind === 'volume' ? 'volume_extension:list_manageable' : 'snapshot_extension:list_manageable');
    return listManageable(this.core, kind, hostOrCluster(q.host, q.cluster, q.clusterAllowed), q);
  }
}
