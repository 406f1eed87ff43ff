/**
 * bench/api/query-compile — what precompiling a hot query buys, below the HTTP layer and its noise: the same
 * point read (a snapshot by id, and one joined with its metadata) built and compiled by kysely on every call, as
 * the repositories did, against store/prepared.ts (compiled once, parameters swapped). Per store, µs per call.
 *
 *   node --import tsx bench/api/query-compile.ts [--calls 20000] [--stores sqlite,postgres]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openDatabase, type OpenedDatabase } from '../../packages/server/src/store/database.js';
import { prepared } from '../../packages/server/src/store/prepared.js';
import { createTestDatabase, dropTestDatabase } from '../../packages/server/src/test-support/harness.js';

const { values: args } = parseArgs({
  options: {
    calls: { type: 'string', default: '20000' },
    stores: { type: 'string', default: 'sqlite,postgres' },
    'database-url': { type: 'string', default: process.env.CINDERBOX_BENCH_DATABASE_URL ?? 'postgres://cinderbox:cinderbox@127.0.0.1:55432/cinderbox' },
  },
});
const CALLS = Number(args.calls);

const byId = prepared<{ id: string }, { id: string }>((db, arg) =>
  db.selectFrom('snapshots').selectAll().where('id', '=', arg('id')).where('hidden', '=', 0),
);

async function timeIt(fn: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 2000; i++) await fn(i); // warm-up: JIT, statement caches
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) await fn(i);
  return Number(process.hrtime.bigint() - t0) / 1000 / CALLS;
}

async function seed(database: OpenedDatabase, ids: string[]) {
  const created_at = '2026-12-07T00:00:00.000000';
  for (const id of ids) {
    await database.db
      .insertInto('snapshots')
      .values({ id, project_id: 'p', user_id: 'u', volume_id: 'v', name: id, description: null, size: 1, status: 'available', progress: '100%', volume_type_id: null, use_quota: 1, provider_location: null, hidden: 0, created_at, updated_at: null })
      .execute();
  }
}

const rows: string[][] = [];
for (const store of args.stores.split(',')) {
  const dir = await mkdtemp(join(tmpdir(), 'cbx-qc-'));
  let url: string | null = null;
  if (store === 'postgres') url = await createTestDatabase(args['database-url']);
  const database = await openDatabase({ dataDir: dir, database: url ? { kind: 'postgres', url } : { kind: 'sqlite' } });
  try {
    const ids = Array.from({ length: 100 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    await seed(database, ids);
    const db = database.db;
    const built = await timeIt((i) => db.selectFrom('snapshots').selectAll().where('id', '=', ids[i % 100]!).where('hidden', '=', 0).executeTakeFirst());
    const pre = await timeIt(async (i) => (await byId(db, { id: ids[i % 100]! }))[0]);
    rows.push([store, built.toFixed(1), pre.toFixed(1), `${((1 - pre / built) * 100).toFixed(0)} %`]);
  } finally {
    await database.close();
    if (url) await dropTestDatabase(args['database-url'], url);
    await rm(dir, { recursive: true, force: true });
  }
}
console.log(`snapshot by id, ${CALLS} sequential calls after 2000 warm-up, µs per call`);
console.log(['store', 'kysely per call', 'prepared', 'saved'].map((h) => h.padEnd(16)).join(''));
for (const r of rows) console.log(r.map((c) => c.padEnd(16)).join(''));
