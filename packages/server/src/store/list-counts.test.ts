import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import type { ListQuery } from '../domain/ports/block-storage-store.js';
import type { Snapshot } from '../domain/snapshot.js';
import { openTestDatabase } from '../test-support/harness.js';
import type { OpenedDatabase } from './database.js';
import { asScope } from './metadata-store.js';
import { snapshotsRepository } from './repositories/snapshots.js';

// Runs on SQLite, and on PostgreSQL in the second pass (CINDERBOX_TEST_DATABASE_URL).
describe('with_count from list_counts (migration 0024) agrees with COUNT(*) through every kind of write', () => {
  let dir: string;
  let database: OpenedDatabase;
  const snap = (id: string, project: string, hidden: boolean, status = 'available'): Snapshot => ({
    id,
    project_id: project,
    user_id: 'u',
    volume_id: 'v',
    name: id,
    description: null,
    size: 1,
    status,
    progress: '100%',
    volume_type_id: null,
    use_quota: true,
    provider_location: null,
    hidden,
    created_at: `2026-12-07T00:00:0${id.length % 10}.000000`,
    updated_at: null,
  });
  const query = (projectId: string | null, filters: ListQuery['where']['filters'] = []): ListQuery => ({
    where: { projectId, filters },
    order: [
      { column: 'created_at', dir: 'desc' },
      { column: 'id', dir: 'desc' },
    ],
    limit: 1,
    marker: null,
    offset: null,
    withCount: true,
  });
  const counted = async (projectId: string | null, filters: ListQuery['where']['filters'] = []) => {
    const r = await snapshotsRepository.list(asScope(database.db), query(projectId, filters));
    assert.ok(r.ok);
    return r.count;
  };
  /** The truth, counted the slow way. */
  const truth = async (projectId: string | null) => {
    const r = await sql<{ n: string | number }>`select count(*) as n from snapshots where hidden = 0 ${
      projectId === null ? sql`` : sql`and project_id = ${projectId}`
    }`.execute(database.db);
    return Number(r.rows[0]!.n);
  };
  const agree = async (expect: Record<string, number>) => {
    for (const [p, n] of Object.entries(expect)) {
      assert.equal(await truth(p), n, `truth for ${p}`);
      assert.equal(await counted(p), n, `count for ${p}`);
    }
    const all = Object.values(expect).reduce((a, b) => a + b, 0);
    assert.equal(await counted(null), all, 'count over all projects');
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cinderbox-listcounts-'));
    database = await openTestDatabase(dir);
  });
  after(async () => {
    await database.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('inserts, hiding and revealing, moving between projects, deletes (through the repository and by hand)', async () => {
    const scope = asScope(database.db);
    await agree({ a: 0, b: 0 });
    for (const id of ['s1', 's22', 's333']) await snapshotsRepository.insert(scope, snap(id, 'a', false));
    await snapshotsRepository.insert(scope, snap('h1', 'a', true));
    await snapshotsRepository.insert(scope, snap('b1', 'b', false, 'error'));
    await agree({ a: 3, b: 1 });

    // An update that moves neither project nor visibility leaves the counts alone.
    await snapshotsRepository.update(scope, 's1', { status: 'error', name: 'renamed' });
    await agree({ a: 3, b: 1 });
    // Revealed, hidden again.
    await snapshotsRepository.update(scope, 'h1', { hidden: false });
    await agree({ a: 4, b: 1 });
    await snapshotsRepository.update(scope, 's22', { hidden: true });
    await agree({ a: 3, b: 1 });
    // Another project (as a transfer moves a volume's rows), in a transaction that commits.
    await database.db.transaction().execute(async (tx) => {
      await tx.updateTable('snapshots').set({ project_id: 'b' }).where('id', '=', 's333').execute();
    });
    await agree({ a: 2, b: 2 });
    // A transaction that rolls back takes its count changes with it.
    await assert.rejects(
      database.db.transaction().execute(async (tx) => {
        await tx.deleteFrom('snapshots').where('project_id', '=', 'b').execute();
        throw new Error('rollback');
      }),
      /rollback/,
    );
    await agree({ a: 2, b: 2 });
    assert.ok(await snapshotsRepository.remove(scope, 's1'));
    await snapshotsRepository.remove(scope, 's22'); // hidden: not counted, so nothing to take off
    await database.db.deleteFrom('snapshots').where('project_id', '=', 'b').execute();
    await agree({ a: 1, b: 0 });
  });

  test('a filtered list is counted by its filters, not from the per-project count', async () => {
    const scope = asScope(database.db);
    await snapshotsRepository.insert(scope, snap('f1', 'c', false, 'available'));
    await snapshotsRepository.insert(scope, snap('f22', 'c', false, 'error'));
    await snapshotsRepository.insert(scope, snap('f333', 'c', true, 'error'));
    assert.equal(await counted('c'), 2);
    assert.equal(await counted('c', [{ kind: 'eq', column: 'status', value: 'error' }]), 1);
    assert.equal(await counted('c', [{ kind: 'none' }]), 0);
  });
});
