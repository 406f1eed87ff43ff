/**
 * Hidden driver snapshots for backups (Cinder backups and CBR): a point-in-time image of a volume that exists only
 * as a driver object, never as a `snapshots` row, so no API lists it, counts it against quotas or refuses a volume
 * delete because of it. Whoever creates one records its id in the database first (the backup row), so that the
 * failure path and crash recovery always know what to remove.
 *
 * A backup reads such a snapshot through the BlockSources port (domain/ports/block-source.ts), which also asks the
 * driver what changed since an earlier hidden snapshot (changed-block tracking); services/backup-data-path.ts is
 * the one place that does so, for Cinder and CBR backups alike.
 */
import type { HiddenSnapshotLookup } from '../../domain/ports/block-storage-store.js';
import type { Scope } from '../../domain/ports/metadata-store.js';
import type { VolumeDriver } from '../../domain/ports/volume-driver.js';

/**
 * The names among `names` (backend object names of `driver`) that are hidden snapshots: backup bases and the
 * snapshots CBR backups read. Listings of unmanaged objects leave them out, so nobody manages them away.
 */
export async function hiddenSnapshotNames(
  lookup: HiddenSnapshotLookup,
  scope: Scope,
  driver: VolumeDriver,
  names: string[],
): Promise<Set<string>> {
  const byId = new Map<string, string>();
  for (const name of names) {
    const m = /^_snapshot-(.+)$/.exec(name);
    if (m && driver.objectName('snapshot', m[1]!) === name) byId.set(m[1]!, name);
  }
  const out = new Set<string>();
  for (const id of await lookup.claimed(scope, [...byId.keys()])) out.add(byId.get(id)!);
  return out;
}

/** Freezes the volume's current bytes under `snapshotId`; O(1) on drivers with cheap snapshots. */
export async function freezeHidden(
  driver: VolumeDriver,
  volumeId: string,
  snapshotId: string,
  signal?: AbortSignal,
): Promise<void> {
  await driver.createSnapshot(volumeId, snapshotId, signal ? { signal } : {});
}

/**
 * Removes a hidden snapshot (and the leftovers of an interrupted create); no error when it does not exist, so
 * cleanup paths may call it whether or not the create ever ran.
 */
export async function dropHidden(driver: VolumeDriver, volumeId: string, snapshotId: string): Promise<void> {
  await driver.deleteSnapshot(volumeId, snapshotId);
}
