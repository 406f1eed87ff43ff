/**
 * The lifecycle of backup bases (hidden snapshots kept for changed-block tracking, see hidden-snapshots.ts) in the
 * database: a backup names its base in `cbt_base_id` from the request on, and marks it usable
 * (`cbt_base_usable`) when it commits. Removal first marks it unusable, then removes the driver object, then
 * forgets the id, each step durable before the next: a crash leaves a backup that still names what to remove but
 * never a base whose bytes an interrupted qcow2 merge may have changed.
 */
import type { Logger } from 'pino';
import type { Backup } from '../../domain/backup.js';
import type { BackupsStore } from '../../domain/ports/backups-store.js';
import type { MetadataStore } from '../../domain/ports/metadata-store.js';
import type { VolumeDriver } from '../../domain/ports/volume-driver.js';
import { dropHidden } from './hidden-snapshots.js';

export class BackupBases {
  constructor(
    private readonly store: MetadataStore,
    private readonly backups: BackupsStore,
    private readonly logger: Logger,
  ) {}

  /** Removes backup `backupId`'s base `baseId` (a snapshot of `volumeId`); idempotent. */
  async retire(driver: VolumeDriver, volumeId: string, backupId: string, baseId: string): Promise<void> {
    await this.backups.bases.markUnusable(this.store.root, backupId, baseId);
    await dropHidden(driver, volumeId, baseId);
    await this.backups.bases.forget(this.store.root, backupId, baseId);
  }

  /**
   * The usable base of a backup, or null. A backup whose base exists is the newest volume backup of its volume
   * (see dropOlder), so this is what its next incremental compares against.
   */
  async usable(backupId: string): Promise<string | null> {
    const b = await this.backups.get(this.store.root, backupId);
    return b && b.cbt_base_usable ? b.cbt_base_id : null;
  }

  /**
   * Keeps one base per volume: the newest volume backup's. Incrementals always take the newest available backup
   * of the volume as parent, so an older base would never be compared against again, while every base pins a
   * layer in the volume's chain (qcow2) or shared blocks (reflink) and slows writes. Call while the volume is
   * still `backing-up`: removing a qcow2 base merges layers, which no other backup may be reading then.
   */
  async dropOlder(driver: VolumeDriver, b: Pick<Backup, 'id' | 'volume_id' | 'created_at'>): Promise<void> {
    const older = await this.backups.bases.olderThan(this.store.root, {
      volumeId: b.volume_id,
      exceptBackupId: b.id,
      createdAt: b.created_at,
    });
    for (const o of older) {
      try {
        await this.retire(driver, b.volume_id, o.backupId, o.baseId);
      } catch (err) {
        // The backup still names it, so the next backup of the volume (or the backup's delete) tries again.
        this.logger.warn({ err, backup: o.backupId, base: o.baseId }, 'an older backup base could not be removed');
      }
    }
  }

  /**
   * Removes every base of a volume that leaves cinderbox. On delete it runs after the volume's own object is gone,
   * so on qcow2 each base is simply unlinked; on unmanage the volume stays and each base is merged back into it as
   * a deleted snapshot would be, so the file handed over holds no hidden layer. No backup runs then (the volume is
   * `deleting` or `unmanaging`).
   */
  async dropVolumeBases(driver: VolumeDriver, volumeId: string): Promise<void> {
    for (const r of await this.backups.bases.ofVolume(this.store.root, volumeId))
      await this.retire(driver, volumeId, r.backupId, r.baseId);
  }
}
