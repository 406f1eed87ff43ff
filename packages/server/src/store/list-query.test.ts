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
import { readMetadataMany, writeMetadata } from './repositories/metadata.js';
import { snapshotsRepository } from './repositories/snapshots.js';

/*
 * The list SQL is written by hand (store/list-query.ts, store/raw-sql.ts), once per dialect: each page, filter and
 * marker here is checked against the same rows filtered and sorted in JavaScript. Runs on SQLite, and on
 * PostgreSQL in the second pass (CINDERBOX_TEST_DATABASE_URL).
 */
describe('list queries: pages, filters, markers and page metadata on the store', () => {
  let dir: string;
  let database: OpenedDatabase;
  const all: Snapshot[] = [];
  // Names with LIKE's own characters, NULLs and ties, so escaping and the COALESCE'd keyset both matter.
  const NAMES = ['a_b', 'a%b', 'axb', null, 'Zed', 'zed', null, 'm', 'm', '50%', 'under_score', 'plain'];

  const snap = (i: number, project: string, hidden = false): Snapshot => ({
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    project_id: project,
    user_id: 'u',
    volume_id: 'v',
    name: NAMES[i % NAMES.length]!,
    description: null,
    size: (i % 5) + 1,
    status: i % 3 === 0 ? 'error' : 'available',
    progress: '100%',
    volume_type_id: null,
    use_quota: true,
    provider_location: null,
    hidden,
    // Pairs share a timestamp: the id must break the tie.
    created_at: `2026-12-07T00:00:${String(Math.floor(i / 2)).padStart(2, '0')}.000000`,
    updated_at: null,
    group_snapshot_id: null,
  });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cinderbox-listq-'));
    database = await openTestDatabase(dir);
    const scope = asScope(database.db);
    for (let i = 0; i < 40; i++) {
      const s = snap(i, i % 4 === 3 ? 'other' : 'p', i === 7);
      await snapshotsRepository.insert(scope, s);
      all.push(s);
      if (i % 5 === 0) await writeMetadata(database.db, 'snapshot', s.id, { tier: i % 10 === 0 ? 'gold' : 'lead', n: String(i) }, true);
    }
  });
  after(async () => {
    await database.close();
    await rm(dir, { recursive: true, force: true });
  });

  const md = (s: Snapshot): Record<string, string> =>
    Number(s.id.slice(-12)) % 5 === 0 ? { tier: Number(s.id.slice(-12)) % 10 === 0 ? 'gold' : 'lead', n: String(Number(s.id.slice(-12))) } : {};

  function matches(s: Snapshot, projectId: string | null, filters: ListFilter[]): boolean {
    if (s.hidden || (projectId !== null && s.project_id !== projectId)) return false;
    return filters.every((f) => {
      switch (f.kind) {
        case 'eq':
          return (s as unknown as Record<string, unknown>)[f.column] === f.value;
        case 'like':
          return String((s as unknown as Record<string, unknown>)[f.column] ?? '\u0000').toLowerCase().includes(f.value.toLowerCase());
        case 'cmp':
          return f.op === '>=' ? String((s as unknown as Record<string, unknown>)[f.column]) >= f.value : false;
        case 'metadata':
          return Object.entries(f.items).every(([k, v]) => md(s)[k] === v);
        case 'none':
          return false;
      }
    });
  }

  function expected(projectId: string | null, filters: ListFilter[], order: ListOrder[]): string[] {
    const key = (s: Snapshot, c: string) => {
      const v = (s as unknown as Record<string, unknown>)[c];
      return v === null ? '' : (v as string | number);
    };
    return all
      .filter((s) => matches(s, projectId, filters))
      .sort((a, b) => {
        for (const o of order) {
          const x = key(a, o.column);
          const y = key(b, o.column);
          // Byte order: SQLite's BINARY, and the C collation of the test cluster (scripts/start-postgres.sh).
          const c = x < y ? -1 : x > y ? 1 : 0;
          if (c !== 0) return o.dir === 'asc' ? c : -c;
        }
        return 0;
      })
      .map((s) => s.id);
  }

  async function walk(q: Omit<ListQuery, 'marker' | 'offset' | 'withCount'>): Promise<string[]> {
    const seen: string[] = [];
    let marker: string | null = null;
    for (let guard = 0; guard < 100; guard++) {
      const page = await snapshotsRepository.list(asScope(database.db), { ...q, marker, offset: null, withCount: false });
      assert.ok(page.ok);
      assert.ok(page.items.length <= q.limit);
      seen.push(...page.items.map((s) => s.id));
      if (page.items.length < q.limit) return seen;
      marker = page.items[page.items.length - 1]!.id;
    }
    throw new Error('pages never ended');
  }

  const DEFAULT_ORDER: ListOrder[] = [
    { column: 'created_at', dir: 'desc' },
    { column: 'id', dir: 'desc' },
  ];

  test('default order, pages of 7 through markers: every visible row of the project once, in order', async () => {
    const want = expected('p', [], DEFAULT_ORDER);
    assert.ok(want.length > 20);
    assert.deepEqual(await walk({ where: { projectId: 'p', filters: [] }, order: DEFAULT_ORDER, limit: 7 }), want);
  });

  test('sorted by a nullable column both ways: the keyset over COALESCE keeps NULL names and ties in place', async () => {
    for (const dir of ['asc', 'desc'] as const) {
      const order: ListOrder[] = [{ column: 'name', dir }, { column: 'created_at', dir }, { column: 'id', dir }];
      assert.deepEqual(await walk({ where: { projectId: null, filters: [] }, order, limit: 4 }), expected(null, [], order), dir);
    }
  });

  test('filters: eq, LIKE with its own characters escaped, cmp, metadata, none', async () => {
    const cases: ListFilter[][] = [
      [{ kind: 'eq', column: 'status', value: 'error' }],
      [{ kind: 'like', column: 'name', value: '_' }],
      [{ kind: 'like', column: 'name', value: '%' }],
      [{ kind: 'like', column: 'name', value: 'ZE' }],
      [{ kind: 'cmp', column: 'created_at', op: '>=', value: '2026-12-07T00:00:10' }],
      [{ kind: 'metadata', items: { tier: 'gold' } }],
      [{ kind: 'metadata', items: { tier: 'lead', n: '5' } }],
      [{ kind: 'metadata', items: {} }],
      [{ kind: 'none' }],
      [
        { kind: 'eq', column: 'status', value: 'available' },
        { kind: 'like', column: 'name', value: 'm' },
      ],
    ];
    for (const filters of cases) {
      const want = expected('p', filters, DEFAULT_ORDER);
      assert.deepEqual(await walk({ where: { projectId: 'p', filters }, order: DEFAULT_ORDER, limit: 3 }), want, JSON.stringify(filters));
      const counted = await snapshotsRepository.list(asScope(database.db), {
        where: { projectId: 'p', filters },
        order: DEFAULT_ORDER,
        limit: 2,
        marker: null,
        offset: null,
        withCount: true,
      });
      assert.ok(counted.ok);
      assert.equal(counted.count, want.length, `count of ${JSON.stringify(filters)}`);
    }
    assert.ok(expected('p', [{ kind: 'like', column: 'name', value: '_' }], DEFAULT_ORDER).length < expected('p', [], DEFAULT_ORDER).length);
  });

  test('offset, limit 0, the unfiltered count, and a marker the caller cannot list', async () => {
    const scope = asScope(database.db);
    const base = { where: { projectId: 'p', filters: [] }, order: DEFAULT_ORDER, marker: null, withCount: true };
    const want = expected('p', [], DEFAULT_ORDER);
    const off = await snapshotsRepository.list(scope, { ...base, limit: 5, offset: 3 });
    assert.ok(off.ok);
    assert.deepEqual(off.items.map((s) => s.id), want.slice(3, 8));
    assert.equal(off.count, want.length);
    const none = await snapshotsRepository.list(scope, { ...base, limit: 0, offset: null });
    assert.ok(none.ok);
    assert.deepEqual(none.items, []);
    assert.equal(none.count, want.length);
    const otherProject = all.find((s) => s.project_id === 'other')!.id;
    const hidden = all.find((s) => s.hidden)!.id;
    for (const marker of [otherProject, hidden, 'no-such-id']) {
      const r = await snapshotsRepository.list(scope, { ...base, limit: 5, offset: null, marker });
      assert.equal(r.ok, false, marker);
    }
  });

  test('page metadata: any number of ids in one read, each owner its own keys in key order, odd keys kept as data', async () => {
    const ids = all.map((s) => s.id);
    await writeMetadata(database.db, 'snapshot', ids[1]!, JSON.parse('{"__proto__":"x","constructor":"y","b":"2","a":"1"}') as Record<string, string>, true);
    const many = [...ids, 'absent', ...Array.from({ length: 200 }, (_, i) => `filler-${i}`)];
    const got = await readMetadataMany(database.db, 'snapshot', many);
    assert.equal(got.size, new Set(many).size);
    assert.deepEqual(got.get('absent'), {});
    assert.deepEqual(got.get(ids[10]!), { n: '10', tier: 'gold' });
    assert.deepEqual(Object.keys(got.get(ids[10]!)!), ['n', 'tier']);
    const odd = got.get(ids[1]!)!;
    assert.deepEqual(Object.keys(odd), ['__proto__', 'a', 'b', 'constructor']);
    assert.equal(Object.getPrototypeOf(odd), Object.prototype);
    assert.equal(Object.getOwnPropertyDescriptor(odd, '__proto__')?.value, 'x');
    assert.deepEqual(await readMetadataMany(database.db, 'snapshot', []), new Map());
  });
});
