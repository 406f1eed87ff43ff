import type { Transition } from '../domain/ports/metadata-store.js';
import type { Executor } from './database.js';
import type { Database } from './schema.js';

export type { Transition };

type StatusTable = {
  [T in keyof Database]: Database[T] extends { id: string; status: string } ? T : never;
}[keyof Database];

/**
 * `UPDATE table SET status = to, …changes WHERE id = ? AND status IN (from)` and read the row back in the same
 * executor (pass a transaction for the read to see exactly what the update wrote). `from` null: any status.
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
  // kysely cannot type a query over a table chosen by a type parameter; the StatusTable bound keeps it honest.
  const e = exec as unknown as { updateTable(t: string): any; selectFrom(t: string): any };
  const set: Record<string, unknown> = { ...changes };
  if (to !== null) set.status = to;
  let q = e.updateTable(table).set(set).where('id', '=', id);
  if (from !== null) q = q.where('status', 'in', from.length > 0 ? [...from] : ['\u0000none']);
  const res = await q.executeTakeFirst();
  const row = (await e.selectFrom(table).selectAll().where('id', '=', id).executeTakeFirst()) as Database[T] | undefined;
  if (!row) return { ok: false, reason: 'gone' };
  if (Number(res.numUpdatedRows) === 0) return { ok: false, reason: 'status', status: (row as { status: string }).status };
  return { ok: true, record: row };
}
