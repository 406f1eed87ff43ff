import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { mountSmallFs, type SmallFs } from '../tests/full-disk/small-fs.js';
import { openDatabase, type OpenedDatabase } from './database.js';
import { metadataStore } from './metadata-store.js';
import { RESERVE_FILE } from './metadata-reserve.js';

const onPostgres = Boolean(process.env.CINDERBOX_TEST_DATABASE_URL);
const mounted = onPostgres ? { skipped: 'SQLite only: on PostgreSQL the reserve is the DBA\'s business' } : await mountSmallFs(64);
const skip = 'skipped' in mounted ? mounted.skipped : false;
if (skip) console.log(`# metadata reserve tests skipped: ${skip}`);

describe('the SQLite metadata store keeps a space reserve for writes on a full disk', { skip }, () => {
  const fs = mounted as SmallFs;
  after(() => fs.release());

  async function open(name: string, reserveBytes: number): Promise<OpenedDatabase> {
    const dataDir = join(fs.mountPoint, name);
    await mkdir(dataDir, { recursive: true });
    const db = await openDatabase({ dataDir, database: { kind: 'sqlite', reserveBytes } });
    await sql`create table t (x blob)`.execute(db.db);
    return db;
  }

  let withReserve: OpenedDatabase;
  let without: OpenedDatabase;
  before(async () => {
    withReserve = await open('with', 4 * 1024 * 1024);
    without = await open('without', 0);
    await fs.fill();
  });
  after(async () => {
    await withReserve?.close();
    await without?.close();
  });

  test('without a reserve a write on a full disk fails with SQLITE_FULL', async () => {
    await assert.rejects(sql`insert into t values (randomblob(200000))`.execute(without.db), (e: { code?: string }) => {
      assert.match(String(e.code), /^SQLITE_FULL/);
      return true;
    });
  });

  test('with a reserve, status-sized writes and transactions keep going on the full disk, from free pages', async () => {
    const store = metadataStore(withReserve);
    for (let i = 0; i < 30; i++) {
      await sql`insert into t values (randomblob(50000))`.execute(withReserve.db);
      await store.transaction(async (tx) => {
        await sql`update t set x = randomblob(1000) where rowid = 1`.execute(tx as never);
        await sql`insert into t values (randomblob(1000))`.execute(tx as never);
      });
    }
    const rows = await sql<{ n: number }>`select count(*) as n from t`.execute(withReserve.db);
    assert.equal(rows.rows[0]?.n, 60);
    assert.equal(withReserve.reserve?.releases, 0, 'the free pages sufficed');
  });

  test('a write larger than the free pages gets the reserve file, which is taken back right after', async () => {
    await sql`insert into t values (randomblob(6000000))`.execute(withReserve.db);
    assert.equal(withReserve.reserve?.releases, 1);
    // refill() took back what the write left of the freed space: the file exists again (perhaps smaller).
    assert.ok(existsSync(join(fs.mountPoint, 'with', RESERVE_FILE)));
  });

  test('the reserve comes back once the disk has room for it', async () => {
    await fs.unfill();
    assert.equal(await withReserve.reserve?.ensure(), true);
    assert.ok(existsSync(join(fs.mountPoint, 'with', RESERVE_FILE)));
  });
});
