import type { Compilable, CompiledQuery, QueryResult } from 'kysely';
import type { Executor } from './database.js';

/** A value standing for a named argument while the query is compiled once; never sent to the database. */
const HOLE = '\u0000cinderbox-arg:';

/**
 * A query compiled once per dialect and then run with new argument values. kysely builds and compiles every query
 * anew (an operation tree, then SQL text): on a point read that costs as much as the query itself. The hot paths
 * (a resource by id, its metadata) are fixed shapes, so they are built once with placeholder values, and each run
 * only swaps the parameter values in. The SQL text stays the same, so SQLite's statement cache and PostgreSQL's
 * named statements (store/database.ts) reuse their prepared statements too.
 *
 * `build` must use `arg(name)` for every value that varies per call and constants for the rest; a value passed
 * to `arg` must end up as a bound parameter (not, e.g., in an `in (…)` list whose length varies).
 */
export function prepared<A extends Record<string, unknown>, R>(
  build: (db: Executor, arg: <K extends keyof A & string>(name: K) => A[K]) => Compilable<R>,
): (exec: Executor, args: A) => Promise<R[]> {
  const run = preparedResult(build);
  return async (exec, args) => (await run(exec, args)).rows;
}

/** As `prepared`, giving the whole result: a write's `numAffectedRows`. */
export function preparedResult<A extends Record<string, unknown>, R>(
  build: (db: Executor, arg: <K extends keyof A & string>(name: K) => A[K]) => Compilable<R>,
): (exec: Executor, args: A) => Promise<QueryResult<R>> {
  // Per dialect adapter: a transaction shares its database's adapter, SQLite and PostgreSQL compile differently.
  const compiled = new WeakMap<object, { query: CompiledQuery<R>; slots: (string | null)[] }>();
  return async (exec, args) => {
    // getExecutor() is marked internal in kysely's types but is the one handle on the dialect a transaction shares.
    const adapter = exec.getExecutor().adapter;
    let c = compiled.get(adapter);
    if (!c) {
      const query = build(exec, (name) => `${HOLE}${name}` as never).compile();
      const slots = query.parameters.map((p) => (typeof p === 'string' && p.startsWith(HOLE) ? p.slice(HOLE.length) : null));
      const named = new Set(slots.filter((s) => s !== null));
      if (named.size === 0) throw new Error('prepared(): the query binds no argument');
      c = { query, slots };
      compiled.set(adapter, c);
    }
    const { query, slots } = c;
    const parameters = query.parameters.map((p, i) => {
      const slot = slots[i];
      return slot === null || slot === undefined ? p : args[slot];
    });
    return exec.executeQuery<R>({ ...query, parameters });
  };
}

/**
 * Prepared queries whose shape varies with a few discrete choices (which columns an insert or update sets, how
 * many statuses a guard allows): one compiled query per shape key, made on first use. The keys must come from
 * code, not from request data, so the cache stays small.
 */
export function preparedFamily<F>(make: (key: string) => F): (key: string) => F {
  const family = new Map<string, F>();
  return (key) => {
    let f = family.get(key);
    if (f === undefined) {
      f = make(key);
      family.set(key, f);
    }
    return f;
  };
}
