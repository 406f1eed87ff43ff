import type { MetadataStore, Scope } from '../domain/ports/metadata-store.js';
import type { Executor, OpenedDatabase } from './database.js';
import { isSqliteFull } from './metadata-reserve.js';

/** The kysely executor behind a scope. Only repositories call this. */
export function executor(scope: Scope): Executor {
  return scope as unknown as Executor;
}

/** A kysely executor handed to services as an opaque scope. */
export function asScope(exec: Executor): Scope {
  return exec as unknown as Scope;
}

/**
 * PostgreSQL aborts one of two transactions that wait on each other (deadlock_detected, 40P01) and, above READ
 * COMMITTED, one that cannot be serialised (40001). Neither is the request's fault and both succeed when run
 * again, so the store retries them instead of answering 500. SQLite has a single writer and never raises them.
 */
const RETRYABLE = new Set(['40P01', '40001']);
const ATTEMPTS = 4;

function retryable(err: unknown): boolean {
  return typeof err === 'object' && err !== null && RETRYABLE.has(String((err as { code?: unknown }).code));
}

export function metadataStore(database: OpenedDatabase): MetadataStore {
  const { db } = database;
  return {
    kind: database.kind,
    root: asScope(db),
    async transaction(fn) {
      const reserve = database.reserve ?? null;
      let spaceRetried = false;
      for (let attempt = 1; ; attempt++) {
        const releases = reserve?.releases ?? 0;
        try {
          const out = await db.transaction().execute((tx) => fn(asScope(tx)));
          if (spaceRetried) reserve?.refill();
          return out;
        } catch (err) {
          if (spaceRetried) reserve?.refill();
          // SQLite rolled the transaction back on a full disk: once the reserve is freed (during this attempt or
          // now), the whole transaction runs once more into that space, and refill() takes back what it left.
          if (reserve && !spaceRetried && isSqliteFull(err) && (reserve.releases > releases || reserve.release())) {
            spaceRetried = true;
            continue;
          }
          if (attempt >= ATTEMPTS || !retryable(err)) throw err;
          // A little jitter, so the two that collided do not meet again in the same order.
          await new Promise((r) => setTimeout(r, 2 + Math.random() * 8 * attempt));
        }
      }
    },
  };
}
