import { sql } from 'kysely';
import type { ListOutcome, VolumeChanges, VolumesRepository } from '../../domain/ports/block-storage-store.js';
import type { Volume } from '../../domain/volume.js';
import type { Executor } from '../database.js';
import { guardedTransition } from '../guarded.js';
import { VOLUMES_LIST, listRows } from '../list-query.js';
import { executor } from '../metadata-store.js';
import { prepared } from '../prepared.js';
import type { VolumeTable } from '../schema.js';
import { deleteAllMetadata } from './metadata.js';

export function toVolume(r: VolumeTable): Volume {
  return {
    id: r.id,
    project_id: r.project_id,
    user_id: r.user_id,
    name: r.name,
    description: r.description,
    size: Number(r.size),
    status: r.status,
    previous_status: r.previous_status,
    attach_status: r.attach_status,
    migration_status: r.migration_status,
    availability_zone: r.availability_zone,
    volume_type_id: r.volume_type_id,
    snapshot_id: r.snapshot_id,
    source_volid: r.source_volid,
    backup_id: r.backup_id,
    bootable: Boolean(r.bootable),
    multiattach: Boolean(r.multiattach),
    host: r.host,
    driver: r.driver,
    provider_location: r.provider_location,
    use_quota: Boolean(r.use_quota),
    created_at: r.created_at,
    updated_at: r.updated_at,
  };
}

/** Domain changes → column values (flags back to 0/1). */
export function volumeColumns(c: VolumeChanges): Partial<VolumeTable> {
  const out: Record<string, unknown> = { ...c };
  for (const k of ['bootable', 'multiattach', 'use_quota'] as const) if (k in c) out[k] = c[k] ? 1 : 0;
  return out as Partial<VolumeTable>;
}

const byId = prepared<{ id: string }, VolumeTable>((db, arg) => db.selectFrom('volumes').selectAll().where('id', '=', arg('id')));

async function get(exec: Executor, id: string): Promise<Volume | undefined> {
  const r = (await byId(exec, { id }))[0];
  return r && toVolume(r);
}

export const volumesRepository: VolumesRepository = {
  get: (scope, id) => get(executor(scope), id),
  async insert(scope, v) {
    await executor(scope)
      .insertInto('volumes')
      .values(volumeColumns(v) as VolumeTable)
      .execute();
  },
  async update(scope, id, changes) {
    const exec = executor(scope);
    const set = volumeColumns(changes);
    if (Object.keys(set).length > 0) await exec.updateTable('volumes').set(set).where('id', '=', id).execute();
    return get(exec, id);
  },
  async transition(scope, id, from, to, changes = {}) {
    const t = await guardedTransition(executor(scope), 'volumes', id, from, to, volumeColumns(changes));
    return t.ok ? { ok: true, record: toVolume(t.record) } : t;
  },
  async remove(scope, id) {
    const exec = executor(scope);
    const row = await exec.selectFrom('volumes').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    await exec.deleteFrom('volumes').where('id', '=', id).execute();
    await deleteAllMetadata(exec, 'volume', id);
    await deleteAllMetadata(exec, 'volume_admin', id);
    await exec.deleteFrom('volume_attachments').where('volume_id', '=', id).execute();
    return toVolume(row);
  },
  async list(scope, q): Promise<ListOutcome<Volume>> {
    const page = await listRows(executor(scope), VOLUMES_LIST, q);
    if (!page) return { ok: false, reason: 'marker' };
    return { ok: true, items: page.rows.map((r) => toVolume(r as unknown as VolumeTable)), count: page.count };
  },
  async creatingFrom(scope, source) {
    let q = executor(scope).selectFrom('volumes').select('id').where('status', '=', 'creating');
    q = 'volumeId' in source ? q.where('source_volid', '=', source.volumeId) : q.where('snapshot_id', '=', source.snapshotId);
    return (await q.executeTakeFirst())?.id;
  },
  async driversInUse(scope) {
    // Run at every start: a loose index scan (one volumes_driver probe per distinct driver, migration 0031), where
    // SELECT DISTINCT read every volume on PostgreSQL, which has no skip scan.
    const { rows } = await sql<{ driver: string }>`
      WITH RECURSIVE d(driver) AS (
        SELECT min(driver) FROM volumes
        UNION ALL
        SELECT (SELECT min(v.driver) FROM volumes v WHERE v.driver > d.driver) FROM d WHERE d.driver IS NOT NULL
      )
      SELECT driver FROM d WHERE driver IS NOT NULL ORDER BY driver`.execute(executor(scope));
    return rows.map((r) => r.driver);
  },
  async idsWithStatus(scope, status) {
    const rows = await executor(scope).selectFrom('volumes').select('id').where('status', '=', status).orderBy('id').execute();
    return rows.map((r) => r.id);
  },
  async byObjectNames(scope, driver, names) {
    const out = new Map<string, string>();
    for (let i = 0; i < names.length; i += 500) {
      const rows = await executor(scope)
        .selectFrom('volumes')
        .select(['id', 'provider_location'])
        .where('driver', '=', driver)
        .where('provider_location', 'in', names.slice(i, i + 500))
        .execute();
      for (const r of rows) out.set(r.provider_location!, r.id);
    }
    return out;
  },
};
