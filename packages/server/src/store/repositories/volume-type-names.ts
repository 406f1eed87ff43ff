import type { VolumeTypeLookup } from '../../domain/ports/block-storage-store.js';
import { executor } from '../metadata-store.js';
import { Params, dialectOf, runRaw } from '../raw-sql.js';

/** The few volume-type reads the volume services make (names for quotas and views, resolving a requested type). */
export const volumeTypeLookup: VolumeTypeLookup = {
  byId: (scope, id) => executor(scope).selectFrom('volume_types').select(['id', 'name']).where('id', '=', id).executeTakeFirst(),
  byName: (scope, name) =>
    executor(scope).selectFrom('volume_types').select(['id', 'name']).where('name', '=', name).executeTakeFirst(),
  async names(scope, ids) {
    if (ids.length === 0) return new Map();
    // One statement whatever the page size (store/raw-sql.ts): the volume detail list asks this for every page.
    const exec = executor(scope);
    const p = new Params(dialectOf(exec));
    const rows = await runRaw<{ id: string; name: string }>(
      exec,
      `select "id", "name" from "volume_types" where ${p.inList('"id"', [...new Set(ids)])}`,
      p.values,
    );
    return new Map(rows.map((t) => [t.id, t.name]));
  },
};
