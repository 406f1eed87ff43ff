/**
 * bench/snapshot/chain-map — reading a deep qcow2 chain's allocation: the driver's native L1/L2 reader against
 * `qemu-img map --output=json` (the former implementation, still the fallback).
 *
 *   node --import tsx bench/snapshot/chain-map.ts [--depth 200] [--size-gib 10] [--runs 7] [--writes 40]
 *
 * Builds one volume (sparse, 1 GiB written in 1 MiB pieces spread over it) with `--depth` snapshots, each layer
 * holding `--writes` random writes (4-256 KiB, a tenth of them zero writes) made through qemu-io, then times
 * allocatedExtents of the volume and changedExtents across the whole chain and across the top layer, both ways, and
 * checks that both ways give the same extents; then times exportRaw of the volume (native copy of the mapped
 * clusters vs `qemu-img convert`). Prints medians with the load average (the machine is shared).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Extent } from '../../packages/server/src/domain/ports/volume-driver.js';
import { alignExtents, mergeExtents } from '../../packages/server/src/drivers/volume/extent-diff.js';
import { createQcow2VolumeDriver } from '../../packages/server/src/drivers/volume/qcow2/qcow2-driver.js';
import { map, qemuImg, qemuIo, topOnly } from '../../packages/server/src/drivers/volume/qcow2/qemu.js';

const { values: args } = parseArgs({
  options: {
    depth: { type: 'string', default: '200' },
    'size-gib': { type: 'string', default: '10' },
    runs: { type: 'string', default: '7' },
    writes: { type: 'string', default: '40' },
  },
});
const DEPTH = Number(args.depth);
const SIZE = Number(args['size-gib']) * 1024 ** 3;
const RUNS = Number(args.runs);
const WRITES = Number(args.writes);
const KiB = 1024;
const MiB = 1024 * KiB;

let seed = 42;
const rnd = (n: number) => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed % n;
};

const root = await mkdtemp(join(tmpdir(), 'cinderbox-bench-chainmap-'));
const driver = await createQcow2VolumeDriver({ name: 'qcow2', directory: join(root, 'backend') });
const vol = randomUUID();
const snaps: string[] = [];
const la = () => loadavg().map((x) => x.toFixed(2)).join(' ');

try {
  const t0 = performance.now();
  await driver.createVolume(vol, SIZE);
  const active = driver.path('volume', vol);
  // 1 GiB of data spread over the volume, in batches so no command line grows too long.
  for (let batch = 0; batch < 8; batch++) {
    const cmds: string[] = [];
    for (let i = 0; i < 128; i++) cmds.push('-c', `write -q -P ${1 + ((batch * 128 + i) % 250)} ${rnd(SIZE / MiB) * MiB} ${MiB}`);
    await qemuIo(['-f', 'qcow2', ...cmds, active]);
  }
  for (let d = 0; d < DEPTH; d++) {
    const s = randomUUID();
    await driver.createSnapshot(vol, s);
    snaps.push(s);
    const cmds: string[] = [];
    for (let i = 0; i < WRITES; i++) {
      const len = (1 + rnd(64)) * 4 * KiB;
      const off = rnd((SIZE - len) / 512) * 512;
      cmds.push('-c', i % 10 === 9 ? `write -q -z ${off} ${len}` : `write -q -P ${1 + rnd(250)} ${off} ${len}`);
    }
    // The layer alone: qemu-io opening the whole chain would make building cost O(depth²).
    await qemuIo([...cmds, topOnly(active)]);
  }
  process.stdout.write(
    `chain: ${SIZE / 1024 ** 3} GiB volume, depth ${DEPTH + 1} layers, ${WRITES} writes per layer; built in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
  );

  // The former implementation: qemu-img map of the whole chain / of each layer alone.
  const qemuAllocated = async (): Promise<Extent[]> =>
    mergeExtents((await map(active, 'qcow2')).filter((e) => e.data).map((e) => ({ offset: e.start, length: e.length })));
  const chainPaths = (await driver.chain(active)).map((l) => l.path);
  const qemuChanged = async (layers: string[]): Promise<Extent[]> => {
    const out: Extent[] = [];
    for (const layer of layers) for (const e of await map(topOnly(layer))) if (e.present) out.push({ offset: e.start, length: e.length });
    return alignExtents(out, 64 * KiB, SIZE);
  };
  const above = (from: string) => chainPaths.slice(0, chainPaths.indexOf(driver.path('snapshot', from)));

  const cases: { name: string; native: () => Promise<Extent[] | null>; qemu: () => Promise<Extent[]> }[] = [
    { name: `allocatedExtents(volume), ${DEPTH + 1} layers`, native: () => driver.allocatedExtents('volume', vol), qemu: qemuAllocated },
    {
      name: `changedExtents(first snapshot → now), ${DEPTH} layers`,
      native: () => driver.changedExtents(vol, snaps[0]!, null),
      qemu: () => qemuChanged(above(snaps[0]!)),
    },
    {
      name: 'changedExtents(newest snapshot → now), 1 layer',
      native: () => driver.changedExtents(vol, snaps.at(-1)!, null),
      qemu: () => qemuChanged(above(snaps.at(-1)!)),
    },
  ];
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  process.stdout.write(`\n${'operation'.padEnd(48)}${'native ms'.padStart(12)}${'qemu-img ms'.padStart(14)}${'speedup'.padStart(10)}  extents  load avg\n`);
  for (const c of cases) {
    const a = await c.native();
    const b = await c.qemu();
    assert.deepEqual(a, b, `${c.name}: native and qemu-img disagree`);
    const tn: number[] = [];
    const tq: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      let t = performance.now();
      await c.native();
      tn.push(performance.now() - t);
      t = performance.now();
      await c.qemu();
      tq.push(performance.now() - t);
    }
    const n = median(tn);
    const q = median(tq);
    process.stdout.write(
      `${c.name.padEnd(48)}${n.toFixed(1).padStart(12)}${q.toFixed(1).padStart(14)}${`${(q / n).toFixed(1)}x`.padStart(10)}  ${String(a?.length ?? 0).padStart(7)}  ${la()}\n`,
    );
  }
  process.stdout.write(`(medians of ${RUNS} runs; both ways return identical extents)\n`);

  const exportRuns = Math.min(3, RUNS);
  const te: number[] = [];
  const tc: number[] = [];
  for (let i = 0; i < exportRuns; i++) {
    let t = performance.now();
    const e = await driver.exportRaw('volume', vol);
    te.push(performance.now() - t);
    await e.release();
    const out = join(root, 'convert.raw');
    t = performance.now();
    await qemuImg(['convert', '-U', '-f', 'qcow2', '-O', 'raw', active, out]);
    tc.push(performance.now() - t);
    await rm(out, { force: true });
  }
  const n = median(te);
  const q = median(tc);
  process.stdout.write(
    `${'exportRaw(volume), 1 GiB+ of data'.padEnd(48)}${n.toFixed(1).padStart(12)}${q.toFixed(1).padStart(14)}${`${(q / n).toFixed(1)}x`.padStart(10)}        -  ${la()}\n`,
  );
  process.stdout.write(`(exportRaw: median of ${exportRuns}; qemu-img column is \`qemu-img convert -O raw\`)\n`);
} finally {
  await rm(root, { recursive: true, force: true });
}
