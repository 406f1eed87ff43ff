/**
 * How long migration 0033 (snapshots.detail_head, rendered for every existing row) takes on a big store.
 *   [CINDERBOX_TEST_DATABASE_URL=...] node --import tsx bench/api/migration-0033.ts [--rows 100000]
 * Seeds `--rows` snapshots (one in ten with two metadata keys) by bulk SQL on a migrated store, takes 0033 back
 * (triggers, function, column, log row), then reopens the store, which runs 0033 again, and times that.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Kysely, sql } from 'kysely';
import { createTestDatabase, dropTestDatabase } from '../../packages/server/src/test-support/harness.js';
import { openDatabase } from '../../packages/server/src/store/database.js';
import type { DatabaseConfig } from '../../packages/server/src/config/config.js';

const { values: args } = parseArgs({ options: { rows: { type: 'string', default: '100000' } } });
const N = Number(args.rows);

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'cinderbox-mig0033-'));
  const admin = process.env.CINDERBOX_TEST_DATABASE_URL;
  const url = admin ? await createTestDatabase(admin) : undefined;
  const config: DatabaseConfig = url ? { kind: 'postgres', url } : { kind: 'sqlite' };
  try {
    let d = await openDatabase({ dataDir: dir, database: config });
    const db = d.db;
    const t0 = performance.now();
    const series = url
      ? sql.raw(`generate_series(1, ${N}) as g(i)`)
      : sql.raw(`(with recursive c(i) as (select 1 union all select i + 1 from c where i < ${N}) select i from c) as g`);
    const pad = url ? (e: string) => `lpad(${e}::text, 12, '0')` : (e: string) => `substr('000000000000' || ${e}, -12, 12)`;
    // Bulk-seeded without the 0033 triggers, as the rows of a store from before 0033 are.
    await takeBack(db, url !== undefined);
    await sql`insert into snapshots (id, project_id, user_id, volume_id, name, description, size, status, progress,
        volume_type_id, use_quota, provider_location, hidden, created_at, updated_at)
      select ${sql.raw(`'00000000-0000-4000-8000-' || ${pad('i')}`)}, 'p' || (i % 10), 'u', 'v', 's' || i, 'd "' || i, 1,
        'available', '100%', null, 1, null, 0, '2026-12-07T00:00:00.' || ${sql.raw(pad('i'))}, null from ${series}`.execute(db);
    await sql`insert into snapshot_metadata (snapshot_id, key, value)
      select ${sql.raw(`'00000000-0000-4000-8000-' || ${pad('i')}`)}, k, 'v' || i from ${series}
      cross join (select 'a' as k union all select 'b"\\' as k) ks where i % 10 = 0`.execute(db);
    const seeded = performance.now() - t0;
    await d.close();
    const t1 = performance.now();
    d = await openDatabase({ dataDir: dir, database: config });
    const migrated = performance.now() - t1;
    const empty = await sql<{ n: number | string }>`select count(*) as n from snapshots where detail_head = ''`.execute(d.db);
    await d.close();
    console.log(
      `${url ? 'postgres' : 'sqlite'}: ${N} snapshots (seeded in ${(seeded / 1000).toFixed(1)} s); opening the store with 0033 to run: ${(migrated / 1000).toFixed(2)} s; rows left unrendered: ${Number(empty.rows[0]!.n)} (load ${loadavg()[0]!.toFixed(1)})`,
    );
  } finally {
    if (admin && url) await dropTestDatabase(admin, url);
    await rm(dir, { recursive: true, force: true });
  }
}

/** The store as it was before 0033: its triggers, function and column gone, its log row too. */
async function takeBack(db: Kysely<any>, pg: boolean): Promise<void> {
  if (pg) {
    await sql`drop function cinderbox_snapshot_detail_head() cascade`.execute(db);
  } else {
    await sql`drop trigger snapshots_detail_head_insert`.execute(db);
    await sql`drop trigger snapshots_detail_head_update`.execute(db);
  }
  await sql`alter table snapshots drop column detail_head`.execute(db);
  await sql`delete from kysely_migration where name = '0033-snapshot-detail-head'`.execute(db);
}

await main();
