import { randomUUID } from 'node:crypto';
import type { AuthContext } from '../../domain/auth-context.js';
import { badRequest, notFound, overLimit } from '../../domain/errors.js';
import type { Executor } from '../../store/database.js';
import type { SnapshotTable } from '../../store/schema.js';
import { callerProject, requireAdmin } from './access.js';
import type { Core } from './core.js';
import { resolveFilters } from './filters.js';
import { listRows } from './listing.js';
import { deleteMetadataKey, readMetadata, writeMetadata } from './metadata-store.js';
import { snapshotFilterPolicy, snapshotTable } from './snapshot-filters.js';
import type { ListRequest, ListResult, Microversion, SnapshotRecord } from './types.js';

export const SNAPSHOT_STATUSES = [
  'creating',
  'available',
  'deleting',
  'deleted',
  'error',
  'error_deleting',
  'updating',
  'unmanaging',
  'backing-up',
  'restoring',
];

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
    out[k] = v;
  }
  return out;
}

export class SnapshotService {
  constructor(private readonly core: Core) {}

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
    const row = await core.inTx(async (tx, enqueue) => {
      const v = await core.visibleVolume(ctx, volumeId, tx);
      if (v.migration_status !== null && !['success', 'error'].includes(v.migration_status)) {
        throw badRequest(`Invalid volume: Snapshot cannot be created while volume is migrating.`);
      }
      const allowed = inUseOk ? ['available', 'in-use'] : ['available'];
      if (!allowed.includes(v.status)) {
        throw badRequest(
          `Invalid volume: Volume ${v.id} status must be ${allowed.join(' or ')}, but current status is: ${v.status}.`,
        );
      }
      // Touch the volume under the same guard so a racing delete (which moves it out of these statuses) cannot interleave.
      const touched = await tx
        .updateTable('volumes')
        .set({ updated_at: v.updated_at })
        .where('id', '=', v.id)
        .where('status', 'in', allowed)
        .executeTakeFirst();
      if (Number(touched.numUpdatedRows) === 0) {
        throw badRequest(
          `Invalid volume: Volume ${v.id} status must be ${allowed.join(' or ')}, but current status changed.`,
        );
      }
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
        provider_location: `_snapshot-${id}`,
        hidden: 0,
        created_at: core.now(),
        updated_at: null,
      };
      await tx.insertInto('snapshots').values(r).execute();
      await writeMetadata(tx, 'snapshot', id, input.metadata, true);
      await enqueue('snapshot.create', 'snapshot', id, { volumeId: v.id, driver: v.driver });
      return r;
    });
    return core.snapshotRecord(row);
  }

  async get(ctx: AuthContext, id: string): Promise<SnapshotRecord> {
    return this.core.snapshotRecord(await this.core.visibleSnapshot(ctx, id));
  }

  async list(ctx: AuthContext, mv: Microversion, req: ListRequest): Promise<ListResult<SnapshotRecord>> {
    const scope = resolveFilters(ctx, mv, req.filters, snapshotFilterPolicy(this.core.deps.config));
    const { rows, count, limit } = await listRows(this.core.db, snapshotTable(mv.atLeast('3.30')), scope, req, (m) =>
      notFound(`Snapshot ${m} could not be found.`),
    );
    return { items: await this.core.snapshotRecords(rows as unknown as SnapshotTable[]), count, limit };
  }

  async update(
    ctx: AuthContext,
    id: string,
    input: { name?: string | null; description?: string | null },
  ): Promise<SnapshotRecord> {
    const core = this.core;
    const row = await core.inTx(async (tx) => {
      await core.visibleSnapshot(ctx, id, tx);
      const set: Partial<SnapshotTable> = { updated_at: core.now() };
      if (input.name !== undefined) set.name = input.name;
      if (input.description !== undefined) set.description = input.description;
      await tx.updateTable('snapshots').set(set).where('id', '=', id).execute();
      return tx.selectFrom('snapshots').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    });
    return core.snapshotRecord(row);
  }

  async delete(ctx: AuthContext, id: string, force = false): Promise<void> {
    const core = this.core;
    if (force) requireAdmin(ctx, 'volume_extension:snapshot_admin_actions:force_delete');
    await core.inTx(async (tx, enqueue) => {
      const s = await core.visibleSnapshot(ctx, id, tx);
      const from = force ? [s.status] : ['available', 'error'];
      if (!from.includes(s.status)) {
        throw badRequest(
          'Invalid snapshot: Snapshot status must be available or error and must not be part of a group.',
        );
      }
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
        .set({ status: 'deleting', updated_at: core.now() })
        .where('id', '=', id)
        .where('status', 'in', from)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0)
        throw badRequest(
          'Invalid snapshot: Snapshot status must be available or error and must not be part of a group.',
        );
      await enqueue('snapshot.delete', 'snapshot', id, {});
    });
  }

  async resetStatus(ctx: AuthContext, id: string, status: string): Promise<void> {
    requireAdmin(ctx, 'volume_extension:snapshot_admin_actions:reset_status');
    const s = status.toLowerCase();
    await this.core.visibleSnapshot(ctx, id);
    if (!SNAPSHOT_STATUSES.includes(s)) {
      throw badRequest(
        `Invalid input received: Snapshot status: ${status} is invalid, valid statuses are: (${SNAPSHOT_STATUSES.map((x) => `'${x}'`).join(', ')}).`,
      );
    }
    await this.core.db
      .updateTable('snapshots')
      .set({ status: s, updated_at: this.core.now() })
      .where('id', '=', id)
      .execute();
  }

  /** Nova's assisted-snapshot callback: only creating/deleting snapshots move, and only to their allowed next states. */
  async updateStatus(ctx: AuthContext, id: string, status: string, progress: string | undefined): Promise<void> {
    const allowed: Record<string, string[]> = {
      creating: ['creating', 'available', 'error'],
      deleting: ['deleting', 'error_deleting'],
    };
    await this.core.inTx(async (tx) => {
      const s = await this.core.visibleSnapshot(ctx, id, tx);
      const targets = allowed[s.status];
      if (!targets)
        throw badRequest(`Invalid snapshot: Snapshot status ${s.status} not allowed for update_snapshot_status`);
      if (!targets.includes(status))
        throw badRequest(
          `Invalid snapshot: Provided snapshot status ${status} not allowed for snapshot with status ${s.status}.`,
        );
      const set: Partial<SnapshotTable> = { status, updated_at: this.core.now() };
      if (progress !== undefined) {
        const m = /^(\d{1,3})%?$/.exec(progress.trim());
        const n = m ? Number(m[1]) : Number.NaN;
        if (!(n >= 0 && n <= 100)) throw badRequest('Invalid input received: progress must be an integer percentage');
        set.progress = `${n}%`;
      }
      const res = await tx
        .updateTable('snapshots')
        .set(set)
        .where('id', '=', id)
        .where('status', '=', s.status)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) throw badRequest(`Invalid snapshot: Snapshot ${id} changed status.`);
    });
  }

  // ---- metadata: no status restriction, as in Cinder ----

  async getMetadata(ctx: AuthContext, id: string): Promise<Record<string, string>> {
    await this.core.visibleSnapshot(ctx, id);
    return readMetadata(this.core.db, 'snapshot', id);
  }

  async setMetadata(
    ctx: AuthContext,
    id: string,
    items: Record<string, string>,
    replace: boolean,
  ): Promise<Record<string, string>> {
    return this.core.inTx(async (tx) => {
      await this.core.visibleSnapshot(ctx, id, tx);
      await writeMetadata(tx, 'snapshot', id, items, replace);
      await tx.updateTable('snapshots').set({ updated_at: this.core.now() }).where('id', '=', id).execute();
      return readMetadata(tx, 'snapshot', id);
    });
  }

  async getMetadataKey(ctx: AuthContext, id: string, key: string): Promise<string> {
    const md = await this.getMetadata(ctx, id);
    const v = md[key];
    if (v === undefined) throw notFound(`Snapshot ${id} has no metadata with key ${key}.`);
    return v;
  }

  async deleteMetadataKey(ctx: AuthContext, id: string, key: string): Promise<void> {
    await this.core.inTx(async (tx: Executor) => {
      await this.core.visibleSnapshot(ctx, id, tx);
      if (!(await deleteMetadataKey(tx, 'snapshot', id, key)))
        throw notFound(`Snapshot ${id} has no metadata with key ${key}.`);
    });
  }
}
