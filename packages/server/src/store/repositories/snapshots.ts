import { sql } from 'kysely';
import type { ListOutcome, SnapshotChanges, SnapshotsRepository } from '../../domain/ports/block-storage-store.js';
import type { Snapshot } from '../../domain/snapshot.js';
import type { Executor } from '../database.js';
import { guardedTransition } from '../guarded.js';
import { SNAPSHOTS_LIST, listJsonPage, listRows } from '../list-query.js';
import { executor } from '../metadata-store.js';
import { prepared, preparedFamily, preparedResult } from '../prepared.js';
import type { SnapshotTable } from '../schema.js';
import { deleteAllMetadata } from './metadata.js';

export function toSnapshot(r: SnapshotTable): Snapshot {
  return {
    id: r.id,
    project_id: r.project_id,
    user_id: r.user_id,
    volume_id: r.volume_id,
    name: r.name,
    description: r.description,
    size: Number(r.size),
    status: r.status,
    progress: r.progress,
    volume_type_id: r.volume_type_id,
    use_quota: Boolean(r.use_quota),
    provider_location: r.provider_location,
    hidden: Boolean(r.hidden),
    created_at: r.created_at,
    updated_at: r.updated_at,
    group_snapshot_id: r.group_snapshot_id ?? null,
  };
}

export function snapshotColumns(c: SnapshotChanges): Partial<SnapshotTable> {
  const out: Record<string, unknown> = { ...c };
  for (const k of ['use_quota', 'hidden'] as const) if (k in c) out[k] = c[k] ? 1 : 0;
  return out as Partial<SnapshotTable>;
}

// The row's own columns, not `*`: `*` would also carry `detail_head` (migration 0033), a few hundred bytes of
// rendered list text a single read never uses.
const COLUMNS = [
  'id',
  'project_id',
  'user_id',
  'volume_id',
  'name',
  'description',
  'size',
  'status',
  'progress',
  'volume_type_id',
  'use_quota',
  'provider_location',
  'hidden',
  'created_at',
  'updated_at',
  'group_snapshot_id',
] as const satisfies readonly (keyof SnapshotTable)[];
// A column added to SnapshotTable and not to COLUMNS would read as undefined: fail the typecheck instead.
const allColumnsRead: Exclude<keyof SnapshotTable, (typeof COLUMNS)[number]> extends never ? true : never = true;
void allColumnsRead;

const visibleById = prepared<{ id: string }, SnapshotTable>((db, arg) =>
  db.selectFrom('snapshots').select(COLUMNS).where('id', '=', arg('id')).where('hidden', '=', 0),
);

// The metadata comes as the trigger-kept object text of the row itself (migration 0032, not in schema.ts, which
// writers never set): one row, no join.
const withMetadataById = prepared<{ id: string }, SnapshotTable & { metadata_json: string }>((db, arg) =>
  db
    .selectFrom('snapshots')
    .select(COLUMNS)
    .select(sql<string>`${sql.ref('metadata_json')}`.as('metadata_json'))
    .where('id', '=', arg('id'))
    .where('hidden', '=', 0),
);

// One compiled insert per set of columns written (the create path always writes the same ones).
const insertRow = preparedFamily((cols) =>
  preparedResult<Record<string, unknown>, unknown>((db, arg) => {
    const values: Record<string, unknown> = {};
    for (const c of cols.split(',')) values[c] = arg(c);
    return db.insertInto('snapshots').values(values as unknown as SnapshotTable);
  }),
);

async function get(exec: Executor, id: string): Promise<Snapshot | undefined> {
  const r = (await visibleById(exec, { id }))[0];
  return r && toSnapshot(r);
}

export const snapshotsRepository: SnapshotsRepository = {
  get: (scope, id) => get(executor(scope), id),
  async getWithMetadata(scope, id) {
    const first = (await withMetadataById(executor(scope), { id }))[0];
    if (!first) return undefined;
    // JSON.parse makes every key, `__proto__` too, an own data property, as setOwn does.
    const metadata = JSON.parse(first.metadata_json) as Record<string, string>;
    // The group snapshot is a column of the same row; reading it here spares the GET a second query.
    return { snapshot: toSnapshot(first), metadata, groupSnapshotId: first.group_snapshot_id ?? null };
  },
  async insert(scope, s) {
    const row: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(snapshotColumns(s))) if (v !== undefined) row[k] = v;
    await insertRow(Object.keys(row).sort().join(','))(executor(scope), row);
  },
  async update(scope, id, changes) {
    const exec = executor(scope);
    const set = snapshotColumns(changes);
    if (Object.keys(set).length > 0) await exec.updateTable('snapshots').set(set).where('id', '=', id).execute();
    return get(exec, id);
  },
  async transition(scope, id, from, to, changes = {}) {
    const t = await guardedTransition(executor(scope), 'snapshots', id, from, to, snapshotColumns(changes));
    return t.ok ? { ok: true, record: toSnapshot(t.record) } : t;
  },
  async remove(scope, id) {
    const exec = executor(scope);
    const row = await exec.selectFrom('snapshots').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    await exec.deleteFrom('snapshots').where('id', '=', id).execute();
    await deleteAllMetadata(exec, 'snapshot', id);
    return toSnapshot(row);
  },
  async list(scope, q): Promise<ListOutcome<Snapshot>> {
    const page = await listRows(executor(scope), SNAPSHOTS_LIST, q);
    if (!page) return { ok: false, reason: 'marker' };
    return { ok: true, items: page.rows.map((r) => toSnapshot(r as unknown as SnapshotTable)), count: page.count };
  },
  async listJson(scope, q, fields) {
    const page = await listJsonPage(executor(scope), SNAPSHOTS_LIST, q, fields);
    return page ? { ok: true, ...page } : { ok: false, reason: 'marker' };
  },
  async ofVolume(scope, volumeId) {
    const rows = await executor(scope).selectFrom('snapshots').selectAll().where('volume_id', '=', volumeId).execute();
    return rows.map(toSnapshot);
  },
  async latestOfVolume(scope, volumeId) {
    const r = await executor(scope)
      .selectFrom('snapshots')
      .selectAll()
      .where('volume_id', '=', volumeId)
      .where('hidden', '=', 0)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return r && toSnapshot(r);
  },
  async setStatusOfVolume(scope, volumeId, status, changes = {}) {
    await executor(scope)
      .updateTable('snapshots')
      .set({ ...snapshotColumns(changes), status })
      .where('volume_id', '=', volumeId)
      .execute();
  },
  async byObjectNames(scope, driver, names) {
    const out = new Map<string, { id: string; volumeObject: string | null }>();
    for (let i = 0; i < names.length; i += 500) {
      const rows = await executor(scope)
        .selectFrom('snapshots')
        .innerJoin('volumes', 'volumes.id', 'snapshots.volume_id')
        .select(['snapshots.id as id', 'snapshots.provider_location as name', 'volumes.provider_location as source'])
        .where('volumes.driver', '=', driver)
        .where('snapshots.provider_location', 'in', names.slice(i, i + 500))
        .execute();
      for (const r of rows) out.set(r.name!, { id: r.id, volumeObject: r.source });
    }
    return out;
  },
};
