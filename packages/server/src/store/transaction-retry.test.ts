import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openTestDatabase } from '../test-support/harness.js';
import type { OpenedDatabase } from './database.js';
import { executor, metadataStore } from './metadata-store.js';

const onPostgres = Boolean(process.env.CINDERBOX_TEST_DATABASE_URL);

// Deadlocks need two writers at once: SQLite has one, so this runs in the PostgreSQL pass only.
describe('a transaction the database aborts for a deadlock is run again', { skip: onPostgres ? false : 'PostgreSQL only (CINDERBOX_TEST_DATABASE_URL): SQLite has a single writer and cannot deadlock' }, () => {
  let dir: string;
  let database: OpenedDatabase;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cinderbox-retry-'));
    database = await openTestDatabase(dir);
    const created_at = '2026-12-07T00:00:00.000000';
    await database.db
      .insertInto('roles')
      .values([
        { id: 'a', name: 'a', domain_id: null, description: '0', created_at },
        { id: 'b', name: 'b', domain_id: null, description: '0', created_at },
      ])
      .execute();
  });
  after(async () => {
    await database.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('two transactions locking two rows in opposite orders both commit, one of them on a second run', async () => {
    const store = metadataStore(database);
    const runs = { ab: 0, ba: 0 };
    let bothHoldFirstLock!: () => void;
    const firstLocks = new Promise<void>((r) => {
      let n = 0;
      bothHoldFirstLock = () => {
        if (++n === 2) r();
      };
    });
    const bump = (first: string, second: string, key: 'ab' | 'ba') =>
      store.transaction(async (scope) => {
        runs[key]++;
        const tx = executor(scope);
        await tx.updateTable('roles').set({ description: `${key}${runs[key]}` }).where('id', '=', first).execute();
        // On the first run both wait until each holds its first row: then each asks for the other's, a deadlock.
        if (runs[key] === 1) {
          bothHoldFirstLock();
          await firstLocks;
        }
        await tx.updateTable('roles').set({ description: `${key}${runs[key]}` }).where('id', '=', second).execute();
      });
    await Promise.all([bump('a', 'b', 'ab'), bump('b', 'a', 'ba')]);
    assert.equal(runs.ab + runs.ba, 3, `one of the two ran again (runs: ${JSON.stringify(runs)})`);
    const rows = await database.db.selectFrom('roles').select(['id', 'description']).orderBy('id').execute();
    // Both rows carry the writes of whichever committed last, as a serial order would leave them.
    assert.equal(rows[0]!.description, rows[1]!.description);
  });

  test('other errors are not retried', async () => {
    const store = metadataStore(database);
    let runs = 0;
    await assert.rejects(
      store.transaction(async (scope) => {
        runs++;
        await executor(scope).insertInto('roles').values({ id: 'a', name: 'dup', domain_id: null, description: null, created_at: 'x' }).execute();
      }),
    );
    assert.equal(runs, 1);
  });
});
