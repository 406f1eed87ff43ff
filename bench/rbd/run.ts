/**
 * bench/rbd — the RBD driver's two figures from issue 17, on a throwaway pool of the Ceph cluster the tests use:
 *
 *   1. snapshot create → available: driver.createSnapshot (`rbd snap create`) on a thin image with data written,
 *      `--runs` times, p50 and max; the bare `rbd snap create` is timed alongside so the driver's own cost shows;
 *   2. incremental backup with `--changed-pct` of the image changed: the server's backup path (hidden snapshot,
 *      BlockSources with changed extents from `rbd diff --from-snap`, the backup repository on a local fs store),
 *      after a full backup of the same image.
 *
 *   node --import tsx bench/rbd/run.ts [--size-gib 10] [--written-mib 256] [--changed-pct 1] [--runs 11]
 *
 * The CI cluster's OSD is memstore (RAM, 3 GiB shared with the other suites): the image is thin, so the default
 * 10 GiB image holds only `--written-mib` of data. The figures depend on the monitor: an RBD snapshot asks the mon
 * for a snapshot id, a Paxos commit that waits for the next proposal round (paxos_propose_interval, 1 s by default,
 * when the mon committed anything in the last second) — on a busy shared mon that dominates.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { BackupRepository } from '../../packages/server/src/backup-repo/index.js';
import { FsObjectStore } from '../../packages/server/src/drivers/objects/fs/index.js';
import { blockSources } from '../../packages/server/src/drivers/volume/block-source.js';
import { createRbdVolumeDriver } from '../../packages/server/src/drivers/volume/rbd/rbd-driver.js';
import { makeTestPool } from '../../packages/server/src/drivers/volume/rbd/test-support.js';

const { values: args } = parseArgs({
  options: {
    'size-gib': { type: 'string', default: '10' },
    'written-mib': { type: 'string', default: '256' },
    'changed-pct': { type: 'string', default: '1' },
    runs: { type: 'string', default: '11' },
  },
});
const MiB = 1024 * 1024;
const SIZE = Number(args['size-gib']) * 1024 * MiB;
const WRITTEN = Number(args['written-mib']) * MiB;
const CHANGED = Math.round((SIZE * Number(args['changed-pct'])) / 100);
const RUNS = Number(args.runs);

const made = makeTestPool('bench');
if ('skip' in made) {
  console.error(`bench/rbd: ${made.skip}`);
  process.exit(1);
}
const secs = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length - 1) * p))]!;
const work = await mkdtemp(join(tmpdir(), 'cbx-bench-rbd-'));
try {
  const driver = await createRbdVolumeDriver({ name: 'rbd', pool: made.pool, conf: made.conf, directory: join(work, 'tmp') });
  const vol = randomUUID();
  await driver.createVolume(vol, SIZE);
  // Data in 1 MiB pieces spread evenly over the image.
  const pieces = Math.max(1, Math.floor(WRITTEN / MiB));
  const stride = Math.floor(SIZE / pieces / MiB) * MiB;
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < pieces; i += 16) {
    const batch = Array.from({ length: Math.min(16, pieces - i) }, () => randomBytes(MiB));
    // Pieces at separate offsets: one import-diff stream each, 16 at a time.
    await Promise.all(batch.map((b, j) => driver.writeRaw(vol, Readable.from([b]), (i + j) * stride)));
  }
  console.log(`wrote ${pieces} MiB into a ${SIZE / 1024 / MiB} GiB image in ${secs(t0).toFixed(1)} s`);

  // 1. Snapshot create → available.
  const drv: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const id = randomUUID();
    t0 = process.hrtime.bigint();
    await driver.createSnapshot(vol, id);
    drv.push(secs(t0) * 1000);
    await driver.deleteSnapshot(vol, id);
    t0 = process.hrtime.bigint();
    execFileSync('rbd', ['--conf', made.conf, 'snap', 'create', '--no-progress', `${made.pool}/volume-${vol}@bare-${i}`]);
    bare.push(secs(t0) * 1000);
    execFileSync('rbd', ['--conf', made.conf, 'snap', 'rm', '--no-progress', `${made.pool}/volume-${vol}@bare-${i}`]);
  }
  // The same with the monitor given 2 s without a commit of ours first: the snapshot id is then proposed at once
  // instead of at the next Paxos round (other clients of a shared mon may still make it wait).
  const idle: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    await new Promise((r) => setTimeout(r, 2000));
    const id = randomUUID();
    t0 = process.hrtime.bigint();
    await driver.createSnapshot(vol, id);
    idle.push(secs(t0) * 1000);
    await driver.deleteSnapshot(vol, id);
  }

  // 2. Full backup, then the incremental.
  const repo = await BackupRepository.open({ store: new FsObjectStore(join(work, 'repo')) });
  await repo.warmUp();
  const base1 = randomUUID();
  t0 = process.hrtime.bigint();
  await driver.createSnapshot(vol, base1);
  let source = await blockSources.open(driver, 'snapshot', base1, { chunkSize: repo.chunkSize });
  const full = await repo
    .backup({ id: 'full', container: 'bench', sourcePath: source.path, size: SIZE, allocatedExtents: source.allocatedExtents })
    .finally(() => source.release());
  const fullS = secs(t0);

  const changedPieces = Math.max(1, Math.round(CHANGED / MiB));
  for (let i = 0; i < changedPieces; i++) {
    await driver.writeRaw(vol, Readable.from([randomBytes(MiB)]), randomInt(SIZE / MiB) * MiB);
  }
  const base2 = randomUUID();
  t0 = process.hrtime.bigint();
  await driver.createSnapshot(vol, base2);
  const snapS = secs(t0);
  source = await blockSources.open(driver, 'snapshot', base2, {
    chunkSize: repo.chunkSize,
    changedSince: { volumeId: vol, snapshotId: base1 },
  });
  const sourceS = secs(t0) - snapS;
  if (source.changedExtents === null) throw new Error('no changed extents from the rbd driver');
  const inc = await repo
    .backup({
      id: 'inc',
      container: 'bench',
      sourcePath: source.path,
      size: SIZE,
      allocatedExtents: source.allocatedExtents,
      parent: full.locator,
      changedExtents: source.changedExtents,
    })
    .finally(() => source.release());
  const incS = secs(t0);
  t0 = process.hrtime.bigint();
  await driver.deleteSnapshot(vol, base1);
  const rotateS = secs(t0);
  await repo.close();

  const f = (x: number) => x.toFixed(0).padStart(7);
  console.log(`\nRBD image ${SIZE / 1024 / MiB} GiB thin, ${pieces} MiB written; pool ${made.pool} (memstore OSD); load ${loadavg()[0]!.toFixed(2)}`);
  console.log(`snapshot create → available, ${RUNS} runs (ms):   p50 ${f(pct(drv, 0.5))}   max ${f(Math.max(...drv))}`);
  console.log(`bare rbd snap create, same image (ms):          p50 ${f(pct(bare, 0.5))}   max ${f(Math.max(...bare))}`);
  console.log(`snapshot create, mon idle 2 s before (ms):      p50 ${f(pct(idle, 0.5))}   max ${f(Math.max(...idle))}`);
  console.log(`full backup (s): ${fullS.toFixed(2)}   read ${(full.stats.readBytes / MiB).toFixed(0)} MiB`);
  console.log(
    `incremental, ${changedPieces} MiB changed = ${args['changed-pct']} % (s): ${incS.toFixed(2)}   ` +
      `[snapshot ${(snapS * 1000).toFixed(0)} ms, rbd diff + changed reads ${(sourceS * 1000).toFixed(0)} ms, engine ${((incS - snapS - sourceS) * 1000).toFixed(0)} ms]   ` +
      `read ${(inc.stats.readBytes / MiB).toFixed(0)} MiB; old base removed in ${(rotateS * 1000).toFixed(0)} ms`,
  );
  await driver.deleteVolume(vol);
} finally {
  made.remove();
  await rm(work, { recursive: true, force: true });
}
