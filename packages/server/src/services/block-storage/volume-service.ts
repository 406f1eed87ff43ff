import { randomUUID } from 'node:crypto';
import type { AuthContext } from '../../domain/auth-context.js';
import { badRequest, notFound } from '../../domain/errors.js';
import type { Executor, Tx } from '../../store/database.js';
import type { VolumeTable } from '../../store/schema.js';
import { callerProject, requireAdmin } from './access.js';
import { type Core, GiB, UUID_RE } from './core.js';
import { resolveFilters } from './filters.js';
import { listRows } from './listing.js';
import { deleteMetadataKey, readMetadata, writeMetadata } from './metadata-store.js';
import type { ListRequest, ListResult, Microversion, VolumeRecord } from './types.js';
import { VOLUME_TABLE, volumeFilterPolicy } from './volume-filters.js';

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
  /**
   * Fills the new volume from a backup (restore, create from backup): called in the creating transaction
   * instead of enqueuing the plain create, so the backup is claimed atomically with the volume.
   */
  fromBackup?: (
    tx: Tx,
    volume: VolumeTable,
    enqueue: (kind: string, resourceType: string, resourceId: string, payload: unknown) => Promise<void>,
  ) => Promise<void>;
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

export const DELETABLE = ['available', 'error', 'error_restoring', 'error_extending', 'error_managing'];
export const DELETE_REFUSED =
  'Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer.';

/** Volume lifecycle: create, read, update, delete, metadata. Actions live in VolumeActions. */
export class VolumeService {
  constructor(private readonly core: Core) {}

  /** A volume type by name or id (404 when unknown), else the inherited one, else `__DEFAULT__`. */
  async resolveType(
    exec: Executor,
    ref: string | null,
    inherit: string | null,
  ): Promise<{ id: string; name: string }> {
    if (ref === null || ref === '') {
      if (inherit) {
        const t = await exec
          .selectFrom('volume_types')
          .select(['id', 'name'])
          .where('id', '=', inherit)
          .executeTakeFirst();
        if (t) return t;
      }
      const d = await exec
        .selectFrom('volume_types')
        .select(['id', 'name'])
        .where('name', '=', '__DEFAULT__')
        .executeTakeFirst();
      if (!d) throw new Error('the default volume type is missing');
      return d;
    }
    const byName = await exec
      .selectFrom('volume_types')
      .select(['id', 'name'])
      .where('name', '=', ref)
      .executeTakeFirst();
    if (byName) return byName;
    const byId = await exec.selectFrom('volume_types').select(['id', 'name']).where('id', '=', ref).executeTakeFirst();
    if (byId) return byId;
    throw notFound(
      UUID_RE.test(ref) ? `Volume type ${ref} could not be found.` : `Volume type with name ${ref} could not be found.`,
    );
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
    let payload: VolumeCreatePayload = { source: 'none' };
    if (input.snapshotId !== null) {
      const snap = await core.visibleSnapshot(ctx, input.snapshotId);
      if (snap.status !== 'available')
        throw badRequest(
          "Invalid snapshot: Originating snapshot status must be 'available' to create a volume from it.",
        );
      if (size === null) size = snap.size;
      else if (size < snap.size) {
        throw badRequest(
          `Invalid input received: Volume size '${size}'GB cannot be smaller than the snapshot size ${snap.size}GB. They must be >= original snapshot size.`,
        );
      }
      inheritType = snap.volume_type_id;
      payload = { source: 'snapshot', snapshotId: snap.id };
    } else if (input.sourceVolid !== null) {
      const src = await core.visibleVolume(ctx, input.sourceVolid);
      if (src.status !== 'available' && src.status !== 'in-use') {
        throw badRequest(`Invalid volume: Unable to clone volumes that are in ${src.status} state.`);
      }
      if (size === null) size = src.size;
      else if (size < src.size) {
        throw badRequest(
          `Invalid input received: Volume size '${size}'GB cannot be smaller than original volume size ${src.size}GB. They must be >= original volume size.`,
        );
      }
      inheritType = src.volume_type_id;
      payload = { source: 'volume', volumeId: src.id };
    }
    if (size === null || !Number.isInteger(size) || size < 1) {
      throw badRequest(`Invalid input received: Volume size '${String(size)}' must be an integer and greater than 0`);
    }
    const az = input.availabilityZone ?? core.deps.config.availabilityZone;
    if (az !== core.deps.config.availabilityZone)
      throw badRequest(`Invalid input received: Availability zone '${az}' is invalid.`);
    const backend = core.backend();
    const id = randomUUID();
    const now = core.now();
    const volSize = size;
    const row = await core.inTx(async (tx, enqueue) => {
      const type = await this.resolveType(tx, input.volumeType, inheritType);
      await core.deps.quotas.reserve(tx, projectId, { ...core.volumeQuota(volSize, type.name), volume_size: volSize });
      const r: VolumeTable = {
        id,
        project_id: projectId,
        user_id: ctx.userId,
        name: input.name,
        description: input.description,
        size: volSize,
        status: 'creating',
        previous_status: null,
        attach_status: 'detached',
        migration_status: null,
        availability_zone: az,
        volume_type_id: type.id,
        snapshot_id: input.snapshotId,
        source_volid: input.sourceVolid,
        backup_id: null,
        bootable: 0,
        multiattach: 0,
        host: core.hostOf(backend),
        driver: backend.name,
        provider_location: `volume-${id}`,
        use_quota: 1,
        created_at: now,
        updated_at: null,
      };
      await tx.insertInto('volumes').values(r).execute();
      await writeMetadata(tx, 'volume', id, input.metadata, true);
      if (input.fromBackup) await input.fromBackup(tx, r, enqueue);
      else await enqueue('volume.create', 'volume', id, payload);
      return r;
    });
    return core.volumeRecord(row);
  }

  async get(ctx: AuthContext, id: string): Promise<VolumeRecord> {
    return this.core.volumeRecord(await this.core.visibleVolume(ctx, id));
  }

  async list(ctx: AuthContext, mv: Microversion, req: ListRequest): Promise<ListResult<VolumeRecord>> {
    const scope = resolveFilters(ctx, mv, req.filters, volumeFilterPolicy(this.core.deps.config));
    const sort = req.sort.map((s) => (s.key === 'name' ? { ...s, key: 'display_name' } : s));
    const { rows, count, limit } = await listRows(this.core.db, VOLUME_TABLE, scope, { ...req, sort });
    return { items: await this.core.volumeRecords(rows as unknown as VolumeTable[]), count, limit };
  }

  /** `GET /volumes/summary` (3.12): totals over the same filters as a list; metadata values merged per key (3.36). */
  async summary(
    ctx: AuthContext,
    mv: Microversion,
    filters: Record<string, string>,
  ): Promise<{ totalCount: number; totalSize: number; metadata: Record<string, string[]> }> {
    const scope = resolveFilters(ctx, mv, filters, volumeFilterPolicy(this.core.deps.config));
    let totalCount = 0;
    let totalSize = 0;
    const metadata: Record<string, string[]> = {};
    let marker: string | null = null;
    // Page through so memory stays bounded however many volumes match.
    for (;;) {
      const page = await listRows(this.core.db, VOLUME_TABLE, scope, {
        limit: 1000,
        marker,
        offset: null,
        sort: [],
        withCount: false,
        filters: {},
      });
      for (const r of page.rows) {
        totalCount++;
        totalSize += Number(r.size);
      }
      const recs = await this.core.volumeRecords(page.rows as unknown as VolumeTable[]);
      for (const rec of recs) {
        for (const [k, v] of Object.entries(rec.metadata)) {
          const vals = metadata[k] ?? [];
          if (!vals.includes(v)) vals.push(v);
          metadata[k] = vals;
        }
      }
      if (page.rows.length < 1000) break;
      marker = String(page.rows[page.rows.length - 1]!.id);
    }
    return { totalCount, totalSize, metadata };
  }

  async update(ctx: AuthContext, id: string, input: VolumeUpdateInput): Promise<VolumeRecord> {
    const core = this.core;
    const row = await core.inTx(async (tx) => {
      const v = await core.visibleVolume(ctx, id, tx);
      if (v.status === 'maintenance') throw badRequest(`Invalid volume: Volume ${id} is in maintenance.`);
      const set: Partial<VolumeTable> = { updated_at: core.now() };
      if (input.name !== undefined) set.name = input.name;
      if (input.description !== undefined) set.description = input.description;
      await tx.updateTable('volumes').set(set).where('id', '=', id).execute();
      if (input.metadata !== undefined) await writeMetadata(tx, 'volume', id, input.metadata, true);
      return tx.selectFrom('volumes').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    });
    return core.volumeRecord(row);
  }

  /** DELETE /volumes/{id} and os-force_delete: guarded move to `deleting`, the bytes go in a task. */
  async delete(ctx: AuthContext, id: string, opts: { cascade: boolean; force: boolean }): Promise<void> {
    const core = this.core;
    if (opts.force) requireAdmin(ctx, 'volume:force_delete');
    await core.inTx(async (tx, enqueue) => {
      const v = await core.visibleVolume(ctx, id, tx);
      if (
        v.attach_status === 'attached' ||
        (v.migration_status !== null && v.migration_status !== 'success' && v.migration_status !== 'error')
      ) {
        throw badRequest(DELETE_REFUSED);
      }
      if (!opts.force && !DELETABLE.includes(v.status)) throw badRequest(DELETE_REFUSED);
      // The guarded status change comes before the checks below and holds the volume's row lock until commit:
      // a snapshot create touches that row under its own status guard, so on PostgreSQL (READ COMMITTED) either
      // the create committed first and the snapshot read below sees it, or it waits and then finds 'deleting'.
      // A refusal below throws, which rolls the change back.
      const res = await tx
        .updateTable('volumes')
        .set({ status: 'deleting', previous_status: v.status, updated_at: core.now() })
        .where('id', '=', id)
        .where('status', '=', v.status)
        .where('attach_status', '<>', 'attached')
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) throw badRequest(DELETE_REFUSED);
      const snaps = await tx
        .selectFrom('snapshots')
        .select(['id', 'status', 'project_id'])
        .where('volume_id', '=', id)
        .execute();
      if (snaps.length > 0) {
        if (!opts.cascade) throw badRequest(DELETE_REFUSED);
        if (snaps.some((s) => s.project_id !== v.project_id)) throw badRequest(DELETE_REFUSED);
        if (!opts.force && snaps.some((s) => !['available', 'error', 'deleting'].includes(s.status))) {
          throw badRequest('Invalid volume: Snapshot of volume not in a state that allows deletion.');
        }
      }
      const clones = await tx
        .selectFrom('volumes')
        .select('id')
        .where('status', '=', 'creating')
        .where('source_volid', '=', id)
        .executeTakeFirst();
      if (clones) throw badRequest(`Invalid volume: Volume ${id} is the source of a volume being created.`);
      if (snaps.length > 0) {
        await tx
          .updateTable('snapshots')
          .set({ status: 'deleting', updated_at: core.now() })
          .where('volume_id', '=', id)
          .execute();
      }
      await enqueue('volume.delete', 'volume', id, {});
    });
  }

  // ---- metadata ----

  private async metadataTarget(ctx: AuthContext, id: string, write: boolean, exec: Executor): Promise<VolumeTable> {
    const v = await this.core.visibleVolume(ctx, id, exec);
    if (write && (v.status === 'maintenance' || v.status === 'uploading')) {
      throw badRequest(`Invalid volume: Volume ${id} status must not be ${v.status} to update its metadata.`);
    }
    return v;
  }

  async getMetadata(ctx: AuthContext, id: string): Promise<Record<string, string>> {
    await this.metadataTarget(ctx, id, false, this.core.db);
    return readMetadata(this.core.db, 'volume', id);
  }

  async setMetadata(
    ctx: AuthContext,
    id: string,
    items: Record<string, string>,
    replace: boolean,
  ): Promise<Record<string, string>> {
    return this.core.inTx(async (tx) => {
      await this.metadataTarget(ctx, id, true, tx);
      await writeMetadata(tx, 'volume', id, items, replace);
      await tx.updateTable('volumes').set({ updated_at: this.core.now() }).where('id', '=', id).execute();
      return readMetadata(tx, 'volume', id);
    });
  }

  async getMetadataKey(ctx: AuthContext, id: string, key: string): Promise<string> {
    const md = await this.getMetadata(ctx, id);
    const v = md[key];
    if (v === undefined) throw notFound(`Volume ${id} has no metadata with key ${key}.`);
    return v;
  }

  async deleteMetadataKey(ctx: AuthContext, id: string, key: string): Promise<void> {
    await this.core.inTx(async (tx) => {
      await this.metadataTarget(ctx, id, true, tx);
      if (!(await deleteMetadataKey(tx, 'volume', id, key)))
        throw notFound(`Volume ${id} has no metadata with key ${key}.`);
    });
  }

  /** Bytes of a volume, for the download stream. */
  sizeBytes(v: VolumeTable): number {
    return v.size * GiB;
  }
}
