import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ListFilter, ListOrder, ListQuery } from '../domain/ports/block-storage-store.js';
import type { Snapshot } from '../domain/snapshot.js';
import { openTestDatabase } from '../test-support/harness.js';
import type { OpenedDatabase } from './database.js';
import { asScope } from './metadata-store.js';
import { snapshotsRepository } from './repositories/snapshots.js';

// Runs on SQLite, and on PostgreSQL in the second pass (CINDERBOX_TEST_DATABASE_URL).
describe('keyset pages (marker) continue exactly where the marker is, for every sort shape', () => {
  let dir: string;
  let database: OpenedDatabase;
  const N = 36;
  // Few distinct values per key, so every key has long runs of ties and the tie-breaks decide: two statuses,
  // names that repeat or are NULL, created_at shared by three rows. Ids, names and statuses are lowercase letters
  // and digits only, so JavaScript's order is both databases' order.
  const snap = (i: number, project = 'p', hidden = false): Snapshot => ({
    id: `s${String((i * 7) % N).padStart(2, '0')}${project}${hidden ? 'h' : ''}`,
    project_id: project,
    user_id: 'u',
    volume_id: 'v',
    name: i % 4 === 0 ? null : `n${i % 3}`,
    description: null,
    size: 1 + (i % 2),
    status: i % 5 === 0 ? 'error' : 'available',
    progress: '100%',
    volume_type_id: null,
    use_quota: true,
    provider_location: null,
    hidden,
    created_at: `2026-12-07T00:00:${String(Math.floor(i / 3)).padStart(2, '0')}.000000`,
    updated_at: null,
  });
  const o = (column: string, dir: 'asc' | 'desc'): ListOrder => ({ column, dir });
  /** As the services complete them: created_at and id appended in the first key's direction. */
  const ORDERS: ListOrder[][] = [
    [o('created_at', 'desc'), o('id', 'desc')],
    [o('created_at', 'asc'), o('id', 'asc')],
    [o('status', 'asc'), o('created_at', 'asc'), o('id', 'asc')],
    [o('status', 'asc'), o('created_at', 'desc'), o('id', 'asc')],
    [o('status', 'desc'), o('created_at', 'asc'), o('id', 'desc')],
    [o('name', 'desc'), o('created_at', 'asc'), o('id', 'desc')],
    [o('name', 'asc'), o('status', 'desc'), o('created_at', 'asc'), o('id', 'asc')],
    [o('size', 'desc'), o('name', 'asc'), o('created_at', 'desc'), o('id', 'desc')],
  ];
  const query = (order: ListOrder[], limit: number, marker: string | null, offset: number | null = null, filters: ListFilter[] = []): ListQuery => ({
    where: { projectId: 'p', filters },
    order,
    limit,
    marker,
    offset,
    withCount: false,
  });
  const ids = async (q: ListQuery) => {
    const r = await snapshotsRepository.list(asScope(database.db), q);
    assert.ok(r.ok);
    return r.items.map((s) => s.id);
  };
  const expected = (order: ListOrder[], keep: (s: Snapshot) => boolean = () => true) => {
    const value = (s: Snapshot, c: string) => {
      const v = (s as unknown as Record<string, unknown>)[c];
      return v ?? '';
    };
    return Array.from({ length: N }, (_, i) => snap(i))
      .filter(keep)
      .sort((a, b) => {
        for (const { column, dir } of order) {
          const x = value(a, column);
          const y = value(b, column);
          if (x !== y) return (x < y ? -1 : 1) * (dir === 'asc' ? 1 : -1);
        }
        return 0;
      })
      .map((s) => s.id);
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cinderbox-keyset-'));
    database = await openTestDatabase(dir);
    const scope = asScope(database.db);
    for (let i = 0; i < N; i++) await snapshotsRepository.insert(scope, snap(i));
    // Neither may show up in a page, nor shift one.
    for (let i = 0; i < 6; i++) await snapshotsRepository.insert(scope, snap(i, 'p', true));
    for (let i = 0; i < 6; i++) await snapshotsRepository.insert(scope, snap(i, 'q'));
  });
  after(async () => {
    await database?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('paging by 1, 4 and 7 rows returns the whole sorted list once, for uniform and mixed directions', async () => {
    for (const order of ORDERS) {
      const all = expected(order);
      const what = order.map((x) => `${x.column}:${x.dir}`).join(',');
      assert.deepEqual(await ids(query(order, 1000, null)), all, `unpaged ${what}`);
      for (const limit of [1, 4, 7]) {
        const got: string[] = [];
        let marker: string | null = null;
        for (;;) {
          const page = await ids(query(order, limit, marker));
          got.push(...page);
          // A page that does not move on must fail the test, not loop forever.
          if (page.length < limit || got.length > N) break;
          marker = page[page.length - 1]!;
        }
        assert.deepEqual(got, all, `${what} by ${limit}`);
      }
    }
  });

  test('a marker with an offset skips rows after the marker; a filter applies to every range', async () => {
    for (const order of ORDERS) {
      const all = expected(order);
      const what = order.map((x) => `${x.column}:${x.dir}`).join(',');
      for (const at of [0, 9, 20, N - 2]) {
        assert.deepEqual(await ids(query(order, 5, all[at]!, 3)), all.slice(at + 4, at + 9), `${what} at ${at} offset 3`);
      }
      const available = expected(order, (s) => s.status === 'available');
      const filter: ListFilter = { kind: 'eq', column: 'status', value: 'available' };
      assert.deepEqual(await ids(query(order, 6, available[10]!, null, [filter])), available.slice(11, 17), `${what} status=available`);
      // A marker the filter excludes still bounds the page by its own sort values.
      const excluded = all.find((id) => !available.includes(id))!;
      const after = all.slice(all.indexOf(excluded) + 1).filter((id) => available.includes(id));
      assert.deepEqual(await ids(query(order, 4, excluded, null, [filter])), after.slice(0, 4), `${what} marker outside the filter`);
    }
  });
});
