import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openTestDatabase } from '../test-support/harness.js';
import type { OpenedDatabase } from './database.js';
import { prepared } from './prepared.js';

// Runs on SQLite, and on PostgreSQL in the second pass (CINDERBOX_TEST_DATABASE_URL).
describe('prepared queries (compiled once, run with new arguments)', () => {
  let dir: string;
  let database: OpenedDatabase;
  const roleByName = prepared<{ name: string }, { id: string; name: string }>((db, arg) =>
    db.selectFrom('roles').select(['id', 'name']).where('name', '=', arg('name')).where('domain_id', 'is', null),
  );

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cinderbox-prepared-'));
    database = await openTestDatabase(dir);
    const created_at = '2026-12-07T00:00:00.000000';
    await database.db
      .insertInto('roles')
      .values([
        { id: 'r1', name: 'alpha', domain_id: null, description: null, created_at },
        { id: 'r2', name: 'beta', domain_id: null, description: null, created_at },
        { id: 'r3', name: 'gamma', domain_id: 'd', description: null, created_at },
      ])
      .execute();
  });
  after(async () => {
    await database.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('each call binds its own argument; constants stay as written', async () => {
    assert.deepEqual(await roleByName(database.db, { name: 'alpha' }), [{ id: 'r1', name: 'alpha' }]);
    assert.deepEqual(await roleByName(database.db, { name: 'beta' }), [{ id: 'r2', name: 'beta' }]);
    // The constant condition (domain_id is null) still applies on the reused statement.
    assert.deepEqual(await roleByName(database.db, { name: 'gamma' }), []);
    assert.deepEqual(await roleByName(database.db, { name: 'nobody' }), []);
  });

  test('inside a transaction it sees the transaction, not the committed state', async () => {
    await database.db
      .transaction()
      .execute(async (tx) => {
        await tx.updateTable('roles').set({ name: 'renamed' }).where('id', '=', 'r1').execute();
        assert.deepEqual(await roleByName(tx, { name: 'renamed' }), [{ id: 'r1', name: 'renamed' }]);
        throw new Error('roll back');
      })
      .catch(() => {});
    assert.deepEqual(await roleByName(database.db, { name: 'renamed' }), []);
    assert.deepEqual(await roleByName(database.db, { name: 'alpha' }), [{ id: 'r1', name: 'alpha' }]);
  });

  test('a query that binds no argument is refused when first run', async () => {
    const constant = prepared<{ name: string }, { id: string }>((db) => db.selectFrom('roles').select('id').where('name', '=', 'alpha'));
    await assert.rejects(constant(database.db, { name: 'x' }), /binds no argument/);
  });
});
