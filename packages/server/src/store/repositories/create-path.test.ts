import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openTestDatabase } from '../../test-support/harness.js';
import { snapshotRow } from '../../test-support/rows.js';
import type { OpenedDatabase } from '../database.js';
import { asScope } from '../metadata-store.js';
import { quotaRepository } from './quotas.js';
import { snapshotsRepository } from './snapshots.js';

// The snapshot create path's statements run as prepared (compiled once) queries; these pin what they answer.
// Runs on SQLite, and on PostgreSQL in the second pass (CINDERBOX_TEST_DATABASE_URL).
describe('create path: guarded transitions and quota counters', () => {
  let dir: string;
  let database: OpenedDatabase;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cinderbox-createpath-'));
    database = await openTestDatabase(dir);
  });
  after(async () => {
    await database.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('a transition returns the row as written; a refusal says the status; a missing row is gone', async () => {
    const scope = asScope(database.db);
    await snapshotsRepository.insert(scope, snapshotRow('s1', { status: 'creating', progress: '0%' }));
    const moved = await snapshotsRepository.transition(scope, 's1', ['creating'], 'available', { progress: '100%', updated_at: 't1' });
    assert.ok(moved.ok);
    assert.equal(moved.record.status, 'available');
    assert.equal(moved.record.progress, '100%');
    assert.equal(moved.record.updated_at, 't1');
    assert.equal(moved.record.name, 's1');

    // Same shape again (the compiled statement is reused) with other values: it must bind the new ones.
    const again = await snapshotsRepository.transition(scope, 's1', ['creating'], 'error', { progress: '0%', updated_at: 't2' });
    assert.deepEqual(again, { ok: false, reason: 'status', status: 'available' });
    assert.equal((await snapshotsRepository.get(scope, 's1'))?.progress, '100%');

    const touched = await snapshotsRepository.transition(scope, 's1', ['available', 'in-use'], null, { updated_at: 't3' });
    assert.ok(touched.ok);
    assert.equal(touched.record.status, 'available');
    assert.equal(touched.record.updated_at, 't3');

    assert.deepEqual(await snapshotsRepository.transition(scope, 's1', [], 'deleting'), { ok: false, reason: 'status', status: 'available' });
    assert.deepEqual(await snapshotsRepository.transition(scope, 'nope', null, 'deleting'), { ok: false, reason: 'gone' });
  });

  test('quota add: first use creates the counter, the limit refuses without moving it, negatives release', async () => {
    const scope = asScope(database.db);
    assert.equal(await quotaRepository.add(scope, 'p1', 'gigabytes', 6, 10), true);
    assert.equal(await quotaRepository.add(scope, 'p1', 'gigabytes', 5, 10), false);
    assert.deepEqual(await quotaRepository.usage(scope, 'p1'), { gigabytes: 6 });
    assert.equal(await quotaRepository.add(scope, 'p1', 'gigabytes', 4, 10), true);
    assert.equal(await quotaRepository.add(scope, 'p1', 'gigabytes', -7, 10), true);
    assert.deepEqual(await quotaRepository.usage(scope, 'p1'), { gigabytes: 3 });
    // More than the limit on first use is refused, and leaves a zero counter behind (as the insert-first form did).
    assert.equal(await quotaRepository.add(scope, 'p2', 'snapshots', 3, 2), false);
    assert.deepEqual(await quotaRepository.usage(scope, 'p2'), { snapshots: 0 });
    // Unlimited still stops where the 32-bit counter would overflow.
    assert.equal(await quotaRepository.add(scope, 'p3', 'gigabytes', 2147483647, -1), true);
    assert.equal(await quotaRepository.add(scope, 'p3', 'gigabytes', 1, -1), false);
  });
});
