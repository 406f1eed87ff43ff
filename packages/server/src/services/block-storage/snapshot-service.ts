import { randomUUID } from 'node:crypto';
import type { AuthContext } from '../../domain/auth-context.js';
import { badRequest, notFound, overLimit } from '../../domain/errors.js';
import { ensureAllowed, fromStatuses, isStatus, refusal } from '../../domain/lifecycle.js';
import {
  SNAPSHOT_DELETE_REFUSED,
  SNAPSHOT_STATUSES,
  type Snapshot,
  snapshotLifecycle,
  UPDATE_STATUS_TARGETS,
  updateStatusTargetRefused,
} from '../../domain/snapshot.js';
import { isMigrating, volumeLifecycle } from '../../domain/volume.js';
import { callerProject, canSee, requireAdmin } from './access.js';
import { type Core, UUID_RE } from './core.js';
import { resolveFilters } from './filters.js';
import { listQuery } from './listing.js';
import { snapshotFilterPolicy, snapshotSort } from './snapshot-filters.js';
import type { ListRequest, ListResult, Microversion, SnapshotRecord } from './types.js';
import { getOwn, setOwn } from '../../domain/own.js';
import type { JsonField } from '../../domain/ports/block-storage-store.js';

export interface SnapshotCreateInput {
  volumeId: string | null;
  name: string | null;
  description: string | null;
  /** undefined when absent; the parsed boolean otherwise. */
  force: boolean | undefined;
  metadata: Record<string, string>;
}

/**
 * Zed's checks on snapshot metadata (`utils.check_metadata_properties`): blank or non-string → 400,
 * longer than 255 → 413.
 */
export function checkMetadataProperties(md: unknown): Record<string, string> {
  if (md === null || typeof md !== 'object' || Array.isArray(md))
    throw badRequest('Invalid metadata: Metadata should be a dict.');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(md as Record<string, unknown>)) {
    if (k.length === 0) throw badRequest('Invalid metadata: Metadata property key blank.');
    if (typeof v !== 'string')
      throw badRequest(`Invalid metadata: Value for metadata key: ${k} is not a string or unicode`);
    if (k.length > 255)
      throw overLimit(`Invalid metadata size: Metadata property key ${k} greater than 255 characters.`, {});
    if (v.length > 255)
      throw overLimit(`Invalid metadata size: Metadata property key ${k} value greater than 255 characters.`, {});
    setOwn(out, k, v);
  }
  return out;
}

export class SnapshotService {
  /** Built once: the policy depends only on the configuration. */
  private readonly filterPolicy;

  constructor(private readonly core: Core) {
    this.filterPolicy = snapshotFilterPolicy(core.deps.config);
  }

  async create(ctx: AuthContext, mv: Microversion, input: SnapshotCreateInput): Promise<SnapshotRecord> {
    const core = this.core;
    const projectId = callerProject(ctx);
    if (input.volumeId === null) throw notFound('Volume None could not be found.');
    const volumeId = input.volumeId;
    if (mv.atLeast('3.66') && input.force === false) {
      throw badRequest(
        'Invalid input received: The force flag is not supported from microversion 3.66 on; snapshots of in-use volumes are allowed without it.',
      );
    }
    const inUseOk = mv.atLeast('3.66') || input.force === true;
    const id = randomUUID();
    const { volumes, snapshots, metadata } = core.repos;
    const snapshot = await core.inTx(async (tx, enqueue) => {
      const v = await core.visibleVolume(ctx, volumeId, tx);
      await core.assertNotFrozen(tx, v.host);
      if (isMigrating(v)) {
        throw badRequest(`Invalid volume: Snapshot cannot be created while volume is migrating.`);
      }
      const action = inUseOk ? 'snapshotInUse' : 'snapshot';
      ensureAllowed(volumeLifecycle, action, v);
      // Touch the volume under the same guard so a racing delete (which moves it out of these statuses) cannot interleave.
      const touched = await volumes.transition(tx, v.id, fromStatuses(volumeLifecycle, action), null, {
        updated_at: v.updated_at,
      });
      if (!touched.ok) {
        throw badRequest(
          `Invalid volume: Volume ${v.id} status must be ${inUseOk ? 'available or in-use' : 'available'}, but current status changed.`,
        );
      }
      const typeName = await core.volumeTypeName(tx, v.volume_type_id);
      await core.reserveQuota(tx, projectId, core.snapshotQuota(v.size, typeName));
      const r = core.newSnapshot(v, {
        id,
        projectId,
        userId: ctx.userId,
        name: input.name,
        description: input.description,
        providerLocation: `_snapshot-${id}`,
      });
      await snapshots.insert(tx, r);
      // The id is new, so there is nothing to replace: only items to add, and none for most creates.
      if (Object.keys(input.metadata).length > 0) await metadata.write(tx, 'snapshot', id, input.metadata, false);
      await enqueue('snapshot.create', 'snapshot', id, { volumeId: v.id, driver: v.driver });
      return r;
    });
    // The transaction wrote exactly this: reading the metadata and group snapshot back would only repeat it.
    return { snapshot, metadata: { ...input.metadata }, groupSnapshotId: null };
  }

  async get(ctx: AuthContext, id: string): Promise<SnapshotRecord> {
    const found = UUID_RE.test(id) ? await this.core.repos.snapshots.getWithMetadata(this.core.store.root, id) : undefined;
    if (!found || !canSee(ctx, found.snapshot.project_id)) throw notFound(`Snapshot ${id} could not be found.`);
    return found;
  }

  async list(ctx: AuthContext, mv: Microversion, req: ListRequest): Promise<ListResult<SnapshotRecord>> {
    const where = resolveFilters(ctx, mv, req.filters, this.filterPolicy);
    const q = listQuery(snapshotSort(mv.atLeast('3.30')), where, req);
    const page = await this.core.repos.snapshots.list(this.core.store.root, q);
    if (!page.ok) throw notFound(`Snapshot ${req.marker} could not be found.`);
    return { items: await this.core.snapshotRecords(page.items), count: page.count, limit: q.limit };
  }

  /**
   * The page `list` gives as JSON text of the view `fields` describe, the items joined by commas (the detail
   * list's path).
   */
  async listJson(
    ctx: AuthContext,
    mv: Microversion,
    req: ListRequest,
    fields: readonly JsonField[],
  ): Promise<{ n: number; lastId: string | null; items: string; count: number | null; limit: number }> {
    const where = resolveFilters(ctx, mv, req.filters, this.filterPolicy);
    const q = listQuery(snapshotSort(mv.atLeast('3.30')), where, req);
    const page = await this.core.repos.snapshots.listJson(this.core.store.root, q, fields);
    if (!page.ok) throw notFound(`Snapshot ${req.marker} could not be found.`);
    return { n: page.n, lastId: page.lastId, items: page.items, count: page.count, limit: q.limit };
  }

  async update(
    ctx: AuthContext,
    id: string,
    input: { name?: string | null; description?: string | null },
  ): Promise<SnapshotRecord> {
    const core = this.core;
    const snapshot = await core.inTx(async (tx) => {
      await core.visibleSnapshot(ctx, id, tx);
      const changes: Partial<Snapshot> = { updated_at: core.now() };
      if (input.name !== undefined) changes.name = input.name;
      if (input.description !== undefined) changes.description = input.description;
      const updated = await core.repos.snapshots.update(tx, id, changes);
      if (!updated) throw notFound(`Snapshot ${id} could not be found.`);
      return updated;
    });
    return core.snapshotRecord(snapshot);
  }

  async delete(ctx: AuthContext, id: string, force = false): Promise<void> {
    const core = this.core;
    if (force) requireAdmin(ctx, 'volume_extension:snapshot_admin_actions:force_delete');
    const action = force ? 'forceDelete' : 'delete';
    await core.inTx(async (tx, enqueue) => {
      const s = await core.visibleSnapshot(ctx, id, tx);
      await core.assertNotFrozen(tx, (await core.volumeRow(tx, s.volume_id))?.host ?? null);
      ensureAllowed(snapshotLifecycle, action, s);
      // A group snapshot's member goes with the group snapshot, force or not.
      if ((await core.repos.groups.groupSnapshotsOf(tx, [id])).size > 0) throw badRequest(SNAPSHOT_DELETE_REFUSED);
      const user = await core.repos.volumes.creatingFrom(tx, { snapshotId: id });
      if (user)
        throw badRequest(`Invalid snapshot: Snapshot ${id} is the source of volume ${user}, which is being created.`);
      // Force moves from the status just read, so of two racing requests one still loses.
      const moved = force
        ? await core.repos.snapshots.transition(tx, id, [s.status], 'deleting', { updated_at: core.now() })
        : await core.moveSnapshot(tx, id, action);
      if (!moved.ok) throw refusal(snapshotLifecycle, action, { id, status: moved.reason === 'status' ? moved.status : s.status });
      await enqueue('snapshot.delete', 'snapshot', id, {});
    });
  }

  async resetStatus(ctx: AuthContext, id: string, status: string): Promise<void> {
    requireAdmin(ctx, 'volume_extension:snapshot_admin_actions:reset_status');
    const s = status.toLowerCase();
    await this.core.visibleSnapshot(ctx, id);
    if (!isStatus(snapshotLifecycle, s)) {
      throw badRequest(
        `Invalid input received: Snapshot status: ${status} is invalid, valid statuses are: (${SNAPSHOT_STATUSES.map((x) => `'${x}'`).join(', ')}).`,
      );
    }
    await this.core.moveSnapshot(this.core.store.root, id, 'resetStatus', {}, s);
  }

  /** Nova's assisted-snapshot callback: only creating/deleting snapshots move, and only to their allowed next states. */
  async updateStatus(ctx: AuthContext, id: string, status: string, progress: string | undefined): Promise<void> {
    await this.core.inTx(async (tx) => {
      const s = await this.core.visibleSnapshot(ctx, id, tx);
      ensureAllowed(snapshotLifecycle, 'updateStatus', s);
      const targets = UPDATE_STATUS_TARGETS[s.status as keyof typeof UPDATE_STATUS_TARGETS] ?? [];
      if (!(targets as readonly string[]).includes(status)) throw badRequest(updateStatusTargetRefused(s.status, status));
      const changes: Partial<Snapshot> = { updated_at: this.core.now() };
      if (progress !== undefined) {
        const m = /^(\d{1,3})%?$/.exec(progress.trim());
        const n = m ? Number(m[1]) : Number.NaN;
        if (!(n >= 0 && n <= 100)) throw badRequest('Invalid input received: progress must be an integer percentage');
        changes.progress = `${n}%`;
      }
      const moved = await this.core.repos.snapshots.transition(tx, id, [s.status], status, changes);
      if (!moved.ok) throw badRequest(`Invalid snapshot: Snapshot ${id} changed status.`);
    });
  }

  // ---- metadata: no status restriction, as in Cinder ----

  async getMetadata(ctx: AuthContext, id: string): Promise<Record<string, string>> {
    await this.core.visibleSnapshot(ctx, id);
    return this.core.repos.metadata.read(this.core.store.root, 'snapshot', id);
  }

  async setMetadata(
    ctx: AuthContext,
    id: string,
    items: Record<string, string>,
    replace: boolean,
  ): Promise<Record<string, string>> {
    const { metadata, snapshots } = this.core.repos;
    return this.core.inTx(async (tx) => {
      await this.core.visibleSnapshot(ctx, id, tx);
      await metadata.write(tx, 'snapshot', id, items, replace);
      await snapshots.update(tx, id, { updated_at: this.core.now() });
      return metadata.read(tx, 'snapshot', id);
    });
  }

  async getMetadataKey(ctx: AuthContext, id: string, key: string): Promise<string> {
    const md = await this.getMetadata(ctx, id);
    const v = getOwn(md, key);
    if (v === undefined) throw notFound(`Snapshot ${id} has no metadata with key ${key}.`);
    return v;
  }

  async deleteMetadataKey(ctx: AuthContext, id: string, key: string): Promise<void> {
    await this.core.inTx(async (tx) => {
      await this.core.visibleSnapshot(ctx, id, tx);
      if (!(await this.core.repos.metadata.deleteKey(tx, 'snapshot', id, key)))
        throw notFound(`Snapshot ${id} has no metadata with key ${key}.`);
    });
  }
}
