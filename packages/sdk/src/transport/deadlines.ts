/**
 * One timer for every in-flight attempt's deadline.
 * @packageDocumentation
 */

/** A registered deadline: `expire` runs once when `at` (performance.now() ms) passes, unless removed first. */
export interface DeadlineEntry {
  at: number;
  expire: () => void;
}

/**
 * Deadlines of in-flight attempts sharing one unref'd timer, armed for the earliest. Nearly every call carries the
 * same default timeout, so the timer is armed about once per timeout period rather than created and cleared per
 * call (a Node `Timeout` is a few objects, an async resource and a list insertion, on the hot path of every get).
 * Unref'd: an in-flight request keeps the process alive through its socket, not through its deadline.
 *
 * @example
 * ```ts
 * const entry = deadlines.add(30_000, () => controller.abort());
 * deadlines.remove(entry);
 * ```
 */
export class DeadlineQueue {
  readonly #entries = new Set<DeadlineEntry>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #armedAt = Infinity;

  /** Registers `expire` to run after `ms`. */
  add(ms: number, expire: () => void): DeadlineEntry {
    const entry: DeadlineEntry = { at: performance.now() + ms, expire };
    this.#entries.add(entry);
    if (entry.at < this.#armedAt) this.#arm(entry.at);
    return entry;
  }

  /** Forgets an entry (its attempt settled). */
  remove(entry: DeadlineEntry): void {
    this.#entries.delete(entry);
  }

  /** Entries still registered (tests). @internal */
  get size(): number {
    return this.#entries.size;
  }

  #arm(at: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#armedAt = at;
    // A timer may fire up to a millisecond early (Node rounds): #fire re-arms for what is not yet due.
    this.#timer = setTimeout(() => this.#fire(), Math.max(1, Math.ceil(at - performance.now())));
    this.#timer.unref?.();
  }

  #fire(): void {
    this.#timer = undefined;
    this.#armedAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    const due: DeadlineEntry[] = [];
    for (const e of this.#entries) {
      if (e.at <= now) due.push(e);
      else if (e.at < next) next = e.at;
    }
    for (const e of due) this.#entries.delete(e);
    if (next !== Infinity) this.#arm(next);
    for (const e of due) e.expire();
  }
}
