/**
 * bench/rbd — the RBD driver's figures from issue 17, the `rbd` tool path and the librbd path (native/rbd_io.c)
 * side by side in one run, on a throwaway pool of the Ceph cluster the tests use:
 *
 *   1. snapshot create → available: driver.createSnapshot through the tool and through librbd, `--runs` times
 *      each, p50 and max; alongside, the bare `rbd snap create` and what Cinder's RBD driver does for the same
 *      operation (cinder_snap.py: connect, open, create_snap, protect_snap, through python3-rbd), and librbd again
 *      with the monitor given 2 s without a commit of ours first;
 *   2. a full backup, then `--inc-runs` incrementals with `--changed-pct` of the image changed, through each path
 *      into a repository of its own (BlockSources with changed extents, the backup repository on a local fs
 *      store), all reading the same two snapshots, the paths taking turns: the tool path as it was (one
 *      whole-snapshot `rbd export-diff`, filtered), the tool path now (`export-diff --from-snap --whole-object`)
 *      and librbd;
 *   3. with `--own-cluster`: a throwaway cluster of the bench's own (scripts/start-ceph.sh in a temporary
 *      directory, other ports), the same `--size-gib` image with `--written-mib` written, snapshot create →
 *      available p50/p99 through both paths with the monitor at Ceph's default Paxos timing and at
 *      `--paxos-interval`/`--paxos-min-wait` (what start-ceph.sh sets), side by side, and the `rbd` process start
 *      alone (the tool path's floor); then the backups of 2. on that image (tuned monitor) unless `--skip-backups`.
 *      The shared cluster is never reconfigured.
 *
 *   node --import tsx bench/rbd/run.ts [--size-gib 10] [--written-mib 256] [--changed-pct 1] [--runs 11]
 *       [--inc-runs 3] [--own-cluster [--paxos-interval 0.05] [--paxos-min-wait 0.001] [--skip-backups]] [--skip-shared]
 *
 * Issue 17's figures (10 GiB, 1 GiB written, 1 % changed) need the own cluster (the shared memstore is smaller):
 *   node --import tsx bench/rbd/run.ts --own-cluster --skip-shared --written-mib 1024
 *
 * The CI cluster's OSD is memstore (RAM, 3 GiB shared with the other suites): the image is thin, so the default
 * 10 GiB image holds only `--written-mib` of data. An RBD snapshot asks the monitor for a snapshot id, a Paxos
 * commit; when the monitor committed anything in the last paxos_propose_interval (1 s by default) the proposal
 * waits for the rest of that interval. That is the floor of every RBD snapshot, whichever client takes it.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BackupRepository } from '../../packages/server/src/backup-repo/index.js';
import { FsObjectStore } from '../../packages/server/src/drivers/objects/fs/index.js';
import { blockSources } from '../../packages/server/src/drivers/volume/block-source.js';
import { loadLibrbd, shutdownLibrbd } from '../../packages/server/src/drivers/volume/rbd/librbd.js';
import { createRbdVolumeDriver, type RbdVolumeDriver } from '../../packages/server/src/drivers/volume/rbd/rbd-driver.js';
import { makeTestPool } from '../../packages/server/src/drivers/volume/rbd/test-support.js';
import type { VolumeDriver } from '../../packages/server/src/domain/ports/volume-driver.js';

const { values: args } = parseArgs({
  options: {
    'size-gib': { type: 'string', default: '10' },
    'written-mib': { type: 'string', default: '256' },
    'changed-pct': { type: 'string', default: '1' },
    runs: { type: 'string', default: '11' },
    'own-cluster': { type: 'boolean', default: false },
    'paxos-interval': { type: 'string', default: '0.05' },
    'paxos-min-wait': { type: 'string', default: '0.001' },
    'skip-shared': { type: 'boolean', default: false },
    'skip-backups': { type: 'boolean', default: false },
    'inc-runs': { type: 'string', default: '3' },
  },
});
const MiB = 1024 * 1024;
const SIZE = Number(args['size-gib']) * 1024 * MiB;
const WRITTEN = Number(args['written-mib']) * MiB;
const CHANGED = Math.round((SIZE * Number(args['changed-pct'])) / 100);
const RUNS = Number(args.runs);
const INC_RUNS = Math.max(1, Number(args['inc-runs']));
const here = dirname(fileURLToPath(import.meta.url));
const scripts = join(here, '..', '..', 'scripts');

// The driver's librbd path is opt-in (LIBRBD_OPT_IN); the bench measures it, so it opts in.
process.env.CINDERBOX_RBD_ADDON ??= 'on';
const lib = loadLibrbd();
if (!lib.addon) {
  console.error(`bench/rbd: the librbd addon is not built (${lib.error}); run npm run setup with librbd-dev and librados-dev installed`);
  process.exit(1);
}

const secs = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length - 1) * p))]!;
const f = (x: number) => x.toFixed(0).padStart(6);
const row = (label: string, xs: number[]) => console.log(`${label.padEnd(58)} p50 ${f(pct(xs, 0.5))}   max ${f(Math.max(...xs))}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function timeSnapshots(driver: RbdVolumeDriver, vol: string, idleMs = 0): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    if (idleMs) await sleep(idleMs);
    const id = randomUUID();
    const t0 = process.hrtime.bigint();
    await driver.createSnapshot(vol, id);
    out.push(secs(t0) * 1000);
    await driver.deleteSnapshot(vol, id);
  }
  return out;
}

function cinderSnapshots(conf: string, pool: string, vol: string, idleS = 0): { total: number[]; create: number[] } | string {
  try {
    // Debian's interpreter: python3-rbd installs there, and a python3 earlier on PATH (pyenv) may not see it.
    const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
    const out = execFileSync(python, [join(here, 'cinder_snap.py'), conf, pool, `volume-${vol}`, String(RUNS), String(idleS)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const r = JSON.parse(out.trim().split('\n').at(-1)!) as { total_ms: number[]; create_snap_ms: number[] };
    return { total: r.total_ms, create: r.create_snap_ms };
  } catch (e) {
    return `python3-rbd not usable: ${(e as Error).message.split('\n')[0]}`;
  }
}

function bareSnapshots(conf: string, pool: string, vol: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    execFileSync('rbd', ['--conf', conf, 'snap', 'create', '--no-progress', `${pool}/volume-${vol}@bare-${i}`], { stdio: 'ignore' });
    out.push(secs(t0) * 1000);
    execFileSync('rbd', ['--conf', conf, 'snap', 'rm', '--no-progress', `${pool}/volume-${vol}@bare-${i}`], { stdio: 'ignore' });
  }
  return out;
}

async function writeData(driver: RbdVolumeDriver, vol: string): Promise<number> {
  // Data in 1 MiB pieces spread evenly over the image.
  const pieces = Math.max(1, Math.floor(WRITTEN / MiB));
  const stride = Math.floor(SIZE / pieces / MiB) * MiB;
  for (let i = 0; i < pieces; i += 16) {
    const batch = Array.from({ length: Math.min(16, pieces - i) }, () => randomBytes(MiB));
    await Promise.all(batch.map((b, j) => driver.writeRaw(vol, Readable.from([b]), (i + j) * stride)));
  }
  return pieces;
}

interface BackupFigures {
  fullS: number;
  fullRead: number;
  /** Each incremental: total seconds and the part spent making the source (extents + changed reads). */
  inc: { s: number; sourceS: number }[];
  incRead: number;
}

/**
 * The tool path as it was before the incremental's base was passed down (issue 17): readRawRanges without the
 * `since` hint runs one `rbd export-diff` of the whole snapshot and keeps the wanted ranges. Same driver, same
 * snapshots, so the two tool rows differ only in that.
 */
function withoutSinceHint(driver: RbdVolumeDriver): VolumeDriver {
  const d = Object.create(driver) as RbdVolumeDriver;
  d.readRawRanges = (kind, id, ranges) => driver.readRawRanges(kind, id, ranges);
  return d;
}

interface BackupRun {
  label: string;
  driver: VolumeDriver;
  repo: BackupRepository;
  full?: string;
  figures: BackupFigures;
  /** Why the path gave no figures (its other steps are skipped). */
  failed?: string;
}

/** A full backup of base1 into the run's own repository. */
async function fullBackup(run: BackupRun, base1: string): Promise<void> {
  const t0 = process.hrtime.bigint();
  const source = await blockSources.open(run.driver, 'snapshot', base1, { chunkSize: run.repo.chunkSize });
  const full = await run.repo
    .backup({ id: 'full', container: 'bench', sourcePath: source.path, size: SIZE, allocatedExtents: source.allocatedExtents })
    .finally(() => source.release());
  run.full = full.locator;
  run.figures.fullS = secs(t0);
  run.figures.fullRead = full.stats.readBytes;
}

/** An incremental of base2 (changed since base1) on top of the run's full backup. */
async function incrementalBackup(run: BackupRun, vol: string, base1: string, base2: string, n: number): Promise<void> {
  const t0 = process.hrtime.bigint();
  const source = await blockSources.open(run.driver, 'snapshot', base2, {
    chunkSize: run.repo.chunkSize,
    changedSince: { volumeId: vol, snapshotId: base1 },
  });
  const sourceS = secs(t0);
  if (source.changedExtents === null) throw new Error('no changed extents from the rbd driver');
  const inc = await run.repo
    .backup({
      id: `inc-${n}`,
      container: 'bench',
      sourcePath: source.path,
      size: SIZE,
      allocatedExtents: source.allocatedExtents,
      parent: run.full!,
      changedExtents: source.changedExtents,
    })
    .finally(() => source.release());
  run.figures.inc.push({ s: secs(t0), sourceS });
  run.figures.incRead = inc.stats.readBytes;
}

/**
 * Base snapshot, `--changed-pct` of the image rewritten in 1 MiB pieces, second snapshot; then per path a full
 * backup of the first and `--inc-runs` incrementals of the second, the paths taking turns run by run so load
 * drifts hit them alike. Each path has a repository of its own; the first incremental of each stores the new
 * chunks, later ones find them stored (the same for every path).
 */
async function backupComparison(fast: RbdVolumeDriver, tool: RbdVolumeDriver, vol: string, work: string): Promise<void> {
  // Snapshots and changes through the tool: a librbd open that hangs (the addon's open issue, wip-rbdfault) then
  // costs only the librbd row, not the comparison.
  const base1 = randomUUID();
  await tool.createSnapshot(vol, base1);
  const changedPieces = Math.max(1, Math.round(CHANGED / MiB));
  for (let i = 0; i < changedPieces; i++) await tool.writeRaw(vol, Readable.from([randomBytes(MiB)]), randomInt(SIZE / MiB) * MiB);
  const base2 = randomUUID();
  const t0 = process.hrtime.bigint();
  await tool.createSnapshot(vol, base2);
  const snapS = secs(t0);
  const runs: BackupRun[] = [];
  for (const [label, driver] of [
    ['rbd tool, before (whole-snapshot export-diff)', withoutSinceHint(tool)],
    ['rbd tool (export-diff --from-snap --whole-object)', tool],
    ['librbd', fast],
  ] as const) {
    const repo = await BackupRepository.open({ store: new FsObjectStore(join(work, `repo-${runs.length}`)) });
    await repo.warmUp();
    runs.push({ label, driver, repo, figures: { fullS: 0, fullRead: 0, inc: [], incRead: 0 } });
  }
  try {
    const attempt = async (run: BackupRun, step: () => Promise<void>) => {
      if (run.failed) return;
      await step().catch((e: unknown) => (run.failed = (e as Error).message));
    };
    for (const run of runs) await attempt(run, () => fullBackup(run, base1));
    for (let i = 0; i < INC_RUNS; i++) for (const run of runs) await attempt(run, () => incrementalBackup(run, vol, base1, base2, i));
  } finally {
    for (const run of runs) await run.repo.close();
  }
  console.log(`\nincremental base snapshot (rbd tool): ${(snapS * 1000).toFixed(0)} ms`);
  console.log(
    `backups of a ${SIZE / 1024 / MiB} GiB image, ${changedPieces} MiB changed = ${args['changed-pct']} % (same snapshots, a repository each), ` +
      `${INC_RUNS} incrementals per path taking turns, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}:`,
  );
  console.log(`${'path'.padEnd(50)} ${'full s'.padStart(7)} ${'read MiB'.padStart(9)}   ${'inc p50 s'.padStart(9)} ${'inc max s'.padStart(9)} ${'source p50 ms'.padStart(13)} ${'read MiB'.padStart(9)}   runs (s)`);
  for (const { label, figures: x, failed } of runs) {
    if (failed) {
      console.log(`${label.padEnd(50)} failed: ${failed}`);
      continue;
    }
    const totals = x.inc.map((r) => r.s);
    const sources = x.inc.map((r) => r.sourceS * 1000);
    console.log(
      `${label.padEnd(50)} ${x.fullS.toFixed(2).padStart(7)} ${(x.fullRead / MiB).toFixed(0).padStart(9)}   ` +
        `${pct(totals, 0.5).toFixed(2).padStart(9)} ${Math.max(...totals).toFixed(2).padStart(9)} ${pct(sources, 0.5).toFixed(0).padStart(13)} ` +
        `${(x.incRead / MiB).toFixed(0).padStart(9)}   ${totals.map((t) => t.toFixed(2)).join(' ')}`,
    );
  }
}

async function sharedCluster(): Promise<void> {
  const made = makeTestPool('bench');
  if ('skip' in made) {
    console.error(`bench/rbd: ${made.skip}`);
    process.exit(1);
  }
  const work = await mkdtemp(join(tmpdir(), 'cbx-bench-rbd-'));
  const open = (librbd: boolean) => createRbdVolumeDriver({ name: 'rbd', pool: made.pool, conf: made.conf, directory: join(work, 'tmp'), librbd });
  const tool = await open(false);
  const fast = await open(true);
  try {
    if (!(await fast.lib())) throw new Error(`librbd path unavailable: ${fast.librbdUnavailable}`);
    const vol = randomUUID();
    await fast.createVolume(vol, SIZE);
    const t0 = process.hrtime.bigint();
    const pieces = await writeData(fast, vol);
    console.log(`wrote ${pieces} MiB into a ${SIZE / 1024 / MiB} GiB image in ${secs(t0).toFixed(1)} s (librbd)`);

    // 1. Snapshot create → available, interleaved so both paths see the same monitor.
    const snapTool = await timeSnapshots(tool, vol);
    const snapLib = await timeSnapshots(fast, vol);
    const bare = bareSnapshots(made.conf, made.pool, vol);
    const cinder = cinderSnapshots(made.conf, made.pool, vol);
    const idle = await timeSnapshots(fast, vol, 2000);

    console.log(`\nRBD image ${SIZE / 1024 / MiB} GiB thin, ${pieces} MiB written; pool ${made.pool} (memstore OSD, shared mon); librbd ${lib.addon!.librbdVersion}; load ${loadavg()[0]!.toFixed(2)}`);
    console.log('snapshot create → available (ms), ' + `${RUNS} runs each:`);
    row('  driver, rbd tool path (rbd snap create)', snapTool);
    row('  driver, librbd path (rbd_snap_create, kept connection)', snapLib);
    row('  bare `rbd snap create`', bare);
    if (typeof cinder === 'string') console.log(`  Cinder's RBDDriver.create_snapshot: ${cinder}`);
    else {
      row("  Cinder's RBDDriver.create_snapshot (python3-rbd), total", cinder.total);
      row('    of which create_snap', cinder.create);
    }
    row('  driver, librbd path, mon idle 2 s before', idle);

    // 2. Backups: every path reads the same two snapshots.
    await backupComparison(fast, tool, vol, work);
    await fast.deleteVolume(vol);
  } finally {
    await shutdownLibrbd();
    made.remove();
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Snapshot create → available on a cluster of the bench's own, the monitor's Paxos timing at Ceph's defaults
 * (paxos_propose_interval 1 s, paxos_min_wait 0.05 s) and as scripts/start-ceph.sh now sets it (`--paxos-interval`,
 * `--paxos-min-wait`), interleaved run by run so both see the same machine load. The bench changes the running
 * monitor through its admin socket (a runtime override outranks ceph.conf, where start-ceph.sh put the tuned values).
 */
async function ownCluster(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'cbx-bench-ceph-'));
  const port = 20000 + randomInt(20000);
  // memstore holds every written byte in RAM, about twice over, and the backup rounds add their changed data, clones
  // and restores on top: a full OSD blocks every write (and an export-diff behind it) instead of failing it.
  const memstore = Math.max(2048 * MiB, 4 * WRITTEN + 1024 * MiB);
  const env = { ...process.env, CINDERBOX_CEPH_MON_PORT: String(port), CINDERBOX_CEPH_RGW_PORT: String(port + 1), CINDERBOX_CEPH_MEMSTORE_BYTES: String(memstore) };
  const conf = join(dir, 'ceph.conf');
  const ceph = (...a: string[]) => execFileSync('ceph', ['--conf', conf, '--connect-timeout', '15', ...a], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  let t0 = process.hrtime.bigint();
  execFileSync('bash', [join(scripts, 'start-ceph.sh'), dir], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  console.log(`\nown throwaway cluster up in ${secs(t0).toFixed(0)} s (${dir}, mon port ${port})`);
  const work = await mkdtemp(join(tmpdir(), 'cbx-bench-rbd-own-'));
  try {
    const pool = 'bench';
    ceph('osd', 'pool', 'create', pool, '8');
    execFileSync('rbd', ['--conf', conf, 'pool', 'init', pool]);
    const open = (librbd: boolean) => createRbdVolumeDriver({ name: 'rbd', pool, conf, directory: join(work, 'tmp'), librbd });
    const fast = await open(true);
    const tool = await open(false);
    if (!(await fast.lib())) throw new Error(`librbd path unavailable: ${fast.librbdUnavailable}`);
    const vol = randomUUID();
    await fast.createVolume(vol, SIZE);
    t0 = process.hrtime.bigint();
    const pieces = await writeData(fast, vol);
    console.log(`wrote ${pieces} MiB into a ${SIZE / 1024 / MiB} GiB image in ${secs(t0).toFixed(1)} s`);
    const settings = {
      default: { interval: '1', minWait: '0.05' },
      tuned: { interval: String(args['paxos-interval']), minWait: String(args['paxos-min-wait']) },
    };
    // Through the monitor's admin socket: a runtime override like `ceph tell`, but local (a busy young monitor
    // answered `ceph tell` with "problem getting command descriptions").
    const asok = join(dir, 'run', 'mon.a.asok');
    const apply = (k: keyof typeof settings) => {
      for (const [name, value] of [['paxos_propose_interval', settings[k].interval], ['paxos_min_wait', settings[k].minWait]] as const)
        execFileSync('ceph', ['--admin-daemon', asok, 'config', 'set', name, value], { stdio: 'ignore' });
    };
    const runs: Record<string, number[]> = {};
    const add = (k: string, xs: number[]) => (runs[k] ??= []).push(...xs);
    const saveRuns = RUNS;
    // One snapshot per path per setting per round, the settings alternating, so load drifts hit both alike.
    for (let i = 0; i < saveRuns; i++) {
      for (const k of ['default', 'tuned'] as const) {
        apply(k);
        add(`librbd ${k}`, await timeOne(fast, vol));
        add(`tool ${k}`, await timeOne(tool, vol));
      }
    }
    const p = (xs: number[], q: number) => pct(xs, q).toFixed(0).padStart(6);
    console.log(`\nsnapshot create → available (ms), driver.createSnapshot on a ${SIZE / 1024 / MiB} GiB image with ${pieces} MiB written, ${saveRuns} runs each, load ${loadavg()[0]!.toFixed(2)}`);
    console.log(`${'path'.padEnd(34)} ${'default (1 s / 0.05 s)'.padEnd(26)} tuned (${settings.tuned.interval} s / ${settings.tuned.minWait} s)`);
    console.log(`${''.padEnd(34)} ${'p50'.padStart(6)} ${'p99'.padStart(6)}              ${'p50'.padStart(6)} ${'p99'.padStart(6)}`);
    for (const path of ['librbd', 'tool']) {
      const d = runs[`${path} default`]!;
      const t = runs[`${path} tuned`]!;
      console.log(`${(path === 'librbd' ? 'librbd path (rbd_snap_create2)' : 'rbd tool path (rbd snap create)').padEnd(34)} ${p(d, 0.5)} ${p(d, 0.99)}              ${p(t, 0.5)} ${p(t, 0.99)}`);
    }
    // What the tool path cannot go below: starting the `rbd` process, before any cluster round trip.
    const start: number[] = [];
    for (let i = 0; i < saveRuns; i++) {
      t0 = process.hrtime.bigint();
      execFileSync('rbd', ['--version'], { stdio: 'ignore' });
      start.push(secs(t0) * 1000);
    }
    console.log(`${'`rbd --version` (process start)'.padEnd(34)} ${p(start, 0.5)} ${p(start, 0.99)}`);
    if (!args['skip-backups']) {
      apply('tuned');
      await backupComparison(fast, tool, vol, work);
    }
    await fast.deleteVolume(vol);
  } finally {
    await shutdownLibrbd();
    execFileSync('bash', [join(scripts, 'stop-ceph.sh'), '--purge', dir], { stdio: 'inherit' });
    await rm(work, { recursive: true, force: true });
  }
}

/** One driver.createSnapshot timed (ms), the snapshot deleted after. */
async function timeOne(driver: RbdVolumeDriver, vol: string): Promise<number[]> {
  const id = randomUUID();
  const t0 = process.hrtime.bigint();
  await driver.createSnapshot(vol, id);
  const ms = secs(t0) * 1000;
  await driver.deleteSnapshot(vol, id);
  return [ms];
}

if (!args['skip-shared']) await sharedCluster();
if (args['own-cluster']) await ownCluster();
