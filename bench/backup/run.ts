/**
 * Backup engine benchmark: builds three test volumes, then for each one runs a full backup, an incremental
 * backup after changing 1 % of the chunks (changed extents given), and a restore into a fresh file, and prints
 * MiB/s, stored bytes and peak RSS. When Debian's `restic` and `borgbackup` are installed, runs them on the same
 * files with their fastest comparable settings and prints them side by side, then the ratios.
 * Anchor settings: restic repository v2 with `--compression auto` (its only compressing mode short of max);
 * borg unencrypted, fixed 4 MiB chunks like ours, `--sparse`, zstd,1 (lz4 measured no faster: borg is one
 * thread, and its time goes to hashing and Python, not compression).
 *
 *   node --import tsx bench/backup/run.ts [--size-gib 4] [--dir /var/tmp/cbx-bench-backup] [--workers 2] [--no-anchors]
 *     [--volumes mixed,dense,compressible] [--compression auto,zstd,lz4,none] [--warm-cache] [--target fs,s3]
 *     [--no-index] [--runs N [--direct-writes on,off] [--repo-dir /dev/shm/cbx-repo]]
 *
 * --target s3 runs every volume against the filesystem and an S3 server (radosgw) in the same run and prints them
 * side by side: MiB/s, objects written and requests per GiB of volume for the full backup, the 1 % incremental and
 * the restore (S3: HTTP requests counted by a middleware in the client, retries included; fs: object-store calls),
 * and the peak RSS. The S3 server comes from CINDERBOX_TEST_S3_ENDPOINT / _ACCESS_KEY / _SECRET_KEY / _REGION (as
 * scripts/start-ceph.sh prints them); each row uses a fresh bucket prefix and empties it afterwards. Every row has
 * its own node-local chunk index (--no-index: none, every chunk offered to the store as before).
 *
 * Volumes (S = size): "mixed" = S/4 hole, S/2 compressible (a tar of /usr), S/4 random;
 * "dense" = no holes, compressible and random data alternating every 256 MiB;
 * "compressible" = no holes, all compressible (a tar of /usr): the case the ≥ 450 MiB/s target names.
 *
 * --runs N (steadiness, issue #21 item 3) replaces the rows above: per volume, N rounds of {cinderbox full backup
 * + restore, the disk's O_DIRECT write speed, restic full, borg full}, interleaved so every tool meets the same
 * load; then a table of MiB/s per run, median and spread (target: every run within ±15 % of the median), CPU
 * s/GiB, fsyncs/GiB (fs store counters: chunk data syncs + directory syncs), where the chunks' time went (read
 * wait / compute / store, ms per chunk) and restore as a share of the disk's write speed (target ≥ 90 %).
 *
 * --repo-dir (steadiness mode) adds a second restore per run from a copy of the same repository in that
 * directory, standing in for a repository on another device (production: another disk or S3), so the restore is
 * a pure write workload on the disk. Use a tmpfs (/dev/shm) or another device; the volume and every restore
 * target stay in --dir. The disk's write speed is probed just before and just after that restore and the
 * restore is compared with their mean (the disk's speed drifts between probes under a shared load). The
 * same-disk columns keep measuring what they did. --restore-samples K repeats that restore K times per run (each
 * between its own probes) and keeps the sample with the median ratio, and prints every sample with the disk's
 * write requests (count, mean size, mean number in flight) during the restore and the probe before it: the
 * probes of a disk other work shares vary by a third from one to the next, more than most changes to compare.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { DeleteBucketCommand } from '@aws-sdk/client-s3';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BackupRepository, type Compression, COMPRESSIONS } from '../../packages/server/src/backup-repo/index.js';
import { chunkWorkerAddon } from '../../packages/server/src/backup-repo-open.js';
import type { Extent } from '../../packages/server/src/domain/ports/volume-driver.js';
import type { ObjectStore } from '../../packages/server/src/domain/ports/object-store.js';
import { FsObjectStore } from '../../packages/server/src/drivers/objects/fs/index.js';
import { countRequests, type RequestCounts } from '../../packages/server/src/drivers/objects/s3/request-counter.js';
import { S3ObjectStore } from '../../packages/server/src/drivers/objects/s3/s3-object-store.js';
import { sparseIo } from '../../packages/server/src/drivers/volume/sparse-io.js';

const MiB = 1024 * 1024;
const CHUNK = 4 * MiB;

const { values: args } = parseArgs({
  options: {
    'size-gib': { type: 'string', default: '4' },
    dir: { type: 'string', default: '/var/tmp/cbx-bench-backup' },
    workers: { type: 'string' },
    'no-anchors': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    /** Comma-separated volume names to run (mixed,dense,compressible); all by default. */
    volumes: { type: 'string' },
    /** Source in the page cache instead of dropped before each backup: isolates the CPU side from the disk. */
    'warm-cache': { type: 'boolean', default: false },
    /** Comma-separated chunk compressions to compare (auto,zstd,lz4,none); default auto. */
    compression: { type: 'string', default: 'auto' },
    /** Comma-separated targets: fs (default), s3 (radosgw; implies fs too, for the side-by-side figures). */
    target: { type: 'string', default: 'fs' },
    'no-index': { type: 'boolean', default: false },
    /**
     * Steadiness mode: N consecutive full backups (fresh repository each) and restores per volume, with restic and
     * borg run in the same loop and the disk's write speed probed between runs; prints MiB/s per run, the
     * median, the spread against ±15 %, CPU s/GiB and fsyncs/GiB, and restore against the disk's write speed.
     */
    runs: { type: 'string' },
    /** Steadiness mode: chunk writes of the fs store, on = O_DIRECT (default), off = buffered; "on,off" runs both. */
    'direct-writes': { type: 'string', default: 'on' },
    /** Steadiness mode: also restore from a copy of the repository here (another device or a tmpfs). */
    'repo-dir': { type: 'string' },
    /**
     * --repo-dir: separate-device restores per run, each between its own two probes; the run reports the
     * sample with the median restore/disk ratio (the disk is shared: one probe pair swings by a third).
     */
    'restore-samples': { type: 'string', default: '1' },
  },
});
const SIZE = Math.round(Number(args['size-gib']) * 1024) * MiB;
const DIR = args.dir as string;
const REPO_DIR = args['repo-dir'];
const RESTORE_SAMPLES = Number(args['restore-samples']);
if (!(Number.isInteger(RESTORE_SAMPLES) && RESTORE_SAMPLES >= 1)) throw new Error('--restore-samples: a positive integer');
if (REPO_DIR !== undefined && args.runs === undefined) throw new Error('--repo-dir needs --runs');
const WORKERS = args.workers ? Number(args.workers) : undefined;
const ONLY = args.volumes?.split(',');
const COMPRESSION = (args.compression as string).split(',') as Compression[];
type Target = 'fs' | 's3';
const TARGETS: Target[] = [];
for (const t of (args.target as string).split(',')) {
  if (t !== 'fs' && t !== 's3') throw new Error(`--target: ${t} is not fs or s3`);
  if (t === 's3' && !TARGETS.includes('fs')) TARGETS.push('fs');
  if (!TARGETS.includes(t)) TARGETS.push(t);
}
const S3_ENV = {
  endpoint: process.env.CINDERBOX_TEST_S3_ENDPOINT,
  region: process.env.CINDERBOX_TEST_S3_REGION ?? 'default',
  accessKeyId: process.env.CINDERBOX_TEST_S3_ACCESS_KEY ?? '',
  secretAccessKey: process.env.CINDERBOX_TEST_S3_SECRET_KEY ?? '',
};
if (TARGETS.includes('s3') && !S3_ENV.endpoint) {
  throw new Error('--target s3 needs CINDERBOX_TEST_S3_ENDPOINT, _ACCESS_KEY, _SECRET_KEY (scripts/start-ceph.sh prints them)');
}
const S3_BUCKET = `cbx-bench-${process.pid}`;
for (const c of COMPRESSION) {
  if (!COMPRESSIONS.includes(c)) throw new Error(`--compression: ${c} is not one of ${COMPRESSIONS.join(', ')}`);
}

/** Requests (S3: HTTP, fs: object-store calls) and objects written by one phase. */
interface Traffic {
  requests: number;
  objects: number;
}

interface Row {
  tool: string;
  target?: Target;
  traffic?: { full: Traffic; incr: Traffic; restore: Traffic };
  /** S3 rows: what the server alone takes and gives, 4 MiB objects, as many in flight as the repository keeps. */
  s3Ceiling?: { putMiBs: number; getMiBs: number };
  volume: string;
  fullS: number;
  fullMiBs: number;
  dataMiBs: number;
  storedMiB: number;
  incrS: number;
  /** cinderbox rows: the incremental without changed extents (read every allocated chunk, like the anchors). */
  incrScanS?: number;
  incrStoredMiB: number;
  restoreS: number;
  restoreMiBs: number;
  /** CPU seconds (user+sys, whole process incl. worker threads; children for anchors) per GiB of data / of size. */
  fullCpuPerGiB: number;
  restoreCpuPerGiB: number;
  rssMiB: number;
  ok: string;
  /** What the disk allows for this full backup: the source read and the stored bytes written at once (cinderbox rows). */
  ceilingMiBs?: number;
}
const rows: Row[] = [];

function sh(cmd: string): void {
  execFileSync('bash', ['-c', cmd], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/**
 * Drops one file's pages from the page cache so backups read from the disk, not from memory. The file is
 * synced first: the volume was just copied, and dirty pages can be neither dropped nor read past the cache
 * without first waiting for their writeback, which would time the copy instead of the backup.
 */
function dropCache(path: string): void {
  spawnSync('sync', [path]);
  if (args['warm-cache']) {
    spawnSync('cat', [path], { stdio: 'ignore' });
    return;
  }
  spawnSync('dd', [`if=${path}`, 'iflag=nocache', 'count=0', 'status=none']);
}

/**
 * The disk's ceiling for one full backup: read the whole source (O_DIRECT) while writing as many bytes as the
 * backup stored (O_DIRECT, fdatasync), at the same time, as the backup must. Both share one device, so a volume
 * whose data does not compress is bounded here, not by the CPU. Returns MiB/s of volume size.
 */
async function diskCeiling(source: string, storedBytes: number): Promise<number> {
  const out = join(DIR, 'ceiling-probe.bin');
  const dd = (argv: string[]) =>
    new Promise<void>((resolve, reject) =>
      execFile('dd', argv, (err) => (err ? reject(err) : resolve())),
    );
  const t0 = process.hrtime.bigint();
  await Promise.all([
    dd([`if=${source}`, 'of=/dev/null', 'bs=4M', 'iflag=direct', 'status=none']),
    dd(['if=/dev/zero', `of=${out}`, 'bs=4M', `count=${Math.ceil(storedBytes / CHUNK)}`, 'oflag=direct', 'conv=fdatasync', 'status=none']),
  ]);
  const s = secs(t0);
  await rm(out, { force: true });
  return SIZE / MiB / s;
}

function sha256(path: string): string {
  return execFileSync('sha256sum', [path], { encoding: 'utf8' }).split(' ')[0] ?? '';
}

const secs = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const GiB = 1024 * MiB;
/** User+system CPU seconds of this process (all threads, so worker threads count) since `c0`. */
const cpuSecs = (c0: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(c0);
  return (d.user + d.system) / 1e6;
};
/**
 * Peak RSS of this process since the last resetPeakRss() (VmHWM; Linux resets it through clear_refs), so each
 * cinderbox row reports its own peak rather than the maximum of every row before it.
 */
function peakRssMiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : process.resourceUsage().maxRSS / 1024;
}
/** A full GC without --expose-gc on the command line (the flag can be set at run time for a new context). */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}
function resetPeakRss(): void {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    // Not Linux: the row shows the process maximum so far.
  }
}

async function buildVolumes(): Promise<{
  mixed: string;
  dense: string;
  compressible: string;
  dataBytes: Record<string, number>;
}> {
  await mkdir(DIR, { recursive: true });
  // Named by size: a volume built by an earlier run with another --size-gib is not reused.
  const mb = `${SIZE / MiB}M`;
  const mixed = join(DIR, `mixed-${mb}.raw`);
  const dense = join(DIR, `dense-${mb}.raw`);
  const q = SIZE / 4;
  if (!existsSync(mixed)) {
    console.log(`building ${mixed} (${SIZE / MiB} MiB: 1/4 hole, 1/2 compressible, 1/4 random)`);
    sh(`truncate -s ${q} ${mixed}.tmp`);
    sh(`(tar cf - /usr/lib /usr/share /usr/bin 2>/dev/null || true) | head -c ${2 * q} >> ${mixed}.tmp`);
    sh(`head -c ${q} /dev/urandom >> ${mixed}.tmp && mv ${mixed}.tmp ${mixed}`);
  }
  if (!existsSync(dense)) {
    console.log(`building ${dense} (${SIZE / MiB} MiB, no holes: compressible and random alternating)`);
    const block = Math.min(256 * MiB, SIZE / 4);
    sh(
      `(tar cf - /usr/share /usr/lib /usr/bin 2>/dev/null || true) | tail -c +${1 + 7 * MiB} | head -c ${SIZE / 2} > ${dense}.text`,
    );
    sh(`: > ${dense}.tmp`);
    for (let off = 0, i = 0; off < SIZE; off += block, i++) {
      const n = Math.min(block, SIZE - off);
      if (i % 2 === 0)
        sh(`dd if=${dense}.text bs=1M skip=${(i / 2) * (block / MiB)} count=${n / MiB} status=none >> ${dense}.tmp`);
      else sh(`head -c ${n} /dev/urandom >> ${dense}.tmp`);
    }
    sh(`rm ${dense}.text && mv ${dense}.tmp ${dense}`);
  }
  const compressible = join(DIR, `compressible-${mb}.raw`);
  if (!existsSync(compressible)) {
    console.log(`building ${compressible} (${SIZE / MiB} MiB, no holes, all compressible: a tar of /usr)`);
    sh(`(tar cf - /usr 2>/dev/null || true) | head -c ${SIZE} > ${compressible}.tmp`);
    sh(`truncate -s ${SIZE} ${compressible}.tmp && mv ${compressible}.tmp ${compressible}`);
  }
  return { mixed, dense, compressible, dataBytes: { mixed: (SIZE * 3) / 4, dense: SIZE, compressible: SIZE } };
}

/** Overwrites 64 KiB at a random place in 1 % of the chunks that hold data; returns the changed extents. */
async function change1Percent(path: string, dataExtents: Array<{ offset: number; length: number }>) {
  const chunks = new Set<number>();
  for (const e of dataExtents) {
    for (let c = Math.floor(e.offset / CHUNK); c * CHUNK < e.offset + e.length; c++) chunks.add(c);
  }
  const all = [...chunks];
  const n = Math.max(1, Math.ceil((SIZE / CHUNK) * 0.01));
  const picked = new Set<number>();
  while (picked.size < Math.min(n, all.length)) picked.add(all[randomInt(all.length)] as number);
  const fh = await open(path, 'r+');
  const changed: Array<{ offset: number; length: number }> = [];
  try {
    for (const c of picked) {
      const offset = c * CHUNK + randomInt(CHUNK / 65536) * 65536;
      await fh.write(randomBytes(65536), 0, 65536, offset);
      changed.push({ offset, length: 65536 });
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  return changed;
}

/** Store calls and objects created through `store` (the fs target's "requests"; S3 counts HTTP requests too). */
function instrument<T extends ObjectStore>(store: T, t: { calls: number; written: number }): T {
  const counted = new Set(['put', 'get', 'getInto', 'getStream', 'head', 'list', 'delete', 'touch']);
  return new Proxy(store, {
    get(target, prop, _receiver) {
      const v = Reflect.get(target, prop, target) as unknown;
      if (typeof v !== 'function') return v;
      const fn = v as (...a: unknown[]) => unknown;
      if (typeof prop !== 'string' || !counted.has(prop)) return fn.bind(target);
      return (...a: unknown[]) => {
        t.calls++;
        const r = fn.apply(target, a);
        if (prop === 'put') {
          return (r as Promise<{ existed: boolean }>).then((res) => {
            if (!res.existed) t.written++;
            return res;
          });
        }
        return r;
      };
    },
  });
}

let s3BucketReady: Promise<void> | undefined;

async function openTarget(target: Target, work: string, row: string) {
  const t = { calls: 0, written: 0 };
  if (target === 'fs') {
    return { store: instrument(new FsObjectStore(join(work, 'repo')), t), t, http: undefined, close: async () => {} };
  }
  const raw = new S3ObjectStore({
    bucket: S3_BUCKET,
    prefix: `${row}-${randomBytes(4).toString('hex')}`,
    endpoint: S3_ENV.endpoint,
    region: S3_ENV.region,
    credentials: { accessKeyId: S3_ENV.accessKeyId, secretAccessKey: S3_ENV.secretAccessKey },
  });
  s3BucketReady ??= raw.ensureBucket();
  await s3BucketReady;
  const http: RequestCounts = countRequests(raw.client);
  return {
    store: instrument(raw, t),
    t,
    http,
    close: async () => {
      // memstore keeps objects in RAM: empty the row's prefix.
      for await (const o of raw.list('')) await raw.delete(o.key);
      raw.destroy();
    },
  };
}

/**
 * The S3 server's own ceiling right after a row, under the same load: 32 objects of 4 MiB (random bytes, like a
 * stored chunk), put then got with `inFlight` requests at once through the same client settings. A backup cannot
 * store faster than the PUT figure, nor a restore fetch faster than the GET figure.
 */
async function s3Ceiling(inFlight: number): Promise<{ putMiBs: number; getMiBs: number }> {
  const store = new S3ObjectStore({
    bucket: S3_BUCKET,
    prefix: `ceiling-${randomBytes(4).toString('hex')}`,
    endpoint: S3_ENV.endpoint,
    region: S3_ENV.region,
    credentials: { accessKeyId: S3_ENV.accessKeyId, secretAccessKey: S3_ENV.secretAccessKey },
  });
  const n = 32;
  const data = randomBytes(CHUNK);
  const bufs = Array.from({ length: inFlight }, () => Buffer.alloc(CHUNK + 4096));
  const run = async (fn: (i: number, slot: number) => Promise<unknown>) => {
    let next = 0;
    const t0 = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: inFlight }, async (_, slot) => {
        while (next < n) await fn(next++, slot);
      }),
    );
    return (n * CHUNK) / MiB / secs(t0);
  };
  try {
    const putMiBs = await run((i) => store.put(`o/${i}`, data));
    const getMiBs = await run((i, slot) => store.getInto(`o/${i}`, bufs[slot] as Buffer));
    return { putMiBs, getMiBs };
  } finally {
    for (let i = 0; i < n; i++) await store.delete(`o/${i}`).catch(() => false);
    store.destroy();
  }
}

async function runCinderbox(
  name: string,
  source: string,
  dataBytes: number,
  compression: Compression,
  target: Target = 'fs',
): Promise<void> {
  const work = join(DIR, `work-${name}`);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const vol = join(work, 'vol.raw');
  sh(`cp --sparse=always ${source} ${vol}`);
  // A new repository per row: the garbage of earlier rows is collected before this row's peak is measured.
  collectGarbage();
  resetPeakRss();
  const tgt = await openTarget(target, work, `${name}-${compression}`);
  const traffic = () => ({ requests: tgt.http ? tgt.http.total() : tgt.t.calls, objects: tgt.t.written });
  const resetTraffic = () => {
    tgt.http?.reset();
    tgt.t.calls = 0;
    tgt.t.written = 0;
  };
  const repo = await BackupRepository.open({
    store: tgt.store,
    ...(WORKERS ? { workers: WORKERS } : {}),
    ...chunkWorkerAddon(),
    compression,
    ...(args['no-index'] ? {} : { indexDir: join(work, 'index') }),
  });
  // A server opens its repository once; worker start-up is not part of a backup.
  await repo.warmUp();
  try {
    dropCache(vol);
    resetTraffic();
    let t0 = process.hrtime.bigint();
    let c0 = process.cpuUsage();
    const allocatedExtents = await sparseIo().dataExtents(vol);
    const full = await repo.backup({ id: 'full', container: 'bench', sourcePath: vol, allocatedExtents });
    const fullS = secs(t0);
    const fullCpu = cpuSecs(c0);
    const fullTraffic = traffic();
    const changedExtents = await change1Percent(vol, allocatedExtents);
    /** An incremental on the full backup, from a cold cache; `extents` say what it may skip. */
    const incremental = async (id: string, extents: { changedExtents: Extent[] } | { allocatedExtents: Extent[] }) => {
      dropCache(vol);
      const start = process.hrtime.bigint();
      const r = await repo.backup({ id, container: 'bench', sourcePath: vol, parent: full.locator, ...extents });
      return { r, s: secs(start) };
    };
    resetTraffic();
    const { r: inc, s: incrS } = await incremental('inc', { changedExtents });
    const incrTraffic = traffic();
    // The same incremental where the driver cannot tell what changed (raw on a filesystem without reflinks): read
    // every allocated chunk and store what the parent lacks. restic and borg always work this way.
    const { r: scan, s: incrScanS } = await incremental('inc-scan', {
      allocatedExtents: await sparseIo().dataExtents(vol),
    });
    const out = join(work, 'restored.raw');
    resetTraffic();
    t0 = process.hrtime.bigint();
    c0 = process.cpuUsage();
    await repo.restore({ locator: inc.locator, targetPath: out, targetIsFresh: true });
    const restoreS = secs(t0);
    const restoreCpu = cpuSecs(c0);
    const restoreTraffic = traffic();
    const ok = sha256(out) === sha256(vol) ? 'sha256 ok' : 'MISMATCH';
    const ceilingMiBs = target === 'fs' ? await diskCeiling(vol, full.stats.storedBytes) : undefined;
    const ceiling = target === 's3' ? await s3Ceiling((WORKERS ?? availableParallelism()) * 4 + 2) : undefined;
    rows.push({
      ...(ceiling ? { s3Ceiling: ceiling } : {}),
      ...(ceilingMiBs === undefined ? {} : { ceilingMiBs }),
      target,
      traffic: { full: fullTraffic, incr: incrTraffic, restore: restoreTraffic },
      tool: `cinderbox ${compression}${TARGETS.length > 1 ? ` ${target}` : ''}`,
      volume: name,
      fullS,
      fullMiBs: SIZE / MiB / fullS,
      dataMiBs: dataBytes / MiB / fullS,
      storedMiB: full.stats.storedBytes / MiB,
      incrS,
      incrScanS,
      incrStoredMiB: inc.stats.storedBytes / MiB,
      restoreS,
      restoreMiBs: SIZE / MiB / restoreS,
      fullCpuPerGiB: fullCpu / (dataBytes / GiB),
      restoreCpuPerGiB: restoreCpu / (SIZE / GiB),
      rssMiB: peakRssMiB(),
      ok,
    });
    const codecs = full.stats.codecs;
    console.log(
      `cinderbox ${compression} ${target} ${name}: full ${fullS.toFixed(2)} s (${full.stats.newChunks} new: ` +
        `${codecs?.zstd ?? 0} zstd, ${codecs?.lz4 ?? 0} lz4, ${codecs?.raw ?? 0} raw; ` +
        `${full.stats.zeroChunks} zero chunks), ` +
        `incr ${incrS.toFixed(2)} s (read ${inc.stats.readBytes / MiB} MiB; ${incrScanS.toFixed(2)} s reading ` +
        `${(scan.stats.readBytes / MiB).toFixed(0)} MiB without changed extents), restore ${restoreS.toFixed(2)} s, ` +
        `CPU full ${fullCpu.toFixed(2)} s restore ${restoreCpu.toFixed(2)} s, ${ok}`,
    );
  } finally {
    await repo.close();
    await tgt.close();
    if (!args.keep) await rm(work, { recursive: true, force: true });
  }
}

/** The S3 rows beside their fs rows: throughput, objects written, requests per GiB of volume, and the targets. */
function printTargets(): void {
  if (!TARGETS.includes('s3')) return;
  const head = [
    'volume',
    'compression',
    'target',
    'full MiB/s',
    'full objects',
    'full req/GiB',
    'incr s',
    'incr/full',
    'incr objects',
    'incr req/GiB',
    'restore MiB/s',
    'restore req/GiB',
    'peak RSS MiB',
    'S3 PUT/GET ceiling MiB/s',
    'check',
  ];
  const perGiB = (n: number) => (n / (SIZE / GiB)).toFixed(0);
  const body: string[][] = [];
  const verdicts: string[] = [];
  for (const r of rows) {
    if (!r.traffic || !r.target) continue;
    body.push([
      r.volume,
      r.tool.split(' ')[1] ?? '',
      r.target,
      r.fullMiBs.toFixed(0),
      String(r.traffic.full.objects),
      perGiB(r.traffic.full.requests),
      r.incrS.toFixed(2),
      `${((100 * r.incrS) / r.fullS).toFixed(1)} %`,
      String(r.traffic.incr.objects),
      perGiB(r.traffic.incr.requests),
      r.restoreMiBs.toFixed(0),
      perGiB(r.traffic.restore.requests),
      r.rssMiB.toFixed(0),
      r.s3Ceiling ? `${r.s3Ceiling.putMiBs.toFixed(0)} / ${r.s3Ceiling.getMiBs.toFixed(0)}` : '-',
      r.ok,
    ]);
    if (r.target !== 's3') continue;
    const fs = rows.find((f) => f.target === 'fs' && f.volume === r.volume && f.tool.split(' ')[1] === r.tool.split(' ')[1]);
    if (!fs) continue;
    const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(0)} %`;
    const mark = (ok: boolean) => (ok ? 'met' : 'NOT met');
    verdicts.push(
      `${r.volume} ${r.tool.split(' ')[1]}: full S3/fs ${pct(r.fullMiBs, fs.fullMiBs)} (target ≥ 70 %: ${mark(r.fullMiBs >= 0.7 * fs.fullMiBs)}), ` +
        `incr/full on S3 ${pct(r.incrS, r.fullS)} (≤ 25 %: ${mark(r.incrS <= 0.25 * r.fullS)}), ` +
        `restore S3/fs ${pct(r.restoreMiBs, fs.restoreMiBs)} (≥ 70 %: ${mark(r.restoreMiBs >= 0.7 * fs.restoreMiBs)}), ` +
        `peak RSS ${r.rssMiB.toFixed(0)} MiB (≤ 300: ${mark(r.rssMiB <= 300)})`,
    );
  }
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  console.log(
    `\nS3 (${S3_ENV.endpoint}) beside the filesystem, volume size ${SIZE / MiB} MiB; req/GiB per GiB of volume size ` +
      '(S3: HTTP requests incl. retries, counted in the client; fs: object-store calls); objects = objects created; ' +
      'S3 ceiling = the server alone, 4 MiB objects, as many requests in flight as the repository, right after the row; ' +
      `chunk index ${args['no-index'] ? 'off' : 'on'}`,
  );
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const b of body) console.log(line(b));
  if (verdicts.length > 0) console.log(`\n${verdicts.join('\n')}`);
}

function have(cmd: string): boolean {
  return spawnSync('bash', ['-c', `command -v ${cmd}`]).status === 0;
}

/** Runs a command under /usr/bin/time to get its peak RSS and CPU; returns seconds, KiB and CPU seconds. */
function timed(cmd: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): { s: number; rssKiB: number; cpu: number } {
  const t0 = process.hrtime.bigint();
  const useTime = existsSync('/usr/bin/time');
  const argv = useTime ? ['/usr/bin/time', '-f', '%U %S %M', ...cmd] : cmd;
  const r = spawnSync(argv[0] as string, argv.slice(1), {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 64 * MiB,
    ...(cwd ? { cwd } : {}),
  });
  const s = secs(t0);
  if (r.status !== 0) throw new Error(`${cmd.join(' ')} failed: ${r.stderr}`);
  const last = useTime ? (r.stderr.trim().split('\n').at(-1) ?? '').split(' ').map(Number) : [];
  const [user = Number.NaN, sys = Number.NaN, rssKiB = Number.NaN] = last;
  return { s, rssKiB, cpu: user + sys };
}

function dirBytes(path: string): number {
  return Number(execFileSync('du', ['-sb', path], { encoding: 'utf8' }).split('\t')[0]);
}

async function runAnchor(tool: 'restic' | 'borg', name: string, source: string, dataBytes: number): Promise<void> {
  const work = join(DIR, `work-${tool}-${name}`);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const vol = join(work, 'vol.raw');
  sh(`cp --sparse=always ${source} ${vol}`);
  const repo = join(work, 'repo');
  const restoreDir = join(work, 'restore');
  await mkdir(restoreDir);
  const env = { RESTIC_PASSWORD: 'bench', RESTIC_REPOSITORY: repo, BORG_REPO: repo, BORG_PASSPHRASE: '' };
  let full: ReturnType<typeof timed>;
  let incr: ReturnType<typeof timed>;
  let restore: ReturnType<typeof timed>;
  let stored: number;
  let restoredPath: string;
  if (tool === 'restic') {
    timed(['restic', 'init', '--repository-version', '2'], env);
    dropCache(vol);
    full = timed(['restic', 'backup', '--compression', 'auto', vol], env);
    stored = dirBytes(repo);
    await change1Percent(vol, await sparseIo().dataExtents(vol));
    dropCache(vol);
    incr = timed(['restic', 'backup', '--compression', 'auto', vol], env);
    restore = timed(['restic', 'restore', 'latest', '--target', restoreDir], env);
    restoredPath = join(restoreDir, vol);
  } else {
    timed(['borg', 'init', '-e', 'none', repo], env);
    dropCache(vol);
    const create = ['borg', 'create', '--sparse', '--chunker-params', 'fixed,4194304', '--compression', 'zstd,1'];
    full = timed([...create, `${repo}::full`, vol], env);
    stored = dirBytes(repo);
    await change1Percent(vol, await sparseIo().dataExtents(vol));
    dropCache(vol);
    incr = timed([...create, `${repo}::inc`, vol], env);
    restore = timed(['borg', 'extract', '--sparse', `${repo}::inc`], env, restoreDir);
    restoredPath = join(restoreDir, vol.replace(/^\//, ''));
  }
  const ok = sha256(restoredPath) === sha256(vol) ? 'sha256 ok' : 'MISMATCH';
  rows.push({
    tool,
    volume: name,
    fullS: full.s,
    fullMiBs: SIZE / MiB / full.s,
    dataMiBs: dataBytes / MiB / full.s,
    storedMiB: stored / MiB,
    incrS: incr.s,
    incrStoredMiB: Number.NaN,
    restoreS: restore.s,
    restoreMiBs: SIZE / MiB / restore.s,
    fullCpuPerGiB: full.cpu / (dataBytes / GiB),
    restoreCpuPerGiB: restore.cpu / (SIZE / GiB),
    rssMiB: Math.max(full.rssKiB, incr.rssKiB, restore.rssKiB) / 1024,
    ok,
  });
  console.log(
    `${tool} ${name}: full ${full.s.toFixed(2)} s, incr ${incr.s.toFixed(2)} s, restore ${restore.s.toFixed(2)} s, ${ok}`,
  );
  if (!args.keep) await rm(work, { recursive: true, force: true });
}

function printTable(): void {
  const head = [
    'tool',
    'volume',
    'full s',
    'full MiB/s',
    'disk ceiling',
    'data MiB/s',
    'stored MiB',
    'incr s',
    'incr/full',
    'incr scan s',
    'scan/full',
    'restore s',
    'restore MiB/s',
    'full CPU s/GiB',
    'restore CPU s/GiB',
    'peak RSS MiB',
    'check',
  ];
  const body = rows.map((r) => [
    r.tool,
    r.volume,
    r.fullS.toFixed(2),
    r.fullMiBs.toFixed(0),
    r.ceilingMiBs === undefined ? '-' : r.ceilingMiBs.toFixed(0),
    r.dataMiBs.toFixed(0),
    r.storedMiB.toFixed(0),
    r.incrS.toFixed(2),
    `${((100 * r.incrS) / r.fullS).toFixed(1)} %`,
    r.incrScanS === undefined ? '-' : r.incrScanS.toFixed(2),
    r.incrScanS === undefined ? '-' : `${((100 * r.incrScanS) / r.fullS).toFixed(1)} %`,
    r.restoreS.toFixed(2),
    r.restoreMiBs.toFixed(0),
    r.fullCpuPerGiB.toFixed(2),
    r.restoreCpuPerGiB.toFixed(2),
    Number.isNaN(r.rssMiB) ? '-' : r.rssMiB.toFixed(0),
    r.ok,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  console.log(
    `\nvolume size ${SIZE / MiB} MiB; "data MiB/s" counts non-hole bytes; incremental = 1 % of chunks changed ` +
      '(cinderbox "incr": the changed extents given, as the CBT drivers do; "incr scan": every allocated chunk read ' +
      'and compared, as without CBT and as restic and borg do); ' +
      'CPU = user+sys of the process incl. worker threads, per GiB of data (full) / of volume size (restore); ' +
      'peak RSS of a cinderbox row is the process peak during that row (VmHWM reset before it, workers included); ' +
      '"disk ceiling" = volume size / time to read the source and write the stored bytes concurrently with dd (O_DIRECT)',
  );
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const b of body) console.log(line(b));
}

/** The issue asks for the ratio to each anchor as a figure: cinderbox's speed over the anchor's, same volume. */
function printRatios(): void {
  const x = (a: number, b: number) => `${(a / b).toFixed(1)}×`;
  const lines: string[] = [];
  for (const anchor of rows.filter((r) => !r.tool.startsWith('cinderbox'))) {
    for (const r of rows.filter((c) => c.tool.startsWith('cinderbox') && c.volume === anchor.volume)) {
      lines.push(
        `${r.tool} vs ${anchor.tool} on ${r.volume}: full ${x(anchor.fullS, r.fullS)}, incremental ${x(anchor.incrS, r.incrS)}` +
          (r.incrScanS === undefined ? '' : ` (${x(anchor.incrS, r.incrScanS)} without changed extents)`) +
          ', ' +
          `restore ${x(anchor.restoreS, r.restoreS)} faster; stored ${(r.storedMiB / anchor.storedMiB).toFixed(2)}× ${anchor.tool}'s bytes`,
      );
    }
  }
  if (lines.length > 0) console.log(`\n${lines.join('\n')}`);
}


/**
 * Milliseconds the device under DIR has had I/O in flight (io_ticks of /sys/dev/block/M:m/stat), so a phase's
 * busy share shows whether it kept the disk fed or left it idle (a share well under 100 % while a restore waits
 * on the disk means gaps in the pipeline; dd's share shows what one write at a time leaves). NaN where unknown.
 */
function diskBusyMs(): number {
  try {
    const dev = statSync(DIR).dev;
    const major = (dev >> 8) & 0xfff;
    const minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
    return Number(readFileSync(`/sys/dev/block/${major}:${minor}/stat`, 'utf8').trim().split(/\s+/)[9]);
  } catch {
    return Number.NaN;
  }
}
/**
 * Write requests of the device under DIR (fields of /sys/dev/block/M:m/stat): completed writes, sectors written,
 * and ms spent in queue summed over requests (its ratio to wall time is the mean number in flight).
 */
function diskWrites(): { writes: number; sectors: number; queueMs: number } | undefined {
  try {
    const dev = statSync(DIR).dev;
    const major = (dev >> 8) & 0xfff;
    const minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
    const f = readFileSync(`/sys/dev/block/${major}:${minor}/stat`, 'utf8').trim().split(/\s+/).map(Number);
    return { writes: f[4] ?? 0, sectors: f[6] ?? 0, queueMs: f[10] ?? 0 };
  } catch {
    return undefined;
  }
}
function writePattern(from: ReturnType<typeof diskWrites>, ms: number): string {
  const to = diskWrites();
  if (!from || !to) return '?';
  const writes = to.writes - from.writes;
  const kib = (to.sectors - from.sectors) / 2 / Math.max(1, writes);
  return `${writes} writes of ${kib.toFixed(0)} KiB, ${((to.queueMs - from.queueMs) / ms).toFixed(1)} in flight`;
}
const busyShare = (busy0: number, t0: bigint) => `${((100 * (diskBusyMs() - busy0)) / (secs(t0) * 1000)).toFixed(0)} %`;
/** Disk busy share of the last diskWriteMiBs probe. */
let lastProbeBusy = '?';

/** The disk's sequential write speed right now: `bytes` written O_DIRECT in 4 MiB blocks, then fdatasync. */
function diskWriteMiBs(bytes: number): number {
  const out = join(DIR, 'write-probe.bin');
  const busy0 = diskBusyMs();
  const t0 = process.hrtime.bigint();
  sh(`dd if=/dev/zero of=${out} bs=4M count=${Math.ceil(bytes / CHUNK)} oflag=direct conv=fdatasync status=none`);
  const s = secs(t0);
  lastProbeBusy = busyShare(busy0, t0);
  sh(`rm -f ${out}`);
  return Math.ceil(bytes / CHUNK) * 4 / s;
}

/**
 * What the disk allows for one restore: read the bytes the repository stores (O_DIRECT) while writing the
 * volume's data (O_DIRECT, fdatasync), at the same time, as a restore from a repository on the same disk must.
 * The write-only probe above leaves the reads out, so for a volume whose stored bytes are close to its size it
 * is an anchor no restore can reach; this one is printed beside it, not instead. `source` stands in for the
 * chunk objects (same device, sequential reads of the same size). Returns MiB/s of volume size.
 */
async function restoreCeiling(source: string, storedBytes: number, writtenBytes: number): Promise<number> {
  const out = join(DIR, 'restore-probe.bin');
  const dd = (argv: string[]) =>
    new Promise<void>((resolve, reject) => execFile('dd', argv, (err) => (err ? reject(err) : resolve())));
  const t0 = process.hrtime.bigint();
  await Promise.all([
    dd([`if=${source}`, 'of=/dev/null', 'bs=4M', `count=${Math.ceil(storedBytes / CHUNK)}`, 'iflag=direct', 'status=none']),
    dd(['if=/dev/zero', `of=${out}`, 'bs=4M', `count=${Math.ceil(writtenBytes / CHUNK)}`, 'oflag=direct', 'conv=fdatasync', 'status=none']),
  ]);
  const s = secs(t0);
  await rm(out, { force: true });
  return SIZE / MiB / s;
}

const DIRECT_MODES = (args['direct-writes'] as string).split(',');
for (const m of DIRECT_MODES) if (m !== 'on' && m !== 'off') throw new Error(`--direct-writes: ${m} is not on or off`);
const loadAvg = () => readFileSync('/proc/loadavg', 'utf8').split(' ')[0] ?? '?';
const median = (xs: number[]) => {
  const v = [...xs].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? (v[m] as number) : ((v[m - 1] as number) + (v[m] as number)) / 2;
};

interface SteadyRun {
  fullMiBs: number;
  cpuPerGiB: number;
  fsyncsPerGiB?: number;
  restoreMiBs?: number;
  diskWriteMiBs?: number;
  /** User+system CPU of the restore (workers incl.) per GiB of volume size, and its peak RSS. */
  restoreCpuPerGiB?: number;
  restoreRssMiB?: number;
  /** Bytes the restore read (stored chunk objects) and wrote (data, holes skipped), for restoreCeiling. */
  storedBytes?: number;
  restoreCeilingMiBs?: number;
  /** --repo-dir: the restore from the repository's copy there, and the disk's write speed just before and after. */
  sep?: { restoreMiBs: number; diskBefore: number; diskAfter: number; cpuPerGiB: number; rssMiB: number; detail: string };
  detail?: string;
  load: string;
}

type RestoreProfile = BackupRepository['restoreProfile'];
function restoreBreakdown(r0: RestoreProfile, rp: RestoreProfile): string {
  const per = (k: keyof RestoreProfile) => ((rp[k] - r0[k]) / (rp.chunks - r0.chunks || 1)).toFixed(1);
  return (
    `slot ${per('slotMs')} / fetch ${per('fetchMs')} / worker queue ${per('queueMs')} / ` +
    `compute ${per('computeMs')} / write ${per('writeMs')}, final sync ${(rp.syncMs - r0.syncMs).toFixed(0)} ms`
  );
}

/**
 * --repo-dir: copies the repository just written to REPO_DIR and restores from there into a fresh file on the
 * disk, between two write probes. Its own repository object (own workers), as a separate server would have.
 */
async function separateRestore(name: string, repoPath: string, locator: string, directWrites: boolean) {
  const copy = join(REPO_DIR as string, `cbx-bench-${process.pid}-${name}`);
  await rm(copy, { recursive: true, force: true });
  await mkdir(copy, { recursive: true });
  sh(`cp -r ${repoPath} ${copy}/repo`);
  const repo = await BackupRepository.open({
    store: new FsObjectStore(join(copy, 'repo'), { directWrites }),
    ...(WORKERS ? { workers: WORKERS } : {}),
    ...chunkWorkerAddon(),
  });
  const out = join(DIR, `steady-${name}`, 'restored-sep.raw');
  try {
    await repo.warmUp();
    const samples: Array<{
      restoreMiBs: number;
      diskBefore: number;
      diskAfter: number;
      ratio: number;
      cpuPerGiB: number;
      detail: string;
    }> = [];
    let rssMiB = 0;
    for (let k = 0; k < RESTORE_SAMPLES; k++) {
      collectGarbage();
      const w0 = diskWrites();
      const p0 = process.hrtime.bigint();
      const diskBefore = diskWriteMiBs(SIZE);
      const probePattern = writePattern(w0, secs(p0) * 1000);
      const busyBefore = lastProbeBusy;
      resetPeakRss();
      const r0 = { ...repo.restoreProfile };
      const c0 = process.cpuUsage();
      const busy0 = diskBusyMs();
      const w1 = diskWrites();
      const t0 = process.hrtime.bigint();
      await repo.restore({ locator, targetPath: out, targetIsFresh: true });
      const s = secs(t0);
      const restorePattern = writePattern(w1, s * 1000);
      const busy = busyShare(busy0, t0);
      const cpu = cpuSecs(c0);
      rssMiB = Math.max(rssMiB, peakRssMiB());
      await rm(out, { force: true });
      const diskAfter = diskWriteMiBs(SIZE);
      const restoreMiBs = SIZE / MiB / s;
      const detail =
        `${restoreBreakdown(r0, repo.restoreProfile)}; disk busy: restore ${busy}, ` +
        `probe before ${busyBefore}, after ${lastProbeBusy}; disk writes: restore ${restorePattern}, ` +
        `probe before ${probePattern}`;
      samples.push({
        restoreMiBs,
        diskBefore,
        diskAfter,
        ratio: restoreMiBs / ((diskBefore + diskAfter) / 2),
        cpuPerGiB: cpu / (SIZE / GiB),
        detail,
      });
      if (RESTORE_SAMPLES > 1) {
        console.log(
          `  ${name} separate-device sample ${k + 1}/${RESTORE_SAMPLES}: restore ${restoreMiBs.toFixed(0)} MiB/s, ` +
            `probes ${diskBefore.toFixed(0)}/${diskAfter.toFixed(0)}, ${(100 * samples[k]!.ratio).toFixed(0)} %, ` +
            `CPU ${samples[k]!.cpuPerGiB.toFixed(2)} s/GiB (load ${loadAvg()}); ${detail}`,
        );
      }
    }
    const byRatio = [...samples].sort((a, b) => a.ratio - b.ratio);
    // The lower middle for an even count: a pair of samples does not round a figure up.
    const mid = byRatio[Math.floor((byRatio.length - 1) / 2)]!;
    const cpuPerGiB = median(samples.map((x) => x.cpuPerGiB));
    const detail =
      RESTORE_SAMPLES > 1
        ? `median of ${RESTORE_SAMPLES} samples (ratios ${samples.map((x) => (100 * x.ratio).toFixed(0)).join(' ')} %); ${mid.detail}`
        : mid.detail;
    return { restoreMiBs: mid.restoreMiBs, diskBefore: mid.diskBefore, diskAfter: mid.diskAfter, cpuPerGiB, rssMiB, detail };
  } finally {
    await repo.close();
    await rm(out, { force: true });
    await rm(copy, { recursive: true, force: true });
  }
}

/** One cinderbox full backup into a fresh repository and its restore; counters from the store and repository. */
async function steadyCinderbox(
  name: string,
  source: string,
  dataBytes: number,
  compression: Compression,
  directWrites: boolean,
): Promise<SteadyRun & { restoreMiBs: number; detail: string; storedBytes: number }> {
  const work = join(DIR, `steady-${name}`);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const vol = join(work, 'vol.raw');
  sh(`cp --sparse=always ${source} ${vol}`);
  const store = new FsObjectStore(join(work, 'repo'), { directWrites });
  const repo = await BackupRepository.open({
    store,
    ...(WORKERS ? { workers: WORKERS } : {}),
    ...chunkWorkerAddon(),
    compression,
    ...(args['no-index'] ? {} : { indexDir: join(work, 'index') }),
  });
  await repo.warmUp();
  try {
    dropCache(vol);
    const load = loadAvg();
    const k0 = { ...store.counters };
    const p0 = { ...repo.profile };
    let t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    const full = await repo.backup({
      id: 'full',
      container: 'bench',
      sourcePath: vol,
      allocatedExtents: await sparseIo().dataExtents(vol),
    });
    const fullS = secs(t0);
    const cpu = cpuSecs(c0);
    const k = store.counters;
    const p = repo.profile;
    const chunks = p.chunksRead - p0.chunksRead || 1;
    const syncs = k.dataSyncs - k0.dataSyncs + (k.dirSyncs - k0.dirSyncs);
    const codecs = full.stats.codecs;
    const detail =
      `read ${((p.readMs - p0.readMs) / chunks).toFixed(0)} / compute ${((p.computeMs - p0.computeMs) / chunks).toFixed(0)} / ` +
      `store ${((p.storeMs - p0.storeMs) / full.stats.newChunks || 0).toFixed(0)} ms per chunk, ` +
      `sync ${((k.syncMs - k0.syncMs) / (k.dataSyncs - k0.dataSyncs || 1)).toFixed(0)} ms, ` +
      `${codecs?.zstd ?? 0} zstd/${codecs?.lz4 ?? 0} lz4/${codecs?.raw ?? 0} raw, ` +
      `${((k.bytesWritten - k0.bytesWritten) / MiB).toFixed(0)} MiB written`;
    const out = join(work, 'restored.raw');
    collectGarbage();
    resetPeakRss();
    const r0 = { ...repo.restoreProfile };
    const rc0 = process.cpuUsage();
    const busy0 = diskBusyMs();
    t0 = process.hrtime.bigint();
    await repo.restore({ locator: full.locator, targetPath: out, targetIsFresh: true });
    const restoreS = secs(t0);
    const restoreBusy = busyShare(busy0, t0);
    const restoreCpu = cpuSecs(rc0);
    const restoreDetail =
      `; restore ms per chunk: ${restoreBreakdown(r0, repo.restoreProfile)}; disk busy during the restore ${restoreBusy}`;
    const sep = REPO_DIR === undefined ? undefined : await separateRestore(name, join(work, 'repo'), full.locator, directWrites);
    return {
      ...(sep ? { sep } : {}),
      restoreCpuPerGiB: restoreCpu / (SIZE / GiB),
      restoreRssMiB: peakRssMiB(),
      storedBytes: full.stats.storedBytes,
      fullMiBs: SIZE / MiB / fullS,
      cpuPerGiB: cpu / (dataBytes / GiB),
      fsyncsPerGiB: syncs / (dataBytes / GiB),
      restoreMiBs: SIZE / MiB / restoreS,
      detail: detail + restoreDetail,
      load,
    };
  } finally {
    await repo.close();
    await rm(work, { recursive: true, force: true });
  }
}

/** One full backup by restic or borg into a fresh repository (settings as in runAnchor). */
async function steadyAnchor(tool: 'restic' | 'borg', name: string, source: string, dataBytes: number) {
  const work = join(DIR, `steady-${tool}-${name}`);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const vol = join(work, 'vol.raw');
  sh(`cp --sparse=always ${source} ${vol}`);
  const repo = join(work, 'repo');
  const env = { RESTIC_PASSWORD: 'bench', RESTIC_REPOSITORY: repo, BORG_REPO: repo, BORG_PASSPHRASE: '' };
  try {
    if (tool === 'restic') timed(['restic', 'init', '--repository-version', '2'], env);
    else timed(['borg', 'init', '-e', 'none', repo], env);
    dropCache(vol);
    const load = loadAvg();
    const r =
      tool === 'restic'
        ? timed(['restic', 'backup', '--compression', 'auto', vol], env)
        : timed(
            ['borg', 'create', '--sparse', '--chunker-params', 'fixed,4194304', '--compression', 'zstd,1', `${repo}::full`, vol],
            env,
          );
    return { fullMiBs: SIZE / MiB / r.s, cpuPerGiB: r.cpu / (dataBytes / GiB), load } satisfies SteadyRun;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The same-disk and the --repo-dir restores of one tool side by side, each against its own write probes. */
function layoutRows(name: string, tool: string, rs: SteadyRun[]): string[] {
  const pct = (x: number) => `${(100 * x).toFixed(0)} %`;
  const same = rs.map((r) => ({ mibs: r.restoreMiBs ?? 0, disk: r.diskWriteMiBs ?? 0 }));
  const ceiling = median(rs.map((r) => r.restoreCeilingMiBs ?? 0));
  const out = [
    [
      name,
      tool,
      'same disk',
      same.map((r) => r.mibs.toFixed(0)).join(' '),
      median(same.map((r) => r.mibs)).toFixed(0),
      same.map((r) => r.disk.toFixed(0)).join(' '),
      same.map((r) => pct(r.mibs / r.disk)).join(' '),
      pct(median(same.map((r) => r.mibs / r.disk))),
      ceiling.toFixed(0),
      pct(median(same.map((r) => r.mibs)) / ceiling),
      median(rs.map((r) => r.restoreCpuPerGiB ?? 0)).toFixed(2),
      Math.max(...rs.map((r) => r.restoreRssMiB ?? 0)).toFixed(0),
    ],
  ];
  const seps = rs.flatMap((r) => (r.sep ? [r.sep] : []));
  if (seps.length > 0) {
    const disk = (r: (typeof seps)[number]) => (r.diskBefore + r.diskAfter) / 2;
    const ratio = median(seps.map((r) => r.restoreMiBs / disk(r)));
    out.push([
      name,
      tool,
      'separate device',
      seps.map((r) => r.restoreMiBs.toFixed(0)).join(' '),
      median(seps.map((r) => r.restoreMiBs)).toFixed(0),
      seps.map((r) => `${r.diskBefore.toFixed(0)}/${r.diskAfter.toFixed(0)}`).join(' '),
      seps.map((r) => pct(r.restoreMiBs / disk(r))).join(' '),
      `${pct(ratio)}${ratio >= 0.9 ? '' : ' (NOT ≥ 90)'}`,
      '-',
      '-',
      median(seps.map((r) => r.cpuPerGiB)).toFixed(2),
      Math.max(...seps.map((r) => r.rssMiB)).toFixed(0),
    ]);
  }
  return out.map((row) => `| ${row.join(' | ')} |`);
}

async function runSteadiness(
  volumes: ReadonlyArray<readonly [string, string]>,
  dataBytes: Record<string, number>,
  n: number,
): Promise<void> {
  const compression = COMPRESSION[0] ?? 'auto';
  const anchors = args['no-anchors'] ? [] : (['restic', 'borg'] as const).filter((t) => have(t));
  if (!args['no-anchors']) {
    for (const t of ['restic', 'borg'] as const) {
      if (!anchors.includes(t)) console.log(`${t} not installed (apt-get install -y ${t === 'borg' ? 'borgbackup' : 'restic'}); skipped`);
    }
  }
  const lines: string[] = [];
  const layoutLines: string[] = [];
  const details: string[] = [];
  for (const [name, path] of volumes) {
    const data = dataBytes[name] ?? SIZE;
    const results = new Map<string, SteadyRun[]>();
    const push = (tool: string, r: SteadyRun) => results.set(tool, [...(results.get(tool) ?? []), r]);
    for (let i = 0; i < n; i++) {
      for (const mode of DIRECT_MODES) {
        const tool = `cinderbox ${compression}${mode === 'off' ? ' buffered' : ''}`;
        const cbx = await steadyCinderbox(name, path, data, compression, mode === 'on');
        cbx.diskWriteMiBs = diskWriteMiBs(SIZE);
        cbx.restoreCeilingMiBs = await restoreCeiling(path, cbx.storedBytes, data);
        push(tool, cbx);
        console.log(
          `${name} run ${i + 1}/${n}: ${tool} full ${cbx.fullMiBs.toFixed(0)} MiB/s, restore ${cbx.restoreMiBs.toFixed(0)} ` +
            `MiB/s (CPU ${(cbx.restoreCpuPerGiB ?? 0).toFixed(2)} s/GiB, peak RSS ${(cbx.restoreRssMiB ?? 0).toFixed(0)} MiB), ` +
            `disk write ${cbx.diskWriteMiBs.toFixed(0)} MiB/s, restore ceiling ${cbx.restoreCeilingMiBs.toFixed(0)} MiB/s ` +
            `(load ${cbx.load}); ${cbx.detail}`,
        );
        details.push(`${name} run ${i + 1} ${tool}: ${cbx.detail}`);
        if (cbx.sep) {
          const line =
            `restore from a separate device (${REPO_DIR}) ${cbx.sep.restoreMiBs.toFixed(0)} MiB/s (CPU ` +
            `${cbx.sep.cpuPerGiB.toFixed(2)} s/GiB, peak RSS ${cbx.sep.rssMiB.toFixed(0)} MiB), disk write before ` +
            `${cbx.sep.diskBefore.toFixed(0)} / after ${cbx.sep.diskAfter.toFixed(0)} MiB/s (load ${loadAvg()}); ` +
            `restore ms per chunk: ${cbx.sep.detail}`;
          console.log(`${name} run ${i + 1}/${n}: ${tool} ${line}`);
          details.push(`${name} run ${i + 1} ${tool}: ${line}`);
        }
      }
      for (const tool of anchors) {
        try {
          const r = await steadyAnchor(tool, name, path, data);
          push(tool, r);
          console.log(`${name} run ${i + 1}/${n}: ${tool} full ${r.fullMiBs.toFixed(0)} MiB/s (load ${r.load})`);
        } catch (e) {
          console.log(`${tool} ${name} failed: ${(e as Error).message.slice(0, 400)}`);
        }
      }
    }
    for (const [tool, rs] of results) {
      const full = rs.map((r) => r.fullMiBs);
      const med = median(full);
      const worst = Math.max(...full.map((x) => Math.abs(x - med) / med));
      const row = [
        name,
        tool,
        full.map((x) => x.toFixed(0)).join(' '),
        med.toFixed(0),
        `${((100 * (Math.min(...full) - med)) / med).toFixed(0)} / +${((100 * (Math.max(...full) - med)) / med).toFixed(0)} %`,
        worst <= 0.15 ? 'yes' : 'NO',
        tool.startsWith('cinderbox') ? (med >= 450 ? 'yes' : 'NO') : '-',
        median(rs.map((r) => r.cpuPerGiB)).toFixed(2),
        rs[0]?.fsyncsPerGiB === undefined ? '-' : median(rs.map((r) => r.fsyncsPerGiB ?? 0)).toFixed(0),
      ];
      const restores = rs.filter((r) => r.restoreMiBs !== undefined && r.diskWriteMiBs !== undefined);
      if (restores.length > 0) {
        const rMed = median(restores.map((r) => r.restoreMiBs ?? 0));
        const dMed = median(restores.map((r) => r.diskWriteMiBs ?? 0));
        row.push(
          restores.map((r) => (r.restoreMiBs ?? 0).toFixed(0)).join(' '),
          dMed.toFixed(0),
          `${((100 * rMed) / dMed).toFixed(0)} %${rMed >= 0.9 * dMed ? '' : ' (NOT ≥ 90)'}`,
          median(restores.map((r) => r.restoreCeilingMiBs ?? 0)).toFixed(0),
          `${((100 * rMed) / median(restores.map((r) => r.restoreCeilingMiBs ?? 0))).toFixed(0)} %`,
          median(restores.map((r) => r.restoreCpuPerGiB ?? 0)).toFixed(2),
          Math.max(...restores.map((r) => r.restoreRssMiB ?? 0)).toFixed(0),
        );
      } else row.push('-', '-', '-', '-', '-', '-', '-');
      row.push(rs.map((r) => r.load).join(' '));
      lines.push(`| ${row.join(' | ')} |`);
      if (restores.length > 0) layoutLines.push(...layoutRows(name, tool, restores));
    }
  }
  console.log(
    `\nsteadiness: ${n} consecutive full backups per tool, volume size ${SIZE / MiB} MiB, fresh repository each, ` +
      'source cache dropped; MiB/s of volume size; spread = (min, max) vs the median, target every run within ' +
      '±15 %; CPU s/GiB of data (user+sys, workers incl.; anchors: the child process); fsyncs/GiB = chunk data ' +
      'syncs + directory syncs of the fs store per GiB of data; restore vs the disk\'s O_DIRECT write speed ' +
      '(dd 4 MiB + fdatasync, probed after each run), target ≥ 90 %; restore ceiling = the stored bytes read ' +
      '(O_DIRECT) while the data is written (O_DIRECT + fdatasync), concurrently, as a restore from a repository on ' +
      'the same disk must (not the target, shown beside it); restore CPU s/GiB of volume size (workers incl.), peak ' +
      'RSS of the restore; load = 1-min load average at each run',
  );
  console.log(
    '| volume | tool | full MiB/s per run | median | spread | ±15 % | ≥ 450 | CPU s/GiB | fsyncs/GiB | restore MiB/s per run | disk write MiB/s | restore/disk | restore ceiling MiB/s | restore/ceiling | restore CPU s/GiB | restore peak RSS MiB | load |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const l of lines) console.log(l);
  if (layoutLines.length > 0) {
    console.log(
      `\nrestore by where the repository lives: "same disk" = repository in ${DIR}, on the disk the restore writes ` +
        '(the restore reads the stored bytes while it writes: bound by the restore ceiling, not by the write probe; ' +
        'disk write = the probe after the run, as in the table above); "separate device" = a copy of the repository ' +
        `in ${REPO_DIR} (stands in for another disk or S3), so the disk only takes the writes; disk write = mean of ` +
        'the probes just before and just after that restore. restore/disk = median of the per-run ratios, target ' +
        '≥ 90 % for the separate device. Probes: dd if=/dev/zero bs=4M oflag=direct conv=fdatasync of the volume size.',
    );
    console.log(
      '| volume | tool | repository | restore MiB/s per run | median | disk write MiB/s per run | restore/disk per run | restore/disk (median) | restore ceiling MiB/s (median) | restore/ceiling | restore CPU s/GiB | restore peak RSS MiB |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const l of layoutLines) console.log(l);
  }
  console.log(`\nwhere the chunks' time went (ms per chunk, summed over chunks in flight):\n${details.join('\n')}`);
}

const { mixed, dense, compressible, dataBytes } = await buildVolumes();
const volumes = (
  [
    ['mixed', mixed],
    ['dense', dense],
    ['compressible', compressible],
  ] as const
).filter(([name]) => !ONLY || ONLY.includes(name));
if (args.runs !== undefined) {
  const n = Number(args.runs);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--runs: ${args.runs} is not a positive integer`);
  await runSteadiness(volumes, dataBytes, n);
  process.exit(0);
}
for (const [name, path] of volumes) {
  for (const compression of COMPRESSION) {
    for (const target of TARGETS) await runCinderbox(name, path, dataBytes[name] ?? SIZE, compression, target);
  }
}
if (!args['no-anchors']) {
  for (const tool of ['restic', 'borg'] as const) {
    if (!have(tool)) {
      console.log(`${tool} not installed (apt-get install -y ${tool === 'borg' ? 'borgbackup' : 'restic'}); skipped`);
      continue;
    }
    for (const [name, path] of volumes) {
      try {
        await runAnchor(tool, name, path, dataBytes[name] ?? SIZE);
      } catch (e) {
        console.log(`${tool} ${name} failed: ${(e as Error).message.slice(0, 400)}`);
      }
    }
  }
}
printTable();
printRatios();
printTargets();
if (s3BucketReady) {
  // Every row emptied its prefix: the run's bucket goes too.
  const store = new S3ObjectStore({
    bucket: S3_BUCKET,
    endpoint: S3_ENV.endpoint,
    region: S3_ENV.region,
    credentials: { accessKeyId: S3_ENV.accessKeyId, secretAccessKey: S3_ENV.secretAccessKey },
  });
  await store.client.send(new DeleteBucketCommand({ Bucket: S3_BUCKET })).catch((e: unknown) => {
    console.log(`could not delete bucket ${S3_BUCKET}: ${(e as Error).message}`);
  });
  store.destroy();
}
