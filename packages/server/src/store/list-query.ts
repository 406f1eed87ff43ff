/**
 * The generic list query of the Cinder resources (volumes, snapshots, backups): filters, keyset pagination,
 * counts. The services decide which filters and sort keys a caller may use (Cinder's rules) and hand over a
 * `ListQuery` in field names; this module turns it into SQL.
 */
import type { JsonField, ListFilter, ListOrder, ListQuery, ListWhere } from '../domain/ports/block-storage-store.js';
import { SNAPSHOT_BASE_JSON_FIELDS, SNAPSHOT_EXTENDED_JSON_FIELDS } from '../domain/snapshot-json-fields.js';
import type { Executor } from './database.js';
import { type Dialect, Params, dialectOf, ident, runRaw } from './raw-sql.js';

export interface ListTableSpec {
  table: 'volumes' | 'snapshots' | 'backups' | 'messages';
  /** Absent for resources without metadata (messages): a metadata filter then matches nothing. */
  metadataTable?: 'volume_metadata' | 'snapshot_metadata' | 'backup_metadata';
  metadataFk?: 'volume_id' | 'snapshot_id' | 'backup_id';
  /** A trigger-kept column holding the row's metadata as a JSON object text (snapshots, migration 0032). */
  metadataJson?: 'metadata_json';
  /** Columns that may hold NULL: sorted and compared through COALESCE so keyset pagination stays total. */
  nullable: ReadonlySet<string>;
  /**
   * A trigger-kept column holding the text of the row's JSON object over `fields` without its closing brace
   * (snapshots, migration 0033). A page whose field list contains these fields concatenates it with the rest
   * instead of rendering every value again per row.
   */
  rendered?: { column: 'detail_head'; fields: readonly JsonField[] };
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

/**
 * The snapshot detail fields no microversion gates, as `snapshots.detail_head` holds them (migration 0033; the
 * lists live in the domain, shared with the API's field lists). A text field comes last, so the rendered object
 * ends in `"}` or `l}` and exactly one brace is trimmed.
 */
export const SNAPSHOT_RENDERED_FIELDS: readonly JsonField[] = [...SNAPSHOT_BASE_JSON_FIELDS, ...SNAPSHOT_EXTENDED_JSON_FIELDS];

export const SNAPSHOTS_LIST: ListTableSpec = {
  table: 'snapshots',
  rendered: { column: 'detail_head', fields: SNAPSHOT_RENDERED_FIELDS },
  counted: true,
  metadataTable: 'snapshot_metadata',
  metadataFk: 'snapshot_id',
  metadataJson: 'metadata_json',
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

/** `table.column` or `column`, each part quoted. */
function ref(name: string): string {
  return name.split('.').map(ident).join('.');
}

function colExpr(t: ListTableSpec, column: string): string {
  return t.nullable.has(column) ? `coalesce(${ref(column)}, '')` : ref(column);
}

function escapeLike(v: string): string {
  return v.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Flags are booleans in the domain and 0/1 in the tables. */
const stored = (v: string | number | boolean) => (typeof v === 'boolean' ? (v ? 1 : 0) : v);

const CMP_OPS = new Set(['<', '<=', '>', '>=', '=', '<>']);

function applyFilter(t: ListTableSpec, p: Params, f: ListFilter): string {
  switch (f.kind) {
    case 'eq':
      return `${ref(f.column)} = ${p.add(stored(f.value))}`;
    case 'like':
      // Case-insensitive on both stores, as Cinder's LIKE is on MySQL and SQLite's is by itself; PostgreSQL's
      // LIKE compares case, so both sides are lowered.
      return `lower(${ref(f.column)}) like lower(${p.add(`%${escapeLike(f.value)}%`)}) escape '\\'`;
    case 'cmp':
      if (!CMP_OPS.has(f.op)) throw new Error(`list filter: unknown operator ${String(f.op)}`);
      return `${ref(f.column)} ${f.op} ${p.add(f.value)}`;
    case 'metadata': {
      if (!t.metadataTable || !t.metadataFk) return '1 = 0';
      const conds = Object.entries(f.items).map(
        ([k, v]) =>
          `exists (select 1 as "one" from ${ident(t.metadataTable!)} as "md" where "md".${ident(t.metadataFk!)} = ${ref(`${t.table}.id`)} and "md"."key" = ${p.add(k)} and "md"."value" = ${p.add(v)})`,
      );
      return conds.length === 0 ? '1 = 1' : `(${conds.join(' and ')})`;
    }
    case 'none':
      return '1 = 0';
  }
}

/** The WHERE conditions of a listing, parameters added to `p` in text order. */
function scoped(t: ListTableSpec, p: Params, where: ListWhere): string[] {
  const conds: string[] = [];
  if (where.projectId !== null) conds.push(`${ref(`${t.table}.project_id`)} = ${p.add(where.projectId)}`);
  for (const f of t.base ?? []) conds.push(applyFilter(t, p, f));
  for (const f of where.filters) conds.push(applyFilter(t, p, f));
  return conds;
}

function whereClause(conds: readonly string[]): string {
  return conds.length === 0 ? '' : ` where ${conds.map((c) => `(${c})`).join(' and ')}`;
}

/**
 * Keyset pagination: the rows after the marker, in the list's order, are the disjoint ranges "equal on the first i
 * sort keys and strictly after the marker on key i". Each range is queried on its own, ordered and limited, and the
 * union (at most keys × (limit + offset) rows) is ordered again. Each range is then an index range scan of at most
 * a page, whatever the page's depth and however many rows share the leading key: a single
 * `k1 >= v1 AND (k1 > v1 OR ...)` condition bounds only k1, so on a low-cardinality leading key (status, or the
 * '' of unnamed rows) a deep page read and dropped every row of the marker's group before it. A row-value
 * comparison would be one range, but only where every key sorts the same way; this shape also serves the
 * mixed-direction sorts that have an index of their own (migration 0029).
 */
function afterMarker(t: ListTableSpec, p: Params, q: ListQuery, marker: Row): string {
  const table = ident(t.table);
  const value = (column: string) => (t.nullable.has(column) ? (marker[column] ?? '') : marker[column]);
  const fetch = q.limit + (q.offset ?? 0);
  const ranges: string[] = [];
  // Deepest range first: the union is re-sorted anyway; parameters are added in text order (SQLite's `?`).
  for (let i = q.order.length - 1; i >= 0; i--) {
    const o = q.order[i]!;
    const conds = scoped(t, p, q.where);
    for (const e of q.order.slice(0, i)) conds.push(`${colExpr(t, e.column)} = ${p.add(value(e.column))}`);
    conds.push(`${colExpr(t, o.column)} ${o.dir === 'desc' ? '<' : '>'} ${p.add(value(o.column))}`);
    // SQLite takes ORDER BY/LIMIT in a compound's member only inside a subquery.
    ranges.push(
      `select * from (select ${table}.* from ${table}${whereClause(conds)} order by ${orderBy(t, q.order)} limit ${p.add(fetch)}) as "r${i}"`,
    );
  }
  return `select * from (${ranges.join(' union all ')}) as "after_marker"`;
}

function orderBy(t: ListTableSpec, order: readonly ListOrder[]): string {
  return order.map((o) => `${colExpr(t, o.column)} ${o.dir === 'desc' ? 'desc' : 'asc'}`).join(', ');
}

/**
 * The text and parameters of one page's query; null when the marker is not a row the caller could list. The SQL is
 * written here, not built by kysely: a page runs up to three of these per request, and their text depends only on
 * the query's shape.
 */
async function pageQuery(
  exec: Executor,
  t: ListTableSpec,
  q: ListQuery,
  firstPageColumns?: string,
): Promise<{ text: string; p: Params; direct: boolean } | null> {
  const dialect = dialectOf(exec);
  const table = ident(t.table);
  const p = new Params(dialect);
  let text: string;
  if (q.marker !== null) {
    const mp = new Params(dialect);
    const mconds = scoped(t, mp, { projectId: q.where.projectId, filters: [] });
    mconds.push(`${ref(`${t.table}.id`)} = ${mp.add(q.marker)}`);
    const m = (await runRaw<Row>(exec, `select ${table}.* from ${table}${whereClause(mconds)} limit 1`, mp.values))[0];
    if (!m) return null;
    text = afterMarker(t, p, q, m);
  } else {
    text = `select ${firstPageColumns ?? `${table}.*`} from ${table}${whereClause(scoped(t, p, q.where))}`;
  }
  // Sort columns are bare names, so the same ORDER BY reads the union's columns after a marker.
  text += ` order by ${orderBy(t, q.order)} limit ${p.add(q.limit)}`;
  if (q.offset) text += ` offset ${p.add(q.offset)}`;
  return { text, p, direct: q.marker === null && firstPageColumns !== undefined };
}

/** One page of rows; null when the marker is not a row the caller could list. */
export async function listRows(
  exec: Executor,
  t: ListTableSpec,
  q: ListQuery,
): Promise<{ rows: Row[]; count: number | null } | null> {
  const page = await pageQuery(exec, t, q);
  if (!page) return null;
  const rows = q.limit === 0 ? [] : await runRaw<Row>(exec, page.text, page.p.values);
  const count = q.withCount ? await countRows(exec, t, q.where) : null;
  return { rows, count };
}

/** A field's value as a JSON value expression over the page row `row` (a quoted table name or alias). */
function jsonValue(t: ListTableSpec, dialect: Dialect, f: JsonField, row: string): string {
  if (f.as === 'metadata') {
    if (!t.metadataTable || !t.metadataFk) return dialect === 'postgres' ? `'{}'::json` : `json('{}')`;
    // The stored text as a nested object: json() on SQLite (a bare text would be quoted), a cast on PostgreSQL.
    if (t.metadataJson) {
      const col = `${row}.${ident(t.metadataJson)}`;
      return dialect === 'postgres' ? `${col}::json` : `json(${col})`;
    }
    const md = `from ${ident(t.metadataTable)} as "md" where "md".${ident(t.metadataFk)} = ${row}."id"`;
    // Keys in the order the object path reads them (by key); a resource without metadata shows {}.
    return dialect === 'postgres'
      ? `coalesce((select json_object_agg("md"."key", "md"."value" order by "md"."key") ${md}), '{}'::json)`
      : `json(coalesce((select json_group_object("md"."key", "md"."value" order by "md"."key") ${md}), '{}'))`;
  }
  const col = `${row}.${ident(f.column)}`;
  switch (f.as) {
    case 'text':
      return col;
    case 'int':
      // The object path reads these through Number(); a value SQLite happened to store as text must not come out quoted.
      return dialect === 'postgres' ? col : `cast(${col} as integer)`;
    case 'bool':
      // Flags are 0/1 in the tables. SQLite embeds json()'s result as JSON rather than quoting it; json() of a
      // constant is a constant SQLite evaluates once, not a parse per row.
      return dialect === 'postgres' ? `(${col} <> 0)` : `iif(${col}, json('true'), json('false'))`;
  }
}

// The object expression of a field list (one per microversion gate set, kept by the views) per table, dialect and
// row alias: a handful of texts, built once rather than per request.
const objectExprs = new WeakMap<readonly JsonField[], Map<string, string>>();

function objectExpr(t: ListTableSpec, dialect: Dialect, fields: readonly JsonField[], row: string): string {
  let byShape = objectExprs.get(fields);
  if (!byShape) objectExprs.set(fields, (byShape = new Map()));
  const key = `${t.table}|${dialect}|${row}`;
  let text = byShape.get(key);
  if (text === undefined) {
    text = splicedObject(t, dialect, fields, row) ?? renderedObject(t, dialect, fields, row);
    byShape.set(key, text);
  }
  return text;
}

/** The database rendering `fields` of `row` as one JSON object (json_object / json_build_object). */
export function renderedObject(t: ListTableSpec, dialect: Dialect, fields: readonly JsonField[], row: string): string {
  const args = fields.map((f) => `'${f.key.replace(/'/g, "''")}', ${jsonValue(t, dialect, f, row)}`).join(', ');
  return dialect === 'postgres' ? `json_build_object(${args})::text` : `json_object(${args})`;
}

/**
 * The head of `t.rendered` (the object over its fields without the closing brace), as the triggers store it.
 * The last rendered field is text, so the object ends in one brace that nothing before it shares.
 */
export function renderedHead(t: ListTableSpec, dialect: Dialect, row: string): string {
  const fields = t.rendered!.fields;
  const last = fields[fields.length - 1]!;
  if (last.as === 'metadata') throw new Error('rendered fields: the last one must not end in a brace');
  const obj = renderedObject(t, dialect, fields, row);
  // rtrim strips every trailing brace, which is exactly one here; it renders the object once where substr/length
  // would render it twice.
  return dialect === 'postgres' ? `left(${obj}, -1)` : `rtrim(${obj}, '}')`;
}

const sameField = (a: JsonField, b: JsonField) =>
  a.key === b.key && a.as === b.as && ('column' in a ? a.column : null) === ('column' in b ? b.column : null);

/**
 * A value as JSON text built by concatenation (NULL as `null`), for the few fields spliced after a stored head:
 * the same text json_object / json_build_object would embed.
 */
function spliceValue(dialect: Dialect, f: JsonField & { column: string }, row: string): string {
  const col = `${row}.${ident(f.column)}`;
  if (dialect === 'postgres') {
    switch (f.as) {
      case 'text':
        return `coalesce(to_json(${col})::text, 'null')`;
      case 'int':
        return `coalesce(${col}::text, 'null')`;
      case 'bool':
        return `(case when ${col} is null then 'null' when ${col} <> 0 then 'true' else 'false' end)`;
    }
  }
  switch (f.as) {
    case 'text':
      return `json_quote(${col})`;
    case 'int':
      return `coalesce(cast(cast(${col} as integer) as text), 'null')`;
    case 'bool':
      // As the reference's iif(): a NULL flag is false on SQLite.
      return `iif(${col}, 'true', 'false')`;
  }
  throw new Error(`list field ${f.key}: unknown kind`);
}

/**
 * When `fields` holds every field of the table's stored head (same key, column and kind), the object is that head
 * and the other fields concatenated after it: the page copies stored text instead of rendering ~15 values (and
 * re-parsing the metadata) per row. Null when the stored head does not cover the list.
 */
function splicedObject(t: ListTableSpec, dialect: Dialect, fields: readonly JsonField[], row: string): string | null {
  if (!t.rendered) return null;
  const stored = t.rendered.fields;
  if (!stored.every((s) => fields.some((f) => sameField(f, s)))) return null;
  const tail: string[] = [];
  for (const f of fields) {
    if (stored.some((s) => sameField(f, s))) continue;
    // Metadata is only ever in the head, and a key the head renders differently would appear twice.
    if (f.as === 'metadata' || stored.some((s) => s.key === f.key)) return null;
    tail.push(`'${`,${JSON.stringify(f.key)}:`.replace(/'/g, "''")}'`, spliceValue(dialect, f, row));
  }
  tail.push(`'}'`);
  // The short tail is joined first: `||` is left-associative, and each step copies its left side, so chaining
  // the pieces onto the head copied the ~400-byte head once per piece (six at 3.65), not once.
  return `(${row}.${ident(t.rendered.column)} || (${tail.join(' || ')}))`;
}

/** Whether a page of `fields` concatenates the table's stored head (tests hold the detail list to it). */
export function usesStoredHead(t: ListTableSpec, fields: readonly JsonField[]): boolean {
  return splicedObject(t, 'sqlite', fields, '"p"') !== null;
}

/**
 * The page `listRows` reads, each row rendered by the database as the JSON object `fields` describe (in their
 * order), and the page's objects joined by the database into one text, `o1,o2,...` in page order. A page's rows
 * as objects cost more to read into JS than the database spends finding them, one string per value, and then as
 * much again to serialise; one string per row costs a fraction of either, and one string per page (with the
 * page's size and last id, all the next link needs) spares even those 100 rows and their strings.
 */
export async function listJsonPage(
  exec: Executor,
  t: ListTableSpec,
  q: ListQuery,
  fields: readonly JsonField[],
): Promise<{ n: number; lastId: string | null; items: string; count: number | null } | null> {
  const dialect = dialectOf(exec);
  const obj = (row: string) => objectExpr(t, dialect, fields, row);
  const table = ident(t.table);
  // A first page renders its rows in the page query itself: only the `limit` rows it returns are rendered. After
  // a marker the page is a union of ranges that each fetch more rows than they keep, so it is rendered over the
  // finished page. PostgreSQL orders its aggregates by the sort keys, so its rows carry them.
  const pg = dialect === 'postgres';
  const page = await pageQuery(exec, t, q, `${table}.${pg ? '*' : '"id"'}, ${obj(table)} as "json"`);
  if (!page) return null;
  const rows = page.direct
    ? page.text
    : `select "p".${pg ? '*' : '"id"'}, ${obj('"p"')} as "json" from (${page.text}) as "p"`;
  // SQLite aggregates a subquery's rows in the order it yields them: a subquery with a LIMIT keeps its ORDER BY
  // (the limit depends on it) and is read as it runs, never re-sorted or hashed, since an aggregate with no GROUP
  // BY has nothing to group by. An ORDER BY inside group_concat would sort the page's texts again, a third of the
  // statement; snapshots.test.ts holds every page, first and after a marker, to the summary list's order on
  // several sort keys.
  // PostgreSQL only says a sorted subquery "usually" feeds an aggregate in order, so it is told; sorting 100 rows
  // in memory costs it little.
  const ids = pg ? `string_agg("id", ',' order by ${orderBy(t, q.order)})` : `group_concat("id", ',')`;
  const items = pg ? `string_agg("json", ',' order by ${orderBy(t, q.order)})` : `group_concat("json", ',')`;
  const text = `select count(*) as "n", ${items} as "items", ${ids} as "ids" from (${rows}) as "page"`;
  let out = { n: 0, lastId: null as string | null, items: '' };
  if (q.limit !== 0) {
    const r = (await runRaw<{ n: number | string; items: string | null; ids: string | null }>(exec, text, page.p.values))[0];
    const n = Number(r?.n ?? 0);
    // Ids are the server's UUIDs: no comma inside one.
    if (n > 0) out = { n, items: r!.items ?? '', lastId: r!.ids!.slice(r!.ids!.lastIndexOf(',') + 1) };
  }
  const count = q.withCount ? await countRows(exec, t, q.where) : null;
  return { ...out, count };
}

/**
 * Cinder's count is a COUNT(*) of the filtered query. Unfiltered (the common case, and the one a full scan of a
 * big project hurts), the trigger-kept `list_counts` answers it in one or a few rows; with filters the query is
 * counted, through the listing indexes where a filter allows.
 */
async function countRows(exec: Executor, t: ListTableSpec, where: ListWhere): Promise<number> {
  const p = new Params(dialectOf(exec));
  if (t.counted && where.filters.length === 0) {
    const conds = [`"resource" = ${p.add(t.table)}`];
    if (where.projectId !== null) conds.push(`"project_id" = ${p.add(where.projectId)}`);
    const c = (await runRaw<{ n: number | string | null }>(exec, `select sum("n") as "n" from "list_counts"${whereClause(conds)}`, p.values))[0];
    return Number(c?.n ?? 0);
  }
  const table = ident(t.table);
  const c = (await runRaw<{ n: number | string | null }>(exec, `select count(*) as "n" from ${table}${whereClause(scoped(t, p, where))}`, p.values))[0];
  return Number(c?.n ?? 0);
}
