import type { MetadataStore, Scope } from '../domain/ports/metadata-store.js';
import type { Executor, OpenedDatabase } from './database.js';

/** The kysely executor behind a scope. Only repositories call this. */
export function executor(scope: Scope): Executor {
  return scope as unknown as Executor;
}

/** A kysely executor handed to services as an opaque scope. */
export function asScope(exec: Executor): Scope {
  return exec as unknown as Scope;
}

export function metadataStore(database: OpenedDatabase): MetadataStore {
  const { db } = database;
  return {
    kind: database.kind,
    root: asScope(db),
    transaction: (fn) => db.transaction().execute((tx) => fn(asScope(tx))),
  };
}
