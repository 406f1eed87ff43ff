import type { Group, GroupSnapshot, GroupType } from '../../domain/group.js';
import type { GroupsRepository } from '../../domain/ports/group-store.js';
import type { Scope } from '../../domain/ports/metadata-store.js';
import { setOwn } from '../../domain/own.js';
import { guardedTransition } from '../guarded.js';
import { executor } from '../metadata-store.js';
import type { GroupTable, GroupTypeTable } from '../schema.js';
import { isUniqueViolation } from './identity.js';
import { Params, dialectOf, runRaw } from '../raw-sql.js';

async function withSpecs(scope: Scope, rows: GroupTypeTable[]): Promise<GroupType[]> {
  if (rows.length === 0) return [];
  const specs = await executor(scope)
    .selectFrom('group_type_specs')
    .selectAll()
    .where(
      'group_type_id',
      'in',
      rows.map((r) => r.id),
    )
    .orderBy('key')
    .execute();
  return rows.map((r) => {
    const group_specs: Record<string, string> = {};
    for (const s of specs) if (s.group_type_id === r.id) setOwn(group_specs, s.key, s.value);
    return { ...r, is_public: Boolean(r.is_public), group_specs };
  });
}

const toGroup = (r: GroupTable): Group => ({ ...r });

export const groupsRepository: GroupsRepository = {
  async type(scope, id) {
    const r = await executor(scope).selectFrom('group_types').selectAll().where('id', '=', id).executeTakeFirst();
    return r && (await withSpecs(scope, [r]))[0];
  },
  async typeByName(scope, name) {
    const r = await executor(scope).selectFrom('group_types').selectAll().where('name', '=', name).executeTakeFirst();
    return r && (await withSpecs(scope, [r]))[0];
  },
  async types(scope, includePrivate) {
    let q = executor(scope).selectFrom('group_types').selectAll();
    if (!includePrivate) q = q.where('is_public', '=', 1);
    return withSpecs(scope, await q.orderBy('name').orderBy('id').execute());
  },
  async insertType(scope, t) {
    try {
      await executor(scope)
        .insertInto('group_types')
        .values({
          id: t.id,
          name: t.name,
          description: t.description,
          is_public: t.is_public ? 1 : 0,
          created_at: t.created_at,
          updated_at: t.updated_at,
        })
        .execute();
    } catch (e) {
      if (isUniqueViolation(e)) return false;
      throw e;
    }
    await groupsRepository.setSpecs(scope, t.id, t.group_specs, t.created_at);
    return true;
  },
  async updateType(scope, id, changes, at) {
    const set: Partial<GroupTypeTable> = { updated_at: at };
    if (changes.name !== undefined) set.name = changes.name;
    if (changes.description !== undefined) set.description = changes.description;
    if (changes.is_public !== undefined) set.is_public = changes.is_public ? 1 : 0;
    try {
      await executor(scope).updateTable('group_types').set(set).where('id', '=', id).execute();
    } catch (e) {
      if (isUniqueViolation(e)) return false;
      throw e;
    }
    return true;
  },
  async removeType(scope, id) {
    const e = executor(scope);
    await e.deleteFrom('group_type_specs').where('group_type_id', '=', id).execute();
    await e.deleteFrom('group_types').where('id', '=', id).execute();
  },
  async typeInUse(scope, id) {
    const r = await executor(scope).selectFrom('groups').select('id').where('group_type_id', '=', id).limit(1).executeTakeFirst();
    return r !== undefined;
  },
  async setSpecs(scope, id, specs, at) {
    const e = executor(scope);
    for (const [key, value] of Object.entries(specs)) {
      await e
        .insertInto('group_type_specs')
        .values({ group_type_id: id, key, value })
        .onConflict((oc) => oc.columns(['group_type_id', 'key']).doUpdateSet({ value }))
        .execute();
    }
    await e.updateTable('group_types').set({ updated_at: at }).where('id', '=', id).execute();
  },
  async deleteSpec(scope, id, key, at) {
    const e = executor(scope);
    const res = await e.deleteFrom('group_type_specs').where('group_type_id', '=', id).where('key', '=', key).executeTakeFirst();
    if (Number(res.numDeletedRows) === 0) return false;
    await e.updateTable('group_types').set({ updated_at: at }).where('id', '=', id).execute();
    return true;
  },

  async get(scope, id) {
    const r = await executor(scope).selectFrom('groups').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toGroup(r);
  },
  async list(scope, projectId) {
    let q = executor(scope).selectFrom('groups').selectAll();
    if (projectId !== null) q = q.where('project_id', '=', projectId);
    return (await q.orderBy('created_at', 'desc').orderBy('id', 'desc').execute()).map(toGroup);
  },
  async insert(scope, g, volumeTypeIds) {
    const e = executor(scope);
    await e.insertInto('groups').values(g).execute();
    for (const t of new Set(volumeTypeIds)) await e.insertInto('group_volume_types').values({ group_id: g.id, volume_type_id: t }).execute();
  },
  async update(scope, id, changes) {
    if (Object.keys(changes).length > 0) await executor(scope).updateTable('groups').set(changes).where('id', '=', id).execute();
  },
  async transition(scope, id, from, to, changes = {}) {
    const t = await guardedTransition(executor(scope), 'groups', id, from, to, changes);
    return t.ok ? { ok: true, record: toGroup(t.record) } : t;
  },
  async remove(scope, id) {
    const e = executor(scope);
    await e.deleteFrom('group_volume_types').where('group_id', '=', id).execute();
    await e.updateTable('volumes').set({ group_id: null }).where('group_id', '=', id).execute();
    await e.deleteFrom('groups').where('id', '=', id).execute();
  },
  async volumeTypes(scope, groupIds) {
    const out = new Map<string, string[]>();
    if (groupIds.length === 0) return out;
    const rows = await executor(scope)
      .selectFrom('group_volume_types')
      .selectAll()
      .where('group_id', 'in', [...groupIds])
      .orderBy('volume_type_id')
      .execute();
    for (const r of rows) out.set(r.group_id, [...(out.get(r.group_id) ?? []), r.volume_type_id]);
    return out;
  },
  async members(scope, groupId) {
    const rows = await executor(scope).selectFrom('volumes').select('id').where('group_id', '=', groupId).orderBy('id').execute();
    return rows.map((r) => r.id);
  },
  async groupsOf(scope, volumeIds) {
    const out = new Map<string, string>();
    if (volumeIds.length === 0) return out;
    // One statement whatever the page size (store/raw-sql.ts): the volume detail list asks this for every page.
    const exec = executor(scope);
    const p = new Params(dialectOf(exec));
    const rows = await runRaw<{ id: string; group_id: string | null }>(
      exec,
      `select "id", "group_id" from "volumes" where ${p.inList('"id"', volumeIds)} and "group_id" is not null`,
      p.values,
    );
    for (const r of rows) if (r.group_id) out.set(r.id, r.group_id);
    return out;
  },
  async setGroup(scope, volumeIds, groupId) {
    if (volumeIds.length === 0) return;
    await executor(scope)
      .updateTable('volumes')
      .set({ group_id: groupId })
      .where('id', 'in', [...volumeIds])
      .execute();
  },
  async creatingFrom(scope, src) {
    let q = executor(scope).selectFrom('groups').select('id').where('status', '=', 'creating');
    if (src.groupId !== undefined) q = q.where('source_group_id', '=', src.groupId);
    if (src.groupSnapshotId !== undefined) q = q.where('group_snapshot_id', '=', src.groupSnapshotId);
    return (await q.limit(1).executeTakeFirst()) !== undefined;
  },

  async snapshot(scope, id) {
    return executor(scope).selectFrom('group_snapshots').selectAll().where('id', '=', id).executeTakeFirst();
  },
  async snapshots(scope, projectId) {
    let q = executor(scope).selectFrom('group_snapshots').selectAll();
    if (projectId !== null) q = q.where('project_id', '=', projectId);
    return q.orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
  },
  async snapshotsOfGroup(scope, groupId) {
    return executor(scope).selectFrom('group_snapshots').selectAll().where('group_id', '=', groupId).execute();
  },
  async insertSnapshot(scope, s: GroupSnapshot) {
    await executor(scope).insertInto('group_snapshots').values(s).execute();
  },
  async updateSnapshot(scope, id, changes) {
    if (Object.keys(changes).length > 0) await executor(scope).updateTable('group_snapshots').set(changes).where('id', '=', id).execute();
  },
  async transitionSnapshot(scope, id, from, to, changes = {}) {
    return guardedTransition(executor(scope), 'group_snapshots', id, from, to, changes);
  },
  async removeSnapshot(scope, id) {
    await executor(scope).deleteFrom('group_snapshots').where('id', '=', id).execute();
  },
  async snapshotMembers(scope, groupSnapshotId) {
    const rows = await executor(scope)
      .selectFrom('snapshots')
      .select('id')
      .where('group_snapshot_id', '=', groupSnapshotId)
      .orderBy('id')
      .execute();
    return rows.map((r) => r.id);
  },
  async groupSnapshotsOf(scope, snapshotIds) {
    const out = new Map<string, string>();
    if (snapshotIds.length === 0) return out;
    const rows = await executor(scope)
      .selectFrom('snapshots')
      .select(['id', 'group_snapshot_id'])
      .where('id', 'in', [...snapshotIds])
      .where('group_snapshot_id', 'is not', null)
      .execute();
    for (const r of rows) if (r.group_snapshot_id) out.set(r.id, r.group_snapshot_id);
    return out;
  },
  async setGroupSnapshot(scope, snapshotIds, groupSnapshotId) {
    if (snapshotIds.length === 0) return;
    await executor(scope)
      .updateTable('snapshots')
      .set({ group_snapshot_id: groupSnapshotId })
      .where('id', 'in', [...snapshotIds])
      .execute();
  },
};
