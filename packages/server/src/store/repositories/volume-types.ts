import type { Selectable } from 'kysely';
import type { Scope } from '../../domain/ports/metadata-store.js';
import type { VolumeTypeStore } from '../../domain/ports/quota-store.js';
import type { VolumeType } from '../../domain/volume-type.js';
import { executor } from '../metadata-store.js';
import type { VolumeTypeTable } from '../schema.js';
import { setOwn } from '../../domain/own.js';

function parseSpecs(text: string): Record<string, string> {
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const out: Record<string, string> = {};
      for (const [k, s] of Object.entries(v)) setOwn(out, k, String(s));
      return out;
    }
  } catch {
    // A malformed value reads as no specs rather than failing every type listing.
  }
  return {};
}

export function toVolumeType(row: Selectable<VolumeTypeTable>): VolumeType {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    is_public: row.is_public === 1,
    extra_specs: parseSpecs(row.extra_specs),
    created_at: row.created_at,
    qos_specs_id: row.qos_specs_id ?? null,
  };
}

export const volumeTypeRepository: VolumeTypeStore = {
  async names(scope: Scope) {
    const rows = await executor(scope).selectFrom('volume_types').select('name').orderBy('name').execute();
    return rows.map((r) => r.name);
  },

  async list(scope: Scope, filters: { isPublic: boolean | null }) {
    let q = executor(scope).selectFrom('volume_types').selectAll();
    if (filters.isPublic !== null) q = q.where('is_public', '=', filters.isPublic ? 1 : 0);
    const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
    return rows.map(toVolumeType);
  },

  async byId(scope: Scope, id: string) {
    const row = await executor(scope).selectFrom('volume_types').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toVolumeType(row) : null;
  },

  async byName(scope: Scope, name: string) {
    const row = await executor(scope).selectFrom('volume_types').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? toVolumeType(row) : null;
  },
};
