/**
 * bench/cluster — what adding cinderbox nodes over one PostgreSQL database does: API reads through 1, 2 and 3 nodes,
 * and three backups at once run by 1 node or spread over 3.
 *
 *   npm run bench:cluster                                  # 3 nodes, file target, 1000 snapshots, 1 GiB backups
 *   node --import tsx bench/cluster/run.ts --backup-mib 256 --duration 5 --snapshots 500
 *
 * PostgreSQL: --database-url (or CINDERBOX_BENCH_DATABASE_URL, else CINDERBOX_TEST_POSTGRES_URL) names a server the
 * bench may create and drop a database on. The nodes are real child processes (tests/cluster/cluster-support.ts),
 * each with its own data directory and a `local` raw backend; the backup target is a shared directory.
 *
 * Reads: wrk (Debian package wrk) on GET /snapshots/{id} and GET /snapshots/detail?limit=100, one wrk per node in
 * use, the connections split between them, requests per second summed. Backups: three volumes of --backup-mib
 * written with random bytes, backed up at once; first all three on one node (the others' volume services
 * disabled while they are created), then one on each node; the wall time from the three POSTs to the last
 * `available`.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { createTestDatabase, dropTestDatabase } from '../../packages/server/src/test-support/harness.js';
import {
  ClusterApi,
  type ClusterEnv,
  type ClusterNode,
  killNode,
  nodeOf,
  startNode,
} from '../../packages/server/src/tests/cluster/cluster-support.js';

const run = promisify(execFile);
const { values: args } = parseArgs({
  options: {
    nodes: { type: 'string', default: '3' },
    snapshots: { type: 'string', default: '1000' },
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '24' },
    'backup-mib': { type: 'string', default: '1024' },
    'database-url': { type: 'string' },
  },
});
const NODES = Number(args.nodes);
const SNAPSHOTS = Number(args.snapshots);
const DURATION = Number(args.duration);
const CONNS = Number(args.connections);
const BACKUP_MIB = Number(args['backup-mib']);
const MiB = 1024 * 1024;

interface Load {
  rps: number;
  p50: string[];
}

async function wrkOne(url: string, token: string, conns: number): Promise<{ rps: number; p50: string }> {
  const { stdout } = await run('wrk', ['-t1', `-c${conns}`, `-d${DURATION}s`, '--latency', '-H', `X-Auth-Token: ${token}`, url], { maxBuffer: 1 << 20 });
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout);
  if (non2xx) throw new Error(`wrk saw ${non2xx[1]} error responses for ${url}`);
  return { rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? 'NaN'), p50: /\s50%\s+(\S+)/.exec(stdout)?.[1] ?? '?' };
}

/** The same path through the first `n` nodes at once, the connections split between them. */
async function wrkThrough(nodes: ClusterNode[], n: number, path: string, token: string): Promise<Load> {
  const per = Math.max(1, Math.round(CONNS / n));
  const results = await Promise.all(nodes.slice(0, n).map((node) => wrkOne(`${node.url}${path}`, token, per)));
  return { rps: results.reduce((a, r) => a + r.rps, 0), p50: results.map((r) => r.p50) };
}

async function main() {
  await run('wrk', ['--version']).catch((e) => {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      console.error('bench/cluster needs wrk (Debian package wrk)');
      process.exit(2);
    }
  });
  const admin = args['database-url'] ?? process.env.CINDERBOX_BENCH_DATABASE_URL ?? process.env.CINDERBOX_TEST_POSTGRES_URL;
  if (!admin) {
    console.error('bench/cluster needs PostgreSQL: --database-url, CINDERBOX_BENCH_DATABASE_URL or CINDERBOX_TEST_POSTGRES_URL');
    process.exit(2);
  }
  const databaseUrl = await createTestDatabase(admin);
  const root = await mkdtemp(join(tmpdir(), 'cinderbox-bench-cluster-'));
  const env: ClusterEnv = {
    databaseUrl,
    backends: 'local:raw',
    backupTargets: `shared=file://${join(root, 'target')}`,
    // Normal heartbeat and poll times: the bench measures a cluster as deployed, not the test suite's.
    extraEnv: { CINDERBOX_SERVICE_REPORT_SECONDS: '10', CINDERBOX_SERVICE_DOWN_SECONDS: '60', CINDERBOX_TASK_LEASE: '30', CINDERBOX_TASK_POLL_MS: '1000', CINDERBOX_DATABASE_POOL_SIZE: '10', CINDERBOX_LOG_LEVEL: 'error' },
  };
  const nodes: ClusterNode[] = [];
  try {
    for (let i = 1; i <= NODES; i++) nodes.push(await startNode(`n${i}`, join(root, `n${i}`), env));
    const api = new ClusterApi();
    await api.login(nodes[0]!);
    const first = nodes[0]!;
    await api.ok(first, 'PUT', `/os-quota-sets/${api.projectId}`, { quota_set: { snapshots: -1, gigabytes: -1, volumes: -1, backups: -1, backup_gigabytes: -1 } });

    // Seed: one volume and its snapshots, made through every node in turn.
    const seed = (await api.ok(first, 'POST', '/volumes', { volume: { size: 1, name: 'seed' } })).volume.id as string;
    await api.until(first, 'volumes', seed, 'available');
    const t0 = Date.now();
    let made = 0;
    let firstSnap = '';
    const worker = async (w: number) => {
      while (made < SNAPSHOTS) {
        made++;
        const s = await api.ok(nodes[w % nodes.length]!, 'POST', '/snapshots', { snapshot: { volume_id: seed, name: `s${made}` } });
        firstSnap ||= s.snapshot.id;
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
    await api.poll(async () => (await api.ok(first, 'GET', '/snapshots?status=creating&limit=1')).snapshots.length === 0, 'snapshots settle', 600_000);
    const { default: pg } = await import('pg');
    const c = new pg.Client({ connectionString: databaseUrl });
    await c.connect();
    await c.query('analyze');
    await c.end();
    process.stderr.write(`seeded ${SNAPSHOTS} snapshots in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);

    const base = `/v3/${api.projectId}`;
    const reads: { n: number; single: Load; page: Load }[] = [];
    for (let n = 1; n <= NODES; n++) {
      const single = await wrkThrough(nodes, n, `${base}/snapshots/${firstSnap}`, api.token);
      const page = await wrkThrough(nodes, n, `${base}/snapshots/detail?limit=100`, api.token);
      reads.push({ n, single, page });
      process.stderr.write(`reads through ${n} node(s) done\n`);
    }

    // Backups: three volumes on one node, then one volume on each of three nodes.
    const volumesOn = async (where: string[]): Promise<string[]> => {
      const ids: string[] = [];
      for (const target of where) {
        const others = nodes.filter((n) => n.name !== target);
        for (const o of others) await api.setService(first, `${o.name}@local`, 'cinder-volume', false, 'bench placement');
        try {
          const v = (await api.ok(first, 'POST', '/volumes', { volume: { size: Math.ceil(BACKUP_MIB / 1024) } })).volume;
          const ready = await api.until(first, 'volumes', v.id, 'available');
          if (nodeOf(ready['os-vol-host-attr:host']) !== target) throw new Error(`volume placed on ${ready['os-vol-host-attr:host']}, not ${target}`);
          const owner = nodes.find((n) => n.name === target)!;
          for (let off = 0; off < BACKUP_MIB; off += 64) {
            const len = Math.min(64, BACKUP_MIB - off) * MiB;
            const r = await fetch(`${owner.url}${base}/volumes/${v.id}/cinderbox-data`, {
              method: 'PUT',
              headers: { 'X-Auth-Token': api.token, 'Content-Type': 'application/octet-stream', 'Content-Range': `bytes ${off * MiB}-${off * MiB + len - 1}/*` },
              body: randomBytes(len),
            });
            if (!r.ok) throw new Error(`upload: ${r.status} ${await r.text()}`);
          }
          ids.push(v.id);
        } finally {
          for (const o of others) await api.setService(first, `${o.name}@local`, 'cinder-volume', true);
        }
      }
      return ids;
    };
    const backupAll = async (ids: string[]): Promise<number> => {
      const start = performance.now();
      const backups = await Promise.all(ids.map(async (id) => (await api.ok(first, 'POST', '/backups', { backup: { volume_id: id } })).backup.id as string));
      await Promise.all(backups.map((b) => api.until(first, 'backups', b, 'available', 1_800_000)));
      return (performance.now() - start) / 1000;
    };
    const oneNode = await backupAll(await volumesOn([first.name, first.name, first.name]));
    process.stderr.write('backups on one node done\n');
    const spread = NODES >= 3 ? await backupAll(await volumesOn(nodes.slice(0, 3).map((n) => n.name))) : Number.NaN;

    const rows = [
      ['measure', ...reads.map((r) => `${r.n} node${r.n > 1 ? 's' : ''}`)],
      ['GET snapshot req/s (sum)', ...reads.map((r) => r.single.rps.toFixed(0))],
      ['GET snapshot p50 per node', ...reads.map((r) => r.single.p50.join(' '))],
      [`GET detail?limit=100 req/s (${SNAPSHOTS} snaps)`, ...reads.map((r) => r.page.rps.toFixed(0))],
      ['GET detail p50 per node', ...reads.map((r) => r.page.p50.join(' '))],
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
    for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
    console.log('');
    const gib = (3 * BACKUP_MIB) / 1024;
    console.log(`three ${BACKUP_MIB} MiB backups at once (random data, shared file target):`);
    console.log(`  all on one node:   ${oneNode.toFixed(1)} s  (${(gib / oneNode).toFixed(2)} GiB/s)`);
    console.log(`  one on each of 3:  ${spread.toFixed(1)} s  (${(gib / spread).toFixed(2)} GiB/s)`);
    console.log(
      `\n${cpus().length} cores shared by ${NODES} nodes, PostgreSQL and wrk (-t1, ${CONNS} connections split over the nodes in use, ${DURATION} s).` +
        '\nA node answers the API on one JavaScript thread, so a second node can use a core the first leaves idle; past the' +
        '\ncore count the machine caps the total, and more nodes only show that work is shared (every node answers, each' +
        '\nbackup runs on its volume\'s node) without a loss. On separate machines each node brings its own cores and' +
        '\ndisks; PostgreSQL is then the shared cost.',
    );
  } finally {
    for (const n of nodes) await killNode(n);
    await dropTestDatabase(admin, databaseUrl).catch(() => {});
    await rm(root, { recursive: true, force: true });
  }
}

await main();
