import type { Selectable } from 'kysely';
import type { Scope } from '../../domain/ports/metadata-store.js';
import type { VolumeTypeStore } from '../../domain/ports/quota-store.js';
import type { VolumeType, VolumeTypeEncryption } from '../../domain/volume-type.js';
import { executor } from '../metadata-store.js';
import { prepared } from '../prepared.js';
import type { VolumeTypeTable } from '../schema.js';

const typeById = prepared<{ id: string }, Selectable<VolumeTypeTable>>((db, arg) => db.selectFrom('volume_types').selectAll().where('id', '=', arg('id')));
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

  async list(scope: Scope, filters: { isPublic: boolean | null; accessibleTo?: string }) {
    let q = executor(scope).selectFrom('volume_types').selectAll();
    const project = filters.accessibleTo;
    if (project !== undefined) {
      q = q.where((eb) =>
        eb.or([
          eb('is_public', '=', 1),
          eb(
            'id',
            'in',
            eb.selectFrom('volume_type_projects').select('volume_type_id').where('project_id', '=', project),
          ),
        ]),
      );
    } else if (filters.isPublic !== null) q = q.where('is_public', '=', filters.isPublic ? 1 : 0);
    const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
    return rows.map(toVolumeType);
  },

  async byId(scope: Scope, id: string) {
    const row = (await typeById(executor(scope), { id }))[0];
    return row ? toVolumeType(row) : null;
  },

  async byName(scope: Scope, name: string) {
    const row = await executor(scope).selectFrom('volume_types').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? toVolumeType(row) : null;
  },

  async insert(scope: Scope, t: VolumeType) {
    await executor(scope)
      .insertInto('volume_types')
      .values({
        id: t.id,
        name: t.name,
        description: t.description,
        is_public: t.is_public ? 1 : 0,
        extra_specs: JSON.stringify(t.extra_specs),
        created_at: t.created_at,
      })
      .execute();
  },

  async update(scope: Scope, t: VolumeType) {
    await executor(scope)
      .updateTable('volume_types')
      .set({
        name: t.name,
        description: t.description,
        is_public: t.is_public ? 1 : 0,
        extra_specs: JSON.stringify(t.extra_specs),
      })
      .where('id', '=', t.id)
      .execute();
  },

  async delete(scope: Scope, id: string) {
    const db = executor(scope);
    await db.deleteFrom('volume_type_projects').where('volume_type_id', '=', id).execute();
    await db.deleteFrom('volume_type_encryption').where('volume_type_id', '=', id).execute();
    await db.deleteFrom('volume_types').where('id', '=', id).execute();
  },

  async volumesUsing(scope: Scope, id: string) {
    const row = await executor(scope)
      .selectFrom('volumes')
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
      .where('volume_type_id', '=', id)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  },

  async accessList(scope: Scope, id: string) {
    const rows = await executor(scope)
      .selectFrom('volume_type_projects')
      .select('project_id')
      .where('volume_type_id', '=', id)
      .orderBy('created_at')
      .orderBy('project_id')
      .execute();
    return rows.map((r) => r.project_id);
  },

  async hasAccess(scope: Scope, id: string, projectId: string) {
    const row = await executor(scope)
      .selectFrom('volume_type_projects')
      .select('project_id')
      .where('volume_type_id', '=', id)
      .where('project_id', '=', projectId)
      .executeTakeFirst();
    return row !== undefined;
  },

  async addAccess(scope: Scope, id: string, projectId: string, now: string) {
    const res = await executor(scope)
      .insertInto('volume_type_projects')
      .values({ volume_type_id: id, project_id: projectId, created_at: now })
      .onConflict((oc) => oc.columns(['volume_type_id', 'project_id']).doNothing())
      .returning('project_id')
      .execute();
    return res.length > 0;
  },

  async removeAccess(scope: Scope, id: string, projectId: string) {
    const res = await executor(scope)
      .deleteFrom('volume_type_projects')
      .where('volume_type_id', '=', id)
      .where('project_id', '=', projectId)
      .executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  },

  async encryption(scope: Scope, id: string) {
    const row = await executor(scope)
      .selectFrom('volume_type_encryption')
      .selectAll()
      .where('volume_type_id', '=', id)
      .executeTakeFirst();
    return row ? ({ ...row, key_size: row.key_size === null ? null : Number(row.key_size) } satisfies VolumeTypeEncryption) : null;
  },

  async putEncryption(scope: Scope, e: VolumeTypeEncryption) {
    await executor(scope)
      .insertInto('volume_type_encryption')
      .values(e)
      .onConflict((oc) =>
        oc.column('volume_type_id').doUpdateSet({
          provider: e.provider,
          control_location: e.control_location,
          cipher: e.cipher,
          key_size: e.key_size,
          updated_at: e.updated_at,
        }),
      )
      .execute();
  },

  async deleteEncryption(scope: Scope, id: string) {
    const res = await executor(scope).deleteFrom('volume_type_encryption').where('volume_type_id', '=', id).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  },

  async defaultFor(scope: Scope, projectId: string) {
    const row = await executor(scope)
      .selectFrom('default_volume_types')
      .select(['project_id', 'volume_type_id'])
      .where('project_id', '=', projectId)
      .executeTakeFirst();
    return row ?? null;
  },

  async defaults(scope: Scope) {
    return executor(scope)
      .selectFrom('default_volume_types')
      .select(['project_id', 'volume_type_id'])
      .orderBy('project_id')
      .execute();
  },

  async defaultedBy(scope: Scope, id: string) {
    const rows = await executor(scope)
      .selectFrom('default_volume_types')
      .select('project_id')
      .where('volume_type_id', '=', id)
      .orderBy('project_id')
      .execute();
    return rows.map((r) => r.project_id);
  },

  async setDefault(scope: Scope, projectId: string, typeId: string, now: string) {
    await executor(scope)
      .insertInto('default_volume_types')
      .values({ project_id: projectId, volume_type_id: typeId, created_at: now, updated_at: null })
      .onConflict((oc) => oc.column('project_id').doUpdateSet({ volume_type_id: typeId, updated_at: now }))
      .execute();
  },

  async unsetDefault(scope: Scope, projectId: string) {
    const res = await executor(scope).deleteFrom('default_volume_types').where('project_id', '=', projectId).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  },
};
