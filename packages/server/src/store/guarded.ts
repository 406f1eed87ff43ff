import type { Transition } from '../domain/ports/metadata-store.js';
import type { Executor } from './database.js';
import { prepared, preparedFamily, preparedResult } from './prepared.js';
import type { Database } from './schema.js';

export type { Transition };

type StatusTable = {
  [T in keyof Database]: Database[T] extends { id: string; status: string } ? T : never;
}[keyof Database];

/**
 * `UPDATE table SET status = to, …changes WHERE id = ? AND status IN (from) RETURNING *` (pass a transaction so a
 * refusal's read-back sees the same state the update did). `from` null: any status.
 * Repositories wrap this per aggregate and map the row to their domain record.
 */
export async function guardedTransition<T extends StatusTable>(
  exec: Executor,
  table: T,
  id: string,
  from: readonly string[] | null,
  to: string | null,
  changes: Partial<Database[T]> = {},
): Promise<Transition<Database[T]>> {
  const set: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(changes)) if (v !== undefined) set[k] = v;
  if (to !== null) set.status = to;
  const columns = Object.keys(set).sort();
  // An empty guard allows no status: no update can match, so only the read below runs. (A placeholder status such
  // as a NUL string would be refused by PostgreSQL's text type.)
  if (from === null || from.length > 0) {
    const args: Record<string, unknown> = { id };
    for (const c of columns) args[`v_${c}`] = set[c];
    if (from) from.forEach((s, i) => (args[`s${i}`] = s));
    const update = guardedUpdate(`${table}|${from ? from.length : '*'}|${columns.join(',')}`);
    // RETURNING hands back the row as written (SQLite 3.35+ and PostgreSQL): a move that succeeds is one statement.
    const moved = (await update(exec, args)).rows[0] as Database[T] | undefined;
    if (moved) return { ok: true, record: moved };
  }
  // Refused or gone: the row, read in the same executor, says which.
  const row = (await rowById(table)(exec, { id }))[0] as Database[T] | undefined;
  if (!row) return { ok: false, reason: 'gone' };
  return { ok: false, reason: 'status', status: (row as { status: string }).status };
}

// Compiled once per table, guard length and set of columns: a transition costs its two statements, not two
// kysely builds and compilations as well.
const guardedUpdate = preparedFamily((key) => {
  const [table, guard, cols] = key.split('|') as [string, string, string];
  const columns = cols === '' ? [] : cols.split(',');
  return preparedResult<Record<string, unknown>, unknown>((db, arg) => {
    // kysely cannot type a query over a table chosen at run time; the StatusTable bound of the caller keeps it honest.
    const e = db as unknown as { updateTable(t: string): any };
    const set: Record<string, unknown> = {};
    for (const c of columns) set[c] = arg(`v_${c}`);
    // A transition that sets nothing (a bare guard check) still needs a SET clause: id = id changes nothing.
    let q = columns.length > 0 ? e.updateTable(table).set(set) : e.updateTable(table).set((eb: any) => ({ id: eb.ref('id') }));
    q = q.where('id', '=', arg('id'));
    if (guard !== '*') q = q.where('status', 'in', Array.from({ length: Number(guard) }, (_, i) => arg(`s${i}`)));
    return q.returningAll();
  });
});

const rowById = preparedFamily((table) =>
  prepared<{ id: string }, unknown>((db, arg) => (db as unknown as { selectFrom(t: string): any }).selectFrom(table).selectAll().where('id', '=', arg('id'))),
);
