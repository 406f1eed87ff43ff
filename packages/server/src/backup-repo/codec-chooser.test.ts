import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ChosenCodec, CodecChooser } from './codec-chooser.js';

const CHUNK = 4 << 20;

/**
 * Simulates a worker: each chunk costs `hashMs` plus its codec's compression time, and `idleMs` passes between
 * chunks. Returns the share of chunks compressed with zstd.
 */
function run(idleMs: number, chunks = 400, times = { zstd: 9, lz4: 6 }, hashMs = 1.5): number {
  const chooser = new CodecChooser();
  let now = 0;
  const counts: Record<ChosenCodec, number> = { zstd: 0, lz4: 0 };
  for (let i = 0; i < chunks; i++) {
    now += idleMs;
    chooser.begin(now);
    now += hashMs;
    const codec = chooser.choose(CHUNK);
    counts[codec]++;
    now += times[codec];
    chooser.record(codec, CHUNK, times[codec]);
    chooser.end(now);
  }
  return counts.zstd / chunks;
}

test('a saturated worker (no idle time) stays on LZ4; an idle one uses zstd, in proportion to its idle time', () => {
  assert.ok(run(0) < 0.02, `saturated: ${run(0)}`);
  // zstd costs 3 ms more per chunk here: 1.5 ms idle per chunk pays for about every other chunk.
  const half = run(1.5);
  assert.ok(half > 0.4 && half < 0.6, `1.5 ms idle: ${half}`);
  assert.ok(run(5) > 0.98, `5 ms idle: ${run(5)}`);
});

test('the chooser learns the codecs’ real costs: the cheaper zstd is, the more chunks the same idle time buys', () => {
  const cheap = run(0.1, 400, { zstd: 6, lz4: 6 });
  assert.ok(cheap > 0.5 && cheap > 10 * run(0.1), `0.1 ms idle, zstd as fast as LZ4: ${cheap}`);
  // And when zstd is far dearer, the same idle time buys fewer zstd chunks.
  assert.ok(run(1.5, 400, { zstd: 20, lz4: 6 }) < 0.2);
});

test('a pause between operations is not credit: the next operation starts on measured idle time only', () => {
  const chooser = new CodecChooser();
  chooser.end(0);
  // Ten seconds later (another backup) a saturated worker still picks LZ4 from the first chunk on.
  chooser.begin(10_000);
  assert.equal(chooser.choose(CHUNK), 'lz4');
  // Credit is capped, so a long idle stretch within an operation buys only a few zstd chunks.
  const capped = new CodecChooser();
  capped.end(0);
  let now = 900;
  let zstd = 0;
  for (let i = 0; i < 50; i++) {
    capped.begin(now);
    const c = capped.choose(CHUNK);
    if (c === 'zstd') zstd++;
    now += c === 'zstd' ? 9 : 6;
    capped.end(now);
  }
  assert.ok(zstd > 0 && zstd <= 20, `zstd chunks after a 900 ms wait: ${zstd}`);
});
