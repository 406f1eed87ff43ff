/**
 * Retype (`os-retype`) and migration (`os-migrate_volume`) of a volume between backends, on its node or across
 * the nodes of a cluster where some node reaches both ends.
 *
 * A retype whose new type the volume's backend still satisfies (and whose encryption spec is the same) only
 * changes the record, in the request's transaction. Otherwise the data must move: the volume goes to `retyping`
 * (a migration locks an available volume in `maintenance`) and a durable task copies its allocated ranges into a
 * new object on the target backend, then switches the record (backend, host, type) in one guarded transaction and
 * removes the source object. Until the switch commits the source is the volume; a failure or a crash before it
 * removes the copy and gives the volume back to the status it had, with a user message, so no volume is ever
 * half-moved. Cinder's refusals that come from its scheduler and volume manager (no backend for the type, policy
 * `never`, snapshots present) are asynchronous there and are here too: the request is accepted, the task gives
 * the volume back unchanged and records why.
 *
 * Across nodes (issue #17) the copy runs on the destination's node when the destination is node-local (task
 * routing reads `targetNode`), else on the volume's node or any node for a shared source. A node-local volume
 * going to another node's local backend is read by the destination node through the source node's data API (its
 * URL and a short-lived admin token come from the shared database, services/peer-nodes.ts); after the switch a
 * second task, bound to the source node, removes the source's file there. Without peers (a single node) such a
 * move is refused before 202 as before.
 */
import type { BackendConfig } from '../../config/config.js';
import type { AuthContext } from '../../domain/auth-context.js';
import { badRequest, notFound } from '../../domain/errors.js';
import { allows, refusal } from '../../domain/lifecycle.js';
import { type FailureEvent, type MessageActionName, type MessageDetailName, volumeCreateFailure } from '../../domain/message.js';
import type { Scope } from '../../domain/ports/metadata-store.js';
import type { TaskHandler } from '../../domain/ports/task-queue.js';
import type { VolumeDriver } from '../../domain/ports/volume-driver.js';
import { isMigrating, type Volume, volumeLifecycle } from '../../domain/volume.js';
import { isMultiattachType, type VolumeType, type VolumeTypeEncryption } from '../../domain/volume-type.js';
import { backendForType } from '../volume-types.js';
import { requireAdmin } from './access.js';
import type { Core } from './core.js';
import { backendNamed } from './manageable.js';
import { moveWithMessage } from './message-service.js';
import { isSharedBackend, nodeOfVolumeHost } from '../service-hosts.js';
import type { DropVolumeBases } from './task-handlers.js';

export const MIGRATION_POLICIES = ['never', 'on-demand'] as const;
export type MigrationPolicy = (typeof MIGRATION_POLICIES)[number];

export const MOVE_TASK = 'volume.move';
/** After a move between two nodes' local backends: the source node removes its file (bound there by routing). */
export const DROP_MOVED_SOURCE_TASK = 'volume.move.drop-source';

/**
 * Payload of the source-removal task. Routing binds a volume task whose payload names a node-local `target` to
 * `targetNode`: here the node and backend the source copy is left on.
 */
export interface DropMovedSourcePayload {
  target: string;
  targetNode: string;
}

/** What the move task needs; written once by the request. */
export interface MovePayload {
  purpose: 'retype' | 'migrate';
  /** Backend the volume is on when the request was accepted. */
  source: string;
  /** Backend the data goes to; null when no backend satisfies the new type (the task refuses). */
  target: string | null;
  /**
   * The node of the destination's host; absent or null: the node that runs the task. A node-local destination
   * makes the task run there (tasks/task-routing.ts).
   */
  targetNode?: string | null;
  /** The node holding the volume when the request was accepted (absent off a cluster and in older payloads). */
  sourceNode?: string | null;
  /** Why no destination was found, when some backend fits the type on a node that cannot receive the data. */
  unreachable?: string | null;
  policy: MigrationPolicy;
  /** The status the request moved the volume to, and the one it goes back to. */
  holding: string;
  previousStatus: string;
  /** Retype only: the new type (null for a migration, which keeps the type). */
  newTypeId: string | null;
  newTypeName: string | null;
  oldTypeName: string | null;
  /** Whether the new type's multiattach spec is on (the volume takes it with the type). */
  multiattach: boolean;
  /** The types' encryption specs differ: Cinder's volume manager then never retypes in place. */
  encryptionChanged: boolean;
  /** Whether the volume counts against quotas (per-type usage moves with the type). */
  useQuota: boolean;
}

function sameEncryption(a: VolumeTypeEncryption | null, b: VolumeTypeEncryption | null): boolean {
  if (a === null || b === null) return a === b;
  return a.provider === b.provider && a.control_location === b.control_location && a.cipher === b.cipher && a.key_size === b.key_size;
}

/** Whether the data changes place: another backend, or the same node-local backend name on another node. */
function movesData(p: MovePayload, backends: readonly BackendConfig[]): boolean {
  if (p.target === null) return false;
  if (p.target !== p.source) return true;
  return !!p.sourceNode && !!p.targetNode && p.sourceNode !== p.targetNode && !isSharedBackend(backends, p.source);
}

/** A backend as configured, or as the drivers opened it for volumes of a backend no longer configured. */
function backendOf(core: Core, name: string): BackendConfig {
  return (
    core.deps.config.backends.find((b) => b.name === name) ?? {
      name,
      driver: core.driver(name).format,
      pool: name,
    }
  );
}

/** Per-type usage of a volume of `size` GiB of type `typeName` (the totals do not change on retype). */
function perTypeQuota(typeName: string | null, size: number): Record<string, number> {
  return typeName ? { [`volumes_${typeName}`]: 1, [`gigabytes_${typeName}`]: size } : {};
}

export class RetypeService {
  constructor(private readonly core: Core) {}

  private async inGroup(tx: Scope, volumeId: string): Promise<boolean> {
    return (await this.core.repos.groups.groupsOf(tx, [volumeId])).size > 0;
  }

  /**
   * A move's source copy is removed by a task on the node the volume left; a move back to that node before the
   * task ran would have the task remove the new copy there. So a volume waits until its old copy is gone.
   */
  private async refuseWhileSourceDrops(tx: Scope, volumeId: string): Promise<void> {
    if (await this.core.deps.tasks.isQueued(tx, DROP_MOVED_SOURCE_TASK, 'volume', volumeId)) {
      throw badRequest(`Invalid volume: Volume ${volumeId} is still being removed from the node it moved away from; try again later.`);
    }
  }

  /** `os-retype`: 202 once accepted; done at once when the data stays, else by the move task. */
  async retype(ctx: AuthContext, id: string, newTypeRef: string, policy: MigrationPolicy): Promise<void> {
    const core = this.core;
    await core.inTx(async (tx, enqueue) => {
      const v = await core.visibleVolume(ctx, id, tx);
      await this.refuseWhileSourceDrops(tx, v.id);
      // An empty reference names no type (resolveForVolume would read it as "the default").
      if (newTypeRef === '') throw notFound('Volume type with name  could not be found.');
      const newType = await core.deps.quotas.volumeTypes.resolveForVolume(tx, ctx, newTypeRef, null);
      const multiattach = isMultiattachType(newType);
      if (multiattach !== v.multiattach && v.status !== 'available') {
        throw badRequest(
          `Invalid input received: Invalid volume_type passed, retypes affecting multiattach are only allowed on available volumes, the specified volume however currently has a status of: ${v.status}.`,
        );
      }
      const oldTypeName = await core.volumeTypeName(tx, v.volume_type_id);
      // Cinder reserves the new type's usage before its conditional update, so a quota refusal comes first.
      if (v.use_quota) await core.reserveQuota(tx, v.project_id, perTypeQuota(newType.name, v.size));
      if (
        !allows(volumeLifecycle, 'retype', v.status) ||
        isMigrating(v) ||
        v.volume_type_id === newType.id ||
        // Cinder's retype expects no group (its refusal names "a consistency group").
        (await this.inGroup(tx, v.id)) ||
        (v.status === 'in-use' && !(await this.qosAllowsRetype(tx, v.volume_type_id, newType.id)))
      ) {
        throw refusal(volumeLifecycle, 'retype', v);
      }
      const types = core.deps.quotas.volumeTypes;
      const encryptionChanged = !sameEncryption(
        await types.encryptionOf(tx, v.volume_type_id),
        await types.encryptionOf(tx, newType.id),
      );
      const current = backendOf(core, v.driver);
      let target = backendForType(core.deps.config.backends, newType, current);
      let targetNode: string | null = null;
      let unreachable: string | null = null;
      if (target?.name !== v.driver) ({ target, targetNode, unreachable } = await this.clusterDestination(tx, v, newType, target));
      if (target?.name === v.driver && !encryptionChanged) {
        // The backend keeps the bytes: only the record changes (Cinder's driver retype in place).
        const moved = await core.repos.volumes.transition(tx, v.id, [v.status], null, {
          volume_type_id: newType.id,
          multiattach,
          updated_at: core.now(),
        });
        if (!moved.ok) throw refusal(volumeLifecycle, 'retype', v);
        if (v.use_quota) await core.releaseQuota(tx, v.project_id, perTypeQuota(oldTypeName, v.size));
        return;
      }
      const moved = await core.moveVolume(tx, v.id, 'retype', { previous_status: v.status });
      if (!moved.ok) throw refusal(volumeLifecycle, 'retype', v);
      const payload: MovePayload = {
        purpose: 'retype',
        source: v.driver,
        target: target?.name ?? null,
        targetNode,
        sourceNode: this.clustered() && v.host ? nodeOfVolumeHost(v.host) : null,
        unreachable,
        policy,
        holding: 'retyping',
        previousStatus: v.status,
        newTypeId: newType.id,
        newTypeName: newType.name,
        oldTypeName,
        multiattach,
        encryptionChanged,
        useQuota: v.use_quota,
      };
      await enqueue(MOVE_TASK, 'volume', v.id, payload);
    });
  }

  /**
   * `os-migrate_volume` (admin) to another backend of this node, named `host@backend[#pool]`. An available volume
   * is locked in `maintenance` while its data moves, whatever `lock_volume` says: writes through the data API
   * could not be carried over to the copy.
   */
  async migrate(ctx: AuthContext, id: string, host: string): Promise<void> {
    requireAdmin(ctx, 'volume_extension:volume_admin_actions:migrate_volume');
    const core = this.core;
    const own = core.deps.config.serviceHost;
    const dest = backendNamed(core, host) ? { backend: backendNamed(core, host)!, node: own } : await this.otherNodeBackend(host);
    if (!dest) throw notFound(`Service cinder-volume could not be found on host ${host}.`);
    const target = dest.backend;
    await core.inTx(async (tx, enqueue) => {
      const v = await core.visibleVolume(ctx, id, tx);
      await this.refuseWhileSourceDrops(tx, v.id);
      const snaps = await core.repos.snapshots.ofVolume(tx, v.id);
      const backends = core.deps.config.backends;
      const volumeNode = this.clustered() && v.host ? nodeOfVolumeHost(v.host) : own;
      const sourceShared = isSharedBackend(backends, v.driver);
      // One shared pool seen from two nodes is one place: nothing would move (and the copy would overwrite itself).
      const sameHost = target.name === v.driver && (dest.node === volumeNode || sourceShared);
      if (
        !allows(volumeLifecycle, 'migrate', v.status) ||
        isMigrating(v) ||
        snaps.length > 0 ||
        sameHost ||
        (await this.inGroup(tx, v.id))
      ) {
        throw refusal(volumeLifecycle, 'migrate', v);
      }
      if (dest.node !== volumeNode && !sourceShared && !isSharedBackend(backends, target.name) && !core.deps.peers) {
        throw badRequest(
          `Invalid volume: Volume ${v.id} is on node ${volumeNode}'s local backend ${v.driver} and cannot migrate to ${host}: node-local data moves only to another backend of node ${volumeNode} or to a shared backend (RBD), since no node reaches another node's local files.`,
        );
      }
      const holding = v.status === 'available' ? 'maintenance' : v.status;
      const moved = await core.repos.volumes.transition(tx, v.id, [v.status], holding, {
        previous_status: v.status,
        migration_status: 'starting',
        updated_at: core.now(),
      });
      if (!moved.ok) throw refusal(volumeLifecycle, 'migrate', v);
      const type = await core.deps.quotas.volumeTypes.resolveForVolume(tx, { isAdmin: true, projectId: null }, v.volume_type_id, null);
      const typeName = type.name;
      // Cinder's scheduler checks the destination against the volume's type: a backend the type excludes fails
      // the migration (the task refuses it, as there).
      const fits = backendForType([target], type, target) !== null;
      const payload: MovePayload = {
        purpose: 'migrate',
        source: v.driver,
        target: fits ? target.name : null,
        targetNode: dest.node,
        sourceNode: volumeNode,
        policy: 'on-demand',
        holding,
        previousStatus: v.status,
        newTypeId: null,
        newTypeName: typeName,
        oldTypeName: typeName,
        multiattach: v.multiattach,
        encryptionChanged: false,
        useQuota: v.use_quota,
      };
      await enqueue(MOVE_TASK, 'volume', v.id, payload);
    });
  }

  /** Several nodes share the store (only on PostgreSQL): other nodes' services count. */
  private clustered(): boolean {
    return this.core.deps.config.database.kind === 'postgres' && this.core.deps.availability?.schedulableHosts !== undefined;
  }

  /**
   * `node@backend[#pool]` of another node, when its volume service is enabled and up (Cinder's migrate checks the
   * destination service is up); backends are configured alike on every node, so this node's entry describes it.
   */
  private async otherNodeBackend(host: string): Promise<{ backend: BackendConfig; node: string } | null> {
    if (!this.clustered()) return null;
    const [hostBackend, pool, extra] = host.split('#');
    const at = hostBackend?.indexOf('@') ?? -1;
    if (extra !== undefined || !hostBackend || at <= 0) return null;
    const node = hostBackend.slice(0, at);
    const name = hostBackend.slice(at + 1);
    const backend = this.core.deps.config.backends.find((b) => b.name === name && (pool === undefined || pool === b.pool));
    if (!backend) return null;
    const hosts = (await this.core.deps.availability!.schedulableHosts!()) ?? [];
    return hosts.some((h) => h.node === node && h.backend === name) ? { backend, node } : null;
  }

  /**
   * Where a retype's data goes when the volume's backend does not fit the new type, over every node's enabled, up
   * volume services: any of them when nodes reach each other's APIs (peers), else those the volume's node can
   * copy to (its own backends, shared ones anywhere; any for a volume on a shared backend); its own node first,
   * then the least allocated. Off a cluster: this node's choice.
   */
  private async clusterDestination(
    tx: Scope,
    v: Volume,
    newType: VolumeType,
    local: BackendConfig | null,
  ): Promise<{ target: BackendConfig | null; targetNode: string | null; unreachable: string | null }> {
    if (!this.clustered()) return { target: local, targetNode: null, unreachable: null };
    const backends = this.core.deps.config.backends;
    const volumeNode = v.host ? nodeOfVolumeHost(v.host) : this.core.deps.config.serviceHost;
    const sourceShared = isSharedBackend(backends, v.driver);
    const hosts = (await this.core.deps.availability!.schedulableHosts!(tx)) ?? [];
    const fits = hosts.filter((h) => {
      const b = backends.find((x) => x.name === h.backend);
      return b !== undefined && backendForType([b], newType, b) !== null && !(h.backend === v.driver && (sourceShared || h.node === volumeNode));
    });
    const reachable = fits
      .filter((h) => sourceShared || h.node === volumeNode || isSharedBackend(backends, h.backend) || this.core.deps.peers !== undefined)
      .sort((a, b) => Number(a.node !== volumeNode) - Number(b.node !== volumeNode) || a.allocatedGb - b.allocatedGb);
    const pick = reachable[0];
    if (pick) return { target: backends.find((b) => b.name === pick.backend)!, targetNode: pick.node, unreachable: null };
    const unreachable = fits.length
      ? `backends fitting type ${newType.name} (${fits.map((h) => `${h.node}@${h.backend}`).join(', ')}) are node-local to other nodes than ${volumeNode}, which holds the volume`
      : null;
    return { target: null, targetNode: null, unreachable };
  }

  /**
   * Cinder's `volume_qos_allows_retype` for an in-use volume: the same QoS specs, or none on either side with a
   * consumer other than the back-end (front-end limits of an attached volume cannot change).
   */
  private async qosAllowsRetype(scope: Scope, oldTypeId: string, newTypeId: string): Promise<boolean> {
    const [a, b] = await Promise.all([
      this.core.repos.qosSpecs.ofType(scope, oldTypeId),
      this.core.repos.qosSpecs.ofType(scope, newTypeId),
    ]);
    if ((a?.id ?? null) === (b?.id ?? null)) return true;
    return [a, b].every((q) => !q || q.consumer === 'back-end');
  }
}

/** Why a move task gave the volume back without moving it. */
class MoveRefused extends Error {
  constructor(
    message: string,
    readonly action: MessageActionName,
    readonly detail: MessageDetailName,
  ) {
    super(message);
  }
}

/** Copies the volume's allocated ranges from `source` into a fresh object on `target` (holes stay holes). */
async function copyVolume(source: VolumeDriver, target: VolumeDriver, volumeId: string, bytes: number, signal: AbortSignal): Promise<void> {
  // A copy an earlier attempt left behind is no volume yet: start over.
  await target.deleteVolume(volumeId);
  await target.createVolume(volumeId, bytes);
  for (const e of await source.allocatedExtents('volume', volumeId)) {
    signal.throwIfAborted();
    const end = Math.min(e.offset + e.length, bytes);
    if (end <= e.offset) continue;
    const written = await target.writeRaw(volumeId, source.readRaw('volume', volumeId, e.offset, end - 1), e.offset);
    if (written !== end - e.offset) throw new Error(`copying volume ${volumeId}: wrote ${written} of ${end - e.offset} bytes at ${e.offset}`);
  }
}

/** Blocks of the peer's stream compared against zeros: an all-zero block is left a hole on the destination. */
const BLOCK = 1024 * 1024;
const ZEROS = Buffer.alloc(BLOCK);
/** Consecutive data blocks written in one call, bounding the memory a run holds. */
const RUN_LIMIT = 16 * BLOCK;

/**
 * Copies the volume's bytes from another node's data API into a fresh object on `target`. The data API has no
 * extent map, so every byte crosses the network, but all-zero blocks are not written: holes stay holes, and a
 * block of zeros on the source reads back the same from a hole.
 */
async function copyFromPeer(
  url: string,
  auth: { token: string; projectId: string },
  target: VolumeDriver,
  volumeId: string,
  bytes: number,
  signal: AbortSignal,
): Promise<void> {
  await target.deleteVolume(volumeId);
  await target.createVolume(volumeId, bytes);
  const res = await fetch(`${url}/v3/${auth.projectId}/volumes/${volumeId}/cinderbox-data`, { headers: { 'X-Auth-Token': auth.token }, signal });
  if (res.status !== 200 || !res.body) {
    const text = await res.text().catch(() => '');
    throw new Error(`reading volume ${volumeId} from ${url}: HTTP ${res.status} ${text.slice(0, 300)}`);
  }
  let offset = 0;
  let pending: Buffer[] = [];
  let pendingLength = 0;
  let run: Buffer[] = [];
  let runStart = 0;
  let runLength = 0;
  const flush = async () => {
    if (runLength === 0) return;
    const parts = run;
    const written = await target.writeRaw(volumeId, (async function* () { yield* parts; })(), runStart);
    if (written !== runLength) throw new Error(`copying volume ${volumeId}: wrote ${written} of ${runLength} bytes at ${runStart}`);
    run = [];
    runLength = 0;
  };
  const block = async (b: Buffer) => {
    const zero = b.length === BLOCK ? b.equals(ZEROS) : b.equals(ZEROS.subarray(0, b.length));
    if (zero) await flush();
    else {
      if (runLength === 0) runStart = offset;
      run.push(b);
      runLength += b.length;
      if (runLength >= RUN_LIMIT) await flush();
    }
    offset += b.length;
  };
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    signal.throwIfAborted();
    pending.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    pendingLength += chunk.byteLength;
    if (offset + pendingLength > bytes) throw new Error(`reading volume ${volumeId} from ${url}: more than its ${bytes} bytes`);
    while (pendingLength >= BLOCK) {
      const all = Buffer.concat(pending, pendingLength);
      await block(all.subarray(0, BLOCK));
      pending = [all.subarray(BLOCK)];
      pendingLength -= BLOCK;
    }
  }
  if (pendingLength > 0) await block(Buffer.concat(pending, pendingLength));
  await flush();
  // A source node that died mid-stream may end the body early rather than fail it: a short copy is no copy.
  if (offset !== bytes) throw new Error(`reading volume ${volumeId} from ${url}: got ${offset} of ${bytes} bytes`);
}

export function retypeTaskHandlers(core: Core, dropVolumeBases: DropVolumeBases): [TaskHandler<MovePayload>, TaskHandler<DropMovedSourcePayload>] {
  const root = core.store.root;

  const event = (v: Volume, taskId: string, action: MessageActionName, detail: MessageDetailName): FailureEvent => ({
    projectId: v.project_id,
    resourceType: 'VOLUME',
    resourceUuid: v.id,
    action,
    detail,
    requestId: `req-${taskId}`,
  });

  /** Back to the status the request found, type and backend unchanged; the new type's usage released. */
  async function giveBack(v: Volume, p: MovePayload, migrationStatus: string | null | undefined, ev: FailureEvent): Promise<void> {
    await moveWithMessage(
      core,
      async (tx) => {
        const changes: Partial<Volume> = { previous_status: null };
        if (migrationStatus !== undefined) changes.migration_status = migrationStatus;
        const moved = await core.repos.volumes.transition(tx, v.id, [p.holding], p.previousStatus, { ...changes, updated_at: core.now() });
        if (moved.ok && p.purpose === 'retype' && p.useQuota) await core.releaseQuota(tx, v.project_id, perTypeQuota(p.newTypeName, v.size));
        return moved;
      },
      ev,
    );
  }

  /** After the switch: the source object and the hidden backup bases it carried go (bases do not move). */
  async function dropSource(p: MovePayload, volumeId: string): Promise<void> {
    const source = core.driver(p.source);
    await source.deleteVolume(volumeId);
    await dropVolumeBases(source, volumeId);
  }

  const move: TaskHandler<MovePayload> = {
    kind: MOVE_TASK,
    // After a crash: failed, not resumed: fail removes the partial copy and gives the volume back on its source; the user asks again.
    resumeAfterCrash: false,
    async run(task, { signal }) {
      const p = task.payload;
      const v = await core.volumeRow(root, task.resourceId);
      if (!v || v.status !== p.holding || v.driver !== p.source) return;
      if (p.sourceNode && v.host && nodeOfVolumeHost(v.host) !== p.sourceNode) return;
      try {
        if (p.target === null) {
          throw new MoveRefused(
            `No valid backend for volume type ${p.newTypeName}${p.unreachable ? `: ${p.unreachable}` : ''}.`,
            'SCHEDULE_ALLOCATE_VOLUME',
            'NO_BACKEND_AVAILABLE',
          );
        }
        const needsCopy = movesData(p, core.deps.config.backends);
        if (p.policy === 'never' && (needsCopy || p.encryptionChanged)) {
          // Cinder's scheduler: "Current backend not valid for volume … migration not allowed".
          throw new MoveRefused(`Retype of volume ${v.id} needs volume migration but migration policy is 'never'.`, 'SCHEDULE_ALLOCATE_VOLUME', 'NO_BACKEND_AVAILABLE');
        }
        if (needsCopy) {
          if ((await core.repos.snapshots.ofVolume(root, v.id)).length > 0)
            throw new MoveRefused('Volume must not have snapshots.', 'SCHEDULE_ALLOCATE_VOLUME', 'VOLUME_INVALID_STATE');
          // Cinder has Nova copy an attached volume; cinderbox's consumers hold the source's path, so it stays.
          if (p.previousStatus !== 'available')
            throw new MoveRefused(`Volume ${v.id} must be available for its data to move to another backend.`, 'SCHEDULE_ALLOCATE_VOLUME', 'VOLUME_INVALID_STATE');
        }
      } catch (e) {
        if (!(e instanceof MoveRefused)) throw e;
        core.deps.logger.info({ volume: v.id, reason: e.message }, 'volume retype/migration refused');
        await giveBack(v, p, p.purpose === 'migrate' ? 'error' : undefined, event(v, task.id, e.action, e.detail));
        return;
      }
      const target = p.target!;
      const backends = core.deps.config.backends;
      const copying = movesData(p, backends);
      const here = core.deps.config.serviceHost;
      // The source's file is in another node's data directory: read through that node, removed there afterwards.
      const remoteSource = copying && !!p.sourceNode && p.sourceNode !== here && !isSharedBackend(backends, p.source) ? p.sourceNode : null;
      if (p.targetNode && p.targetNode !== here && !isSharedBackend(core.deps.config.backends, target))
        // Routing sends such a task to the destination's node; anywhere else the copy would land on the wrong node.
        throw new Error(`volume ${v.id} must be copied by node ${p.targetNode}, not ${here}`);
      if (copying) {
        const started = await core.repos.volumes.transition(root, v.id, [p.holding], null, { migration_status: 'migrating', updated_at: core.now() });
        if (!started.ok) return;
        if (remoteSource) {
          const peers = core.deps.peers;
          const url = await peers?.urlOf(remoteSource);
          if (!peers || !url) throw new Error(`node ${remoteSource}, which holds volume ${v.id}, has recorded no API URL to read it from`);
          const credential = await peers.credential(`the move of volume ${v.id}`);
          try {
            await copyFromPeer(url, credential, core.driver(target), v.id, v.size * 1024 ** 3, signal);
          } finally {
            await credential.release().catch(() => {});
          }
        } else {
          await copyVolume(core.driver(p.source), core.driver(target), v.id, v.size * 1024 ** 3, signal);
        }
      }
      const backend = backendOf(core, target);
      const switched = await core.inTx(async (tx, enqueue) => {
        const changes: Partial<Volume> = {
          previous_status: null,
          driver: backend.name,
          host: core.hostOf(backend, p.targetNode ?? undefined),
          multiattach: p.multiattach,
          updated_at: core.now(),
        };
        if (copying) changes.migration_status = 'success';
        if (p.newTypeId !== null) changes.volume_type_id = p.newTypeId;
        const moved = await core.repos.volumes.transition(tx, v.id, [p.holding], p.previousStatus, changes);
        if (moved.ok && p.purpose === 'retype' && p.useQuota) await core.releaseQuota(tx, v.project_id, perTypeQuota(p.oldTypeName, v.size));
        // Committed with the switch, so a crash right after it still leaves the source node its removal to do.
        if (moved.ok && remoteSource) await enqueueDropSource(enqueue, v.id, p.source, remoteSource);
        return moved.ok;
      });
      if (!switched) {
        // Reset or force-deleted meanwhile: the source stays the volume (or is gone with it); the copy goes.
        if (copying) await core.driver(target).deleteVolume(v.id);
        return;
      }
      if (copying && !remoteSource) await dropSource(p, v.id);
    },
    async fail(task, cause) {
      const p = task.payload;
      const v = await core.volumeRow(root, task.resourceId);
      const copying = movesData(p, core.deps.config.backends);
      const onTarget = v && v.driver === p.target && (!p.sourceNode || !p.targetNode || !v.host || nodeOfVolumeHost(v.host) === p.targetNode);
      if (v && copying && onTarget) {
        // The switch committed before the failure: only the source's removal was left (the switch enqueued it
        // for a source on another node).
        const remote = p.sourceNode && p.sourceNode !== core.deps.config.serviceHost && !isSharedBackend(core.deps.config.backends, p.source);
        if (!remote) await dropSource(p, v.id);
        return;
      }
      // Only the destination's node holds the copy; elsewhere a backend of the same name may hold the volume itself.
      const copyHere = !p.targetNode || p.targetNode === core.deps.config.serviceHost || isSharedBackend(core.deps.config.backends, p.target!);
      if (copying && copyHere) await core.driver(p.target!).deleteVolume(task.resourceId);
      if (!v) return;
      core.deps.logger.warn({ volume: v.id, err: cause }, 'volume retype/migration failed');
      const { action, detail } = volumeCreateFailure(cause);
      await giveBack(v, p, copying ? 'error' : undefined, event(v, task.id, action, detail));
    },
  };
  async function enqueueDropSource(enqueue: (kind: string, type: string, id: string, payload: unknown) => Promise<void>, volumeId: string, source: string, node: string) {
    const payload: DropMovedSourcePayload = { target: source, targetNode: node };
    await enqueue(DROP_MOVED_SOURCE_TASK, 'volume', volumeId, payload);
  }

  const dropMovedSource: TaskHandler<DropMovedSourcePayload> = {
    kind: DROP_MOVED_SOURCE_TASK,
    // Removing a file is safe to repeat.
    resumeAfterCrash: true,
    async run(task) {
      const p = task.payload;
      const v = await core.volumeRow(root, task.resourceId);
      // Never the volume itself: only a copy left behind on this node after the volume moved elsewhere.
      if (v && v.driver === p.target && v.host && nodeOfVolumeHost(v.host) === core.deps.config.serviceHost) return;
      const source = core.driver(p.target);
      await source.deleteVolume(task.resourceId);
      await dropVolumeBases(source, task.resourceId);
    },
    async fail(task, cause) {
      core.deps.logger.warn({ volume: task.resourceId, err: cause }, 'removing a moved volume\'s source copy failed; the file stays in this node\'s data directory');
    },
  };
  return [move, dropMovedSource];
}
