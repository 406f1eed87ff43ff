/** Readahead hints for a backup's chunk reads. */
import type { Extent } from '../domain/ports/volume-driver.js';

/** Chunks of a backup read this far ahead of the chunk being dispatched get a readahead hint. */
export const PREFETCH_AHEAD = 4;

/**
 * Which chunks to hint when chunk `i` is dispatched, so the PREFETCH_AHEAD chunks to be read after it are on
 * their way from disk while the workers compute. Each readable chunk is hinted once; holes and chunks the
 * backup will not read (unchanged under changed-block tracking) are never hinted.
 */
export class ReadaheadHints {
  private frontier = 0;
  private outstanding = 0;

  constructor(
    private readonly count: number,
    private readonly chunkSize: number,
    private readonly size: number,
    private readonly readable: (i: number) => boolean,
  ) {}

  next(i: number): Extent[] | undefined {
    if (this.frontier <= i) {
      this.frontier = i + 1;
      this.outstanding = 0;
    } else if (this.outstanding > 0) this.outstanding--;
    let out: Extent[] | undefined;
    while (this.outstanding < PREFETCH_AHEAD && this.frontier < this.count) {
      const j = this.frontier++;
      if (!this.readable(j)) continue;
      this.outstanding++;
      const offset = j * this.chunkSize;
      const length = Math.min(this.chunkSize, this.size - offset);
      const last = out?.[out.length - 1];
      if (last && last.offset + last.length === offset) last.length += length;
      else (out ??= []).push({ offset, length });
    }
    return out;
  }
}
