import type { Kysely } from 'kysely';
import type { MetadataKind, MetadataRepository } from '../../domain/ports/block-storage-store.js';
import type { Executor } from '../database.js';
import { executor } from '../metadata-store.js';
import { prepared } from '../prepared.js';
import { Params, dialectOf, ident, runRaw } from '../raw-sql.js';
import { setOwn } from '../../domain/own.js';

const TABLES: Record<MetadataKind, { table: string; fk: string }> = {
  volume: { table: 'volume_metadata', fk: 'volume_id' },
  volume_admin: { table: 'volume_admin_metadata', fk: 'volume_id' },
  snapshot: { table: 'snapshot_metadata', fk: 'snapshot_id' },
  backup: { table: 'backup_metadata', fk: 'backup_id' },
};

// The tables differ only in their foreign-key column name, so one untyped builder serves them all.
function untyped(exec: Executor): Kysely<any> {
  return exec as unknown as Kysely<any>;
}

const READ = Object.fromEntries(
  Object.entries(TABLES).map(([kind, t]) => [
    kind,
    prepared<{ owner: string }, { key: string; value: string }>((exec, arg) =>
      untyped(exec).selectFrom(t.table).select(['key', 'value']).where(t.fk, '=', arg('owner')).orderBy('key'),
    ),
  ]),
) as Record<MetadataKind, (exec: Executor, args: { owner: string }) => Promise<{ key: string; value: string }[]>>;

export async function readMetadata(exec: Executor, kind: MetadataKind, ownerId: string): Promise<Record<string, string>> {
  const rows = await READ[kind](exec, { owner: ownerId });
  const out: Record<string, string> = {};
  for (const r of rows) setOwn(out, r.key as string, r.value as string);
  return out;
}

export async function readMetadataMany(
  exec: Executor,
  kind: MetadataKind,
  ownerIds: readonly string[],
): Promise<Map<string, Record<string, string>>> {
  const t = TABLES[kind];
  const out = new Map<string, Record<string, string>>();
  for (const id of ownerIds) out.set(id, {});
  if (ownerIds.length === 0) return out;
  // The ids travel as one parameter, so a page of any size runs the same prepared statement.
  const p = new Params(dialectOf(exec));
  const where = p.inList(ident(t.fk), ownerIds);
  const rows = await runRaw<{ owner: string; key: string; value: string }>(
    exec,
    `select ${ident(t.fk)} as "owner", "key", "value" from ${ident(t.table)} where ${where} order by "key"`,
    p.values,
  );
  for (const r of rows) {
    const m = out.get(r.owner);
    if (m) setOwn(m, r.key, r.value);
  }
  return out;
}

export async function writeMetadata(
  exec: Executor,
  kind: MetadataKind,
  ownerId: string,
  items: Record<string, string>,
  replace: boolean,
): Promise<void> {
  const t = TABLES[kind];
  const db = untyped(exec);
  if (replace) {
    await db.deleteFrom(t.table).where(t.fk, '=', ownerId).execute();
  } else if (Object.keys(items).length > 0) {
    await db.deleteFrom(t.table).where(t.fk, '=', ownerId).where('key', 'in', Object.keys(items)).execute();
  }
  const rows = Object.entries(items).map(([key, value]) => ({ [t.fk]: ownerId, key, value }));
  if (rows.length > 0) await db.insertInto(t.table).values(rows).execute();
}

export async function deleteMetadataKey(exec: Executor, kind: MetadataKind, ownerId: string, key: string): Promise<boolean> {
  const t = TABLES[kind];
  const res = await untyped(exec).deleteFrom(t.table).where(t.fk, '=', ownerId).where('key', '=', key).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

export async function deleteAllMetadata(exec: Executor, kind: MetadataKind, ownerId: string): Promise<void> {
  const t = TABLES[kind];
  await untyped(exec).deleteFrom(t.table).where(t.fk, '=', ownerId).execute();
}

export const metadataRepository: MetadataRepository = {
  read: (scope, kind, id) => readMetadata(executor(scope), kind, id),
  readMany: (scope, kind, ids) => readMetadataMany(executor(scope), kind, ids),
  write: (scope, kind, id, items, replace) => writeMetadata(executor(scope), kind, id, items, replace),
  deleteKey: (scope, kind, id, key) => deleteMetadataKey(executor(scope), kind, id, key),
  deleteAll: (scope, kind, id) => deleteAllMetadata(executor(scope), kind, id),
  async ownerOfKey(scope, kind, key) {
    const t = TABLES[kind];
    const r = await untyped(executor(scope)).selectFrom(t.table).select(`${t.fk} as owner`).where('key', '=', key).executeTakeFirst();
    return (r?.owner as string | undefined) ?? undefined;
  },
  async deleteKeyEverywhere(scope, kind, key) {
    await untyped(executor(scope)).deleteFrom(TABLES[kind].table).where('key', '=', key).execute();
  },
  async volumeObjectsByAdminKeys(scope, keys) {
    const out = new Map<string, string>();
    const exec = executor(scope);
    for (let i = 0; i < keys.length; i += 500) {
      const rows = await exec
        .selectFrom('volume_admin_metadata')
        .innerJoin('volumes', 'volumes.id', 'volume_admin_metadata.volume_id')
        .select(['volume_admin_metadata.key as key', 'volumes.provider_location as source'])
        .where('volume_admin_metadata.key', 'in', keys.slice(i, i + 500))
        .execute();
      for (const r of rows) if (r.source) out.set(r.key, r.source);
    }
    return out;
  },
};
