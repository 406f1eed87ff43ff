import { randomUUID } from 'node:crypto';
import { type BackupRepository, isRepoError, makeLocator, type Manifest, verifyReport } from '../../backup-repo/index.js';
import type { AuthContext } from '../../domain/auth-context.js';
import { badRequest, notFound } from '../../domain/errors.js';
import type { Executor, Tx } from '../../store/database.js';
import type { BackupTable, VolumeTable } from '../../store/schema.js';
import { callerProject, canSee, requireAdmin } from './access.js';
import { backupFilterPolicy, backupTable } from './backup-filters.js';
import type { BackupProgress } from './backup-progress.js';
import { BACKUP_SERVICE, BACKUP_SERVICE_PREFIX, decodeBackupRecord, encodeBackupRecord } from './backup-record.js';
import { type Core, GiB, UUID_RE } from './core.js';
import { resolveFilters } from './filters.js';
import { listRows } from './listing.js';
import { readMetadata, readMetadataMany, writeMetadata } from './metadata-store.js';
import type { ListRequest, ListResult, Microversion, VolumeRecord } from './types.js';
import type { VolumeCreateInput, VolumeService } from './volume-service.js';

export const DEFAULT_CONTAINER = 'backups';
export const RESET_STATUSES = ['available', 'error'];

export interface BackupRecord {
  row: BackupTable;
  metadata: Record<string, string>;
  /** Some backup names this one as its parent (Cinder's num_dependent_backups > 0). */
  hasDependents: boolean;
}

export interface BackupCreateInput {
  volumeId: string;
  snapshotId: string | null;
  name: string | null;
  description: string | null;
  container: string | null;
  incremental: boolean;
  force: boolean;
  metadata: Record<string, string>;
  availabilityZone: string | null;
}

/** The source volume's state a restore gives back: its metadata and bootable flag. */
export interface VolumeInfo {
  metadata: Record<string, string>;
  bootable: boolean;
}

export interface BackupCreatePayload {
  driver: string;
  volumeId: string;
  snapshotId: string | null;
  /** Status the volume returns to (null when a snapshot is backed up: the volume is not touched). */
  previousStatus: string | null;
  parentLocator: string | null;
  /**
   * Hidden snapshot the backup takes of the volume and keeps as the changed-block tracking base (see
   * hidden-snapshots.ts); also on the row (`cbt_base_id`). null for snapshot backups and for drivers whose
   * snapshots are copies (the volume is then read in place while it is `backing-up`). Absent in older tasks.
   */
  baseId?: string | null;
}

export interface BackupRestorePayload {
  volumeId: string;
  /** The target is a new, empty volume: zero chunks are skipped. */
  fresh: boolean;
  /** `restore` made the volume (ends `error` on failure); `volume` = create volume from backup (3.47). */
  origin: 'existing' | 'restore' | 'volume';
}

export interface BackupProgressView {
  fraction: number;
  bytes_done: number;
  bytes_total: number;
  operation: 'backup' | 'restore' | null;
}

function repoToBadRequest(e: unknown): never {
  if (isRepoError(e)) throw badRequest(`Invalid backup: ${e.message}`);
  throw e;
}

export function parseVolumeInfo(text: string): VolumeInfo {
  try {
    const v = JSON.parse(text) as Partial<VolumeInfo>;
    const metadata: Record<string, string> = {};
    if (v.metadata && typeof v.metadata === 'object') {
      for (const [k, val] of Object.entries(v.metadata)) if (typeof val === 'string') metadata[k] = val;
    }
    return { metadata, bootable: v.bootable === true };
  } catch {
    return { metadata: {}, bootable: false };
  }
}

/** Cinder's backup API over the deduplicating backup repository. Bytes move in tasks (backup-tasks.ts). */
export class BackupService {
  constructor(
    private readonly core: Core,
    private readonly volumes: VolumeService,
    readonly repo: BackupRepository,
    readonly progressTracker: BackupProgress,
  ) {}

  private async row(exec: Executor, id: string): Promise<BackupTable | undefined> {
    if (!UUID_RE.test(id)) return undefined;
    return exec.selectFrom('backups').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async visibleBackup(ctx: AuthContext, id: string, exec: Executor = this.core.db): Promise<BackupTable> {
    const row = await this.row(exec, id);
    if (!row || !canSee(ctx, row.project_id)) throw notFound(`Backup ${id} could not be found.`);
    return row;
  }

  private async records(rows: BackupTable[], exec: Executor = this.core.db): Promise<BackupRecord[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.id);
    const [md, children] = await Promise.all([
      readMetadataMany(exec, 'backup', ids),
      exec.selectFrom('backups').select('parent_id').where('parent_id', 'in', ids).execute(),
    ]);
    const parents = new Set(children.map((c) => c.parent_id));
    return rows.map((row) => ({ row, metadata: md.get(row.id) ?? {}, hasDependents: parents.has(row.id) }));
  }

  private async record(row: BackupTable, exec: Executor = this.core.db): Promise<BackupRecord> {
    return (await this.records([row], exec))[0]!;
  }

  async create(ctx: AuthContext, input: BackupCreateInput): Promise<BackupRecord> {
    const core = this.core;
    const projectId = callerProject(ctx);
    const container = input.container ?? DEFAULT_CONTAINER;
    const id = randomUUID();
    try {
      makeLocator(container, id);
    } catch {
      throw badRequest(
        `Invalid input received: Container name ${JSON.stringify(container)} may only hold letters, digits, '.', '_' and '-'.`,
      );
    }
    const az = input.availabilityZone ?? core.deps.config.availabilityZone;
    if (az !== core.deps.config.availabilityZone)
      throw badRequest(`Invalid input received: Availability zone '${az}' is invalid.`);
    const row = await core.inTx(async (tx, enqueue) => {
      const v = await core.visibleVolume(ctx, input.volumeId, tx);
      let size = v.size;
      let dataTimestamp: string | null = null;
      let previousStatus: string | null = null;
      if (input.snapshotId !== null) {
        const s = await core.visibleSnapshot(ctx, input.snapshotId, tx);
        if (s.volume_id !== v.id)
          throw badRequest(`Invalid volume: Volume ${v.id} does not match with snapshot.volume_id ${s.volume_id}.`);
        if (s.status !== 'available')
          throw badRequest(
            `Invalid snapshot: Snapshot to be backed up must be available, but the current status is "${s.status}".`,
          );
        size = s.size;
        dataTimestamp = s.created_at;
        const moved = await tx
          .updateTable('snapshots')
          .set({ status: 'backing-up', updated_at: core.now() })
          .where('id', '=', s.id)
          .where('status', '=', 'available')
          .executeTakeFirst();
        if (Number(moved.numUpdatedRows) === 0)
          throw badRequest('Invalid snapshot: Snapshot to be backed up must be available.');
      } else {
        if (v.status !== 'available' && v.status !== 'in-use')
          throw badRequest(
            `Invalid volume: Volume to be backed up must be available or in-use, but the current status is "${v.status}".`,
          );
        if (v.status === 'in-use' && !input.force)
          throw badRequest('Invalid volume: Backing up an in-use volume must use the force flag.');
        previousStatus = v.status;
      }
      await core.deps.quotas.reserve(tx, projectId, { backups: 1, backup_gigabytes: size });
      let parent: BackupTable | undefined;
      if (input.incremental) {
        let q = tx
          .selectFrom('backups')
          .selectAll()
          .where('volume_id', '=', v.id)
          .where('project_id', '=', projectId)
          .where('status', '=', 'available')
          .where('locator', 'is not', null);
        if (dataTimestamp !== null) q = q.where('data_timestamp', '<', dataTimestamp);
        parent = await q.orderBy('data_timestamp', 'desc').orderBy('created_at', 'desc').limit(1).executeTakeFirst();
        if (!parent) throw badRequest('Invalid backup: No backups available to do an incremental backup.');
      }
      if (previousStatus !== null) {
        const moved = await tx
          .updateTable('volumes')
          .set({ status: 'backing-up', previous_status: previousStatus, updated_at: core.now() })
          .where('id', '=', v.id)
          .where('status', '=', previousStatus)
          .executeTakeFirst();
        if (Number(moved.numUpdatedRows) === 0)
          throw badRequest(`Invalid volume: Volume ${v.id} changed status while the backup was requested.`);
      }
      // Only where a snapshot is O(1): a hidden copy of a whole raw file per backup would cost more than it saves.
      const baseId = previousStatus !== null && core.driver(v.driver).capabilities.cheapSnapshots ? randomUUID() : null;
      const now = core.now();
      const info: VolumeInfo = { metadata: await readMetadata(tx, 'volume', v.id), bootable: Boolean(v.bootable) };
      const r: BackupTable = {
        id,
        project_id: projectId,
        user_id: ctx.userId,
        volume_id: v.id,
        snapshot_id: input.snapshotId,
        name: input.name,
        description: input.description,
        container,
        availability_zone: az,
        status: 'creating',
        fail_reason: null,
        size,
        object_count: 0,
        parent_id: parent?.id ?? null,
        data_timestamp: dataTimestamp ?? now,
        locator: null,
        stored_bytes: 0,
        data_bytes: 0,
        volume_info: JSON.stringify(info),
        host: core.deps.config.serviceHost,
        created_at: now,
        updated_at: null,
        cbt_base_id: baseId,
        cbt_base_usable: 0,
      };
      await tx.insertInto('backups').values(r).execute();
      await writeMetadata(tx, 'backup', id, input.metadata, true);
      const payload: BackupCreatePayload = {
        driver: v.driver,
        volumeId: v.id,
        snapshotId: input.snapshotId,
        previousStatus,
        parentLocator: parent?.locator ?? null,
        baseId,
      };
      await enqueue('backup.create', 'backup', id, payload);
      return r;
    });
    return this.record(row);
  }

  async get(ctx: AuthContext, id: string): Promise<BackupRecord> {
    return this.record(await this.visibleBackup(ctx, id));
  }

  async list(ctx: AuthContext, mv: Microversion, req: ListRequest): Promise<ListResult<BackupRecord>> {
    const scope = resolveFilters(ctx, mv, req.filters, backupFilterPolicy());
    const { rows, count, limit } = await listRows(this.core.db, backupTable(mv.atLeast('3.37')), scope, req, (m) =>
      notFound(`Backup ${m} could not be found.`),
    );
    return { items: await this.records(rows as unknown as BackupTable[]), count, limit };
  }

  async update(
    ctx: AuthContext,
    id: string,
    input: { name?: string | null; description?: string | null; metadata?: Record<string, string> },
  ): Promise<BackupRecord> {
    const core = this.core;
    const row = await core.inTx(async (tx) => {
      await this.visibleBackup(ctx, id, tx);
      const set: Partial<BackupTable> = { updated_at: core.now() };
      if (input.name !== undefined) set.name = input.name;
      if (input.description !== undefined) set.description = input.description;
      await tx.updateTable('backups').set(set).where('id', '=', id).execute();
      if (input.metadata !== undefined) await writeMetadata(tx, 'backup', id, input.metadata, true);
      return tx.selectFrom('backups').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    });
    return this.record(row);
  }

  /** DELETE (available/error) and os-force_delete (admin, any status); never while incrementals depend on it. */
  async delete(ctx: AuthContext, id: string, force = false): Promise<void> {
    const core = this.core;
    if (force) requireAdmin(ctx, 'volume_extension:backup_admin_actions:force_delete');
    await core.inTx(async (tx, enqueue) => {
      const b = await this.visibleBackup(ctx, id, tx);
      const from = force ? [b.status] : ['available', 'error'];
      if (!from.includes(b.status)) throw badRequest('Invalid backup: Backup status must be available or error');
      if (b.status === 'deleting') throw badRequest('Invalid backup: Backup is already being deleted.');
      const child = await tx.selectFrom('backups').select('id').where('parent_id', '=', id).executeTakeFirst();
      if (child) throw badRequest('Invalid backup: Incremental backups exist for this backup.');
      const res = await tx
        .updateTable('backups')
        .set({ status: 'deleting', updated_at: core.now() })
        .where('id', '=', id)
        .where('status', '=', b.status)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) throw badRequest('Invalid backup: Backup status changed.');
      await enqueue('backup.delete', 'backup', id, {});
    });
  }

  async resetStatus(ctx: AuthContext, id: string, status: string): Promise<void> {
    requireAdmin(ctx, 'volume_extension:backup_admin_actions:reset_status');
    await this.visibleBackup(ctx, id);
    if (!RESET_STATUSES.includes(status))
      throw badRequest(
        `Invalid input received: Backup status: ${status} is invalid, valid statuses are: ['available', 'error'].`,
      );
    await this.core.db
      .updateTable('backups')
      .set({ status, updated_at: this.core.now() })
      .where('id', '=', id)
      .execute();
  }

  /** Moves the backup to `restoring` inside `tx`; it must be available and hold data. */
  private async claimForRestore(tx: Tx, ctx: AuthContext, id: string): Promise<BackupTable> {
    const b = await this.visibleBackup(ctx, id, tx);
    if (b.status !== 'available' || b.locator === null)
      throw badRequest('Invalid backup: Backup status must be available');
    const res = await tx
      .updateTable('backups')
      .set({ status: 'restoring', updated_at: this.core.now() })
      .where('id', '=', id)
      .where('status', '=', 'available')
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) throw badRequest('Invalid backup: Backup status must be available');
    return b;
  }

  async restore(
    ctx: AuthContext,
    id: string,
    input: { volumeId: string | null; name: string | null },
  ): Promise<{ backup_id: string; volume_id: string; volume_name: string }> {
    const core = this.core;
    const b = await this.visibleBackup(ctx, id);
    if (b.status !== 'available' || b.locator === null)
      throw badRequest('Invalid backup: Backup status must be available');
    if (input.volumeId === null) {
      const rec = await this.volumes.create(ctx, {
        size: b.size,
        name: input.name ?? `restore_backup_${id}`,
        description: 'auto-created_from_restore_from_backup',
        metadata: {},
        snapshotId: null,
        sourceVolid: null,
        availabilityZone: null,
        volumeType: null,
        multiattach: false,
        fromBackup: (tx, volume, enqueue) => this.startRestoreIntoNew(tx, ctx, id, volume, enqueue, 'restore'),
      });
      return { backup_id: id, volume_id: rec.row.id, volume_name: rec.row.name ?? '' };
    }
    const volumeId = input.volumeId;
    const v = await core.inTx(async (tx, enqueue) => {
      const v = await core.visibleVolume(ctx, volumeId, tx);
      if (v.status !== 'available')
        throw badRequest('Invalid volume: Volume to be restored to must be available');
      if (v.size < b.size)
        throw badRequest(`Invalid volume: volume size ${v.size} is too small to restore backup of size ${b.size}.`);
      await this.claimForRestore(tx, ctx, id);
      const res = await tx
        .updateTable('volumes')
        .set({ status: 'restoring-backup', previous_status: v.status, updated_at: core.now() })
        .where('id', '=', v.id)
        .where('status', '=', 'available')
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0)
        throw badRequest('Invalid volume: Volume to be restored to must be available');
      const payload: BackupRestorePayload = { volumeId: v.id, fresh: false, origin: 'existing' };
      await enqueue('backup.restore', 'backup', id, payload);
      return v;
    });
    return { backup_id: id, volume_id: v.id, volume_name: v.name ?? '' };
  }

  private async startRestoreIntoNew(
    tx: Tx,
    ctx: AuthContext,
    backupId: string,
    volume: VolumeTable,
    enqueue: (kind: string, resourceType: string, resourceId: string, payload: unknown) => Promise<void>,
    origin: 'restore' | 'volume',
  ): Promise<void> {
    const b = await this.claimForRestore(tx, ctx, backupId);
    if (volume.size < b.size)
      throw badRequest(
        `Invalid input received: Volume size ${volume.size}GB cannot be smaller than the backup size ${b.size}GB.`,
      );
    await tx.updateTable('volumes').set({ backup_id: backupId }).where('id', '=', volume.id).execute();
    const payload: BackupRestorePayload = { volumeId: volume.id, fresh: true, origin };
    await enqueue('backup.restore', 'backup', backupId, payload);
  }

  /** Volume create with `backup_id` (3.47): a new volume of at least the backup's size, filled by a restore. */
  async createVolume(ctx: AuthContext, input: VolumeCreateInput, backupId: string): Promise<VolumeRecord> {
    const b = await this.visibleBackup(ctx, backupId);
    if (b.status !== 'available' || b.locator === null)
      throw badRequest('Invalid backup: Backup status must be available');
    return this.volumes.create(ctx, {
      ...input,
      size: input.size ?? b.size,
      fromBackup: (tx, volume, enqueue) => this.startRestoreIntoNew(tx, ctx, backupId, volume, enqueue, 'volume'),
    });
  }

  async exportRecord(ctx: AuthContext, id: string): Promise<{ backup_service: string; backup_url: string }> {
    requireAdmin(ctx, 'backup:export-import');
    const b = await this.visibleBackup(ctx, id);
    if (b.status !== 'available' || b.locator === null)
      throw badRequest('Invalid backup: Backup status must be available and not restoring.');
    const md = await readMetadata(this.core.db, 'backup', id);
    return { backup_service: BACKUP_SERVICE, backup_url: encodeBackupRecord(b, md, this.repo.repoId) };
  }

  /**
   * Import of an exported record: the manifest is found through the record's locator (never its id), checked
   * (checksum, this repository), and copied under the record's id, so either record can be deleted alone.
   */
  checkImportPolicy(ctx: AuthContext): void {
    requireAdmin(ctx, 'backup:backup-import');
  }

  async importRecord(ctx: AuthContext, service: string, url: string): Promise<BackupRecord> {
    this.checkImportPolicy(ctx);
    const core = this.core;
    const projectId = callerProject(ctx);
    if (!service.startsWith(BACKUP_SERVICE_PREFIX))
      throw badRequest(`Invalid input received: Backup service ${service} is not supported.`);
    const rec = decodeBackupRecord(url);
    let source: Manifest;
    try {
      source = await this.repo.readManifest(rec.locator);
    } catch (e) {
      repoToBadRequest(e);
    }
    if (source.header.repoId !== this.repo.repoId)
      throw badRequest('Invalid backup: The backup record belongs to another repository.');
    const h = source.header;
    const info = typeof h.meta.volume_info === 'string' ? h.meta.volume_info : '{}';
    const volumeId =
      typeof h.meta.volume_id === 'string' && UUID_RE.test(h.meta.volume_id)
        ? h.meta.volume_id
        : '00000000-0000-0000-0000-000000000000';
    const size = Math.max(1, Math.ceil(h.size / GiB));
    const now = core.now();
    const row: BackupTable = {
      id: rec.id,
      project_id: projectId,
      user_id: ctx.userId,
      volume_id: volumeId,
      snapshot_id: typeof h.meta.snapshot_id === 'string' ? h.meta.snapshot_id : null,
      name: rec.name,
      description: rec.description,
      container: h.container,
      availability_zone: core.deps.config.availabilityZone,
      status: 'creating',
      fail_reason: null,
      size,
      object_count: h.stats.chunks - h.stats.zeroChunks,
      parent_id: null,
      data_timestamp: typeof h.meta.data_timestamp === 'string' ? h.meta.data_timestamp : now,
      locator: null,
      stored_bytes: 0,
      data_bytes: h.stats.dataBytes,
      volume_info: info,
      host: core.deps.config.serviceHost,
      created_at: now,
      updated_at: null,
      cbt_base_id: null,
      cbt_base_usable: 0,
    };
    // The row claims the id first (primary key), so a concurrent import of the same id cannot share a manifest.
    await core.inTx(async (tx) => {
      if (await this.row(tx, rec.id)) throw badRequest('Invalid backup: Backup already exists in database.');
      await core.deps.quotas.reserve(tx, projectId, { backups: 1, backup_gigabytes: size });
      // Two imports of one id can both pass the check above on PostgreSQL (READ COMMITTED); the key decides.
      await tx
        .insertInto('backups')
        .values(row)
        .execute()
        .catch((e: unknown) => {
          const code = String((e as { code?: unknown } | null)?.code ?? '');
          if (code === '23505' || code.startsWith('SQLITE_CONSTRAINT')) throw badRequest('Invalid backup: Backup already exists in database.');
          throw e;
        });
      await writeMetadata(tx, 'backup', rec.id, rec.metadata, true);
    });
    let locator: string;
    try {
      // No live row has this id, so a manifest under it is a leftover of a deleted backup.
      const target = makeLocator(h.container, rec.id);
      if (target !== rec.locator) await this.repo.deleteManifest(target);
      locator = target === rec.locator ? target : (await this.repo.copyManifest(rec.locator, { id: rec.id })).locator;
    } catch (e) {
      await core.inTx(async (tx) => {
        await tx.deleteFrom('backups').where('id', '=', rec.id).execute();
        await writeMetadata(tx, 'backup', rec.id, {}, true);
        await core.deps.quotas.release(tx, projectId, { backups: 1, backup_gigabytes: size });
      });
      repoToBadRequest(e);
    }
    const done = await core.db
      .updateTable('backups')
      .set({ status: 'available', locator, updated_at: core.now() })
      .where('id', '=', rec.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    return this.record(done);
  }

  async progress(ctx: AuthContext, id: string): Promise<BackupProgressView> {
    const b = await this.visibleBackup(ctx, id);
    const p = this.progressTracker.get(id);
    if (p) {
      return {
        fraction: p.bytesTotal > 0 ? Math.min(1, p.bytesDone / p.bytesTotal) : 0,
        bytes_done: p.bytesDone,
        bytes_total: p.bytesTotal,
        operation: p.operation,
      };
    }
    const total = b.size * GiB;
    const complete = b.status === 'available' || b.status === 'restoring';
    return { fraction: complete ? 1 : 0, bytes_done: complete ? total : 0, bytes_total: total, operation: null };
  }

  async verifyRepository(ctx: AuthContext, full: boolean) {
    requireAdmin(ctx, 'cinderbox:repo_verify');
    return verifyReport(await this.repo.verify({ full }));
  }

  async gcRepository(ctx: AuthContext, opts: { graceSeconds: number; dryRun: boolean }) {
    requireAdmin(ctx, 'cinderbox:repo_gc');
    const r = await this.repo.gc({ graceMs: opts.graceSeconds * 1000, dryRun: opts.dryRun });
    return {
      manifests: r.manifests,
      chunks: r.chunks,
      deleted: r.deleted,
      deleted_bytes: r.deletedBytes,
      kept_in_grace: r.keptInGrace,
      dry_run: opts.dryRun,
    };
  }
}
