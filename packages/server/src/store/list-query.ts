/**
 * The generic list query of the Cinder resources (volumes, snapshots, backups): filters, keyset pagination,
 * counts. The services decide which filters and sort keys a caller may use (Cinder's rules) and hand over a
 * `ListQuery` in field names; this module turns it into SQL.
 */
import { type Expression, type ExpressionBuilder, type Kysely, type SqlBool, sql } from 'kysely';
import type { ListFilter, ListQuery, ListWhere } from '../domain/ports/block-storage-store.js';
import type { Executor } from './database.js';

export interface ListTableSpec {
  table: 'volumes' | 'snapshots' | 'backups' | 'messages';
  /** Absent for resources without metadata (messages): a metadata filter then matches nothing. */
  metadataTable?: 'volume_metadata' | 'snapshot_metadata' | 'backup_metadata';
  metadataFk?: 'volume_id' | 'snapshot_id' | 'backup_id';
  /** Columns that may hold NULL: sorted and compared through COALESCE so keyset pagination stays total. */
  nullable: ReadonlySet<string>;
  /** Fixed conditions (internal snapshots are never listed). */
  base?: readonly ListFilter[];
  /** Rows matching `base` are counted per project in `list_counts` (migration 0024). */
  counted?: boolean;
}

export const VOLUMES_LIST: ListTableSpec = {
  table: 'volumes',
  counted: true,
  metadataTable: 'volume_metadata',
  metadataFk: 'volume_id',
  nullable: new Set([
    'name',
    'description',
    'previous_status',
    'migration_status',
    'snapshot_id',
    'source_volid',
    'backup_id',
    'provider_location',
    'updated_at',
  ]),
};

export const SNAPSHOTS_LIST: ListTableSpec = {
  table: 'snapshots',
  counted: true,
  metadataTable: 'snapshot_metadata',
  metadataFk: 'snapshot_id',
  nullable: new Set(['name', 'description', 'volume_type_id', 'provider_location', 'updated_at']),
  base: [{ kind: 'eq', column: 'hidden', value: 0 }],
};

export const BACKUPS_LIST: ListTableSpec = {
  table: 'backups',
  counted: true,
  metadataTable: 'backup_metadata',
  metadataFk: 'backup_id',
  nullable: new Set([
    'snapshot_id',
    'name',
    'description',
    'availability_zone',
    'fail_reason',
    'parent_id',
    'host',
    'updated_at',
  ]),
};

export const MESSAGES_LIST: ListTableSpec = {
  table: 'messages',
  nullable: new Set(['resource_type', 'resource_uuid']),
};

type Row = Record<string, unknown>;
type AnyEb = ExpressionBuilder<any, any>;

function colExpr(t: ListTableSpec, column: string): Expression<any> {
  return t.nullable.has(column) ? sql`coalesce(${sql.ref(column)}, '')` : sql.ref(column);
}

function escapeLike(v: string): string {
  return v.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Flags are booleans in the domain and 0/1 in the tables. */
const stored = (v: string | number | boolean) => (typeof v === 'boolean' ? (v ? 1 : 0) : v);

function applyFilter(t: ListTableSpec, eb: AnyEb, f: ListFilter): Expression<SqlBool> {
  switch (f.kind) {
    case 'eq':
      return eb(sql.ref(f.column), '=', stored(f.value));
    case 'like':
      // Case-insensitive on both stores, as Cinder's LIKE is on MySQL and SQLite's is by itself; PostgreSQL's
      // LIKE compares case, so both sides are lowered.
      return sql<SqlBool>`lower(${sql.ref(f.column)}) like lower(${`%${escapeLike(f.value)}%`}) escape '\\'`;
    case 'cmp':
      return eb(sql.ref(f.column), f.op, f.value);
    case 'metadata': {
      if (!t.metadataTable || !t.metadataFk) return sql<SqlBool>`1 = 0`;
      const conds = Object.entries(f.items).map(([k, v]) =>
        eb.exists(
          eb
            .selectFrom(`${t.metadataTable} as md`)
            .select(sql.lit(1).as('one'))
            .where(sql.ref(`md.${t.metadataFk}`), '=', sql.ref(`${t.table}.id`))
            .where('md.key', '=', k)
            .where('md.value', '=', v),
        ),
      );
      return conds.length === 0 ? sql<SqlBool>`1 = 1` : eb.and(conds);
    }
    case 'none':
      return sql<SqlBool>`1 = 0`;
  }
}

function scoped(exec: Executor, t: ListTableSpec, where: ListWhere) {
  let q = (exec as unknown as Kysely<any>).selectFrom(t.table);
  if (where.projectId !== null) q = q.where(`${t.table}.project_id`, '=', where.projectId);
  for (const f of t.base ?? []) q = q.where((eb) => applyFilter(t, eb, f));
  for (const f of where.filters) q = q.where((eb) => applyFilter(t, eb, f));
  return q;
}

/**
 * Keyset pagination: the rows after the marker, in the list's order, are the disjoint ranges "equal on the first i
 * sort keys and strictly after the marker on key i", deepest i first. Each range is queried on its own, ordered
 * and limited, and the union (at most keys × limit rows) is ordered again. Each range is then an index range
 * scan of at most `limit` rows, whatever the page's depth and however many rows share the leading key: a single
 * `k1 >= v1 AND (k1 > v1 OR ...)` condition bounds only k1, so on a low-cardinality leading key (status, or the
 * '' of unnamed rows) a deep page read and dropped every row of the marker's group before it. A row-value
 * comparison would be one range, but only where every key sorts the same way; this shape also serves the
 * mixed-direction sorts that have an index of their own (migration 0029).
 */
function afterMarker(exec: Executor, t: ListTableSpec, q: ListQuery, marker: Row) {
  const db = exec as unknown as Kysely<any>;
  const fetch = q.limit + (q.offset ?? 0);
  const value = (column: string) => (t.nullable.has(column) ? (marker[column] ?? '') : marker[column]);
  const ranges = q.order.map((o, i) => {
    let r = scoped(exec, t, q.where).selectAll(t.table);
    for (const e of q.order.slice(0, i)) r = r.where(colExpr(t, e.column), '=', value(e.column));
    r = r.where(colExpr(t, o.column), o.dir === 'desc' ? '<' : '>', value(o.column));
    for (const e of q.order) r = r.orderBy(colExpr(t, e.column), e.dir);
    // SQLite takes ORDER BY/LIMIT in a compound's member only inside a subquery.
    return db.selectFrom(r.limit(fetch).as(`r${i}`)).selectAll();
  });
  let all = ranges[ranges.length - 1]!;
  for (let i = ranges.length - 2; i >= 0; i--) all = all.unionAll(ranges[i]!);
  let sel = db.selectFrom(all.as('after_marker')).selectAll();
  for (const o of q.order) sel = sel.orderBy(colExpr(t, o.column), o.dir);
  return sel;
}

/** One page of rows; null when the marker is not a row the caller could list. */
export async function listRows(
  exec: Executor,
  t: ListTableSpec,
  q: ListQuery,
): Promise<{ rows: Row[]; count: number | null } | null> {
  let sel = scoped(exec, t, q.where).selectAll(t.table);
  if (q.marker !== null) {
    const m = (await scoped(exec, t, { projectId: q.where.projectId, filters: [] })
      .selectAll(t.table)
      .where(`${t.table}.id`, '=', q.marker)
      .executeTakeFirst()) as Row | undefined;
    if (!m) return null;
    sel = afterMarker(exec, t, q, m) as unknown as typeof sel;
  } else {
    for (const o of q.order) sel = sel.orderBy(colExpr(t, o.column), o.dir);
  }
  sel = sel.limit(q.limit);
  if (q.offset) sel = sel.offset(q.offset);
  const rows = q.limit === 0 ? [] : ((await sel.execute()) as Row[]);
  const count = q.withCount ? await countRows(exec, t, q.where) : null;
  return { rows, count };
}

/**
 * Cinder's count is a COUNT(*) of the filtered query. Unfiltered (the common case, and the one a full scan of a
 * big project hurts), the trigger-kept `list_counts` answers it in one or a few rows; with filters the query is
 * counted, through the listing indexes where a filter allows.
 */
async function countRows(exec: Executor, t: ListTableSpec, where: ListWhere): Promise<number> {
  if (t.counted && where.filters.length === 0) {
    let q = (exec as unknown as Kysely<any>)
      .selectFrom('list_counts')
      .select((eb) => eb.fn.sum<number | string | null>('n').as('n'))
      .where('resource', '=', t.table);
    if (where.projectId !== null) q = q.where('project_id', '=', where.projectId);
    const c = await q.executeTakeFirst();
    return Number(c?.n ?? 0);
  }
  const c = await scoped(exec, t, where)
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirst();
  return Number((c as Row | undefined)?.n ?? 0);
}
