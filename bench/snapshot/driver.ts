/**
 * bench/snapshot/driver.ts — the qcow2 driver's snapshot create alone (no HTTP, no database), so the flush rounds
 * can be compared on a shared machine where the end-to-end bench (run.ts) is dominated by load.
 *
 *   node --import tsx bench/snapshot/driver.ts [--samples 100] [--size-gib 10] [--burst 10] [--baseline <checkout>]...
 *
 * Each variant (this tree, and every `--baseline` checkout: `git archive <commit> | tar -x -C dir` plus a
 * `node_modules` symlink) gets its own volume in one temporary directory on the same filesystem; samples are
 * interleaved and the order rotates every round, so every column sees the same load. "single" is one create at a
 * time; "burst" is `--burst` concurrent creates of one volume (one batch), every fourth round.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    samples: { type: 'string', default: '100' },
    'size-gib': { type: 'string', default: '10' },
    burst: { type: 'string', default: '10' },
    baseline: { type: 'string', multiple: true, default: [] },
  },
});
const SAMPLES = Number(args.samples);
const BURST = Number(args.burst);
const la = () => loadavg().map((x) => x.toFixed(2)).join(' ');

interface Driver {
  createVolume(id: string, size: number): Promise<void>;
  createSnapshot(volumeId: string, snapshotId: string): Promise<void>;
}
const here = resolve(import.meta.dirname, '../..');
const sources = [...args.baseline.map((d) => ({ label: `baseline ${basename(resolve(d))}`, dir: resolve(d) })), { label: 'this tree', dir: here }];
const root = await mkdtemp(join(tmpdir(), 'cinderbox-bench-snapdrv-'));
try {
  const rows: { label: string; d: Driver; vol: string; single: number[]; burst: number[] }[] = [];
  for (const [i, s] of sources.entries()) {
    const m = (await import(pathToFileURL(join(s.dir, 'packages/server/src/drivers/volume/qcow2/qcow2-driver.ts')).href)) as {
      createQcow2VolumeDriver(o: { name: string; directory: string }): Promise<Driver>;
    };
    const d = await m.createQcow2VolumeDriver({ name: 'qcow2', directory: join(root, `v${i}`) });
    const vol = randomUUID();
    await d.createVolume(vol, Number(args['size-gib']) * 1024 ** 3);
    rows.push({ label: s.label, d, vol, single: [], burst: [] });
  }
  const startLoad = la();
  for (let i = 0; i < SAMPLES; i++) {
    const order = rows.map((_, k) => rows[(k + i) % rows.length]!);
    for (const r of order) {
      const t0 = performance.now();
      await r.d.createSnapshot(r.vol, randomUUID());
      r.single.push(performance.now() - t0);
    }
    if (i % 4 !== 0 || BURST <= 0) continue;
    for (const r of order) {
      const t0 = performance.now();
      await Promise.all(Array.from({ length: BURST }, () => r.d.createSnapshot(r.vol, randomUUID())));
      r.burst.push(performance.now() - t0);
    }
  }
  const q = (a: number[], p: number) => (a.length ? [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(a.length * p))]!.toFixed(2) : '-');
  console.log(`qcow2 driver createSnapshot (ms), ${args['size-gib']} GiB volume, ${SAMPLES} interleaved samples; load at start ${startLoad}, at end ${la()} (2 cores, shared)`);
  console.log(`${'variant'.padEnd(28)}  single p50  single p99  burst of ${BURST} p50  burst of ${BURST} p99`);
  for (const r of rows) {
    console.log(`${r.label.padEnd(28)}  ${q(r.single, 0.5).padStart(10)}  ${q(r.single, 0.99).padStart(10)}  ${q(r.burst, 0.5).padStart(15)}  ${q(r.burst, 0.99).padStart(15)}`);
  }
} finally {
  await rm(root, { recursive: true, force: true });
}
