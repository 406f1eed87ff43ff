/**
 * The metadata store as services see it: transactions and an opaque scope. Repositories (one port per
 * aggregate family, beside this file) take a `Scope` as their first argument: the store itself for a lone
 * read or write, or the transaction `transaction()` hands out, so a service chooses the boundary without
 * knowing what SQL engine is behind it.
 */
declare const scopeBrand: unique symbol;

/** An open transaction, or the store outside any transaction. Only store/ knows what it is. */
export interface Scope {
  readonly [scopeBrand]: true;
}

export interface MetadataStore {
  readonly kind: 'sqlite' | 'postgres';
  /** The store outside any transaction: each call commits on its own. */
  readonly root: Scope;
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. No I/O besides the
   * store belongs inside (it would hold the transaction open). `fn` may run more than once: a transaction the
   * database aborts for a deadlock or a serialization failure is rolled back and run again, so `fn` must have no
   * effect outside the store that a second run would repeat.
   */
  transaction<T>(fn: (tx: Scope) => Promise<T>): Promise<T>;
}

/**
 * The result of a guarded status transition (`UPDATE … WHERE id = ? AND status IN (from)`): the updated record,
 * or why nothing changed — the record is gone, or a racing request moved it to `status` first.
 */
export type Transition<R> =
  | { ok: true; record: R }
  | { ok: false; reason: 'gone' }
  | { ok: false; reason: 'status'; status: string };
