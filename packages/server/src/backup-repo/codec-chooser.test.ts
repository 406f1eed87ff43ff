import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ChosenCodec, CodecChooser, type CpuTicks, readCpuTicks } from './codec-chooser.js';

/**
 * A host whose idle share falls as the zstd share rises (zstd uses the idle CPU): `idleAt(share)`. Runs 100
 * chunks per 250 ms sample for `samples` samples; returns the zstd share of the last 1000 chunks.
 */
function simulate(idleAt: (share: number) => number, samples = 60): number {
  let now = 0;
  const ticks: CpuTicks = { idle: 0, total: 0 };
  const chooser = new CodecChooser(
    () => ({ ...ticks }),
    () => now,
  );
  const recent: ChosenCodec[] = [];
  for (let s = 0; s < samples; s++) {
    for (let c = 0; c < 100; c++) recent.push(chooser.choose());
    now += 250;
    // 2 CPUs × 25 ticks per 250 ms.
    ticks.idle += 50 * idleAt(chooser.zstdShare);
    ticks.total += 50;
  }
  const last = recent.slice(-1000);
  return last.filter((c) => c === 'zstd').length / last.length;
}

test('auto compression: a saturated host stays on LZ4, an idle one moves to zstd', () => {
  assert.equal(simulate(() => 0), 0);
  assert.equal(simulate(() => 0.02), 0, 'idle time within the reserve buys nothing');
  assert.ok(simulate(() => 0.6) > 0.99);
});

test('auto compression settles where zstd has used the spare CPU down to the reserve', () => {
  // 40 % idle on LZ4 alone, all of it used when every chunk is zstd: the share settles near 0.62 (15 % idle).
  const share = simulate((z) => Math.max(0, 0.4 - 0.4 * z));
  assert.ok(share > 0.52 && share < 0.72, `share ${share}`);
});

test('auto compression spreads zstd chunks evenly and starts on LZ4 before the first sample', () => {
  let now = 0;
  let idle = 0;
  let total = 0;
  const chooser = new CodecChooser(
    () => ({ idle, total }),
    () => now,
  );
  assert.equal(chooser.choose(), 'lz4');
  now = 300;
  idle = 32.5;
  total = 50; // 65 % idle, 50 points over the reserve: the share moves to 0.5
  const picks = Array.from({ length: 10 }, () => chooser.choose());
  assert.equal(chooser.zstdShare, 0.5);
  assert.deepEqual(picks, ['lz4', 'zstd', 'lz4', 'zstd', 'lz4', 'zstd', 'lz4', 'zstd', 'lz4', 'zstd']);
});

test('the host CPU counters read here are cumulative and grow', async () => {
  const a = readCpuTicks();
  assert.ok(a && a.total > 0 && a.idle >= 0 && a.idle <= a.total);
  const until = Date.now() + 30;
  while (Date.now() < until) {
    // Spin so the counters move.
  }
  const b = readCpuTicks();
  assert.ok(b && b.total >= a.total && b.idle >= a.idle);
});
