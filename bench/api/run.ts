/**
 * bench/api — loads a cinderbox server over loopback with wrk, once per metadata store (SQLite, then
 * PostgreSQL), and prints them side by side.
 *
 *   npm run bench:api                       # starts its own servers on temp data dirs
 *   npm run bench:api -- --snapshots 2000 --duration 10
 *   npm run bench:api -- --stores sqlite    # one store only
 *
 * PostgreSQL: --database-url (or CINDERBOX_BENCH_DATABASE_URL) names a server the bench may create and drop
 * a database on; without it the loopback cluster of scripts/start-postgres.sh is used (started if needed),
 * through its Unix socket (--pg-tcp: over 127.0.0.1 instead).
 *
 * Measures: GET /v3/{p}/snapshots/{id}; GET /v3/{p}/snapshots/detail?limit=100 with N snapshots in the
 * project; snapshot create → available on a 1 GiB volume (median of --samples, with 256 MiB written).
 *
 * Anchors, in the same run: a bare node:http server in this process answering the same bytes (the ceiling of
 * node and loopback here), and other server variants (VARIANTS below: other source trees, switches) — each
 * restarted on the same data, alternating for --rounds rounds so that the machine's load falls on all alike.
 * Beside req/s, the server's CPU time per request: on a shared machine it is the steadier figure.
 *
 *   git archive <rev> | tar -x -C /tmp/base && ln -s $PWD/node_modules /tmp/base/node_modules
 *   npm run bench:api -- --tree before=/tmp/base   # that commit's server too, alternating with this one
 *   npm run bench:api -- --profile /tmp/api   # also CPU-profiles the current server under wrk, writes
 *                                             # /tmp/api-{store}-{single,page}.cpuprofile and prints where it went
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type DatabaseConfig, redactedDatabaseUrl } from '../../packages/server/src/config/config.js';
import { createTestDatabase, dropTestDatabase, startTestServer, type TestServer } from '../../packages/server/src/test-support/harness.js';
import { printProfile, profiled } from './profile.js';

const run = promisify(execFile);
const { values: args } = parseArgs({
  options: {
    snapshots: { type: 'string', default: '10000' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '10' },
    /** Alternations of baseline and current server per store. */
    rounds: { type: 'string', default: '2' },
    /** Path prefix for CPU profiles of the current server under wrk; none taken without it. */
    profile: { type: 'string' },
    /** NAME=DIR: a source tree whose server is measured as variant NAME (see VARIANTS); repeatable. */
    tree: { type: 'string', multiple: true, default: [] },
    samples: { type: 'string', default: '20' },
    stores: { type: 'string', default: 'sqlite,postgres' },
    'database-url': { type: 'string' },
    /** The microversion the requests name (OpenStack-API-Version); none (the base, 3.0) without it. */
    mv: { type: 'string' },
    /** Reach the loopback cluster over TCP instead of its Unix socket. */
    'pg-tcp': { type: 'boolean', default: false },
  },
});
const N = Number(args.snapshots);
const DURATION = Number(args.duration);
const CONNS = Number(args.connections);
const SAMPLES = Number(args.samples);
const ROUNDS = Number(args.rounds);
// The detail page at a current microversion carries the gated keys too (group_snapshot_id, user_id, ...), which
// the base version's body leaves out.
const MV_HEADERS: Record<string, string> = args.mv ? { 'OpenStack-API-Version': `volume ${args.mv}` } : {};
const STORES = args.stores.split(',').map((s) => s.trim()) as ('sqlite' | 'postgres')[];

interface WrkResult {
  rps: number;
  /**
   * CPU time this process (the server; the bench itself idles meanwhile) spent per answered request. On a
   * shared, loaded machine req/s mostly measures the scheduler's share; CPU per request is what a change buys.
   */
  cpuUs: number;
  p50: string;
  p99: string;
}

/**
 * Server configurations compared in one run: each --tree NAME=DIR is the server of another source tree (a
 * checkout of the commit to compare against, e.g. `git archive <rev> | tar -x -C DIR` with node_modules linked
 * in), started from that tree's own modules on the same data, the first of them the anchor of the ratios; `current` is
 * this tree as shipped. (A `compiled` variant, fast-json-stringify serialisers built from the contract's response
 * schemas, was measured here until it was removed: it never beat JSON.stringify on these open-ended bodies.)
 */
interface Variant {
  name: string;
  env: Record<string, string>;
  tree?: string;
}
const VARIANTS: Variant[] = [
  ...args.tree.map((t) => {
    const [name, dir] = t.split('=') as [string, string | undefined];
    if (!dir) throw new Error(`--tree ${t}: expected NAME=DIR`);
    return { name, env: {}, tree: resolve(dir) };
  }),
  { name: 'current', env: {} },
];
const ANCHOR = VARIANTS[0]!.name;

type StartTestServer = typeof startTestServer;
async function starterOf(v: Variant): Promise<StartTestServer> {
  if (!v.tree) return startTestServer;
  const mod = (await import(pathToFileURL(join(v.tree, 'packages/server/src/test-support/harness.ts')).href)) as { startTestServer: StartTestServer };
  return mod.startTestServer;
}

/** The migration names a variant's server knows (its tree's provider, or this tree's). */
async function migrationsOf(v: Variant): Promise<Set<string>> {
  const root = v.tree ?? resolve(fileURLToPath(new URL('../..', import.meta.url)));
  const mod = (await import(pathToFileURL(join(root, 'packages/server/src/store/migrations/index.ts')).href)) as {
    migrationProvider: { getMigrations(): Promise<Record<string, unknown>> };
  };
  return new Set(Object.keys(await mod.migrationProvider.getMigrations()));
}

/**
 * The data are seeded by this tree, so they carry migrations an older tree's server does not know, and kysely
 * refuses to start on a database whose log names a migration it lacks. Those log rows are set aside while such a
 * variant runs and put back before the next: the older server runs on the newer schema, whose added columns and
 * triggers its reads ignore (a `*` read carries the added columns along).
 */
class MigrationLog {
  private aside: { name: string; timestamp: string }[] = [];
  constructor(private readonly database: DatabaseConfig, private readonly dir: string) {}
  private async exec<R>(text: string, params: unknown[] = []): Promise<R[]> {
    if (this.database.kind === 'postgres') {
      const { default: pg } = await import('pg');
      const c = new pg.Client({ connectionString: this.database.url });
      await c.connect();
      try {
        return (await c.query(text.replace(/\?/g, (() => { let i = 0; return () => `$${++i}`; })()), params)).rows as R[];
      } finally {
        await c.end();
      }
    }
    const { default: SQLite } = await import('better-sqlite3');
    const db = new SQLite(join(this.dir, 'cinderbox.db'));
    try {
      const st = db.prepare(text);
      return (st.reader ? st.all(...params) : (st.run(...params), [])) as R[];
    } finally {
      db.close();
    }
  }
  /** Before starting a server that knows `known`: the log holds exactly the applied migrations it knows. */
  async fitTo(known: Set<string>): Promise<void> {
    for (const row of this.aside.splice(0)) {
      await this.exec('insert into kysely_migration (name, timestamp) values (?, ?)', [row.name, row.timestamp]);
    }
    const rows = await this.exec<{ name: string; timestamp: string }>('select name, timestamp from kysely_migration');
    for (const row of rows) {
      if (known.has(row.name)) continue;
      this.aside.push(row);
      await this.exec('delete from kysely_migration where name = ?', [row.name]);
    }
  }
}

interface Pair {
  single: WrkResult;
  page: WrkResult;
}

interface StoreResult {
  bare: Pair;
  variants: Map<string, Pair>;
  createMedianMs: number;
  snapshotMethod: string;
  seedSeconds: number;
}

async function wrk(url: string, token: string): Promise<WrkResult> {
  const cpu0 = process.cpuUsage();
  const mvArgs = Object.entries(MV_HEADERS).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  const { stdout } = await run('wrk', ['-t1', `-c${CONNS}`, `-d${DURATION}s`, '--latency', '-H', `X-Auth-Token: ${token}`, ...mvArgs, url], {
    maxBuffer: 1 << 20,
  });
  const cpu = process.cpuUsage(cpu0);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? 'NaN');
  const requests = Number(/(\d+) requests in/.exec(stdout)?.[1] ?? 'NaN');
  const cpuUs = (cpu.user + cpu.system) / requests;
  const p50 = /\s50%\s+(\S+)/.exec(stdout)?.[1] ?? '?';
  const p99 = /\s99%\s+(\S+)/.exec(stdout)?.[1] ?? '?';
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout);
  if (non2xx) throw new Error(`wrk saw ${non2xx[1]} error responses for ${url}`);
  return { rps, p50, p99, cpuUs };
}

/** The PostgreSQL server to bench against: the caller's, or the loopback test cluster. */
async function postgresAdminUrl(): Promise<string> {
  const given = args['database-url'] ?? process.env.CINDERBOX_BENCH_DATABASE_URL;
  if (given) return given;
  const script = fileURLToPath(new URL('../../scripts/start-postgres.sh', import.meta.url));
  const { stdout } = await run('bash', [script]);
  if (args['pg-tcp']) return stdout.trim();
  // Server and database share the machine, as SQLite does: connect through the cluster's Unix socket (in its
  // directory), which costs about a third less per query than loopback TCP here.
  const u = new URL(stdout.trim());
  u.hostname = 'localhost';
  u.searchParams.set('host', process.env.CINDERBOX_PG_DIR ?? '/tmp/cinderbox-pg');
  return u.toString();
}

let pgUrlUsed = '';

/** node:http answering fixed bytes with the headers a cinderbox answer carries: the ceiling for this machine. */
async function bareServer(bodies: Map<string, string>): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const body = bodies.get(req.url ?? '');
    res.writeHead(body === undefined ? 404 : 200, {
      'content-type': 'application/json; charset=utf-8',
      'x-openstack-request-id': 'req-00000000-0000-4000-8000-000000000000',
      'openstack-api-version': 'volume 3.0',
      vary: 'OpenStack-API-Version',
    });
    res.end(body ?? '{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

async function withEnv<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

async function benchStore(kind: 'sqlite' | 'postgres'): Promise<StoreResult> {
  const dir = await mkdtemp(join(tmpdir(), `cinderbox-bench-${kind}-`));
  let database: DatabaseConfig = { kind: 'sqlite' };
  let dropDb = async () => {};
  if (kind === 'postgres') {
    const admin = await postgresAdminUrl();
    pgUrlUsed = admin;
    const url = await createTestDatabase(admin);
    database = { kind: 'postgres', url };
    dropDb = () => dropTestDatabase(admin, url);
  }
  const start = () => startTestServer({ logLevel: 'error', database }, dir);
  let ts: TestServer = await start();
  try {
    let token = ts.adminToken;
    const p = ts.adminProjectId;
    const q = await ts.request('PUT', `/v3/${p}/os-quota-sets/${p}`, { token, body: { quota_set: { snapshots: -1, gigabytes: -1, volumes: -1 } } });
    if (q.status !== 200) throw new Error(`quota update: ${q.status} ${q.text}`);

    const waitStatus = async (kind: 'volumes' | 'snapshots', id: string, want: string) => {
      for (;;) {
        const r = await ts.request('GET', `/v3/${p}/${kind}/${id}`, { token });
        const s = r.body?.[kind === 'volumes' ? 'volume' : 'snapshot']?.status;
        if (s === want) return;
        if (s === 'error') throw new Error(`${kind} ${id} went to error`);
        await new Promise((r) => setTimeout(r, 2));
      }
    };

    // Seed volume: 1 GiB, empty; N snapshots of it.
    const v = await ts.request('POST', `/v3/${p}/volumes`, { token, body: { volume: { size: 1, name: 'bench-seed' } } });
    const volId = v.body.volume.id as string;
    await waitStatus('volumes', volId, 'available');
    const t0 = Date.now();
    let made = 0;
    let firstSnap = '';
    const worker = async () => {
      while (made < N) {
        made++;
        const r = await ts.request('POST', `/v3/${p}/snapshots`, { token, body: { snapshot: { volume_id: volId, name: `s${made}` } } });
        if (r.status !== 202) throw new Error(`snapshot create: ${r.status} ${r.text}`);
        firstSnap ||= r.body.snapshot.id;
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    await ts.server.tasks.idle();
    if (database.kind === 'postgres') {
      // Autovacuum analyzes a table a minute or so after a bulk load; until then the planner believes the
      // 10,000 rows are a handful and picks a bitmap scan and sort (3.7 ms) over the index's ordered scan
      // (0.05 ms). A server in service has its statistics; give the bench the same.
      const { default: pg } = await import('pg');
      const c = new pg.Client({ connectionString: database.url });
      await c.connect();
      await c.query('analyze');
      await c.end();
    }
    const seedSeconds = (Date.now() - t0) / 1000;
    process.stderr.write(`${kind}: seeded ${N} snapshots in ${seedSeconds.toFixed(1)} s\n`);

    const singlePath = `/v3/${p}/snapshots/${firstSnap}`;
    const pagePath = `/v3/${p}/snapshots/detail?limit=100`;
    const measure = async (url: string, tok: string): Promise<Pair> => ({
      single: await wrk(`${url}${singlePath}`, tok),
      page: await wrk(`${url}${pagePath}`, tok),
    });

    // The bare server answers the very bytes cinderbox sends.
    const bodyOf = async (path: string) => {
      const r = await fetch(`${ts.url}${path}`, { headers: { 'X-Auth-Token': token, ...MV_HEADERS } });
      if (!r.ok) throw new Error(`GET ${path}: ${r.status}`);
      return r.text();
    };
    const bare = await bareServer(new Map([[singlePath, await bodyOf(singlePath)], [pagePath, await bodyOf(pagePath)]]));
    let bareResult: Pair;
    try {
      bareResult = await measure(bare.url, token);
    } finally {
      await new Promise((r) => bare.server.close(r));
    }

    const variants = new Map<string, Pair[]>();
    const log = new MigrationLog(database, dir);
    const known = new Map<string, Set<string>>();
    for (const v of VARIANTS) known.set(v.name, await migrationsOf(v));
    for (let round = 0; round < ROUNDS; round++) {
      for (const v of VARIANTS) {
        await ts.close({ keepData: true });
        await log.fitTo(known.get(v.name)!);
        const startVariant = await starterOf(v);
        ts = await withEnv(v.env, () => startVariant({ logLevel: 'error', database }, dir));
        token = ts.adminToken;
        const r = await measure(ts.url, token);
        variants.set(v.name, [...(variants.get(v.name) ?? []), r]);
        process.stderr.write(
          `${kind}: round ${round + 1} ${v.name}: ${r.single.rps.toFixed(0)} / ${r.page.rps.toFixed(0)} req/s, ${r.single.cpuUs.toFixed(0)} / ${r.page.cpuUs.toFixed(0)} CPU µs/req (load ${loadavg()[0]!.toFixed(1)})\n`,
        );
      }
    }
    // Back to `current` for the profile and the create timing.
    await ts.close({ keepData: true });
    await log.fitTo(known.get('current')!);
    ts = await start();
    token = ts.adminToken;
    if (args.profile) {
      const one = await profiled(`${args.profile}-${kind}-single.cpuprofile`, () => wrk(`${ts.url}${singlePath}`, token));
      printProfile(`${kind}: GET one snapshot, profiled (${one.result.rps.toFixed(0)} req/s)`, one.profile);
      const page = await profiled(`${args.profile}-${kind}-page.cpuprofile`, () => wrk(`${ts.url}${pagePath}`, token));
      printProfile(`${kind}: GET detail?limit=100, profiled (${page.result.rps.toFixed(0)} req/s)`, page.profile);
    }

    // Snapshot create → available on a 1 GiB volume with 256 MiB of data.
    const v2 = await ts.request('POST', `/v3/${p}/volumes`, { token, body: { volume: { size: 1, name: 'bench-data' } } });
    const dataVol = v2.body.volume.id as string;
    await waitStatus('volumes', dataVol, 'available');
    // Through the upload extension, so the bytes land as guest data whatever the driver's file format.
    const data = Buffer.alloc(256 << 20, 0xab);
    const up = await fetch(`${ts.url}/v3/${p}/volumes/${dataVol}/cinderbox-data`, {
      method: 'PUT',
      headers: { 'X-Auth-Token': token, 'Content-Type': 'application/octet-stream' },
      body: data,
    });
    if (!up.ok) throw new Error(`upload: ${up.status} ${await up.text()}`);
    await waitStatus('volumes', dataVol, 'available');
    const times: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const start = performance.now();
      const r = await ts.request('POST', `/v3/${p}/snapshots`, { token, body: { snapshot: { volume_id: dataVol, name: `t${i}` } } });
      await waitStatus('snapshots', r.body.snapshot.id, 'available');
      times.push(performance.now() - start);
      await ts.request('DELETE', `/v3/${p}/snapshots/${r.body.snapshot.id}`, { token });
      await ts.server.tasks.idle();
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)]!;
    const driver = [...ts.server.services.drivers.values()][0]!;

    const mean = (rs: Pair[]): Pair => {
      const avg = (f: (r: Pair) => WrkResult): WrkResult => ({
        rps: rs.reduce((a, r) => a + f(r).rps, 0) / rs.length,
        cpuUs: rs.reduce((a, r) => a + f(r).cpuUs, 0) / rs.length,
        // Latencies of the last round: wrk gives percentiles, which do not average.
        p50: f(rs[rs.length - 1]!).p50,
        p99: f(rs[rs.length - 1]!).p99,
      });
      return { single: avg((r) => r.single), page: avg((r) => r.page) };
    };
    return {
      bare: bareResult,
      variants: new Map([...variants].map(([k, v]) => [k, mean(v)])),
      createMedianMs: median, snapshotMethod: driver.capabilities.snapshotMethod, seedSeconds };
  } finally {
    await ts.close();
    await dropDb().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}

async function main() {
  try {
    await run('wrk', ['--version']).catch((e) => {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw e;
    });
  } catch {
    console.error('bench/api needs wrk (Debian package wrk)');
    process.exit(2);
  }
  const results = new Map<string, StoreResult>();
  for (const kind of STORES) {
    if (kind !== 'sqlite' && kind !== 'postgres') throw new Error(`--stores: unknown store ${kind}`);
    results.set(kind, await benchStore(kind));
  }
  const pct = (a: number, b: number) => `${((a / b) * 100).toFixed(0)} %`;
  const lat = (w: WrkResult) => `${w.p50} / ${w.p99}`;
  const names = VARIANTS.map((v) => v.name);
  const rows = [['measure', 'store', 'bare node:http', ...names, `current / ${ANCHOR}`, 'current / bare', 'target (issue #21)']];
  for (const [kind, r] of results) {
    const store = kind === 'sqlite' ? 'SQLite' : 'PostgreSQL';
    const v = (n: string) => r.variants.get(n)!;
    for (const [what, f, target] of [
      ['GET snapshot', (x: Pair) => x.single, '>= 12000 req/s, p99 < 10ms'],
      [`GET detail?limit=100 (${N} snaps)`, (x: Pair) => x.page, '>= 3000 req/s, p99 < 10ms'],
    ] as const) {
      rows.push([`${what} req/s`, store, f(r.bare).rps.toFixed(0), ...names.map((n) => f(v(n)).rps.toFixed(0)), pct(f(v('current')).rps, f(v(ANCHOR)).rps), pct(f(v('current')).rps, f(r.bare).rps), target]);
      rows.push([`${what} p50 / p99`, store, lat(f(r.bare)), ...names.map((n) => lat(f(v(n)))), '', '', '']);
      rows.push([`${what} server CPU µs/req`, store, f(r.bare).cpuUs.toFixed(0), ...names.map((n) => f(v(n)).cpuUs.toFixed(0)), pct(f(v('current')).cpuUs, f(v(ANCHOR)).cpuUs), pct(f(v('current')).cpuUs, f(r.bare).cpuUs), '']);
    }
    rows.push([`snapshot create->available median (${r.snapshotMethod})`, store, '', ...names.map((n) => (n === 'current' ? `${r.createMedianMs.toFixed(1)} ms` : '')), '', '', '<= 50 ms (reflink)']);
    rows.push([`seeding ${N} snapshots (16 clients)`, store, '', ...names.map((n) => (n === 'current' ? `${r.seedSeconds.toFixed(1)} s` : '')), '', '', '']);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
  console.log(`\nwrk -t1 -c${CONNS} -d${DURATION}s on loopback, server, database and load generator on the same ${cpus().length} cores; ${ROUNDS} rounds of ${names.join(' / ')} alternating (req/s: mean; latencies: last round); ${VARIANTS.map((v) => `${v.name} = ${v.tree ?? 'this tree'}${Object.keys(v.env).length ? ` with ${JSON.stringify(v.env)}` : ''}`).join('; ')}; loadavg at the end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  if (results.has('postgres')) console.log(`PostgreSQL reached at ${redactedDatabaseUrl(pgUrlUsed)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
