import type { CbrDisk, CbrDiskAccess, Transition } from '../../domain/ports/cbr-store.js';
import { guardedTransition } from '../guarded.js';
import { executor } from '../metadata-store.js';
import type { VolumeTable } from '../schema.js';

/**
 * CBR's view of block storage's volumes. Stand-in until block storage's volume repository (which has the same
 * `get`/`transition` and `Volume` fields) is passed to CBR instead; kept apart so that swap touches one line.
 */
function diskOf(v: VolumeTable): CbrDisk {
  return {
    id: v.id,
    project_id: v.project_id,
    name: v.name,
    size: Number(v.size),
    status: v.status,
    availability_zone: v.availability_zone,
    bootable: v.bootable === 1,
    driver: v.driver,
  };
}

export function cbrDiskAccess(now: () => string): CbrDiskAccess {
  return {
    async get(scope, id) {
      const v = await executor(scope).selectFrom('volumes').selectAll().where('id', '=', id).executeTakeFirst();
      return v && diskOf(v);
    },

    async sizes(scope, ids) {
      if (ids.length === 0) return new Map();
      const rows = await executor(scope).selectFrom('volumes').select(['id', 'size']).where('id', 'in', [...ids]).execute();
      return new Map(rows.map((r) => [r.id, Number(r.size)]));
    },

    async transition(scope, id, from, to, changes = {}): Promise<Transition<CbrDisk>> {
      const t = await guardedTransition(executor(scope), 'volumes', id, from, to, { ...changes, updated_at: now() });
      return t.ok ? { ok: true, record: diskOf(t.record) } : t;
    },
  };
}
