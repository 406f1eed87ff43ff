import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import type { Snapshot } from '../domain/snapshot.js';
import { openTestDatabase } from '../test-support/harness.js';
import { snapshotRow } from '../test-support/rows.js';
import type { OpenedDatabase } from './database.js';
import { asScope, metadataStore } from './metadata-store.js';
import { metadataRepository, readMetadata } from './repositories/metadata.js';
import { snapshotsRepository } from './repositories/snapshots.js';

const onPostgres = Boolean(process.env.CINDERBOX_TEST_DATABASE_URL);

// Runs on SQLite, and on PostgreSQL in the second pass (CINDERBOX_TEST_DATABASE_URL).
describe('snapshots.metadata_json (migration 0032) agrees with snapshot_metadata through every kind of write', () => {
  let dir: string;
  let database: OpenedDatabase;
  const snap = (id: string): Snapshot => snapshotRow(id);
  const stored = async (id: string): Promise<string> => {
    const r = await sql<{ j: string }>`select metadata_json as j from snapshots where id = ${id}`.execute(database.db);
    assert.equal(r.rows.length, 1, `snapshot ${id} exists`);
    return r.rows[0]!.j;
  };
  /** The column parses to exactly what the table holds, and lists its keys in key order. */
  const agrees = async (id: string, expect: Record<string, string>) => {
    const truth = await readMetadata(database.db, 'snapshot', id);
    assert.deepEqual(truth, expect, 'the table holds what was written');
    const text = await stored(id);
    const parsed = JSON.parse(text) as Record<string, string>;
    assert.deepEqual(parsed, expect, `metadata_json of ${id}: ${text}`);
    // The text lists keys in the store's key order, as the object path reads them.
    const keys = [...text.matchAll(/"((?:[^"\\]|\\.)*)"\s*:/g)].map((m) => JSON.parse(`"${m[1]}"`) as string);
    const ordered = await database.db.selectFrom('snapshot_metadata').select('key').where('snapshot_id', '=', id).orderBy('key').execute();
    assert.deepEqual(keys, ordered.map((r) => r.key));
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cinderbox-mdjson-'));
    database = await openTestDatabase(dir);
  });
  after(async () => {
    await database.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('a new snapshot has {}; sets, merges, replaces, key deletes and whole deletes rebuild it', async () => {
    const scope = asScope(database.db);
    await snapshotsRepository.insert(scope, snap('s1'));
    await snapshotsRepository.insert(scope, snap('s2'));
    assert.equal(await stored('s1'), '{}');
    await metadataRepository.write(scope, 'snapshot', 's1', { b: '2', a: '1' }, false);
    await agrees('s1', { a: '1', b: '2' });
    await metadataRepository.write(scope, 'snapshot', 's1', { b: 'two', c: '3' }, false);
    await agrees('s1', { a: '1', b: 'two', c: '3' });
    await metadataRepository.write(scope, 'snapshot', 's1', { z: 'only' }, true);
    await agrees('s1', { z: 'only' });
    assert.ok(await metadataRepository.deleteKey(scope, 'snapshot', 's1', 'z'));
    await agrees('s1', {});
    assert.equal(await stored('s1'), '{}');
    // Another snapshot's keys stay its own.
    await metadataRepository.write(scope, 'snapshot', 's1', { k: 'one' }, false);
    await metadataRepository.write(scope, 'snapshot', 's2', { k: 'two' }, false);
    await agrees('s1', { k: 'one' });
    await agrees('s2', { k: 'two' });
    await metadataRepository.deleteKeyEverywhere(scope, 'snapshot', 'k');
    await agrees('s1', {});
    await agrees('s2', {});
    await metadataRepository.write(scope, 'snapshot', 's2', { x: 'y' }, false);
    await metadataRepository.deleteAll(scope, 'snapshot', 's2');
    await agrees('s2', {});
  });

  test('hostile keys and values round-trip', async () => {
    const scope = asScope(database.db);
    await snapshotsRepository.insert(scope, snap('h1'));
    const hostile = {
      __proto__x: 'p',
      'quote"d': 'back\\slash',
      'ctl\u0001\n\t': 'nul-free \u001f',
      '😀 emoji': '🚀',
      "it's": '</script>',
      '10': 'ten',
      '2': 'two',
    };
    const withProto: Record<string, string> = { ...hostile };
    Object.defineProperty(withProto, '__proto__', { value: 'proto', enumerable: true, writable: true, configurable: true });
    await metadataRepository.write(scope, 'snapshot', 'h1', withProto, false);
    await agrees('h1', withProto);
    assert.equal(Object.getPrototypeOf(JSON.parse(await stored('h1'))), Object.prototype, 'a __proto__ key is data');
  });

  test('hand-run statements: a key moved to another snapshot, a value changed, a snapshot inserted after its metadata', async () => {
    const scope = asScope(database.db);
    await snapshotsRepository.insert(scope, snap('m1'));
    await snapshotsRepository.insert(scope, snap('m2'));
    await metadataRepository.write(scope, 'snapshot', 'm1', { a: '1', b: '2' }, false);
    await database.db.updateTable('snapshot_metadata').set({ snapshot_id: 'm2' }).where('snapshot_id', '=', 'm1').where('key', '=', 'b').execute();
    await agrees('m1', { a: '1' });
    await agrees('m2', { b: '2' });
    await database.db.updateTable('snapshot_metadata').set({ value: 'changed' }).where('snapshot_id', '=', 'm1').execute();
    await agrees('m1', { a: 'changed' });
    // Metadata first (a restore or copy in another order), and a writer that names a wrong object.
    await database.db.insertInto('snapshot_metadata').values({ snapshot_id: 'late', key: 'k', value: 'v' }).execute();
    await snapshotsRepository.insert(scope, snap('late'));
    await agrees('late', { k: 'v' });
    await database.db
      .insertInto('snapshots')
      .values({ ...snap('lying'), use_quota: 1, hidden: 0, metadata_json: '{"forged":"1"}' } as never)
      .execute();
    await agrees('lying', {});
  });

  test('a transaction that rolls back takes its change with it', async () => {
    const scope = asScope(database.db);
    await snapshotsRepository.insert(scope, snap('r1'));
    await metadataRepository.write(scope, 'snapshot', 'r1', { keep: '1' }, false);
    await assert.rejects(
      metadataStore(database).transaction(async (s) => {
        await metadataRepository.write(s, 'snapshot', 'r1', { gone: '1' }, true);
        throw new Error('rollback');
      }),
      /rollback/,
    );
    await agrees('r1', { keep: '1' });
  });

  test(
    'two transactions adding different keys to one snapshot at once both show',
    { skip: onPostgres ? false : 'PostgreSQL only: SQLite has a single writer' },
    async () => {
      const scope = asScope(database.db);
      await snapshotsRepository.insert(scope, snap('c1'));
      const store = metadataStore(database);
      let firstWrote!: () => void;
      const wrote = new Promise<void>((r) => (firstWrote = r));
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      const first = store.transaction(async (s) => {
        await metadataRepository.write(s, 'snapshot', 'c1', { a: '1' }, false);
        firstWrote();
        await released;
      });
      await wrote;
      // Started while the first holds its write: it waits on the snapshot row, then must see `a`.
      const second = store.transaction(async (s) => {
        await metadataRepository.write(s, 'snapshot', 'c1', { b: '2' }, false);
      });
      // Let the second reach its wait before the first commits (if it has not, the check below still holds).
      await new Promise((r) => setTimeout(r, 300));
      release();
      await Promise.all([first, second]);
      await agrees('c1', { a: '1', b: '2' });
    },
  );
});
