import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sql } from 'kysely';
import { openTestDatabase } from '../../test-support/harness.js';
import { asScope } from '../metadata-store.js';
import { blockStorageStore } from './block-storage.js';

// Runs on SQLite, and on PostgreSQL in the second pass (CINDERBOX_TEST_DATABASE_URL).
test('driversInUse: each driver existing volumes name, once, sorted; none for no volumes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cinderbox-drivers-'));
  const database = await openTestDatabase(dir);
  try {
    const scope = asScope(database.db);
    const volumes = blockStorageStore().volumes;
    assert.deepEqual(await volumes.driversInUse(scope), []);
    const db = database.db as any;
    const drivers = ['raw', 'rbd', 'qcow2', 'raw', 'rbd', 'raw', 'zz-last', 'a-first', 'raw'];
    await db
      .insertInto('volumes')
      .values(
        drivers.map((driver, i) => ({
          id: `v${i}`,
          project_id: 'p',
          user_id: 'u',
          size: 1,
          status: 'available',
          availability_zone: 'nova',
          volume_type_id: 't',
          host: 'cinderbox@b#p',
          driver,
          created_at: '2026-12-07T00:00:00.000000',
        })),
      )
      .execute();
    assert.deepEqual(await volumes.driversInUse(scope), ['a-first', 'qcow2', 'raw', 'rbd', 'zz-last']);
    // The start-up query is answered from the index (migration 0031), not a read of every volume.
    const plan =
      database.kind === 'postgres'
        ? (await sql<{ 'QUERY PLAN': string }>`EXPLAIN SELECT min(v.driver) FROM volumes v WHERE v.driver > 'raw'`.execute(db)).rows.map((r) => r['QUERY PLAN']).join('\n')
        : (await sql<{ detail: string }>`EXPLAIN QUERY PLAN SELECT min(v.driver) FROM volumes v WHERE v.driver > 'raw'`.execute(db)).rows.map((r) => r.detail).join('\n');
    if (database.kind === 'postgres') {
      // A 9-row table is read whole by the planner's choice; with the scan disabled only the index can serve.
      await sql`SET enable_seqscan = off`.execute(db);
      const forced = (await sql<{ 'QUERY PLAN': string }>`EXPLAIN SELECT min(v.driver) FROM volumes v WHERE v.driver > 'raw'`.execute(db)).rows.map((r) => r['QUERY PLAN']).join('\n');
      await sql`SET enable_seqscan = on`.execute(db);
      assert.match(forced, /volumes_driver/);
    } else {
      assert.match(plan, /volumes_driver/);
    }
  } finally {
    await database.close();
    await rm(dir, { recursive: true, force: true });
  }
});
