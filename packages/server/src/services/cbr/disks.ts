import type { VolumesRepository } from '../../domain/ports/block-storage-store.js';
import type { CbrDisk, CbrDiskAccess, Transition } from '../../domain/ports/cbr-store.js';
import type { Volume } from '../../domain/volume.js';

/** CBR's view of a block-storage volume: the fields vaults, checkpoints and restores read. */
function diskOf(v: Volume): CbrDisk {
  return {
    id: v.id,
    project_id: v.project_id,
    name: v.name,
    size: v.size,
    status: v.status,
    availability_zone: v.availability_zone,
    bootable: v.bootable,
    driver: v.driver,
  };
}

/**
 * CBR reads and claims disks through block storage's own volume repository (one source of truth for volume rows,
 * one guarded transition), narrowed to what CBR needs.
 */
export function cbrDiskAccess(volumes: VolumesRepository, now: () => string): CbrDiskAccess {
  return {
    async get(scope, id) {
      const v = await volumes.get(scope, id);
      return v && diskOf(v);
    },

    async sizes(scope, ids) {
      const found = await Promise.all(ids.map((id) => volumes.get(scope, id)));
      return new Map(found.filter((v): v is Volume => v !== undefined).map((v) => [v.id, v.size]));
    },

    async transition(scope, id, from, to, changes = {}): Promise<Transition<CbrDisk>> {
      const t = await volumes.transition(scope, id, from, to, { ...changes, updated_at: now() });
      return t.ok ? { ok: true, record: diskOf(t.record) } : t;
    },
  };
}
