import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PREFETCH_AHEAD, ReadaheadHints } from './readahead-hints.js';

test('readahead hints cover each readable chunk once, ahead of its dispatch, and never a hole or skipped chunk', () => {
  const cs = 4;
  const count = 40;
  const size = count * cs - 1; // a short last chunk
  const skipped = new Set([3, 4, 5, 11, 20, 21, 22, 23, 24, 25, 39]);
  const readable = (i: number) => !skipped.has(i);
  const hints = new ReadaheadHints(count, cs, size, readable);
  const hinted = new Map<number, number>(); // chunk -> dispatch index at which it was hinted
  let dispatched = 0;
  for (let i = 0; i < count; i++) {
    if (!readable(i)) continue;
    for (const r of hints.next(i) ?? []) {
      assert.equal(r.offset % cs, 0);
      for (let o = r.offset; o < r.offset + r.length; o += cs) {
        const j = o / cs;
        assert.ok(readable(j), `chunk ${j} is not read and must not be hinted`);
        assert.ok(!hinted.has(j), `chunk ${j} hinted twice`);
        assert.ok(j > i, `chunk ${j} hinted at its own dispatch or later`);
        hinted.set(j, dispatched);
      }
      assert.ok(r.offset + r.length <= size, 'no hint past the end of the volume');
    }
    dispatched++;
  }
  const reads = [...Array(count).keys()].filter(readable);
  // Every read chunk but the first is hinted, PREFETCH_AHEAD reads before its own dispatch once the window is full.
  assert.deepEqual([...hinted.keys()].sort((a, b) => a - b), reads.slice(1));
  reads.slice(PREFETCH_AHEAD + 1).forEach((j, k) => assert.equal(hinted.get(j), k + 1, `chunk ${j}`));
});
