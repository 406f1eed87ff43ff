/**
 * bench/cluster/barrier — what the cluster's write barrier costs (services/cluster-barrier.ts): two nodes on one
 * PostgreSQL and the test Ceph, a group of two RBD volumes, and rounds that interleave three conditions:
 *
 *   writes       a writer through node B stamps both volumes in turn (4 KiB each), no snapshot: write latency
 *   snapshot     a group snapshot through node A, no writer: POST latency (the API's barrier) and POST → available
 *   both         the same group snapshot while the writer runs: the same two figures, and the write latency
 *
 *   node --import tsx bench/cluster/barrier.ts --rounds 5 --seconds 3
 *
 * PostgreSQL: --database-url (or CINDERBOX_BENCH_DATABASE_URL, else CINDERBOX_TEST_POSTGRES_URL /
 * CINDERBOX_TEST_DATABASE_URL), a server the bench may create and drop a database on. Ceph: as the RBD tests
 * find it (CINDERBOX_TEST_RBD_CONF, or /tmp/cinderbox-ceph/ceph.conf); the bench makes and removes its own pool.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { makeTestPool } from '../../packages/server/src/drivers/volume/rbd/test-support.js';
import { createTestDatabase, dropTestDatabase } from '../../packages/server/src/test-support/harness.js';
import { ClusterApi, type ClusterNode, killNode, startNode } from '../../packages/server/src/tests/cluster/cluster-support.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '3' },
    'database-url': { type: 'string' },
  },
});
const ROUNDS = Number(args.rounds);
const SECONDS = Number(args.seconds);
const pgAdmin =
  args['database-url'] ??
  process.env.CINDERBOX_BENCH_DATABASE_URL ??
  process.env.CINDERBOX_TEST_POSTGRES_URL ??
  process.env.CINDERBOX_TEST_DATABASE_URL;
if (!pgAdmin) throw new Error('no PostgreSQL: give --database-url (or CINDERBOX_BENCH_DATABASE_URL)');
const made = makeTestPool('barrier-bench');
if ('skip' in made) throw new Error(`no RBD: ${made.skip}`);
const pool = made;

const api = new ClusterApi();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const samples: Record<string, number[]> = {};
const record = (k: string, ms: number) => (samples[k] ??= []).push(ms);

function stats(xs: number[]): string[] {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return [String(s.length), q(0.5).toFixed(1), q(0.9).toFixed(1), s[s.length - 1]!.toFixed(1)];
}

const databaseUrl = await createTestDatabase(pgAdmin);
const dirs: string[] = [];
const nodes: ClusterNode[] = [];
try {
  const target = await mkdtemp(join(tmpdir(), 'cinderbox-barrier-bench-target-'));
  dirs.push(target);
  const env = { databaseUrl, backends: `ceph:rbd:${pool.pool}?conf=${pool.conf}`, backupTargets: `shared=file://${target}` };
  for (const name of ['A', 'B']) {
    const d = await mkdtemp(join(tmpdir(), `cinderbox-barrier-bench-${name}-`));
    dirs.push(d);
    nodes.push(await startNode(name, d, env));
  }
  const [A, B] = nodes as [ClusterNode, ClusterNode];
  await api.login(A);
  await api.ok(A, 'PUT', `/os-quota-sets/${api.projectId}`, { quota_set: { volumes: 100, snapshots: 1000, gigabytes: 10000 } });
  const vols: string[] = [];
  for (let i = 0; i < 2; i++) vols.push((await api.ok(A, 'POST', '/volumes', { volume: { size: 1 } })).volume.id);
  for (const id of vols) await api.until(A, 'volumes', id, 'available');
  const gtype = (await api.ok(A, 'POST', '/group_types', { group_type: { name: 'bench' } })).group_type;
  const group = (await api.ok(A, 'POST', '/groups', { group: { group_type: gtype.id, volume_types: ['__DEFAULT__'] } })).group;
  await api.poll(async () => (await api.ok(A, 'GET', `/groups/${group.id}`)).group.status === 'available', 'group');
  await api.ok(A, 'PUT', `/groups/${group.id}`, { group: { add_volumes: vols.join(',') } });

  const block = Buffer.alloc(4096, 7);
  const writer = (label: string) => {
    let running = true;
    const done = (async () => {
      while (running)
        for (const id of vols) {
          const t0 = performance.now();
          await api.upload(B, id, block);
          record(label, performance.now() - t0);
        }
    })();
    return async () => {
      running = false;
      await done;
    };
  };
  const groupSnapshot = async (label: string) => {
    const t0 = performance.now();
    const gs = (await api.ok(A, 'POST', '/group_snapshots', { group_snapshot: { group_id: group.id } })).group_snapshot;
    record(`${label}: POST`, performance.now() - t0);
    await api.poll(async () => {
      const s = (await api.ok(A, 'GET', `/group_snapshots/${gs.id}`)).group_snapshot.status;
      if (s === 'error') throw new Error('group snapshot went error');
      return s === 'available';
    }, 'group snapshot', 120_000);
    record(`${label}: POST→available`, performance.now() - t0);
  };

  const loads: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    loads.push(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]!);
    let stop = writer('writes alone: write');
    await sleep(SECONDS * 1000);
    await stop();
    await groupSnapshot('snapshot alone');
    stop = writer('snapshot while writing: write');
    await sleep(500);
    const end = performance.now() + SECONDS * 1000;
    while (performance.now() < end) await groupSnapshot('snapshot while writing');
    await stop();
  }
  const rows = [['condition', 'n', 'p50 ms', 'p90 ms', 'max ms'], ...Object.entries(samples).map(([k, v]) => [k, ...stats(v)])];
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  console.log(`\n2 nodes (A snapshots, B writes), RBD pool ${pool.pool}; ${ROUNDS} interleaved rounds; load (1 min) per round: ${loads.join(' ')}`);
  for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  '));
} finally {
  for (const n of nodes) await killNode(n);
  await dropTestDatabase(pgAdmin, databaseUrl).catch(() => {});
  pool.remove();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
}
