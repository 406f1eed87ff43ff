import { LOGIN_THROTTLE_DEFAULTS, type LoginThrottleConfig } from '../../config/config.js';
import type { Clock } from '../../domain/time.js';

interface Entry {
  windowStart: number;
  failures: number;
  /** How many lockouts in a row; forgotten once the key stays quiet for a full window after its last lock. */
  level: number;
  lockedUntil: number;
  lastFailure: number;
}

/** A Map used as an LRU: re-inserting on access keeps the most recently used keys at the end. */
class Lru<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly cap: number) {}
  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: string, v: V): void {
    this.map.delete(key);
    this.map.set(key, v);
    while (this.map.size > this.cap) this.map.delete(this.map.keys().next().value as string);
  }
  delete(key: string): void {
    this.map.delete(key);
  }
  get size(): number {
    return this.map.size;
  }
}

/**
 * Throttles failed password logins by source address and by user, in memory (per server process).
 *
 * - An address that fails `maxFailures` times within the window is locked, whatever user it names: one source
 *   guessing is stopped here, long before the per-user limit, so it cannot lock the user out for anyone else.
 * - A user that fails `userMaxFailures` times (higher, so it takes several sources) is locked against guessing
 *   spread over many addresses — except from an address that has logged in as that user successfully before,
 *   so the owner keeps working during such an attack.
 * - Locks grow 1 s, 2 s, 4 s … up to the cap and always expire; after the first, each further failure locks again
 *   (so a patient guesser gets one try per lock period); a key quiet for a window after its lock forgets it all.
 *   Refused attempts change nothing, so no one can keep a lock alive by hammering it.
 * - A successful login clears the address's and the user's failures.
 *
 * Checking happens before the password hash, so refused guesses cost no scrypt time.
 */
export class LoginThrottle {
  private readonly addresses: Lru<Entry>;
  private readonly users: Lru<Entry>;
  private readonly knownGood: Lru<true>;
  /** Password checks running per address: counted as failures-to-be, so a burst of parallel guesses cannot all slip in before the first fails. */
  private readonly inFlight = new Map<string, number>();
  /** Checks waiting for a running one from the same address to finish. */
  private readonly waiters = new Map<string, (() => void)[]>();

  constructor(
    private readonly clock: Clock,
    readonly config: LoginThrottleConfig = LOGIN_THROTTLE_DEFAULTS,
  ) {
    this.addresses = new Lru(config.maxEntries);
    this.users = new Lru(config.maxEntries);
    this.knownGood = new Lru(config.maxEntries);
  }

  /** Seconds until `address` may try `user` again because of a lockout, or null when it is not locked out. */
  retryAfter(address: string, user: string): number | null {
    const now = this.clock.now().getTime();
    let until = this.lockedUntil(this.addresses.get(address), now);
    if (!this.knownGood.get(pairKey(address, user))) until = Math.max(until, this.lockedUntil(this.users.get(user), now));
    return until > now ? Math.max(1, Math.ceil((until - now) / 1000)) : null;
  }

  /** Whether `address` may start another password check now: its running checks stay within the failures it has left. */
  private hasRoom(address: string): boolean {
    const now = this.clock.now().getTime();
    const e = this.current(this.addresses.get(address), now);
    // An escalated entry locks again at its next failure: one check at a time.
    const allowed = !e ? this.config.maxFailures : e.level > 0 ? 1 : this.config.maxFailures - e.failures;
    return (this.inFlight.get(address) ?? 0) < Math.max(1, allowed);
  }

  /**
   * Admits one password check from `address` for `user`: `{ retryAfter }` when locked out, otherwise a slot whose
   * `done` must be called once the outcome is recorded (failed/succeeded first). Running checks count as
   * failures-to-be, so a burst of parallel guesses cannot all reach the hash before the first failure lands; a
   * check beyond that waits for a running one to finish instead of being refused, so parallel logins with the
   * right password (clients, scripts) are only queued, never refused.
   */
  async acquire(address: string, user: string): Promise<{ retryAfter: number } | { done: () => void }> {
    for (;;) {
      const wait = this.retryAfter(address, user);
      if (wait !== null) return { retryAfter: wait };
      if (this.hasRoom(address)) return { done: this.begin(address) };
      await new Promise<void>((resolve) => {
        const list = this.waiters.get(address) ?? [];
        list.push(resolve);
        this.waiters.set(address, list);
      });
    }
  }

  /** Marks a password check from `address` as running; call the returned function when it has finished. */
  private begin(address: string): () => void {
    this.inFlight.set(address, (this.inFlight.get(address) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (this.inFlight.get(address) ?? 1) - 1;
      if (n <= 0) this.inFlight.delete(address);
      else this.inFlight.set(address, n);
      // Everyone waiting on this address looks again: one may start, the rest wait or learn of a lockout.
      const list = this.waiters.get(address);
      this.waiters.delete(address);
      for (const wake of list ?? []) wake();
    };
  }

  failed(address: string, user: string): void {
    const now = this.clock.now().getTime();
    this.count(this.addresses, address, this.config.maxFailures, now);
    this.count(this.users, user, this.config.userMaxFailures, now);
  }

  succeeded(address: string, user: string): void {
    this.addresses.delete(address);
    this.users.delete(user);
    this.knownGood.set(pairKey(address, user), true);
  }

  /** Entries held (for tests of the memory bound). */
  get size(): { addresses: number; users: number; knownGood: number } {
    return { addresses: this.addresses.size, users: this.users.size, knownGood: this.knownGood.size };
  }

  private lockedUntil(e: Entry | undefined, now: number): number {
    return e && e.lockedUntil > now ? e.lockedUntil : 0;
  }

  /**
   * The entry as it counts at `now`, as a copy: undefined once an escalation has stayed quiet for a whole window
   * (it is forgotten), failures from an earlier window dropped.
   */
  private current(e: Entry | undefined, now: number): Entry | undefined {
    const windowMs = this.config.windowSeconds * 1000;
    if (!e || (e.level > 0 && now - Math.max(e.lastFailure, e.lockedUntil) > windowMs)) return undefined;
    return now - e.windowStart > windowMs ? { ...e, windowStart: now, failures: 0 } : { ...e };
  }

  private count(table: Lru<Entry>, key: string, max: number, now: number): void {
    const e = this.current(table.get(key), now) ?? { windowStart: now, failures: 0, level: 0, lockedUntil: 0, lastFailure: now };
    e.failures++;
    e.lastFailure = now;
    // After a first lockout, every further failure within the window locks again (for twice as long).
    if (e.failures >= max || e.level > 0) {
      const seconds = Math.min(this.config.lockoutBaseSeconds * 2 ** e.level, this.config.lockoutMaxSeconds);
      e.lockedUntil = now + seconds * 1000;
      e.level = Math.min(e.level + 1, 30);
      e.failures = 0;
      e.windowStart = now;
    }
    table.set(key, e);
  }
}

const pairKey = (address: string, user: string) => `${address}\n${user}`;
