import type { AuthContext } from '../../domain/auth-context.js';

interface Entry {
  auth: AuthContext;
  /** Local time after which the entry is checked against the store again. */
  recheckAt: number;
}

/**
 * Bounded LRU of validated tokens, keyed by token hash. Invalidation bumps a generation counter so that a
 * validation that started before a revoke cannot put its (now stale) result into the cache.
 */
export class TokenCache {
  private readonly entries = new Map<string, Entry>();
  private generation = 0;

  constructor(
    private readonly maxEntries: number,
    /** Bounds how long a revoke made by another node can go unnoticed here. */
    private readonly maxAgeMs: number,
  ) {}

  get(hash: string, now: Date): AuthContext | null {
    const e = this.entries.get(hash);
    if (!e) return null;
    if (e.auth.expiresAt.getTime() <= now.getTime() || e.recheckAt <= now.getTime()) {
      this.entries.delete(hash);
      return null;
    }
    // Map order is insertion order: re-inserting marks the entry most recently used.
    this.entries.delete(hash);
    this.entries.set(hash, e);
    return e.auth;
  }

  /** The generation to hand back to `set` after a store lookup. */
  snapshot(): number {
    return this.generation;
  }

  set(hash: string, auth: AuthContext, now: Date, generation: number): void {
    if (generation !== this.generation) return;
    this.entries.delete(hash);
    this.entries.set(hash, { auth, recheckAt: now.getTime() + this.maxAgeMs });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  drop(hash: string): void {
    this.generation++;
    this.entries.delete(hash);
  }

  dropWhere(pred: (auth: AuthContext) => boolean): void {
    this.generation++;
    for (const [k, e] of this.entries) if (pred(e.auth)) this.entries.delete(k);
  }

  get size(): number {
    return this.entries.size;
  }
}
