import { randomUUID } from 'node:crypto';
import { type BackupManifest, type BackupStore, gcReport, isRepoError, verifyReport } from '../../domain/ports/backup-store.js';
import type { AuthContext } from '../../domain/auth-context.js';
import {
  type Backup,
  backupLifecycle,
  backupRefusals,
  backupSourceVolume,
  ensureResetTarget,
  holdsData,
  parseVolumeInfo,
  type VolumeInfo,
} from '../../domain/backup.js';
import { badRequest, notFound } from '../../domain/errors.js';
import { isLocked, lockedUntilFor } from '../../domain/immutability.js';
import { keystoneTime } from '../../domain/time.js';
import { ensureAllowed, fromStatuses, refusal } from '../../domain/lifecycle.js';
import { snapshotLifecycle } from '../../domain/snapshot.js';
import { volumeLifecycle } from '../../domain/volume.js';
import type { BackupsStore } from '../../domain/ports/backups-store.js';
import { BACKUP_SERVICE_OF, type BackupTargets } from '../../domain/ports/backup-targets.js';
import type { MetadataStore, Scope } from '../../domain/ports/metadata-store.js';
import { callerProject, canSee, requireAdmin } from './access.js';
import { backupFilterPolicy, backupSort } from './backup-filters.js';
import type { BackupProgress } from './backup-progress.js';
import { BACKUP_SERVICE, BACKUP_SERVICE_PREFIX, decodeBackupRecord, encodeBackupRecord } from './backup-record.js';
import { type Core, GiB, UUID_RE } from './core.js';
import { resolveFilters } from './filters.js';
import { listQuery } from './listing.js';
import { recordMessage } from './message-service.js';
import type { ListRequest, ListResult, Microversion, VolumeRecord } from './types.js';
import type { VolumeCreateInput, VolumeService } from './volume-service.js';

export const DEFAULT_CONTAINER = 'backups';

export interface BackupRecord {
  backup: Backup;
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

export interface BackupCreatePayload {
  driver: string;
  volumeId: string;
  snapshotId: string | null;
  /** Status the volume returns to (null when a snapshot is backed up: the volume is not touched). */
  previousStatus: string | null;
  parentLocator: string | null;
  /**
   * Hidden snapshot the backup takes of the volume and keeps as the changed-block tracking base (see
   * hidden-snapshots.ts); also on the backup (`cbt_base_id`). null for snapshot backups and for drivers whose
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

type Enqueue = (kind: string, resourceType: string, resourceId: string, payload: unknown) => Promise<void>;

function repoToBadRequest(e: unknown): never {
  if (isRepoError(e)) throw badRequest(`Invalid backup: ${e.message}`);
  throw e;
}

/** A restore needs the manifest: an `available` backup without one was reset by an admin after a failure. */
function ensureRestorable(b: Backup): void {
  ensureAllowed(backupLifecycle, 'restore', b);
  if (b.locator === null) throw refusal(backupLifecycle, 'restore', b);
}

/** Cinder's backup API over the deduplicating backup repository. Bytes move in tasks (backup-tasks.ts). */
export class BackupService {
  constructor(
    private readonly core: Core,
    private readonly volumes: VolumeService,
    private readonly store: MetadataStore,
    private readonly backups: BackupsStore,
    readonly targets: BackupTargets,
    readonly progressTracker: BackupProgress,
  ) {}

  /** The default target's repository. */
  get repo(): BackupStore {
    return this.targets.repo(this.targets.defaultName);
  }

  /**
   * The target a new backup goes to: the one its container names exactly (as Cinder's S3 and Swift drivers take
   * the container as the bucket), otherwise the default target, where the container stays Cinder's free-form
   * namespace.
   */
  targetFor(container: string | null): string {
    return container !== null && this.targets.info(container) ? container : this.targets.defaultName;
  }

  /** A target named by an API caller (repo verify/gc): the default when none, 404-free 400 for an unknown one. */
  private namedTarget(name: string | undefined): BackupStore {
    if (name === undefined) return this.repo;
    if (!this.targets.info(name)) {
      const known = this.targets.list().map((t) => t.name).join(', ');
      throw badRequest(`Invalid input received: Backup target ${JSON.stringify(name)} is not configured (configured: ${known}).`);
    }
    return this.targets.repo(name);
  }

  private async find(scope: Scope, id: string): Promise<Backup | undefined> {
    if (!UUID_RE.test(id)) return undefined;
    return this.backups.get(scope, id);
  }

  async visibleBackup(ctx: AuthContext, id: string, scope: Scope = this.store.root): Promise<Backup> {
    const b = await this.find(scope, id);
    if (!b || !canSee(ctx, b.project_id)) throw notFound(`Backup ${id} could not be found.`);
    return b;
  }

  private async records(list: Backup[], scope: Scope = this.store.root): Promise<BackupRecord[]> {
    if (list.length === 0) return [];
    const ids = list.map((b) => b.id);
    const [md, parents] = await Promise.all([
      this.backups.metadataOf(scope, ids),
      this.backups.withDependents(scope, ids),
    ]);
    return list.map((backup) => ({ backup, metadata: md.get(backup.id) ?? {}, hasDependents: parents.has(backup.id) }));
  }

  private async record(b: Backup, scope: Scope = this.store.root): Promise<BackupRecord> {
    return (await this.records([b], scope))[0]!;
  }

  async create(ctx: AuthContext, input: BackupCreateInput): Promise<BackupRecord> {
    const core = this.core;
    const projectId = callerProject(ctx);
    const container = input.container ?? DEFAULT_CONTAINER;
    const target = this.targetFor(input.container);
    const id = randomUUID();
    try {
      this.targets.repo(target).makeLocator(container, id);
    } catch {
      throw badRequest(
        `Invalid input received: Container name ${JSON.stringify(container)} may only hold letters, digits, '.', '_' and '-'.`,
      );
    }
    const az = input.availabilityZone ?? core.deps.config.availabilityZone;
    if (az !== core.deps.config.availabilityZone)
      throw badRequest(`Invalid input received: Availability zone '${az}' is invalid.`);
    const created = await core.inTx(async (t, enqueue) => {
      const tx = t;
      const v = await core.visibleVolume(ctx, input.volumeId, tx);
      // Cinder's scheduler finds no enabled, up backup service: the backup is recorded in `error` with a user
      // message, and the volume or snapshot is left as it was (the checks below still answer 400 first).
      const serviceUp = (await core.deps.availability?.backupServiceAvailable(az, tx)) ?? true;
      let size = v.size;
      let dataTimestamp: string | null = null;
      let previousStatus: string | null = null;
      if (input.snapshotId !== null) {
        const s = await core.visibleSnapshot(ctx, input.snapshotId, tx);
        if (s.volume_id !== v.id)
          throw badRequest(`Invalid volume: Volume ${v.id} does not match with snapshot.volume_id ${s.volume_id}.`);
        ensureAllowed(snapshotLifecycle, 'backup', s);
        size = s.size;
        dataTimestamp = s.created_at;
        if (serviceUp && !(await core.repos.snapshots.transition(tx, s.id, ['available'], 'backing-up', { updated_at: core.now() })).ok)
          throw badRequest('Invalid snapshot: Snapshot to be backed up must be available.');
      } else {
        if (input.force) ensureAllowed(volumeLifecycle, 'backup', v);
        else ensureAllowed(backupSourceVolume, 'backup', v);
        previousStatus = v.status;
      }
      await core.deps.quotas.reserve(tx, projectId, { backups: 1, backup_gigabytes: size });
      let parent: Backup | undefined;
      if (input.incremental) {
        parent = await this.backups.latestForIncremental(tx, { volumeId: v.id, projectId, before: dataTimestamp });
        if (!parent) throw backupRefusals.noParent();
        // Chunks are shared within a target only: an incremental on another target would have no parent there.
        if (parent.backup_target !== target)
          throw badRequest(
            `Invalid backup: The latest backup of volume ${v.id} is on backup target ${JSON.stringify(parent.backup_target)}, not ${JSON.stringify(target)}; make a full backup there first.`,
          );
      }
      const claimed =
        previousStatus === null ||
        !serviceUp ||
        (
          await core.repos.volumes.transition(tx, v.id, [previousStatus], 'backing-up', {
            previous_status: previousStatus,
            updated_at: core.now(),
          })
        ).ok;
      if (!claimed)
        throw badRequest(`Invalid volume: Volume ${v.id} changed status while the backup was requested.`);
      // Only where a snapshot is O(1): a hidden copy of a whole raw file per backup would cost more than it saves.
      const baseId = previousStatus !== null && core.driver(v.driver).capabilities.cheapSnapshots ? randomUUID() : null;
      const now = core.now();
      const info: VolumeInfo = {
        metadata: await core.repos.metadata.read(tx, 'volume', v.id),
        bootable: Boolean(v.bootable),
      };
      const b: Backup = {
        id,
        project_id: projectId,
        user_id: ctx.userId,
        volume_id: v.id,
        snapshot_id: input.snapshotId,
        name: input.name,
        description: input.description,
        container,
        availability_zone: az,
        status: serviceUp ? 'creating' : 'error',
        fail_reason: serviceUp ? null : 'Service not found for creating backup.',
        size,
        object_count: 0,
        parent_id: parent?.id ?? null,
        data_timestamp: dataTimestamp ?? now,
        locator: null,
        stored_bytes: 0,
        data_bytes: 0,
        volume_info: info,
        // The backup service that runs it: a node-local volume's own node (no other can read it), else this one.
        host: backupHostFor(core, v),
        created_at: now,
        updated_at: null,
        cbt_base_id: baseId,
        cbt_base_usable: false,
        backup_target: target,
        locked_until: lockedUntilFor(now, this.targets.info(target)?.lockDays),
      };
      await this.backups.insert(tx, b);
      await this.backups.replaceMetadata(tx, id, input.metadata);
      const payload: BackupCreatePayload = {
        driver: v.driver,
        volumeId: v.id,
        snapshotId: input.snapshotId,
        previousStatus,
        parentLocator: parent?.locator ?? null,
        baseId,
      };
      if (serviceUp) await enqueue('backup.create', 'backup', id, payload);
      else
        await recordMessage(core, tx, {
          projectId,
          resourceType: 'VOLUME_BACKUP',
          resourceUuid: id,
          action: 'BACKUP_CREATE',
          detail: 'BACKUP_SCHEDULE_ERROR',
        });
      return b;
    });
    return this.record(created);
  }

  async get(ctx: AuthContext, id: string): Promise<BackupRecord> {
    return this.record(await this.visibleBackup(ctx, id));
  }

  async list(ctx: AuthContext, mv: Microversion, req: ListRequest): Promise<ListResult<BackupRecord>> {
    const where = resolveFilters(ctx, mv, req.filters, backupFilterPolicy());
    const q = listQuery(backupSort(mv.atLeast('3.37')), where, req);
    const page = await this.backups.list(this.store.root, q);
    if (!page.ok) throw notFound(`Backup ${req.marker} could not be found.`);
    return { items: await this.records(page.items), count: page.count, limit: q.limit };
  }

  async update(
    ctx: AuthContext,
    id: string,
    input: { name?: string | null; description?: string | null; metadata?: Record<string, string> },
  ): Promise<BackupRecord> {
    const updated = await this.store.transaction(async (tx) => {
      await this.visibleBackup(ctx, id, tx);
      const b = await this.backups.update(tx, id, {
        updated_at: this.core.now(),
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
      });
      if (!b) throw notFound(`Backup ${id} could not be found.`);
      if (input.metadata !== undefined) await this.backups.replaceMetadata(tx, id, input.metadata);
      return b;
    });
    return this.record(updated);
  }

  /** DELETE (available/error) and os-force_delete (admin, any status); never while incrementals depend on it. */
  async delete(ctx: AuthContext, id: string, force = false): Promise<void> {
    const core = this.core;
    if (force) requireAdmin(ctx, 'volume_extension:backup_admin_actions:force_delete');
    const action = force ? 'forceDelete' : 'delete';
    await core.inTx(async (t, enqueue) => {
      const tx = t;
      const b = await this.visibleBackup(ctx, id, tx);
      // Immutable (cinderbox extension): not even an administrator's force delete goes before the retention ends.
      if (isLocked(b, core.now()))
        throw badRequest(
          `Invalid backup: Backup ${id} is immutable until ${keystoneTime(b.locked_until!)}; it cannot be deleted before its retention ends.`,
        );
      const rule = ensureAllowed(backupLifecycle, action, b);
      // Not a status rule: Cinder refuses while an incremental names this backup as its parent, forced or not.
      if (await this.backups.hasDependents(tx, id)) throw backupRefusals.hasDependents();
      // Guarded on the status just read, so a concurrent change between the read and the update is noticed.
      const moved = await this.backups.transition(tx, id, [b.status], rule.to ?? null, { updated_at: core.now() });
      if (!moved.ok) throw backupRefusals.statusChanged();
      await enqueue('backup.delete', 'backup', id, {});
    });
  }

  async resetStatus(ctx: AuthContext, id: string, status: string): Promise<void> {
    requireAdmin(ctx, 'volume_extension:backup_admin_actions:reset_status');
    await this.visibleBackup(ctx, id);
    const to = ensureResetTarget(status);
    await this.backups.transition(this.store.root, id, fromStatuses(backupLifecycle, 'resetStatus'), to, {
      updated_at: this.core.now(),
    });
  }

  /** Moves the backup to `restoring` inside `tx`; it must be available and hold data. */
  private async claimForRestore(tx: Scope, ctx: AuthContext, id: string): Promise<Backup> {
    const b = await this.visibleBackup(ctx, id, tx);
    ensureRestorable(b);
    const rule = backupLifecycle.actions.restore;
    const moved = await this.backups.transition(tx, id, fromStatuses(backupLifecycle, 'restore'), rule.to!, {
      updated_at: this.core.now(),
    });
    if (!moved.ok) {
      if (moved.reason === 'gone') throw notFound(`Backup ${id} could not be found.`);
      throw refusal(backupLifecycle, 'restore', { id, status: moved.status });
    }
    return moved.record;
  }

  async restore(
    ctx: AuthContext,
    id: string,
    input: { volumeId: string | null; name: string | null },
  ): Promise<{ backup_id: string; volume_id: string; volume_name: string }> {
    const core = this.core;
    const b = await this.visibleBackup(ctx, id);
    ensureRestorable(b);
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
      return { backup_id: id, volume_id: rec.volume.id, volume_name: rec.volume.name ?? '' };
    }
    const volumeId = input.volumeId;
    const v = await core.inTx(async (t, enqueue) => {
      const tx = t;
      const v = await core.visibleVolume(ctx, volumeId, tx);
      ensureAllowed(volumeLifecycle, 'restoreBackup', v);
      if (v.size < b.size)
        throw badRequest(`Invalid volume: volume size ${v.size} is too small to restore backup of size ${b.size}.`);
      await this.claimForRestore(tx, ctx, id);
      if (!(await core.repos.volumes.transition(tx, v.id, ['available'], 'restoring-backup', { previous_status: 'available', updated_at: core.now() })).ok)
        throw refusal(volumeLifecycle, 'restoreBackup', v);
      const payload: BackupRestorePayload = { volumeId: v.id, fresh: false, origin: 'existing' };
      await enqueue('backup.restore', 'backup', id, payload);
      return v;
    });
    return { backup_id: id, volume_id: v.id, volume_name: v.name ?? '' };
  }

  private async startRestoreIntoNew(
    tx: Scope,
    ctx: AuthContext,
    backupId: string,
    volume: { id: string; size: number },
    enqueue: Enqueue,
    origin: 'restore' | 'volume',
  ): Promise<void> {
    const b = await this.claimForRestore(tx, ctx, backupId);
    if (volume.size < b.size)
      throw badRequest(
        `Invalid input received: Volume size ${volume.size}GB cannot be smaller than the backup size ${b.size}GB.`,
      );
    await this.core.repos.volumes.update(tx, volume.id, { backup_id: backupId });
    const payload: BackupRestorePayload = { volumeId: volume.id, fresh: true, origin };
    await enqueue('backup.restore', 'backup', backupId, payload);
  }

  /** Volume create with `backup_id` (3.47): a new volume of at least the backup's size, filled by a restore. */
  async createVolume(ctx: AuthContext, input: VolumeCreateInput, backupId: string): Promise<VolumeRecord> {
    const b = await this.visibleBackup(ctx, backupId);
    ensureRestorable(b);
    return this.volumes.create(ctx, {
      ...input,
      size: input.size ?? b.size,
      fromBackup: (tx, volume, enqueue) =>
        this.startRestoreIntoNew(tx, ctx, backupId, volume, enqueue, 'volume'),
    });
  }

  async exportRecord(ctx: AuthContext, id: string): Promise<{ backup_service: string; backup_url: string }> {
    requireAdmin(ctx, 'backup:export-import');
    const b = await this.visibleBackup(ctx, id);
    ensureAllowed(backupLifecycle, 'exportRecord', b);
    if (b.locator === null) throw refusal(backupLifecycle, 'exportRecord', b);
    const md = await this.backups.metadata(this.store.root, id);
    const kind = this.targets.info(b.backup_target)?.kind;
    if (!kind) throw badRequest(`Invalid backup: Backup target ${JSON.stringify(b.backup_target)} is not configured on this server.`);
    const service = BACKUP_SERVICE_OF[kind];
    const repoId = this.targets.repo(b.backup_target).repoId;
    return { backup_service: service, backup_url: encodeBackupRecord(b, md, repoId, service) };
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
    const targetInfo = this.targets.info(rec.target);
    if (!targetInfo)
      throw badRequest(
        `Invalid input received: The backup record is on backup target ${JSON.stringify(rec.target)}, which is not configured on this server.`,
      );
    if (service !== BACKUP_SERVICE && service !== BACKUP_SERVICE_OF[targetInfo.kind])
      throw badRequest(
        `Invalid input received: Backup service ${service} does not match backup target ${JSON.stringify(rec.target)} (${BACKUP_SERVICE_OF[targetInfo.kind]}).`,
      );
    const repo = this.targets.repo(rec.target);
    let source: BackupManifest;
    try {
      source = await repo.readManifest(rec.locator);
    } catch (e) {
      repoToBadRequest(e);
    }
    if (source.header.repoId !== repo.repoId)
      throw badRequest('Invalid backup: The backup record belongs to another repository.');
    const h = source.header;
    const info = parseVolumeInfo(typeof h.meta.volume_info === 'string' ? h.meta.volume_info : '{}');
    const volumeId =
      typeof h.meta.volume_id === 'string' && UUID_RE.test(h.meta.volume_id)
        ? h.meta.volume_id
        : '00000000-0000-0000-0000-000000000000';
    const size = Math.max(1, Math.ceil(h.size / GiB));
    const now = core.now();
    const imported: Backup = {
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
      cbt_base_usable: false,
      backup_target: rec.target,
      // An imported record's manifest copy is not retained on the store: it claims no lock it does not have.
      locked_until: null,
    };
    // The row claims the id first (primary key), so a concurrent import of the same id cannot share a manifest.
    await this.store.transaction(async (tx) => {
      if (await this.backups.get(tx, rec.id)) throw backupRefusals.alreadyExists();
      await core.deps.quotas.reserve(tx, projectId, { backups: 1, backup_gigabytes: size });
      // On PostgreSQL two imports of one id can both pass the check above; the key decides, the loser is refused.
      if (!(await this.backups.insert(tx, imported))) throw backupRefusals.alreadyExists();
      await this.backups.replaceMetadata(tx, rec.id, rec.metadata);
    });
    let locator: string;
    try {
      // No live backup has this id, so a manifest under it is a leftover of a deleted backup.
      const target = repo.makeLocator(h.container, rec.id);
      if (target !== rec.locator) await repo.deleteManifest(target);
      locator = target === rec.locator ? target : (await repo.copyManifest(rec.locator, { id: rec.id })).locator;
    } catch (e) {
      await this.store.transaction(async (tx) => {
        await this.backups.remove(tx, rec.id);
        await core.deps.quotas.release(tx, projectId, { backups: 1, backup_gigabytes: size });
      });
      repoToBadRequest(e);
    }
    const rule = backupLifecycle.actions.importDone;
    const done = await this.backups.transition(this.store.root, rec.id, fromStatuses(backupLifecycle, 'importDone'), rule.to!, {
      locator,
      updated_at: core.now(),
    });
    if (!done.ok) {
      // Force-deleted while the manifest was copied: the copy belongs to nobody.
      await repo.deleteManifest(locator).catch(() => false);
      throw done.reason === 'gone'
        ? notFound(`Backup ${rec.id} could not be found.`)
        : refusal(backupLifecycle, 'importDone', { id: rec.id, status: done.status });
    }
    return this.record(done.record);
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
    const complete = holdsData(b.status);
    return { fraction: complete ? 1 : 0, bytes_done: complete ? total : 0, bytes_total: total, operation: null };
  }

  /** Checks one target's repository (the default target's without `target`). */
  async verifyRepository(ctx: AuthContext, full: boolean, target?: string) {
    requireAdmin(ctx, 'cinderbox:repo_verify');
    const repo = this.namedTarget(target);
    return { ...verifyReport(await repo.verify({ full })), target: target ?? this.targets.defaultName };
  }

  async gcRepository(ctx: AuthContext, opts: { graceSeconds: number; dryRun: boolean; target?: string }) {
    requireAdmin(ctx, 'cinderbox:repo_gc');
    const repo = this.namedTarget(opts.target);
    const r = await repo.gc({ graceMs: opts.graceSeconds * 1000, dryRun: opts.dryRun });
    return gcReport(r, opts.dryRun, opts.target ?? this.targets.defaultName);
  }
}

/** The node a backup of `v` runs on when only one may: the owner of a volume on a node-local backend. */
function backupHostFor(core: Core, v: { host: string | null; driver: string }): string {
  const backend = core.deps.config.backends.find((b) => b.name === v.driver);
  if (!v.host || backend?.driver === 'rbd') return core.deps.config.serviceHost;
  return v.host.split(/[@#]/)[0]!;
}
