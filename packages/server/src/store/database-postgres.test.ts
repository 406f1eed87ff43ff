/**
 * The PostgreSQL pool's failure handling, below the HTTP layer: idle connections killed by the server, and a
 * table changed under a prepared statement by another node's migration. PostgreSQL pass only.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { sql } from 'kysely';
import type { OpenedDatabase } from './database.js';
import { openTestDatabase } from '../test-support/harness.js';

const enabled = Boolean(process.env.CINDERBOX_TEST_DATABASE_URL);

describe('the PostgreSQL pool', { skip: enabled ? false : 'runs in the PostgreSQL pass (CINDERBOX_TEST_DATABASE_URL)' }, () => {
  let dir: string;
  let database: OpenedDatabase;
  let side: pg.Client;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cinderbox-pgpool-'));
    database = await openTestDatabase(dir);
    const { rows } = await sql<{ url: string }>`select current_database() as url`.execute(database.db);
    const u = new URL(process.env.CINDERBOX_TEST_DATABASE_URL!);
    u.pathname = `/${rows[0]!.url}`;
    side = new pg.Client({ connectionString: u.toString() });
    await side.connect();
  });
  after(async () => {
    await side?.end();
    await database?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('idle connections the server terminates are replaced; the process keeps running', async () => {
    // Fill the pool with idle connections, then have the server end all of them.
    await Promise.all(Array.from({ length: 5 }, () => sql`select pg_sleep(0.05)`.execute(database.db)));
    const killed = await side.query(
      `select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and application_name = 'cinderbox'`,
    );
    assert.ok(killed.rowCount! >= 1, 'no pooled connection was found to terminate');
    await new Promise((r) => setTimeout(r, 100));
    const n = await database.db.selectFrom('tasks').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    assert.equal(n.n, 0, 'bigint counts arrive as numbers');
  });

  test('a table altered under a prepared select * is read again instead of failing', async () => {
    const read = () => database.db.selectFrom('node_state').selectAll().execute();
    for (let i = 0; i < 12; i++) await read(); // prepared (and generically planned) on the pooled connections
    await side.query('alter table node_state add column cbx_test_extra text');
    try {
      for (let i = 0; i < 12; i++) await read();
    } finally {
      await side.query('alter table node_state drop column cbx_test_extra');
    }
  });
});
