/**
 * The one data path of Cinder backups and CBR backups: freeze a hidden snapshot of the volume as the backup's
 * base, open it through the BlockSources port with the extents changed since the parent's base when the driver can
 * tell (otherwise the engine reads everything allocated and compares), run the repository's backup, give the
 * source back. And the bookkeeping of those bases, which both kinds keep for their next incremental: one base per
 * chain (a volume's Cinder backups; a disk's CBR backups in one vault), removed crash-safely.
 *
 * Removing a base first marks it unusable, then removes the driver object, then forgets the id, each step durable
 * before the next: a crash leaves a backup that still names what to remove but never a base whose bytes an
 * interrupted qcow2 merge may have changed.
 */
import type { Logger } from 'pino';
import type { BackupOptions, BackupResult, BackupStore } from '../domain/ports/backup-store.js';
import type { BackupBase, BackupBasesStore, BaseChain } from '../domain/ports/backups-store.js';
import type { BlockSources } from '../domain/ports/block-source.js';
import type { MetadataStore } from '../domain/ports/metadata-store.js';
import type { VolumeDriver } from '../domain/ports/volume-driver.js';
import { dropHidden, freezeHidden } from './block-storage/hidden-snapshots.js';

export class BackupBases {
  constructor(
    private readonly store: MetadataStore,
    private readonly bases: BackupBasesStore,
    private readonly logger: Logger,
  ) {}

  /** Removes `base` (a hidden snapshot of `volumeId`); idempotent. */
  async retire(driver: VolumeDriver, volumeId: string, base: BackupBase): Promise<void> {
    await this.bases.markUnusable(this.store.root, base.backupId, base.baseId, base.owner);
    await dropHidden(driver, volumeId, base.baseId);
    await this.bases.forget(this.store.root, base.backupId, base.baseId, base.owner);
  }

  /**
   * Keeps one base per chain: the newest backup's. Incrementals take the chain's newest backup as parent, so an
   * older base would never be compared against again, while every base pins a layer in the volume's chain (qcow2)
   * or shared blocks (reflink) and slows writes. Removing a qcow2 base merges layers: a Cinder backup calls this
   * while its volume is still `backing-up`.
   */
  async dropOlder(driver: VolumeDriver, chain: BaseChain, b: { id: string; created_at: string }): Promise<void> {
    const older = await this.bases.olderThan(this.store.root, { ...chain, exceptBackupId: b.id, createdAt: b.created_at });
    for (const o of older) {
      try {
        await this.retire(driver, chain.volumeId, o);
      } catch (err) {
        // The backup still names it, so the chain's next backup (or the backup's delete) tries again.
        this.logger.warn({ err, backup: o.backupId, base: o.baseId }, 'an older backup base could not be removed');
      }
    }
  }

  /**
   * Removes every base of a volume that leaves cinderbox, Cinder's and CBR's. On delete it runs after the volume's
   * own object is gone, so on qcow2 each base is simply unlinked; on unmanage the volume stays and each base is
   * merged back into it as a deleted snapshot would be, so the file handed over holds no hidden layer. No backup
   * runs then (the volume is `deleting` or `unmanaging`; a CBR backup that froze its snapshot before may still
   * be reading, and its task removes its own base when it sees the volume gone).
   */
  async dropVolumeBases(driver: VolumeDriver, volumeId: string): Promise<void> {
    for (const base of await this.bases.ofVolume(this.store.root, volumeId)) await this.retire(driver, volumeId, base);
  }
}

/** One backup's copy into the repository. */
export interface CopyRequest {
  driver: VolumeDriver;
  volumeId: string;
  /** A hidden snapshot to freeze now (the new base) and read; null: read `object` as it is. */
  freeze: string | null;
  /** What to read when nothing is frozen (a volume in place, a user snapshot). */
  object?: { kind: 'volume' | 'snapshot'; id: string };
  /** The parent's usable base: only what changed since it is read, when the driver can tell. */
  changedSince: string | null;
  /** Runs once the freeze is over (done or failed): CBR gives the volume back as soon as the image exists. */
  afterFreeze?: () => Promise<void>;
  /** The repository of the backup's target; default the data path's (the default target's). */
  repo?: BackupStore;
  /** The repository's backup options but the source's (path, extents, direct I/O). */
  backup: Omit<BackupOptions, 'sourcePath' | 'allocatedExtents' | 'changedExtents' | 'directIo'>;
}

export class BackupDataPath {
  readonly bases: BackupBases;

  constructor(
    private readonly deps: { store: MetadataStore; bases: BackupBasesStore; repo: BackupStore; sources: BlockSources; logger: Logger },
  ) {
    this.bases = new BackupBases(deps.store, deps.bases, deps.logger);
  }

  async copy(req: CopyRequest): Promise<BackupResult> {
    const { driver, backup } = req;
    const repo = req.repo ?? this.deps.repo;
    const signal = backup.signal;
    try {
      // With cheap snapshots the freeze is O(1); the frozen image stays as the base of the next incremental.
      if (req.freeze !== null) await freezeHidden(driver, req.volumeId, req.freeze, signal);
    } finally {
      await req.afterFreeze?.();
    }
    const object = req.freeze !== null ? { kind: 'snapshot' as const, id: req.freeze } : req.object;
    if (!object) throw new Error('a backup reads a frozen base or a named object');
    const source = await this.deps.sources.open(driver, object.kind, object.id, {
      changedSince: req.changedSince !== null ? { volumeId: req.volumeId, snapshotId: req.changedSince } : null,
      chunkSize: repo.chunkSize,
      ...(signal ? { signal } : {}),
      logger: this.deps.logger,
    });
    try {
      return await repo.backup({
        ...backup,
        sourcePath: source.path,
        allocatedExtents: source.allocatedExtents,
        // The driver's own file is read past the page cache; a temporary just written is read from it.
        directIo: !source.temporary,
        ...(backup.parent !== undefined && source.changedExtents !== null ? { changedExtents: source.changedExtents } : {}),
      });
    } finally {
      await source.release();
    }
  }
}
