import { CompiledQuery, PostgresAdapter } from 'kysely';
import type { Executor } from './database.js';

export type Dialect = 'sqlite' | 'postgres';

/** The dialect behind an executor; a transaction shares its database's adapter. */
export function dialectOf(exec: Executor): Dialect {
  // getExecutor() is marked internal in kysely's types but is the one handle on the dialect a transaction shares.
  return exec.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}

/**
 * Runs SQL text written here rather than built by kysely. The list paths run several queries per request whose
 * operation trees kysely would build and compile anew each time (as much CPU as SQLite's own work on a page);
 * their text is short and fixed per shape, so writing it directly costs next to nothing, and the same text
 * lands in SQLite's statement cache and PostgreSQL's named statements (store/database.ts).
 */
export async function runRaw<R>(exec: Executor, text: string, params: readonly unknown[]): Promise<R[]> {
  const r = await exec.executeQuery<R>(CompiledQuery.raw(text, params as unknown[]));
  return r.rows;
}

/** Placeholders for parameters collected in order: `?` on SQLite, `$n` on PostgreSQL. */
export class Params {
  readonly values: unknown[] = [];
  constructor(readonly dialect: Dialect) {}
  add(v: unknown): string {
    this.values.push(v);
    return this.dialect === 'postgres' ? `$${this.values.length}` : '?';
  }
  /**
   * A list of values as ONE parameter, so the statement text (and its prepared statement) does not depend on
   * how many there are: a JSON array read by json_each on SQLite, an array on PostgreSQL.
   */
  inList(column: string, values: readonly string[]): string {
    if (this.dialect === 'postgres') return `${column} = any(${this.add(values)}::text[])`;
    return `${column} in (select value from json_each(${this.add(JSON.stringify(values))}))`;
  }
}

/** Identifiers here come from fixed tables of names, never from a request; quoted all the same. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
