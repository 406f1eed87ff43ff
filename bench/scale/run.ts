/**
 * bench/scale — issue #21 item 4: one project with 1,000,000 snapshots and 10,000 volumes, and a backup repository
 * of 1,000,000 chunks. Prints each measure against its target.
 *
 *   node --import tsx bench/scale/run.ts                                  # full size, SQLite then PostgreSQL
 *   node --import tsx bench/scale/run.ts --snapshots 100000 --chunks 100000 --stores sqlite
 *   node --import tsx bench/scale/run.ts --skip-repo | --skip-db
 *
 * Metadata: a short in-process server bootstraps the identity and one real volume (its row is the template of
 * the seeded ones); the rows are then bulk-inserted through the store's Kysely handle, in transactions. A real
 * `cinderbox serve` child is started on that data: spawn → listening is the start-up time; then the first page
 * and a page whose marker is the row at 90 % of the collection (900,000 of 1 M) are fetched alternately (so load
 * swings hit both alike), by the default sort (created_at desc, id desc), created_at asc, name asc, status asc
 * (every seeded row is `available`: one run of ties as long as the project), and two mixed-direction sorts,
 * status:asc,created_at:desc (indexed, migration 0029) and name:desc,created_at:asc (not indexed: see 0029);
 * then with_count; the child's RSS (VmRSS, and VmHWM = peak) is read from /proc after the listings. Last, with
 * the servers stopped, more snapshots are inserted in rounds alternating between variants: the write cost of
 * the listing indexes.
 *
 * --anchor DIR: a built checkout of another commit (e.g. git archive of main + node_modules + tsc -b) is seeded
 * with the same rows and served alongside; requests alternate between the servers (A/B in one run, one load).
 *
 * PostgreSQL: CINDERBOX_BENCH_DATABASE_URL, else the loopback cluster at 127.0.0.1:55432; the bench creates and
 * drops its own database.
 *
 * Repository: fs object store in a data directory of its own; chunk objects (1 MiB chunks of zeros, zstd, so each
 * object is ~100 bytes; ids random) and manifests are written through the object-store layer in steps (a quarter,
 * half, all of --chunks), plus 1 % unreferenced orphans per step; after each step `cinderbox repo verify --offline`
 * and `cinderbox repo gc --offline --grace 0` run under /usr/bin/time -v (wall time, max RSS).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import type { DatabaseConfig } from '../../packages/server/src/config/config.js';
import { ADMIN_PASSWORD } from '../../packages/server/src/test-support/harness.js';
import { benchRepo } from './repo.js';

const { values: args } = parseArgs({
  options: {
    snapshots: { type: 'string', default: '1000000' },
    volumes: { type: 'string', default: '10000' },
    chunks: { type: 'string', default: '1000000' },
    stores: { type: 'string', default: 'sqlite,postgres' },
    samples: { type: 'string', default: '15' },
    'skip-repo': { type: 'boolean', default: false },
    'skip-db': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    /** A checkout of another commit, built (npx tsc -b packages/cli packages/server packages/sdk): measured alongside. */
    anchor: { type: 'string' },
    /** Start-up rounds (each: the empty database and every seeded variant, in an order that rotates per round). */
    'startup-rounds': { type: 'string', default: '3' },
  },
});
const NSNAP = Number(args.snapshots);
const NVOL = Number(args.volumes);
const NCHUNK = Number(args.chunks);
const SAMPLES = Number(args.samples);
const STORES = args.stores.split(',').map((s) => s.trim()) as ('sqlite' | 'postgres')[];
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'packages/cli/bin/cinderbox.js');
const PG_DEFAULT = 'postgres://cinderbox:cinderbox@127.0.0.1:55432/cinderbox';

const load = () => loadavg()[0]!.toFixed(1);
const log = (s: string) => process.stderr.write(`[scale ${new Date().toISOString().slice(11, 19)} load ${load()}] ${s}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface DbResult {
  store: string;
  variant: string;
  seedS: number;
  startupS: number;
  startupEmptyS: number;
  /** CPU (user + system, the server's and its children's) from spawn to listening: the figure load moves least. */
  startupCpuMs: number;
  startupEmptyCpuMs: number;
  /** startServer's own part (after the modules loaded) up to listening, from CINDERBOX_STARTUP_TRACE: what could be data-bound. */
  startupOwnMs: number;
  startupEmptyOwnMs: number;
  first: number;
  deep: number;
  firstAsc: number;
  deepAsc: number;
  firstName: number;
  deepName: number;
  firstStatus: number;
  deepStatus: number;
  firstMixed: number;
  deepMixed: number;
  firstMixedName: number;
  deepMixedName: number;
  countMs: number;
  countFilteredMs: number;
  insertMs: number;
  rssMiB: number;
  hwmMiB: number;
  load: string;
}

/** A tree whose server is measured: this checkout, or the --anchor one (built), for an A/B in the same run. */
interface Variant {
  name: string;
  root: string;
}

/** Rows in batches inside one transaction per `perTx` rows; a batch is one multi-row INSERT. */
async function bulkInsert(db: any, table: string, total: number, make: (i: number) => Record<string, unknown>, perBatch: number) {
  const perTx = 50_000;
  for (let start = 0; start < total; start += perTx) {
    const end = Math.min(total, start + perTx);
    await db.transaction().execute(async (tx: any) => {
      for (let b = start; b < end; b += perBatch) {
        const rows = [];
        for (let i = b; i < Math.min(end, b + perBatch); i++) rows.push(make(i));
        await tx.insertInto(table).values(rows).execute();
      }
    });
    if ((start / perTx) % 4 === 3) log(`${table}: ${end}/${total}`);
  }
}

function iso(base: number, i: number): string {
  return new Date(base + i * 1000).toISOString();
}

async function token(url: string): Promise<{ token: string; project: string }> {
  const r = await fetch(`${url}/identity/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: ADMIN_PASSWORD } } },
        scope: { project: { name: 'admin', domain: { id: 'default' } } },
      },
    }),
  });
  if (r.status !== 201) throw new Error(`token: ${r.status} ${await r.text()}`);
  const body = (await r.json()) as any;
  return { token: r.headers.get('x-subject-token')!, project: body.token.project.id };
}

function rssOf(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

interface Seeded {
  variant: Variant;
  dir: string;
  database: DatabaseConfig;
  drop: () => Promise<void>;
  seedS: number;
  /** Times inserting `n` more snapshots (ids and names of their own) into the seeded project, ms per 1000 rows. */
  insertMs: (n: number) => Promise<number>;
}

/** The same rows (ids, names, times) for every variant of a store, so their pages are the same pages. */
const SNAP_IDS = Array.from({ length: NSNAP }, () => randomUUID());
const VOL_IDS = Array.from({ length: NVOL }, () => randomUUID());
const DEEP_POS = Math.floor(NSNAP * 0.9);

/** Row `i`'s created_at is second floor(i / 2) (see seed), so rows 2k and 2k+1 tie and the id decides. */
const createdRank = (i: number) => i >> 1;

/**
 * Row numbers in a sort's order: every seeded row is `available`, so a status-led sort is its created_at/id
 * tail; names are zero-padded row numbers. Ids compare as the databases compare them (lowercase hex, hyphens at
 * the same places).
 */
function rowsIn(createdDir: 1 | -1, idDir: 1 | -1): Int32Array {
  const rows = Int32Array.from({ length: NSNAP }, (_, i) => i);
  return rows.sort((a, b) => {
    const c = createdRank(a) - createdRank(b);
    if (c !== 0) return createdDir * c;
    return idDir * (SNAP_IDS[a]! < SNAP_IDS[b]! ? -1 : SNAP_IDS[a]! > SNAP_IDS[b]! ? 1 : 0);
  });
}

/** The marker (the row at 90 % of the sort) and the row the next page must start with. */
function deepOf(rows: Int32Array): { marker: string; next: string } {
  return { marker: SNAP_IDS[rows[DEEP_POS]!]!, next: SNAP_IDS[rows[DEEP_POS + 1]!]! };
}

const DEEP = {
  // Default: created_at desc, id desc.
  desc: deepOf(rowsIn(-1, -1)),
  // created_at asc (and status:asc, whose tie-breaks follow its direction: status, created_at asc, id asc).
  asc: deepOf(rowsIn(1, 1)),
  // status:asc,created_at:desc — Cinder appends id in the first key's direction: (status, created_at desc, id asc).
  mixed: deepOf(rowsIn(-1, 1)),
  // display_name:desc,created_at:asc: names are unique and in row order, so position p is row NSNAP-1-p.
  mixedName: { marker: SNAP_IDS[NSNAP - 1 - DEEP_POS]!, next: SNAP_IDS[NSNAP - 2 - DEEP_POS]! },
  name: { marker: SNAP_IDS[DEEP_POS]!, next: SNAP_IDS[DEEP_POS + 1]! },
};

/** Identity and a template volume through the variant's own server; then the rows through its store layer. */
/** `empty`: identity and the template volume only, to tell start-up's data-bound part from its fixed cost. */
async function seed(kind: 'sqlite' | 'postgres', variant: Variant, empty = false): Promise<Seeded> {
  const harness = await import(join(variant.root, 'packages/server/src/test-support/harness.ts'));
  const { openDatabase } = await import(join(variant.root, 'packages/server/src/store/database.ts'));
  const dir = await mkdtemp(join(tmpdir(), `cinderbox-scale-${kind}-${variant.name}-`));
  let database: DatabaseConfig = { kind: 'sqlite' };
  let drop = async () => {};
  if (kind === 'postgres') {
    const admin = process.env.CINDERBOX_BENCH_DATABASE_URL ?? PG_DEFAULT;
    const url = await harness.createTestDatabase(admin);
    database = { kind: 'postgres', url };
    drop = async () => {
      if (args.keep) log(`kept ${url} (drop it: dropTestDatabase in packages/server/src/test-support/harness.ts)`);
      else await harness.dropTestDatabase(admin, url);
    };
  }
  const ts = await harness.startTestServer({ logLevel: 'error', database }, dir);
  let projectId: string;
  let volumeId: string;
  try {
    projectId = ts.adminProjectId;
    const v = await ts.request('POST', `/v3/${projectId}/volumes`, { token: ts.adminToken, body: { volume: { size: 1, name: 'template' } } });
    if (v.status !== 202) throw new Error(`volume: ${v.status} ${v.text}`);
    volumeId = v.body.volume.id;
    await ts.server.tasks.idle();
  } finally {
    await ts.close();
  }
  let snapshotRow: (i: number, id: string) => Record<string, unknown> = () => ({});
  const opened = await openDatabase({ dataDir: dir, database });
  const t0 = performance.now();
  try {
    const db = opened.db as any;
    const vt = await db.selectFrom('volumes').selectAll().where('id', '=', volumeId).executeTakeFirstOrThrow();
    await db.deleteFrom('volumes').where('id', '=', volumeId).execute();
    const base = Date.parse('2020-01-01T00:00:00Z');
    if (!empty) await bulkInsert(
      db,
      'volumes',
      NVOL,
      (i) => ({ ...vt, id: VOL_IDS[i], name: `v${i}`, provider_location: `volume-${VOL_IDS[i]}`, created_at: iso(base, i), updated_at: null }),
      // SQLite binds at most 32766 parameters per statement.
      1000,
    );
    snapshotRow = (i, id) => ({
        id,
        project_id: projectId,
        user_id: vt.user_id,
        volume_id: VOL_IDS[i % NVOL],
        name: `s${String(i).padStart(8, '0')}`,
        description: null,
        size: 1,
        status: 'available',
        progress: '100%',
        volume_type_id: vt.volume_type_id,
        use_quota: 1,
        provider_location: `snap-${SNAP_IDS[i]}`,
        hidden: 0,
        // Every other pair shares a second, so the id tie-break is exercised.
        created_at: iso(base + 3_600_000, Math.floor(i / 2)),
        updated_at: null,
      });
    if (!empty) await bulkInsert(db, 'snapshots', NSNAP, (i) => snapshotRow(i, SNAP_IDS[i]!), 1000);
    // A server in service has its statistics (and, on PostgreSQL, a visibility map from autovacuum).
    if (kind === 'postgres') await sql`vacuum analyze`.execute(db);
    else await sql`analyze`.execute(db);
  } finally {
    await opened.close();
  }
  const seedS = (performance.now() - t0) / 1000;
  log(`${kind}/${variant.name}: seeded ${empty ? 0 : NSNAP} snapshots, ${empty ? 0 : NVOL} volumes in ${seedS.toFixed(1)} s (${dir})`);
  // Rows past the seeded ones (created later, so the listing's pages are untouched); the count probes ran before.
  let extra = NSNAP;
  const insertMs = async (n: number) => {
    const o = await openDatabase({ dataDir: dir, database });
    try {
      const from = extra;
      extra += n;
      const t = performance.now();
      await bulkInsert(o.db, 'snapshots', n, (i) => snapshotRow(from + i, randomUUID()), 500);
      return ((performance.now() - t) / n) * 1000;
    } finally {
      await o.close();
    }
  };
  return { variant, dir, database, drop, seedS, insertMs };
}

interface Child {
  proc: ChildProcess;
  url: string;
  startupS: number;
  cpuMs: number;
  /** From startServer's first mark to its last (NaN for a tree without the trace). */
  ownMs: number;
}

/** utime + stime + cutime + cstime of a live process, ms (clock ticks of 10 ms). */
function cpuMsOf(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 10;
}

async function serve(s: Seeded, kind: string): Promise<Child> {
  const cli = join(s.variant.root, 'packages/cli/bin/cinderbox.js');
  const started = performance.now();
  const proc = spawn(
    process.execPath,
    [cli, 'serve', '--data-dir', s.dir, '--host', '127.0.0.1', '--port', '0', '--log-level', 'error', ...(kind === 'postgres' ? ['--database-url', (s.database as { url: string }).url] : [])],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CINDERBOX_STARTUP_TRACE: '1' } },
  );
  let ownMs = NaN;
  let traced: () => void = () => {};
  const traceSeen = new Promise<void>((r) => (traced = r));
  let errBuf = '';
  proc.stderr!.on('data', (d: Buffer) => {
    errBuf += d.toString();
    let nl: number;
    while ((nl = errBuf.indexOf('\n')) >= 0) {
      const line = errBuf.slice(0, nl);
      errBuf = errBuf.slice(nl + 1);
      const t = /startup-trace: (.*)/.exec(line);
      if (!t) {
        process.stderr.write(`${line}\n`);
        continue;
      }
      const ms = t[1]!.split(', ').map((m) => Number(m.split(' ')[1]));
      ownMs = ms[ms.length - 1]! - ms[0]!;
      traced();
    }
  });
  const url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /listening on (\S+)/.exec(buf);
      if (m) resolve(m[1]!);
    });
    proc.on('exit', (c) => reject(new Error(`serve exited with ${c}`)));
  });
  const startupS = (performance.now() - started) / 1000;
  const cpuMs = cpuMsOf(proc.pid!);
  // The trace line is written just before the listening line; a tree without it (an older anchor) has none.
  await Promise.race([traceSeen, new Promise((r) => setTimeout(r, 500))]);
  return { proc, url, startupS, cpuMs, ownMs };
}

async function stop(c: Child): Promise<void> {
  if (c.proc.exitCode !== null || c.proc.signalCode !== null) return;
  const exited = new Promise((r) => c.proc.once('exit', r));
  c.proc.kill('SIGTERM');
  await exited;
}

async function benchDb(kind: 'sqlite' | 'postgres', variants: Variant[]): Promise<DbResult[]> {
  const seeded: Seeded[] = [];
  const extra: Seeded[] = [];
  const children: Child[] = [];
  try {
    for (const v of variants) seeded.push(await seed(kind, v));
    // Start-up, alternately per variant (three times; the median counts), the last start kept to measure on; each
    // round also starts this tree on an empty database of the same store, so the same load shows what is data-bound.
    const empty = await seed(kind, { name: 'empty', root: ROOT }, true);
    extra.push(empty);
    // The order rotates per round: right after seeding the disk is still writing the rows back, and whichever
    // start came first paid for it (the "seeded starts slower" of an earlier run was that order, not the rows).
    const rounds = Number(args['startup-rounds']);
    const startupsEmpty: Child[] = [];
    const startups: Child[][] = seeded.map(() => []);
    for (let round = 0; round < rounds; round++) {
      const order = [-1, ...seeded.map((_, i) => i)];
      for (let k = 0; k < round % order.length; k++) order.push(order.shift()!);
      for (const i of order) {
        const c = await serve(i < 0 ? empty : seeded[i]!, kind);
        (i < 0 ? startupsEmpty : startups[i]!).push(c);
        const own = Number.isNaN(c.ownMs) ? '' : `, startServer ${c.ownMs.toFixed(0)} ms`;
        log(`${kind}/${i < 0 ? 'empty' : seeded[i]!.variant.name}: serve listening after ${c.startupS.toFixed(2)} s (cpu ${c.cpuMs} ms${own})`);
        if (round < rounds - 1 || i < 0) await stop(c);
        else children.push(c);
      }
    }
    // children in variant order (the last round's order rotated)
    children.sort((a, b) => startups.findIndex((s) => s.includes(a)) - startups.findIndex((s) => s.includes(b)));
    const clients = await Promise.all(
      children.map(async (c) => {
        const { token: tok, project } = await token(c.url);
        return async (path: string, mv = '3.0') => {
          const t = performance.now();
          const r = await fetch(`${c.url}/v3/${project}${path}`, { headers: { 'x-auth-token': tok, 'openstack-api-version': `volume ${mv}` } });
          const body = (await r.json()) as any;
          const ms = performance.now() - t;
          if (r.status !== 200) throw new Error(`${path}: ${r.status} ${JSON.stringify(body)}`);
          return { ms, body };
        };
      }),
    );
    const sorts: [string, string, keyof typeof DEEP][] = [
      ['', '', 'desc'],
      ['Asc', 'sort=created_at:asc&', 'asc'],
      ['Name', 'sort=display_name:asc&', 'name'],
      ['Status', 'sort=status:asc&', 'asc'],
      ['Mixed', 'sort=status:asc,created_at:desc&', 'mixed'],
      ['MixedName', 'sort=display_name:desc,created_at:asc&', 'mixedName'],
    ];
    const probes: [string, string, string][] = [
      ...sorts.flatMap(([k, q, d]): [string, string, string][] => [
        [`first${k}`, `/snapshots/detail?${q}limit=100`, '3.0'],
        [`deep${k}`, `/snapshots/detail?${q}limit=100&marker=${DEEP[d].marker}`, '3.0'],
      ]),
      ['countMs', '/snapshots/detail?limit=100&with_count=true', '3.45'],
      // Every row is available: the same count, taken by COUNT(*) of the filtered query.
      ['countFilteredMs', '/snapshots/detail?limit=100&with_count=true&status=available', '3.45'],
    ];
    for (const get of clients) {
      // What is timed is right: each deep page starts right after its marker, and the counts are exact.
      for (const [k, q, d] of sorts) {
        const r = await get(`/snapshots/detail?${q}limit=1&marker=${DEEP[d].marker}`);
        if (r.body.snapshots[0]?.id !== DEEP[d].next) throw new Error(`deep page (${k || 'default'} sort) starts elsewhere`);
      }
      for (const q of ['', '&status=available']) {
        const c = await get(`/snapshots/detail?limit=1&with_count=true${q}`, '3.45');
        if (c.body.count !== NSNAP) throw new Error(`count ${c.body.count} != ${NSNAP}`);
      }
    }
    const samples = children.map(() => new Map<string, number[]>());
    for (let i = 0; i < SAMPLES; i++) {
      for (const [key, path, mv] of probes) {
        for (let v = 0; v < clients.length; v++) {
          const ms = (await clients[v]!(path, mv)).ms;
          const m = samples[v]!;
          m.set(key, [...(m.get(key) ?? []), ms]);
        }
      }
    }
    const results = children.map((c, v) => {
      const { rss, hwm } = rssOf(c.proc.pid!);
      const m = samples[v]!;
      const med = (k: string) => median(m.get(k)!);
      return {
        store: kind,
        variant: seeded[v]!.variant.name,
        seedS: seeded[v]!.seedS,
        startupS: median(startups[v]!.map((c) => c.startupS)),
        startupEmptyS: median(startupsEmpty.map((c) => c.startupS)),
        startupCpuMs: median(startups[v]!.map((c) => c.cpuMs)),
        startupEmptyCpuMs: median(startupsEmpty.map((c) => c.cpuMs)),
        startupOwnMs: median(startups[v]!.map((c) => c.ownMs)),
        startupEmptyOwnMs: median(startupsEmpty.map((c) => c.ownMs)),
        first: med('first'),
        deep: med('deep'),
        firstAsc: med('firstAsc'),
        deepAsc: med('deepAsc'),
        firstName: med('firstName'),
        deepName: med('deepName'),
        firstStatus: med('firstStatus'),
        deepStatus: med('deepStatus'),
        firstMixed: med('firstMixed'),
        deepMixed: med('deepMixed'),
        firstMixedName: med('firstMixedName'),
        deepMixedName: med('deepMixedName'),
        countMs: med('countMs'),
        countFilteredMs: med('countFilteredMs'),
        insertMs: 0,
        rssMiB: rss,
        hwmMiB: hwm,
        load: load(),
      };
    });
    for (const c of children) await stop(c);
    // Write cost of the listing indexes: snapshots inserted in rounds alternating between the variants (same load),
    // in multi-row batches as the seed does; after the listings, so the counts checked above held, and with the
    // servers stopped, as a SQLite database takes no second writer while its server runs.
    const inserts: number[][] = seeded.map(() => []);
    for (let round = 0; round < 4; round++) {
      for (let v = 0; v < seeded.length; v++) inserts[v]!.push(await seeded[v]!.insertMs(Math.max(1000, Math.floor(NSNAP / 40))));
    }
    results.forEach((r, v) => (r.insertMs = median(inserts[v]!)));
    return results;
  } finally {
    for (const c of children) await stop(c);
    for (const s of [...seeded, ...extra]) {
      await s.drop().catch(() => {});
      if (!args.keep) await rm(s.dir, { recursive: true, force: true });
    }
  }
}

function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n');
}

async function main() {
  const out: string[] = [];
  if (!args['skip-db']) {
    const variants: Variant[] = [{ name: 'this', root: ROOT }];
    if (args.anchor) variants.push({ name: 'anchor', root: resolve(args.anchor) });
    const res: DbResult[] = [];
    for (const k of STORES) res.push(...(await benchDb(k, variants)));
    const ok = (b: boolean) => (b ? 'ok' : 'MISS');
    const rows: string[][] = [];
    const row = (what: string, target: string, f: (r: DbResult) => string, pass?: (r: DbResult) => boolean) =>
      rows.push([what, target, ...res.map((r) => (pass ? `${f(r)} ${ok(pass(r))}` : f(r)))]);
    const x = (a: number, b: number) => `${a.toFixed(1)} (${(a / b).toFixed(2)}x)`;
    row('seed (s)', '-', (r) => r.seedS.toFixed(0));
    const rounds = args['startup-rounds'];
    const ms = (n: number) => (Number.isNaN(n) ? '-' : n.toFixed(0));
    row(`serve start-up, median of ${rounds} (s)`, '<= 3', (r) => r.startupS.toFixed(2), (r) => r.startupS <= 3);
    row('... same tree, empty database (s)', '-', (r) => r.startupEmptyS.toFixed(2));
    row('serve start-up CPU, spawn -> listening (ms)', '-', (r) => ms(r.startupCpuMs));
    row('... same tree, empty database (ms)', '-', (r) => ms(r.startupEmptyCpuMs));
    row('startServer -> listening, wall (ms, trace)', '-', (r) => ms(r.startupOwnMs));
    row('... same tree, empty database (ms)', '-', (r) => ms(r.startupEmptyOwnMs));
    row('first page, default sort (ms)', '-', (r) => r.first.toFixed(1));
    row('page at 90 %, default sort (ms)', '<= 2x first', (r) => x(r.deep, r.first), (r) => r.deep <= 2 * r.first);
    row('first page, created_at asc (ms)', '-', (r) => r.firstAsc.toFixed(1));
    row('page at 90 %, created_at asc (ms)', '<= 2x first', (r) => x(r.deepAsc, r.firstAsc), (r) => r.deepAsc <= 2 * r.firstAsc);
    row('first page, name asc (ms)', '-', (r) => x(r.firstName, r.first));
    row('page at 90 %, name asc (ms)', '<= 2x first', (r) => x(r.deepName, r.firstName), (r) => r.deepName <= 2 * r.firstName);
    row('first page, status asc (ms)', '-', (r) => x(r.firstStatus, r.first));
    row('page at 90 %, status asc (ms)', '<= 2x first', (r) => x(r.deepStatus, r.firstStatus), (r) => r.deepStatus <= 2 * r.firstStatus);
    row('first page, status:asc,created_at:desc', '~ first', (r) => x(r.firstMixed, r.first), (r) => r.firstMixed <= 2 * r.first);
    row('page at 90 %, status:asc,created_at:desc', '<= 2x first', (r) => x(r.deepMixed, r.firstMixed), (r) => r.deepMixed <= 2 * r.firstMixed);
    row('first page, name:desc,created_at:asc', '~ first', (r) => x(r.firstMixedName, r.first), (r) => r.firstMixedName <= 2 * r.first);
    row('page at 90 %, name:desc,created_at:asc', '<= 2x first', (r) => x(r.deepMixedName, r.firstMixedName), (r) => r.deepMixedName <= 2 * r.firstMixedName);
    row('first page + with_count (ms)', '~ first', (r) => x(r.countMs, r.first), (r) => r.countMs <= 2 * r.first);
    row('... + with_count, status filter (ms)', '(COUNT(*))', (r) => x(r.countFilteredMs, r.first));
    row('snapshot insert, ms per 1000 rows (median of 4)', '-', (r) => r.insertMs.toFixed(0));
    row('server RSS after listings (MiB)', '<= 500', (r) => r.rssMiB.toFixed(0), (r) => r.rssMiB <= 500);
    row('server peak RSS (MiB)', '<= 500', (r) => r.hwmMiB.toFixed(0), (r) => r.hwmMiB <= 500);
    row('load (1 min) at end', '-', (r) => r.load);
    out.push(`Metadata: ${NSNAP} snapshots, ${NVOL} volumes, one project; median of ${SAMPLES} requests per probe, interleaved across servers`);
    out.push(table(['measure', 'target', ...res.map((r) => `${r.store}/${r.variant}`)], rows));
  }
  if (!args['skip-repo']) {
    const steps = await benchRepo({ chunks: NCHUNK, keep: args.keep, cli: CLI, log });
    const first = steps[0]!;
    out.push('');
    out.push(`Repository (fs, 1 MiB chunks of ~100 B objects): repo verify / repo gc --grace 0, offline CLI, /usr/bin/time -v`);
    out.push(
      table(
        ['chunks', 'seed s', 'verify s', 'verify s/chunk vs first', 'verify MiB', 'gc s', 'gc s/chunk vs first', 'gc MiB', 'gc deleted', 'load'],
        steps.map((s) => [
          String(s.chunks),
          s.seedS.toFixed(0),
          s.verifyS.toFixed(1),
          ((s.verifyS / s.chunks) / (first.verifyS / first.chunks)).toFixed(2),
          `${s.verifyMiB.toFixed(0)} ${s.verifyMiB <= 300 ? 'ok' : 'MISS'}`,
          s.gcS.toFixed(1),
          ((s.gcS / s.chunks) / (first.gcS / first.chunks)).toFixed(2),
          `${s.gcMiB.toFixed(0)} ${s.gcMiB <= 300 ? 'ok' : 'MISS'}`,
          s.deleted,
          s.load,
        ]),
      ),
    );
    out.push('targets: verify/gc max RSS <= 300 MiB; time per chunk flat (ratio ~1) = linear');
  }
  console.log(out.join('\n'));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
