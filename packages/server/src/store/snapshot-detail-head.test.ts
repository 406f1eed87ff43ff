import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { openTestDatabase } from '../test-support/harness.js';
import { snapshotRow } from '../test-support/rows.js';
import type { OpenedDatabase } from './database.js';
import { SNAPSHOTS_LIST, SNAPSHOT_RENDERED_FIELDS, renderedHead, renderedObject } from './list-query.js';
import { asScope } from './metadata-store.js';
import { metadataRepository } from './repositories/metadata.js';
import { snapshotsRepository } from './repositories/snapshots.js';
import { dialectOf } from './raw-sql.js';

// Runs on SQLite, and on PostgreSQL in the second pass (CINDERBOX_TEST_DATABASE_URL).
describe('snapshots.detail_head (migration 0033) is the reference rendering through every kind of write', () => {
  let dir: string;
  let database: OpenedDatabase;
  /**
   * The stored head plus its brace is, byte for byte, what the page query rendered before 0033 (json_object /
   * json_build_object over the same fields, read now from the row): the same values, formatted the same way.
   */
  const agrees = async (id: string): Promise<Record<string, unknown>> => {
    const ref = renderedObject(SNAPSHOTS_LIST, dialectOf(database.db), SNAPSHOT_RENDERED_FIELDS, '"snapshots"');
    const r = await sql<{ head: string; ref: string }>`select detail_head as head, ${sql.raw(ref)} as ref from snapshots where id = ${id}`.execute(
      database.db,
    );
    assert.equal(r.rows.length, 1, `snapshot ${id} exists`);
    assert.equal(`${r.rows[0]!.head}}`, r.rows[0]!.ref, `detail_head of ${id}`);
    return JSON.parse(r.rows[0]!.ref) as Record<string, unknown>;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cinderbox-dhead-'));
    database = await openTestDatabase(dir);
  });
  after(async () => {
    await database.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('repository writes: insert, transitions, updates, metadata', async () => {
    const scope = asScope(database.db);
    await snapshotsRepository.insert(scope, { ...snapshotRow('h1'), name: 'q"uo\\te \u0001 é ✓ 😀 </script>', description: null });
    const first = await agrees('h1');
    assert.equal(first.name, 'q"uo\\te \u0001 é ✓ 😀 </script>');
    assert.equal(first.description, null);
    assert.deepEqual(first.metadata, {});
    await snapshotsRepository.update(scope, 'h1', { status: 'available', progress: '100%', updated_at: '2026-01-02T03:04:05.000000' });
    const moved = await agrees('h1');
    assert.equal(moved.status, 'available');
    assert.equal(moved['os-extended-snapshot-attributes:progress'], '100%');
    assert.equal(moved.updated_at, '2026-01-02T03:04:05.000000');
    await metadataRepository.write(scope, 'snapshot', 'h1', { __proto__x: '1', 'a"b': 'c\nd' }, false);
    assert.deepEqual((await agrees('h1')).metadata, { __proto__x: '1', 'a"b': 'c\nd' });
    assert.ok(await metadataRepository.deleteKey(scope, 'snapshot', 'h1', 'a"b'));
    assert.deepEqual((await agrees('h1')).metadata, { __proto__x: '1' });
    await metadataRepository.write(scope, 'snapshot', 'h1', {}, true);
    assert.deepEqual((await agrees('h1')).metadata, {});
  });

  test('hand-run statements on every rendered column, and a writer that names a forged head', async () => {
    const scope = asScope(database.db);
    await snapshotsRepository.insert(scope, snapshotRow('h2'));
    const set = async (col: string, value: unknown) => {
      await sql`update snapshots set ${sql.ref(col)} = ${value} where id = 'h2'`.execute(database.db);
      return agrees('h2');
    };
    assert.equal((await set('name', 'renamed')).name, 'renamed');
    assert.equal((await set('description', 'desc')).description, 'desc');
    assert.equal((await set('status', 'error')).status, 'error');
    assert.equal((await set('size', 7)).size, 7);
    assert.equal((await set('progress', '5%'))['os-extended-snapshot-attributes:progress'], '5%');
    assert.equal((await set('project_id', 'p-moved'))['os-extended-snapshot-attributes:project_id'], 'p-moved');
    assert.equal((await set('volume_id', 'v-other')).volume_id, 'v-other');
    assert.equal((await set('created_at', '2020-01-01T00:00:00.000000')).created_at, '2020-01-01T00:00:00.000000');
    assert.equal((await set('updated_at', null)).updated_at, null);
    // A head an insert names is rendered over.
    await database.db
      .insertInto('snapshots')
      .values({ ...snapshotRow('h3'), use_quota: 1, hidden: 0, detail_head: '{"forged":1' } as never)
      .execute();
    assert.equal((await agrees('h3')).id, 'h3');
    // Metadata rows written before their snapshot (a copy in another order) reach the head through 0032's object.
    await database.db.insertInto('snapshot_metadata').values({ snapshot_id: 'h4', key: 'k', value: 'v' }).execute();
    await snapshotsRepository.insert(scope, snapshotRow('h4'));
    assert.deepEqual((await agrees('h4')).metadata, { k: 'v' });
  });
});

describe('the rendering 0033 installed', () => {
  test('is still what the code renders: a change needs a migration that re-creates the triggers and re-renders', () => {
    // 0033 built its triggers from renderedHead as it was then; a database migrated then keeps them. If the page's
    // fields or their formatting change, fresh databases would agree with the new code while existing ones kept
    // rendering the old head, and no test on a fresh database would notice. So: add a migration that drops and
    // re-creates 0033's triggers (and function, on PostgreSQL) and re-renders detail_head, then update these.
    const digest = (d: 'sqlite' | 'postgres') => createHash('sha256').update(renderedHead(SNAPSHOTS_LIST, d, 'NEW')).digest('hex').slice(0, 16);
    assert.equal(digest('sqlite'), '5450a1f3b38cb2b0');
    assert.equal(digest('postgres'), '71c443bdf7b2d2a5');
  });
});
