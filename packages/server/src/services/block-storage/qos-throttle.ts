import { Transform } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import type { ByteRates } from '../../domain/qos-specs.js';

/** Monotonic milliseconds and a sleep: real ones in the server, fakes in the unit test. */
export interface Pacer {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realPacer: Pacer = { now: () => performance.now(), sleep: (ms) => delay(ms) };

/**
 * A token bucket of `rate` bytes per second holding at most one second's worth, so an idle volume may burst that
 * much and no more. Tokens may go negative: a chunk larger than the bucket is let through, and its debt is what
 * the next chunk waits for.
 */
class Bucket {
  private tokens: number;
  private last: number;

  constructor(
    private rate: number,
    now: number,
  ) {
    this.tokens = rate;
    this.last = now;
  }

  /** A spec changed meanwhile: the new rate applies from now, the debt stays. */
  setRate(rate: number): void {
    this.rate = rate;
    this.tokens = Math.min(this.tokens, rate);
  }

  /** Takes `n` bytes; the milliseconds to wait before they may go. */
  take(n: number, now: number): number {
    this.tokens = Math.min(this.rate, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    this.tokens -= n;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.rate) * 1000;
  }
}

/**
 * Back-end QoS on cinderbox's own data path (the cinderbox-data upload and download): one set of buckets per
 * volume, shared by every stream on it, so two concurrent downloads share the volume's read limit and
 * `total_bytes_sec` holds for reads and writes together.
 */
export class QosThrottle {
  private readonly buckets = new Map<string, Map<keyof ByteRates, Bucket>>();

  constructor(private readonly pacer: Pacer = realPacer) {}

  private bucketsFor(volumeId: string, rates: ByteRates, direction: 'read' | 'write'): Bucket[] {
    let mine = this.buckets.get(volumeId);
    if (!mine) {
      mine = new Map();
      this.buckets.set(volumeId, mine);
    }
    const out: Bucket[] = [];
    for (const kind of [direction, 'total'] as const) {
      const rate = rates[kind];
      if (rate === undefined) {
        mine.delete(kind);
        continue;
      }
      let b = mine.get(kind);
      if (b) b.setRate(rate);
      else {
        b = new Bucket(rate, this.pacer.now());
        mine.set(kind, b);
      }
      out.push(b);
    }
    if (mine.size === 0) this.buckets.delete(volumeId);
    return out;
  }

  /** A pass-through stream pacing `direction` bytes of the volume to its rates; null when nothing limits them. */
  stream(volumeId: string, rates: ByteRates | null, direction: 'read' | 'write'): Transform | null {
    if (!rates) return null;
    const buckets = this.bucketsFor(volumeId, rates, direction);
    if (buckets.length === 0) return null;
    const pacer = this.pacer;
    return new Transform({
      transform(chunk: Buffer, _enc, cb) {
        const now = pacer.now();
        const wait = Math.max(...buckets.map((b) => b.take(chunk.length, now)));
        if (wait <= 0) {
          cb(null, chunk);
          return;
        }
        pacer.sleep(wait).then(
          () => cb(null, chunk),
          (err: Error) => cb(err),
        );
      },
    });
  }
}
