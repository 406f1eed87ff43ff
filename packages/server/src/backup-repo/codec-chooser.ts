/**
 * The `auto` compression of one chunk worker: zstd level 1 where the worker would otherwise wait, LZ4 where it
 * is the bottleneck. zstd stores ~20 % less than LZ4 for ~45 % more compression time, so it pays exactly when
 * the worker has idle time to spend: waiting for the disk (reads, or writes holding back new work) or for work.
 *
 * Idle time (from the end of one chunk to the start of the next) earns credit; choosing zstd spends what it
 * costs beyond LZ4, as measured on this worker's recent chunks. A saturated worker earns nothing and stays on
 * LZ4; a worker idle a quarter of the time compresses about half of its chunks with zstd.
 */
export type ChosenCodec = 'zstd' | 'lz4';

/** Credit never exceeds this, so a long pause does not turn into a long zstd run once work is back. */
const MAX_CREDIT_MS = 50;
/** A gap this long is a pause between operations, not idle time within one. */
const PAUSE_MS = 1000;
/** Weight of the newest measurement in the per-codec time averages. */
const ALPHA = 0.2;

export class CodecChooser {
  private credit = 0;
  private lastEnd: number | undefined;
  /** Average compression time per MiB of input, by codec (initial guesses from the reference machine). */
  private readonly msPerMiB = { zstd: 2.3, lz4: 1.6 };

  /** The worker starts on a chunk at `now` (ms): the time since the previous one ended was idle. */
  begin(now: number): void {
    if (this.lastEnd !== undefined) {
      const idle = now - this.lastEnd;
      if (idle > 0 && idle < PAUSE_MS) this.credit = Math.min(MAX_CREDIT_MS, this.credit + idle);
    }
    this.lastEnd = undefined;
  }

  /** Picks the codec for the current chunk's `bytes`. */
  choose(bytes: number): ChosenCodec {
    const extra = Math.max(0, this.msPerMiB.zstd - this.msPerMiB.lz4) * (bytes / (1 << 20));
    if (this.credit >= extra) {
      this.credit -= extra;
      return 'zstd';
    }
    return 'lz4';
  }

  /**
   * Records that compressing `bytes` with `codec` took `ms` (only for data that compressed: giving up on random
   * data is fast with either codec and says nothing about the difference).
   */
  record(codec: ChosenCodec, bytes: number, ms: number): void {
    if (bytes > 0 && ms >= 0) this.msPerMiB[codec] += ALPHA * (ms / (bytes / (1 << 20)) - this.msPerMiB[codec]);
  }

  /** The worker's work on the current chunk ended at `now`. */
  end(now: number): void {
    this.lastEnd = now;
  }
}
