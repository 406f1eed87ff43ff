import type { AuthContext } from '../../domain/auth-context.js';

interface Entry {
  auth: AuthContext;
  /** Local time after which the entry is checked against the store again. */
  recheckAt: number;
  /** The stored token hash: revocation names a token by it. */
  hash: string;
  /** `stamp` of the cache when the entry last moved to the recent end. */
  stamp: number;
}

/**
 * Bounded LRU of validated tokens. Entries are keyed by whatever the caller looks them up by (the raw token on
 * the request path, so that a hit costs no sha256) and remember the token's hash, by which a revoke drops them.
 * Invalidation bumps a generation counter so that a validation that started before a revoke cannot put its
 * (now stale) result into the cache.
 */
export class TokenCache {
  private readonly entries = new Map<string, Entry>();
  /** hash → key, for drop(): a revoke must not scan the whole cache. */
  private readonly keyOfHash = new Map<string, string>();
  private generation = 0;
  /** Counts moves to the recent end (inserts and refreshes). */
  private stamp = 0;

  constructor(
    private readonly maxEntries: number,
    /** Bounds how long a revoke made by another node can go unnoticed here. */
    private readonly maxAgeMs: number,
  ) {}

  get(key: string, now: number | Date): AuthContext | null {
    const e = this.entries.get(key);
    if (!e) return null;
    const t = typeof now === 'number' ? now : now.getTime();
    if (e.auth.expiresAt.getTime() <= t || e.recheckAt <= t) {
      this.remove(key, e);
      return null;
    }
    // Map order is insertion order: re-inserting marks the entry most recently used. A busy token is looked up on
    // every request, and a delete and insert each time cost more than the rest of the hit; so an entry moves only
    // when half the capacity of moves has happened since its last one. Eviction stays close to LRU: a token used
    // at least that often is never evicted.
    if (this.stamp - e.stamp >= this.maxEntries >> 1) {
      this.entries.delete(key);
      this.entries.set(key, e);
      e.stamp = ++this.stamp;
    }
    return e.auth;
  }

  /** The generation to hand back to `set` after a store lookup. */
  snapshot(): number {
    return this.generation;
  }

  /** `hash` is the stored token hash when `key` is not that hash itself. */
  set(key: string, auth: AuthContext, now: Date, generation: number, hash: string = key): void {
    if (generation !== this.generation) return;
    const old = this.entries.get(key);
    if (old) this.remove(key, old);
    const prevKey = this.keyOfHash.get(hash);
    if (prevKey !== undefined) this.remove(prevKey, this.entries.get(prevKey));
    this.entries.set(key, { auth, recheckAt: now.getTime() + this.maxAgeMs, hash, stamp: ++this.stamp });
    this.keyOfHash.set(hash, key);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.remove(oldest, this.entries.get(oldest));
    }
  }

  /** Drops the token whose stored hash is `hash`. */
  drop(hash: string): void {
    this.generation++;
    const key = this.keyOfHash.get(hash);
    if (key !== undefined) this.remove(key, this.entries.get(key));
  }

  dropWhere(pred: (auth: AuthContext) => boolean): void {
    this.generation++;
    for (const [k, e] of this.entries) if (pred(e.auth)) this.remove(k, e);
  }

  get size(): number {
    return this.entries.size;
  }

  private remove(key: string, e: Entry | undefined): void {
    this.entries.delete(key);
    if (e && this.keyOfHash.get(e.hash) === key) this.keyOfHash.delete(e.hash);
  }
}
