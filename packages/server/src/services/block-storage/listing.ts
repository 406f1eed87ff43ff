import { type Expression, type ExpressionBuilder, type Kysely, type SqlBool, sql } from 'kysely';
import { badRequest, notFound } from '../../domain/errors.js';
import type { Executor } from '../../store/database.js';
import { type ListRequest, MAX_LIMIT, type SortSpec } from './types.js';

/** A condition on a listed table, produced by the filter policy and applied here. */
export type Filter =
  | { kind: 'eq'; column: string; value: string | number }
  | { kind: 'like'; column: string; value: string }
  | { kind: 'cmp'; column: string; op: '<' | '<=' | '>' | '>=' | '=' | '<>'; value: string }
  | { kind: 'metadata'; items: Record<string, string> }
  /** A filter that can match nothing here (an admin naming a column we do not have). */
  | { kind: 'none' };

export interface ListTable {
  table: 'volumes' | 'snapshots' | 'backups';
  metadataTable: 'volume_metadata' | 'snapshot_metadata' | 'backup_metadata';
  metadataFk: 'volume_id' | 'snapshot_id' | 'backup_id';
  /** Columns that may hold NULL: sorted and compared through COALESCE so keyset pagination stays total. */
  nullable: ReadonlySet<string>;
  /** API sort key → column; anything else is 400 "Invalid sort key". */
  sortColumns: Readonly<Record<string, string>>;
  /** Extra fixed conditions (hidden internal snapshots). */
  base?: Filter[];
}

export interface ListScope {
  /** null = all projects (admin all_tenants). */
  projectId: string | null;
  filters: Filter[];
}

type Row = Record<string, unknown>;
type AnyEb = ExpressionBuilder<any, any>;

function colExpr(t: ListTable, column: string): Expression<any> {
  return t.nullable.has(column) ? sql`coalesce(${sql.ref(column)}, '')` : sql.ref(column);
}

function escapeLike(v: string): string {
  return v.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function applyFilter(t: ListTable, eb: AnyEb, f: Filter): Expression<SqlBool> {
  switch (f.kind) {
    case 'eq':
      return eb(sql.ref(f.column), '=', f.value);
    case 'like':
      // Case-insensitive on both stores, as Cinder's LIKE is on MySQL and SQLite's is by itself; PostgreSQL's
      // LIKE compares case, so both sides are lowered.
      return sql<SqlBool>`lower(${sql.ref(f.column)}) like lower(${`%${escapeLike(f.value)}%`}) escape '\\'`;
    case 'cmp':
      return eb(sql.ref(f.column), f.op, f.value);
    case 'metadata': {
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

/** Cinder's sort rules: keys validated, `created_at` and `id` appended as tie-breakers in the first key's direction. */
export function resolveSort(t: ListTable, sort: SortSpec[]): { column: string; dir: 'asc' | 'desc' }[] {
  const out: { column: string; dir: 'asc' | 'desc' }[] = [];
  for (const s of sort) {
    const column = t.sortColumns[s.key];
    if (column === undefined) throw badRequest('Invalid input received: Invalid sort key');
    if (!out.some((o) => o.column === column)) out.push({ column, dir: s.dir });
  }
  const dir = out[0]?.dir ?? 'desc';
  for (const column of ['created_at', 'id']) if (!out.some((o) => o.column === column)) out.push({ column, dir });
  return out;
}

function scoped(exec: Executor, t: ListTable, scope: ListScope) {
  let q = (exec as unknown as Kysely<any>).selectFrom(t.table);
  if (scope.projectId !== null) q = q.where(`${t.table}.project_id`, '=', scope.projectId);
  for (const f of [...(t.base ?? []), ...scope.filters]) q = q.where((eb) => applyFilter(t, eb, f));
  return q;
}

/**
 * Keyset pagination: the marker row's sort values bound the next page, so a page costs an index range
 * scan whatever its depth. The condition is written `k1 <= v1 AND (k1 < v1 OR (...))` so the leading key
 * still bounds an index scan.
 */
function keyset(
  t: ListTable,
  eb: AnyEb,
  order: { column: string; dir: 'asc' | 'desc' }[],
  marker: Row,
  i = 0,
): Expression<SqlBool> {
  const o = order[i]!;
  const raw = marker[o.column];
  const v = t.nullable.has(o.column) ? (raw ?? '') : raw;
  const strict = o.dir === 'desc' ? '<' : '>';
  const loose = o.dir === 'desc' ? '<=' : '>=';
  const expr = colExpr(t, o.column);
  if (i === order.length - 1) return eb(expr, strict, v);
  return eb.and([eb(expr, loose, v), eb.or([eb(expr, strict, v), keyset(t, eb, order, marker, i + 1)])]);
}

export async function listRows(
  exec: Executor,
  t: ListTable,
  scope: ListScope,
  req: ListRequest,
  markerNotFound: (marker: string) => Error = (m) => notFound(`Marker ${m} could not be found.`),
): Promise<{ rows: Row[]; count: number | null; limit: number }> {
  const order = resolveSort(t, req.sort);
  const limit = Math.min(req.limit ?? MAX_LIMIT, MAX_LIMIT);
  let q = scoped(exec, t, scope).selectAll(t.table);
  if (req.marker !== null) {
    // The marker must be a row the caller could list; anything else is unknown.
    const m = (await scoped(exec, t, { projectId: scope.projectId, filters: [] })
      .selectAll(t.table)
      .where(`${t.table}.id`, '=', req.marker)
      .executeTakeFirst()) as Row | undefined;
    if (!m) throw markerNotFound(req.marker);
    q = q.where((eb) => keyset(t, eb, order, m));
  }
  for (const o of order) q = q.orderBy(colExpr(t, o.column), o.dir);
  q = q.limit(limit);
  if (req.offset) q = q.offset(req.offset);
  const rows = limit === 0 ? [] : ((await q.execute()) as Row[]);
  let count: number | null = null;
  if (req.withCount) {
    const c = await scoped(exec, t, scope)
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirst();
    count = Number((c as Row | undefined)?.n ?? 0);
  }
  return { rows, count, limit };
}
