/**
 * The lifecycle of backup bases (hidden snapshots kept for changed-block tracking, see hidden-snapshots.ts) in the
 * database: a backup row names its base in `cbt_base_id` from the request on, and marks it usable
 * (`cbt_base_usable`) when it commits. Removal first marks it unusable, then removes the driver object, then
 * forgets the id, each step durable before the next: a crash leaves a row that still names what to remove but
 * never a base whose bytes an interrupted qcow2 merge may have changed.
 */
import type { VolumeDriver } from '../../domain/ports/volume-driver.js';
import type { LegacyCore as Core } from './legacy-core.js';
import { dropHidden } from './hidden-snapshots.js';

/** Removes backup `backupId`'s base `baseId` (a snapshot of `volumeId`); idempotent. */
export async function retireBase(
  core: Core,
  driver: VolumeDriver,
  volumeId: string,
  backupId: string,
  baseId: string,
): Promise<void> {
  const row = () => core.db.updateTable('backups').where('id', '=', backupId).where('cbt_base_id', '=', baseId);
  await row().set({ cbt_base_usable: 0 }).execute();
  await dropHidden(driver, volumeId, baseId);
  await row().set({ cbt_base_id: null }).execute();
}

/**
 * The usable base of a backup, or null. A backup whose base exists is the newest volume backup of its volume
 * (see dropOlderBases), so this is what its next incremental compares against.
 */
export async function usableBase(core: Core, backupId: string): Promise<string | null> {
  const r = await core.db
    .selectFrom('backups')
    .select(['cbt_base_id', 'cbt_base_usable'])
    .where('id', '=', backupId)
    .executeTakeFirst();
  return r && r.cbt_base_usable === 1 ? r.cbt_base_id : null;
}

/**
 * Keeps one base per volume: the newest volume backup's. Incrementals always take the newest available backup
 * of the volume as parent, so an older base would never be compared against again, while every base pins a
 * layer in the volume's chain (qcow2) or shared blocks (reflink) and slows writes. Call while the volume is
 * still `backing-up`: removing a qcow2 base merges layers, which no other backup may be reading then.
 */
export async function dropOlderBases(
  core: Core,
  driver: VolumeDriver,
  b: { id: string; volume_id: string; created_at: string },
): Promise<void> {
  const older = await core.db
    .selectFrom('backups')
    .select(['id', 'cbt_base_id'])
    .where('volume_id', '=', b.volume_id)
    .where('cbt_base_id', 'is not', null)
    .where('id', '<>', b.id)
    .where('created_at', '<=', b.created_at)
    .where('status', '<>', 'creating')
    .execute();
  for (const o of older) {
    try {
      await retireBase(core, driver, b.volume_id, o.id, o.cbt_base_id!);
    } catch (err) {
      // The row still names it, so the next backup of the volume (or the backup's delete) tries again.
      core.deps.logger.warn({ err, backup: o.id, base: o.cbt_base_id }, 'an older backup base could not be removed');
    }
  }
}

/**
 * Removes every base of a volume that leaves cinderbox. On delete it runs after the volume's own object is gone,
 * so on qcow2 each base is simply unlinked; on unmanage the volume stays and each base is merged back into it as a
 * deleted snapshot would be, so the file handed over holds no hidden layer. No backup runs then (the volume is
 * `deleting` or `unmanaging`).
 */
export async function dropVolumeBases(core: Core, driver: VolumeDriver, volumeId: string): Promise<void> {
  const rows = await core.db
    .selectFrom('backups')
    .select(['id', 'cbt_base_id'])
    .where('volume_id', '=', volumeId)
    .where('cbt_base_id', 'is not', null)
    .execute();
  for (const r of rows) await retireBase(core, driver, volumeId, r.id, r.cbt_base_id!);
}
