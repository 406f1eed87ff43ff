import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Snapshot } from '../../domain/snapshot.js';
import { openTestDatabase } from '../../test-support/harness.js';
import { snapshotRow } from '../../test-support/rows.js';
import type { OpenedDatabase } from '../database.js';
import { asScope } from '../metadata-store.js';
import { groupsRepository } from './groups.js';
import { writeMetadata } from './metadata.js';
import { snapshotsRepository } from './snapshots.js';

// Runs on SQLite, and on PostgreSQL in the second pass (CINDERBOX_TEST_DATABASE_URL).
describe('snapshot repository: the snapshot and its metadata in one query', () => {
  let dir: string;
  let database: OpenedDatabase;
  const snap = (id: string, hidden: boolean): Snapshot => snapshotRow(id, { hidden });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cinderbox-snaprepo-'));
    database = await openTestDatabase(dir);
    const scope = asScope(database.db);
    await snapshotsRepository.insert(scope, snap('with-md', false));
    await snapshotsRepository.insert(scope, snap('without-md', false));
    await snapshotsRepository.insert(scope, snap('hidden', true));
    await writeMetadata(database.db, 'snapshot', 'with-md', { b: '2', a: '1', c: '' }, true);
    await writeMetadata(database.db, 'snapshot', 'hidden', { a: '1' }, true);
  });
  after(async () => {
    await database.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('metadata comes back whole, keyed, and equal to the separate read', async () => {
    const scope = asScope(database.db);
    const found = await snapshotsRepository.getWithMetadata(scope, 'with-md');
    assert.ok(found);
    assert.deepEqual(found.metadata, { a: '1', b: '2', c: '' });
    assert.deepEqual(Object.keys(found.metadata), ['a', 'b', 'c']);
    assert.deepEqual(found.snapshot, await snapshotsRepository.get(scope, 'with-md'));
  });

  test('no metadata is an empty object; hidden and unknown snapshots are not found', async () => {
    const scope = asScope(database.db);
    const bare = await snapshotsRepository.getWithMetadata(scope, 'without-md');
    assert.deepEqual(bare?.metadata, {});
    assert.equal(bare?.snapshot.name, 'without-md');
    assert.equal(await snapshotsRepository.getWithMetadata(scope, 'hidden'), undefined);
    assert.equal(await snapshotsRepository.getWithMetadata(scope, 'nope'), undefined);
  });

  test('the group snapshot comes with the row, as the group repository records it', async () => {
    const scope = asScope(database.db);
    assert.equal((await snapshotsRepository.getWithMetadata(scope, 'without-md'))?.groupSnapshotId, null);
    await groupsRepository.setGroupSnapshot(scope, ['with-md'], 'gs-1');
    assert.equal((await snapshotsRepository.getWithMetadata(scope, 'with-md'))?.groupSnapshotId, 'gs-1');
    assert.deepEqual(await groupsRepository.groupSnapshotsOf(scope, ['with-md', 'without-md']), new Map([['with-md', 'gs-1']]));
  });
});
