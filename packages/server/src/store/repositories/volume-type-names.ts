import type { VolumeTypeLookup } from '../../domain/ports/block-storage-store.js';
import { executor } from '../metadata-store.js';

/** The few volume-type reads the volume services make (names for quotas and views, resolving a requested type). */
export const volumeTypeLookup: VolumeTypeLookup = {
  byId: (scope, id) => executor(scope).selectFrom('volume_types').select(['id', 'name']).where('id', '=', id).executeTakeFirst(),
  byName: (scope, name) =>
    executor(scope).selectFrom('volume_types').select(['id', 'name']).where('name', '=', name).executeTakeFirst(),
  async names(scope, ids) {
    if (ids.length === 0) return new Map();
    const rows = await executor(scope)
      .selectFrom('volume_types')
      .select(['id', 'name'])
      .where('id', 'in', [...new Set(ids)])
      .execute();
    return new Map(rows.map((t) => [t.id, t.name]));
  },
};
