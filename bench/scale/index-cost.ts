/**
 * bench/scale/index-cost.ts — what migration 0029's index costs a snapshot insert, and what it buys a mixed sort.
 *
 *   node --import tsx bench/scale/index-cost.ts --snapshots 100000 --rounds 6 --stores sqlite,postgres
 *
 * One database per store, migrated to the current schema and seeded with --snapshots rows in one project. Then
 * rounds alternate between "with" and "without" the 0029 index (dropped and recreated between rounds, so both
 * halves see the same table, the same load and the same database): each round inserts --batch snapshots in
 * multi-row statements of 500 inside one transaction, newest last as real creations are, and times the first page
 * of `status:asc,created_at:desc` through the store's own list query. Prints the medians and the load.
 *
 * PostgreSQL: CINDERBOX_BENCH_DATABASE_URL, else the loopback cluster at 127.0.0.1:55432; a database of its own,
 * dropped at the end.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { createTestDatabase, dropTestDatabase } from '../../packages/server/src/test-support/harness.js';
import { openDatabase } from '../../packages/server/src/store/database.js';
import { asScope } from '../../packages/server/src/store/metadata-store.js';
import { snapshotsRepository } from '../../packages/server/src/store/repositories/snapshots.js';

const { values: args } = parseArgs({
  options: {
    snapshots: { type: 'string', default: '100000' },
    batch: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '6' },
    stores: { type: 'string', default: 'sqlite,postgres' },
  },
});
const NSNAP = Number(args.snapshots);
const BATCH = Number(args.batch);
const ROUNDS = Number(args.rounds);
const PG_DEFAULT = 'postgres://cinderbox:cinderbox@127.0.0.1:55432/cinderbox';
const INDEX = 'snapshots_project_hidden_status_newest';
const CREATE = `CREATE INDEX ${INDEX} ON snapshots (project_id, hidden, status, created_at DESC, id)`;

const load = () => loadavg()[0]!.toFixed(1);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const log = (s: string) => process.stderr.write(`[index-cost load ${load()}] ${s}\n`);

let next = 0;
const base = Date.parse('2020-01-01T00:00:00Z');
function row(project: string) {
  const i = next++;
  const id = randomUUID();
  return {
    id,
    project_id: project,
    user_id: 'u',
    volume_id: 'v',
    name: `s${String(i).padStart(8, '0')}`,
    description: null,
    size: 1,
    // Nearly all available, as in service: the status runs are long.
    status: i % 50 === 0 ? 'error' : 'available',
    progress: '100%',
    volume_type_id: null,
    use_quota: 1,
    provider_location: `snap-${id}`,
    hidden: 0,
    created_at: new Date(base + i * 1000).toISOString(),
    updated_at: null,
  };
}

async function insert(db: any, n: number): Promise<number> {
  const t = performance.now();
  await db.transaction().execute(async (tx: any) => {
    for (let b = 0; b < n; b += 500) await tx.insertInto('snapshots').values(Array.from({ length: Math.min(500, n - b) }, () => row('p'))).execute();
  });
  return ((performance.now() - t) / n) * 1000;
}

async function measure(kind: 'sqlite' | 'postgres') {
  const dir = await mkdtemp(join(tmpdir(), 'cinderbox-index-cost-'));
  const admin = process.env.CINDERBOX_BENCH_DATABASE_URL ?? PG_DEFAULT;
  const url = kind === 'postgres' ? await createTestDatabase(admin) : null;
  const opened = await openDatabase({ dataDir: dir, database: url ? { kind: 'postgres', url } : { kind: 'sqlite' } });
  try {
    const db = opened.db as any;
    for (let at = 0; at < NSNAP; at += 50_000) await insert(db, Math.min(50_000, NSNAP - at));
    await sql.raw(kind === 'postgres' ? 'vacuum analyze' : 'analyze').execute(db);
    log(`${kind}: seeded ${NSNAP}`);
    const page = async () => {
      const t = performance.now();
      const r = await snapshotsRepository.list(asScope(db), {
        where: { projectId: 'p', filters: [] },
        order: [
          { column: 'status', dir: 'asc' },
          { column: 'created_at', dir: 'desc' },
          { column: 'id', dir: 'asc' },
        ],
        limit: 100,
        marker: null,
        offset: null,
        withCount: false,
      });
      if (!r.ok || r.items.length !== 100) throw new Error('page');
      return performance.now() - t;
    };
    const m = { with: { insert: [] as number[], page: [] as number[] }, without: { insert: [] as number[], page: [] as number[] } };
    let indexed = true;
    for (let round = 0; round < 2 * ROUNDS; round++) {
      const want = round % 2 === 0;
      if (want !== indexed) {
        await sql.raw(want ? CREATE : `DROP INDEX ${INDEX}`).execute(db);
        if (kind === 'postgres') await sql`analyze snapshots`.execute(db);
        indexed = want;
      }
      const side = want ? m.with : m.without;
      side.insert.push(await insert(db, BATCH));
      for (let i = 0; i < 3; i++) side.page.push(await page());
    }
    if (!indexed) await sql.raw(CREATE).execute(db);
    return { kind, m, load: load() };
  } finally {
    await opened.close();
    if (url) await dropTestDatabase(admin, url);
    await rm(dir, { recursive: true, force: true });
  }
}

async function main() {
  const out: string[] = [
    `${NSNAP} snapshots in one project, then ${ROUNDS} rounds each with and without ${INDEX} (alternating); ` +
      `insert = ${BATCH} rows per round in 500-row statements, one transaction`,
    '',
    '| store | insert ms/1000 rows, with | without | with/without | first page status:asc,created_at:desc ms, with | without | load |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const kind of args.stores.split(',').map((s) => s.trim()) as ('sqlite' | 'postgres')[]) {
    const { m, load: l } = await measure(kind);
    const [wi, wo] = [median(m.with.insert), median(m.without.insert)];
    out.push(`| ${kind} | ${wi.toFixed(0)} | ${wo.toFixed(0)} | ${(wi / wo).toFixed(2)} | ${median(m.with.page).toFixed(1)} | ${median(m.without.page).toFixed(1)} | ${l} |`);
  }
  console.log(out.join('\n'));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
