/**
 * bench/snapshot — snapshot create → `available` as a client sees it, per volume driver and volume size, and under
 * concurrency (issue #21 item 2).
 *
 *   node --import tsx bench/snapshot/run.ts [--samples 50] [--sizes 1,10,100] [--write-mib 1024] [--drivers qcow2]
 *                                           [--concurrent 100] [--concurrent-volumes 10] [--rounds 2]
 *                                           [--baseline <checkout>] [--settle] [--warmup 10] [--stress 0] [--cbt-gib 0]
 *
 * Each sample is one client: POST /snapshots, then the moment the server's event stream (`cinderbox-events`)
 * announces the snapshot `available` (the API's push notification; a client polling GET sees it one round trip
 * later). Volumes are sparse with `--write-mib` written through the upload extension first. The concurrent scenario
 * fires `--concurrent` creates at once spread over `--concurrent-volumes` volumes and reports the wall time until
 * every one is available (`--rounds` times; the best and worst are printed). `CPU p50` is the median CPU time
 * (user + system, all threads of this process) per one-client create: on a shared, loaded machine the fairest
 * figure, since the wall time mostly measures the others' disk and CPU.
 *
 * Before each size's samples, `--warmup` creates per server are taken and not counted (a long-running server is
 * warm; with one warm-up, the first size measured carried V8's tier-up over its first samples).
 *
 * `--baseline <dir>` takes a checkout of the server to compare with (e.g. `git archive <commit> | tar -x -C dir`,
 * plus a `node_modules` symlink): both servers run in this process and their samples are interleaved, so both
 * columns see the same machine load. Drivers: qcow2 (default), raw, and raw on a loop-mounted XFS (`reflink`, root
 * with a free loop device). `--stress N` takes N snapshots of one qcow2 volume from 16 clients; `--cbt-gib N` runs
 * bench/backup/incremental-cbt.ts afterwards.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_QUOTAS } from '../../packages/server/src/config/config.js';
import type { VolumeDriverKind } from '../../packages/server/src/config/volume-backends.js';
import { qemuAvailability } from '../../packages/server/src/config/volume-backends.js';
import { mountXfsLoop } from '../../packages/server/src/drivers/volume/xfs-loop.js';
import * as currentHarness from '../../packages/server/src/test-support/harness.js';
import type { TestServer } from '../../packages/server/src/test-support/harness.js';

const { values: args } = parseArgs({
  options: {
    samples: { type: 'string', default: '50' },
    sizes: { type: 'string', default: '1,10,100' },
    'write-mib': { type: 'string', default: '1024' },
    drivers: { type: 'string', default: 'qcow2' },
    concurrent: { type: 'string', default: '100' },
    'concurrent-volumes': { type: 'string', default: '10' },
    rounds: { type: 'string', default: '2' },
    baseline: { type: 'string' },
    stress: { type: 'string', default: '0' },
    // Flush the filesystem after each upload, so snapshot times exclude the upload's writeback (ext4 ordered mode
    // makes the snapshot's fsyncs wait for it otherwise).
    settle: { type: 'boolean', default: false },
    'cbt-gib': { type: 'string', default: '0' },
    warmup: { type: 'string', default: '10' },
  },
});
const WARMUP = Number(args.warmup);
const SAMPLES = Number(args.samples);
const SIZES = args.sizes.split(',').map(Number);
const WRITE = Number(args['write-mib']) * 1024 * 1024;
const CONCURRENT = Number(args.concurrent);
const CONCURRENT_VOLUMES = Number(args['concurrent-volumes']);
const ROUNDS = Number(args.rounds);
const STRESS = Number(args.stress);
const DRIVERS = new Set(args.drivers.split(','));
const TARGET_P50 = 5;
const TARGET_P99 = 20;
const TARGET_CONCURRENT_MS = 1000;
const CINDER_MS = 280;
const la = () => loadavg().map((x) => x.toFixed(2)).join(' ');

type Harness = typeof currentHarness;
const variants: { label: string; harness: Harness }[] = [{ label: 'this tree', harness: currentHarness }];
if (args.baseline) {
  const url = pathToFileURL(resolve(args.baseline, 'packages/server/src/test-support/harness.ts')).href;
  variants.unshift({ label: 'baseline', harness: (await import(url)) as Harness });
}

/** Snapshot statuses as the server pushes them, with the time each was seen. */
class EventWatch {
  private readonly seen = new Map<string, number>();
  private readonly waiters = new Map<string, (at: number) => void>();
  private readonly abort = new AbortController();

  static async open(t: TestServer, base: string): Promise<EventWatch> {
    const w = new EventWatch();
    const res = await fetch(`${t.url}${base}/cinderbox-events`, { headers: { 'X-Auth-Token': t.adminToken }, signal: w.abort.signal });
    if (!res.ok || !res.body) throw new Error(`event stream: ${res.status}`);
    void w.read(res.body);
    return w;
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const dec = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of body) {
        buf += dec.decode(chunk, { stream: true });
        for (let end = buf.indexOf('\n\n'); end >= 0; end = buf.indexOf('\n\n')) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (!data) continue;
          const e = JSON.parse(data.slice(6)) as { id: string; status: string };
          if (e.status === 'error') throw new Error(`${e.id} went to error`);
          if (e.status !== 'available') continue;
          const at = performance.now();
          this.seen.set(e.id, at);
          this.waiters.get(e.id)?.(at);
        }
      }
    } catch (err) {
      if (!this.abort.signal.aborted) {
        process.stderr.write(`event stream: ${String(err)}\n`);
        process.exit(1);
      }
    }
  }

  /** When `id` became available (it may already have, before the POST's answer arrived). */
  available(id: string, timeoutMs = 600_000): Promise<number> {
    const at = this.seen.get(id);
    if (at !== undefined) return Promise.resolve(at);
    return new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`${id}: not available after ${timeoutMs} ms`)), timeoutMs);
      this.waiters.set(id, (t) => {
        clearTimeout(timer);
        this.waiters.delete(id);
        res(t);
      });
    });
  }

  close(): void {
    this.abort.abort();
  }
}

async function waitStatus(t: TestServer, path: string, key: string, want: string, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await t.request('GET', path, { token: t.adminToken });
    const status = r.body?.[key]?.status;
    if (status === want) return;
    if (status === 'error' || Date.now() > deadline) throw new Error(`${path}: ${status}`);
    await new Promise((res) => setTimeout(res, 5));
  }
}

/** `WRITE` bytes of distinct 1 MiB blocks, so the volume holds real data before its snapshots. */
function dataBody(): ReadableStream<Uint8Array> {
  const block = randomBytes(1024 * 1024);
  let sent = 0;
  return new ReadableStream({
    pull(c) {
      if (sent >= WRITE) return c.close();
      block.writeUInt32LE(sent, 0);
      c.enqueue(new Uint8Array(block));
      sent += block.length;
    },
  });
}

interface Bench {
  label: string;
  t: TestServer;
  base: string;
  events: EventWatch;
}

async function startBench(label: string, harness: Harness, driver: VolumeDriverKind, dataDir?: string): Promise<Bench> {
  const t = await harness.startTestServer(
    {
      backends: [{ name: driver, driver, pool: driver }],
      quotaDefaults: { ...DEFAULT_QUOTAS, snapshots: -1, gigabytes: -1, volumes: -1 },
    },
    dataDir,
  );
  const base = `/v3/${t.adminProjectId}`;
  return { label, t, base, events: await EventWatch.open(t, base) };
}

async function newVolume(b: Bench, size: number, write: boolean): Promise<string> {
  const v = await b.t.request('POST', `${b.base}/volumes`, { token: b.t.adminToken, body: { volume: { size } } });
  if (v.status !== 202) throw new Error(`volume: ${v.status} ${v.text}`);
  const id = v.body.volume.id as string;
  await waitStatus(b.t, `${b.base}/volumes/${id}`, 'volume', 'available');
  if (write && WRITE > 0) {
    const up = await fetch(`${b.t.url}${b.base}/volumes/${id}/cinderbox-data`, {
      method: 'PUT',
      headers: { 'X-Auth-Token': b.t.adminToken, 'Content-Type': 'application/octet-stream', 'Content-Length': String(WRITE) },
      body: dataBody(),
      duplex: 'half',
    } as RequestInit);
    if (!up.ok) throw new Error(`upload: ${up.status} ${await up.text()}`);
  }
  return id;
}

/**
 * One client's create → available, in ms, and the CPU this process spent meanwhile (user + system, every thread):
 * samples run one at a time, so it is this server's work for one create plus the client's, which is the same for
 * every column. Under a shared machine's load the wall time mostly measures the others; the CPU much less.
 */
async function createOnce(b: Bench, volumeId: string): Promise<{ ms: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const s = await b.t.request('POST', `${b.base}/snapshots`, { token: b.t.adminToken, body: { snapshot: { volume_id: volumeId } } });
  if (s.status !== 202) throw new Error(`snapshot: ${s.status} ${s.text}`);
  const ms = (await b.events.available(s.body.snapshot.id as string)) - t0;
  const c = process.cpuUsage(c0);
  return { ms, cpu: (c.user + c.system) / 1000 };
}

/** `CONCURRENT` creates fired at once over `volumes`; ms until the last is available. */
async function concurrentOnce(b: Bench, volumes: string[]): Promise<number> {
  const t0 = performance.now();
  const ends = await Promise.all(
    Array.from({ length: CONCURRENT }, async (_, i) => {
      const s = await b.t.request('POST', `${b.base}/snapshots`, {
        token: b.t.adminToken,
        body: { snapshot: { volume_id: volumes[i % volumes.length] } },
      });
      if (s.status !== 202) throw new Error(`snapshot: ${s.status} ${s.text}`);
      return b.events.available(s.body.snapshot.id as string);
    }),
  );
  return Math.max(...ends) - t0;
}

function pct(ms: number[], p: number): number {
  const s = [...ms].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

interface Row {
  driver: string;
  variant: string;
  what: string;
  p50: number;
  p99: number;
  /** Median CPU ms per create (one-client rows only). */
  cpu?: number;
  load: string;
}
const rows: Row[] = [];

async function measure(driverLabel: string, driver: VolumeDriverKind, dataDir?: string): Promise<void> {
  const benches: Bench[] = [];
  try {
    for (const v of variants) benches.push(await startBench(v.label, v.harness, driver, dataDir && `${dataDir}-${benches.length}`));
    for (const size of SIZES) {
      const vols = new Map<Bench, string>();
      for (const b of benches) vols.set(b, await newVolume(b, size, true));
      if (args.settle) execFileSync('sync');
      for (let i = 0; i < WARMUP; i++) for (const b of benches) await createOnce(b, vols.get(b)!); // not counted
      const times = new Map<Bench, number[]>(benches.map((b) => [b, []]));
      const cpus = new Map<Bench, number[]>(benches.map((b) => [b, []]));
      // Interleaved, so a burst of load on the shared machine hits both columns alike.
      for (let i = 0; i < SAMPLES; i++)
        for (const b of benches) {
          const r = await createOnce(b, vols.get(b)!);
          times.get(b)!.push(r.ms);
          cpus.get(b)!.push(r.cpu);
        }
      for (const b of benches) {
        const ms = times.get(b)!;
        const cpu = pct(cpus.get(b)!, 50);
        rows.push({ driver: driverLabel, variant: b.label, what: `${size} GiB, one client`, p50: pct(ms, 50), p99: pct(ms, 99), cpu, load: la() });
        process.stderr.write(`${driverLabel} ${b.label} ${size} GiB: p50 ${pct(ms, 50).toFixed(1)} ms p99 ${pct(ms, 99).toFixed(1)} ms, CPU ${cpu.toFixed(2)} ms (load ${la()})\n`);
      }
    }
    if (CONCURRENT > 0) {
      const vols = new Map<Bench, string[]>();
      for (const b of benches) {
        const ids: string[] = [];
        for (let i = 0; i < CONCURRENT_VOLUMES; i++) ids.push(await newVolume(b, 1, false));
        vols.set(b, ids);
      }
      const walls = new Map<Bench, number[]>(benches.map((b) => [b, []]));
      for (let r = 0; r < ROUNDS; r++) for (const b of benches) walls.get(b)!.push(await concurrentOnce(b, vols.get(b)!));
      for (const b of benches) {
        const ms = walls.get(b)!;
        const what = `${CONCURRENT} at once on ${CONCURRENT_VOLUMES} volumes, wall (best/worst of ${ROUNDS})`;
        rows.push({ driver: driverLabel, variant: b.label, what, p50: Math.min(...ms), p99: Math.max(...ms), load: la() });
        process.stderr.write(`${driverLabel} ${b.label} concurrent: ${ms.map((x) => x.toFixed(0)).join(', ')} ms (load ${la()})\n`);
      }
    }
    if (STRESS > 0 && driver === 'qcow2') for (const b of benches) await stress(b);
  } finally {
    for (const b of benches) {
      b.events.close();
      await b.t.close();
    }
  }
}

async function stress(b: Bench): Promise<void> {
  const id = await newVolume(b, 1, false);
  const t0 = performance.now();
  const waits: Promise<number>[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < STRESS) {
        next++;
        const s = await b.t.request('POST', `${b.base}/snapshots`, { token: b.t.adminToken, body: { snapshot: { volume_id: id } } });
        if (s.status !== 202) throw new Error(`snapshot: ${s.status} ${s.text}`);
        waits.push(b.events.available(s.body.snapshot.id as string));
      }
    }),
  );
  await Promise.all(waits);
  process.stdout.write(`${b.label}: ${STRESS} snapshots of one qcow2 volume from 16 clients, all available after ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
}

if (DRIVERS.has('raw')) await measure('raw (data dir fs)', 'raw');
if (DRIVERS.has('reflink')) {
  const xfs = await mountXfsLoop(Math.max(16, (Math.max(...SIZES) + 8) * variants.length));
  if ('skipped' in xfs) process.stdout.write(`raw on reflink: skipped (${xfs.skipped})\n`);
  else {
    try {
      await measure('raw (XFS reflink)', 'raw', `${xfs.mountPoint}/data`);
    } finally {
      await xfs.release();
    }
  }
}
const q = qemuAvailability();
if (DRIVERS.has('qcow2')) {
  if (q.available) await measure('qcow2', 'qcow2');
  else process.stdout.write(`qcow2: skipped (${q.detail})\n`);
}

const ok = (r: Row) => {
  if (r.what.includes('at once')) return r.p99 <= TARGET_CONCURRENT_MS ? 'yes' : 'no';
  return r.p50 <= TARGET_P50 && r.p99 <= TARGET_P99 ? 'yes' : 'no';
};
process.stdout.write(
  `\nsnapshot create → available (ms, POST sent → event stream says available); sparse volumes with ${WRITE / 2 ** 20} MiB written` +
    `${args.settle ? ', flushed before sampling' : ''}; ${SAMPLES} samples per size\n`,
);
process.stdout.write(
  `${'driver'.padEnd(18)}${'server'.padEnd(11)}${'scenario'.padEnd(52)}${'p50/best'.padStart(10)}${'p99/worst'.padStart(11)}${'CPU p50'.padStart(9)}${'vs Cinder'.padStart(11)}  target  load at the end\n`,
);
for (const r of rows) {
  process.stdout.write(
    `${r.driver.padEnd(18)}${r.variant.padEnd(11)}${r.what.padEnd(52)}${r.p50.toFixed(1).padStart(10)}${r.p99.toFixed(1).padStart(11)}${(r.cpu === undefined ? '-' : r.cpu.toFixed(2)).padStart(9)}` +
      `${(r.what.includes('at once') ? '-' : `${(CINDER_MS / r.p50).toFixed(0)}x`).padStart(11)}  ${ok(r).padEnd(6)}  ${r.load}\n`,
  );
}
process.stdout.write(
  `targets: one client p50 ≤ ${TARGET_P50} ms and p99 ≤ ${TARGET_P99} ms at every size; ${CONCURRENT} concurrent creates all available ≤ ${TARGET_CONCURRENT_MS} ms. ` +
    `Anchor: real Cinder ${CINDER_MS} ms create → available.\n`,
);
process.stdout.write(`load average at the end: ${la()} (2 cores, shared machine)\n`);

const CBT_GIB = Number(args['cbt-gib']);
if (CBT_GIB > 0 && DRIVERS.has('qcow2') && q.available) {
  process.stdout.write(`\nincremental backup after 1 % of a ${CBT_GIB} GiB qcow2 volume changed (target with CBT: ≤ 1.5 s at 10 GiB)\n`);
  const script = new URL('../backup/incremental-cbt.ts', import.meta.url).pathname;
  execFileSync(process.execPath, ['--import', 'tsx', script, '--size-gib', String(CBT_GIB)], { stdio: 'inherit' });
}
