import type { Logger } from 'pino';
import { type BackendConfig, backendHostName, type ServerConfig } from '../../config/config.js';
import type { AuthContext } from '../../domain/auth-context.js';
import { badRequest, notFound } from '../../domain/errors.js';
import { fromStatuses } from '../../domain/lifecycle.js';
import type { BlockStorageStore, SnapshotChanges, Transition, VolumeChanges } from '../../domain/ports/block-storage-store.js';
import type { MetadataStore, Scope } from '../../domain/ports/metadata-store.js';
import type { TaskQueue } from '../../domain/ports/task-queue.js';
import type { VolumeDriver } from '../../domain/ports/volume-driver.js';
import { type Snapshot, type SnapshotAction, snapshotLifecycle } from '../../domain/snapshot.js';
import { type Clock, storedTime } from '../../domain/time.js';
import { type Volume, type VolumeAction, volumeLifecycle } from '../../domain/volume.js';
import { GiB, UUID_RE } from '../../domain/units.js';
import type { QuotaService } from '../quotas.js';
import { canSee } from './access.js';
import type { SnapshotRecord, VolumeRecord } from './types.js';
import { WriteGates } from './write-gates.js';

export { GiB, UUID_RE };

/** The task queue as the services use it: the port, plus registering handlers (until the port has it). */
import type { PeerNodes } from '../peer-nodes.js';

export type Enqueue = (kind: string, resourceType: string, resourceId: string, payload: unknown) => Promise<void>;

export interface CoreDeps {
  store: MetadataStore;
  repos: BlockStorageStore;
  clock: Clock;
  config: ServerConfig;
  logger: Logger;
  drivers: Map<string, VolumeDriver>;
  tasks: TaskQueue;
  quotas: QuotaService;
  /** The services table's view of where work may go (absent in unit tests: everything is available). */
  availability?: ServiceAvailability;
  /** Other nodes' APIs (absent off a cluster): a volume moving between nodes' local backends is read through its node. */
  peers?: PeerNodes;
}

/** What scheduling asks the services table (services/service-registry.ts answers). */
export interface ServiceAvailability {
  /** Names of this node's backends whose volume service is enabled and up. */
  schedulableBackends(scope?: Scope): Promise<Set<string>>;
  /**
   * Every (node, backend) a new volume may go to (enabled, up volume services) with the gigabytes of volumes
   * already there; absent on a single node without a services table (then this node's schedulable backends).
   */
  schedulableHosts?(scope?: Scope): Promise<{ node: string; backend: string; allocatedGb: number; freeGb: number | null }[]>;
  /** Whether an enabled, up backup service runs in the zone. */
  backupServiceAvailable(zone: string, scope?: Scope): Promise<boolean>;
  /** Whether the volume service of a volume's host (`node@backend#pool`) is frozen. */
  isFrozen(volumeHost: string | null, scope?: Scope): Promise<boolean>;
}

/** Called in a new volume's create transaction once it is recorded (CBR's auto_bind registers one). */
export type VolumeCreatedHook = (tx: Scope, volume: Pick<Volume, 'id' | 'project_id' | 'name'>, metadata: Record<string, string>) => Promise<void>;

/** Shared plumbing of the volume and snapshot services: lookups with visibility, records, transactions + dispatch. */
export class Core {
  /** The data API's writes pass these; group snapshots and CBR checkpoints close them (write-gates.ts). */
  readonly writeGates = new WriteGates();

  constructor(readonly deps: CoreDeps) {}

  /** Run for every volume the scheduler placed (not for one recorded in error). */
  readonly volumeCreatedHooks: VolumeCreatedHook[] = [];

  get store(): MetadataStore {
    return this.deps.store;
  }

  get repos(): BlockStorageStore {
    return this.deps.repos;
  }

  now(): string {
    return storedTime(this.deps.clock.now());
  }

  /** A new snapshot of `v` as its create transaction inserts it: `creating`, counted against quotas. */
  newSnapshot(
    v: Pick<Volume, 'id' | 'size' | 'volume_type_id'>,
    f: { id: string; projectId: string; userId: string; name: string | null; description: string | null; providerLocation: string },
  ): Snapshot {
    return {
      id: f.id,
      project_id: f.projectId,
      user_id: f.userId,
      volume_id: v.id,
      name: f.name,
      description: f.description,
      size: v.size,
      status: 'creating',
      progress: '0%',
      volume_type_id: v.volume_type_id,
      use_quota: true,
      provider_location: f.providerLocation,
      hidden: false,
      created_at: this.now(),
      updated_at: null,
    };
  }

  backend(): BackendConfig {
    const b = this.deps.config.backends[0];
    if (!b) throw new Error('no volume backend configured');
    return b;
  }

  /** `node@backend#pool` of backend `b` on `node` (default: this node). */
  hostOf(b: BackendConfig, node: string = this.deps.config.serviceHost): string {
    return backendHostName({ serviceHost: node }, b);
  }

  /**
   * The bytes of a volume on another node's local backend (raw, qcow2) are files in that node's data directory:
   * refused here with the node to ask, rather than read as missing. Only with several nodes (PostgreSQL); a
   * single node owns every volume of its store whatever name its volumes were created under.
   */
  assertBytesHere(v: Pick<Volume, 'id' | 'host' | 'driver'>): void {
    if (this.deps.config.database.kind !== 'postgres' || !v.host) return;
    const node = v.host.split(/[@#]/)[0]!;
    const backend = this.deps.config.backends.find((b) => b.name === v.driver);
    if (node === this.deps.config.serviceHost || backend?.driver === 'rbd') return;
    throw badRequest(`Invalid input received: Volume ${v.id} is on node ${node}'s local backend; its data is reachable through node ${node}'s API.`);
  }

  driver(name: string): VolumeDriver {
    const d = this.deps.drivers.get(name);
    if (!d) throw new Error(`volume driver ${name} is not loaded`);
    return d;
  }

  /** Cinder's `assert_not_frozen`: a frozen backend's volumes and snapshots take no management operations. */
  async assertNotFrozen(scope: Scope, volumeHost: string | null): Promise<void> {
    if (await this.deps.availability?.isFrozen(volumeHost, scope))
      throw badRequest('Invalid input received: Modification operations are not allowed on frozen storage backends.');
  }

  /** Runs `fn` in a transaction, then dispatches the tasks it enqueued once they are committed. */
  async inTx<T>(fn: (tx: Scope, enqueue: Enqueue) => Promise<T>): Promise<T> {
    let taskIds: string[] = [];
    const result = await this.store.transaction(async (tx) => {
      // A retried transaction starts over: only the tasks of the attempt that committed are dispatched.
      taskIds = [];
      return fn(tx, async (kind, resourceType, resourceId, payload) => {
        taskIds.push(await this.deps.tasks.enqueue(tx, { kind, resourceType, resourceId, payload }));
      });
    });
    for (const id of taskIds) this.deps.tasks.dispatch(id);
    return result;
  }

  /** Quota reservation inside the caller's transaction. */
  reserveQuota(tx: Scope, projectId: string, deltas: Record<string, number>): Promise<void> {
    return this.deps.quotas.reserve(tx, projectId, deltas);
  }

  releaseQuota(tx: Scope, projectId: string, deltas: Record<string, number>): Promise<void> {
    return this.deps.quotas.release(tx, projectId, deltas);
  }

  /**
   * The guarded move of a volume `action`: from the statuses its rule allows, to its target (or `to` where the
   * target depends on the request), stamping `updated_at`.
   */
  moveVolume(
    scope: Scope,
    id: string,
    action: VolumeAction,
    changes: VolumeChanges = {},
    to: string | null = volumeLifecycle.actions[action].to ?? null,
  ): Promise<Transition<Volume>> {
    const from = fromStatuses(volumeLifecycle, action);
    return this.repos.volumes.transition(scope, id, from, to, { ...changes, updated_at: this.now() });
  }

  moveSnapshot(
    scope: Scope,
    id: string,
    action: SnapshotAction,
    changes: SnapshotChanges = {},
    to: string | null = snapshotLifecycle.actions[action].to ?? null,
  ): Promise<Transition<Snapshot>> {
    const from = fromStatuses(snapshotLifecycle, action);
    return this.repos.snapshots.transition(scope, id, from, to, { ...changes, updated_at: this.now() });
  }

  /** A volume by id, whoever owns it (tasks, internal callers). */
  async volumeRow(scope: Scope, id: string): Promise<Volume | undefined> {
    if (!UUID_RE.test(id)) return undefined;
    return this.repos.volumes.get(scope, id);
  }

  /** The volume if the caller may see it, else Cinder's VolumeNotFound (404). */
  async visibleVolume(ctx: AuthContext, id: string, scope: Scope = this.store.root): Promise<Volume> {
    const v = await this.volumeRow(scope, id);
    if (!v || !canSee(ctx, v.project_id)) throw notFound(`Volume ${id} could not be found.`);
    return v;
  }

  async snapshotRow(scope: Scope, id: string): Promise<Snapshot | undefined> {
    if (!UUID_RE.test(id)) return undefined;
    return this.repos.snapshots.get(scope, id);
  }

  async visibleSnapshot(ctx: AuthContext, id: string, scope: Scope = this.store.root): Promise<Snapshot> {
    const s = await this.snapshotRow(scope, id);
    if (!s || !canSee(ctx, s.project_id)) throw notFound(`Snapshot ${id} could not be found.`);
    return s;
  }

  async volumeRecords(volumes: Volume[], scope: Scope = this.store.root): Promise<VolumeRecord[]> {
    if (volumes.length === 0) return [];
    const ids = volumes.map((v) => v.id);
    const { metadata, attachments, volumeTypes } = this.repos;
    const [md, amd, atts, typeName, groupOf] = await Promise.all([
      metadata.readMany(scope, 'volume', ids),
      metadata.readMany(scope, 'volume_admin', ids),
      attachments.attachedTo(scope, ids),
      volumeTypes.names(
        scope,
        volumes.map((v) => v.volume_type_id),
      ),
      this.repos.groups.groupsOf(scope, ids),
    ]);
    return volumes.map((volume) => ({
      volume,
      metadata: md.get(volume.id) ?? {},
      adminMetadata: amd.get(volume.id) ?? {},
      attachments: atts.filter((a) => a.volume_id === volume.id),
      volumeTypeName: typeName.get(volume.volume_type_id) ?? volume.volume_type_id,
      groupId: groupOf.get(volume.id) ?? null,
    }));
  }

  async volumeRecord(volume: Volume, scope: Scope = this.store.root): Promise<VolumeRecord> {
    return (await this.volumeRecords([volume], scope))[0]!;
  }

  async snapshotRecord(snapshot: Snapshot, scope: Scope = this.store.root): Promise<SnapshotRecord> {
    return (await this.snapshotRecords([snapshot], scope))[0]!;
  }

  async snapshotRecords(snapshots: Snapshot[], scope: Scope = this.store.root): Promise<SnapshotRecord[]> {
    const ids = snapshots.map((s) => s.id);
    // Snapshots read from their rows carry their group snapshot; only the others need the lookup.
    const unknown = snapshots.filter((s) => s.group_snapshot_id === undefined).map((s) => s.id);
    const [md, groupSnapshotOf] = await Promise.all([
      this.repos.metadata.readMany(scope, 'snapshot', ids),
      unknown.length > 0 ? this.repos.groups.groupSnapshotsOf(scope, unknown) : new Map<string, string>(),
    ]);
    return snapshots.map((snapshot) => ({
      snapshot,
      metadata: md.get(snapshot.id) ?? {},
      groupSnapshotId: snapshot.group_snapshot_id ?? groupSnapshotOf.get(snapshot.id) ?? null,
    }));
  }

  async volumeTypeName(scope: Scope, typeId: string | null): Promise<string | null> {
    if (typeId === null) return null;
    return (await this.repos.volumeTypes.byId(scope, typeId))?.name ?? null;
  }

  /** Quota deltas of a volume of `size` GiB of type `typeName`, including the per-type resources. */
  volumeQuota(size: number, typeName: string | null): Record<string, number> {
    const d: Record<string, number> = { volumes: 1, gigabytes: size };
    if (typeName) {
      d[`volumes_${typeName}`] = 1;
      d[`gigabytes_${typeName}`] = size;
    }
    return d;
  }

  snapshotQuota(size: number, typeName: string | null): Record<string, number> {
    const d: Record<string, number> = { snapshots: 1, gigabytes: size };
    if (typeName) {
      d[`snapshots_${typeName}`] = 1;
      d[`gigabytes_${typeName}`] = size;
    }
    return d;
  }
}
