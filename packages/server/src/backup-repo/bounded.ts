/**
 * Keeps at most `max` async jobs in flight. The first failure stops admission (`failed`); `drain()` waits for
 * the jobs still running (so nothing keeps writing after an error or abort) and then rethrows that failure.
 */
export class Bounded {
  private readonly running = new Set<Promise<void>>();
  private error: unknown;
  failed = false;

  constructor(private readonly max: number) {}

  /** Waits for a free slot, then starts `job`; returns once it is started. */
  async add(job: () => Promise<void>): Promise<void> {
    while (this.running.size >= this.max) await Promise.race(this.running);
    if (this.failed) return;
    const p: Promise<void> = job()
      .catch((e: unknown) => {
        if (!this.failed) {
          this.failed = true;
          this.error = e;
        }
      })
      .finally(() => this.running.delete(p));
    this.running.add(p);
  }

  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running);
    if (this.failed) throw this.error;
  }
}

/** Marks which of `count` chunks of `chunkSize` bytes overlap any of the extents. */
export function chunkMapOf(
  extents: ReadonlyArray<{ offset: number; length: number }>,
  count: number,
  chunkSize: number,
): Uint8Array {
  const map = new Uint8Array(count);
  for (const e of extents) {
    if (!(e.length > 0) || !Number.isFinite(e.offset)) continue;
    const first = Math.max(0, Math.floor(e.offset / chunkSize));
    const last = Math.min(count - 1, Math.floor((e.offset + e.length - 1) / chunkSize));
    for (let i = first; i <= last; i++) map[i] = 1;
  }
  return map;
}
