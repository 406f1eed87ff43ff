import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Backup } from '../block-storage/resources/backup.js';
import { Snapshot } from '../block-storage/resources/snapshot.js';
import { Connection } from '../connection.js';
import { DuplicateResourceError, EndlessPaginationError, InvalidRequestError, NotFoundError } from '../errors.js';
import {
  authFor,
  type FakeCloud,
  PROJECT_ID,
  type RecordedRequest,
  startFakeCloud,
} from '../test-support/fake-cloud.js';
import { nextLink } from './pagination.js';

describe('resource model (no network)', () => {
  it('accepts attribute, snake_case and wire names; outputs attribute names', () => {
    const a = Snapshot.new({ isForced: true, volumeId: 'v' });
    const b = Snapshot.new({ force: true, volume_id: 'v' });
    const c = Snapshot.new({ is_forced: true, volumeId: 'v' });
    for (const s of [a, b, c]) {
      assert.equal(s.isForced, true);
      assert.deepEqual(s.changes(), { force: true, volume_id: 'v' });
    }
    assert.deepEqual(a.toDict(), { volumeId: 'v', isForced: true });
    assert.deepEqual(a.toDict({ wireNames: true }), { volume_id: 'v', force: true });
    assert.throws(() => Snapshot.new({ bogus: 1 }), InvalidRequestError);
  });

  it('new() marks everything dirty, existing() nothing; setting an equal value is not a change', () => {
    const s = Snapshot.existing({ id: 'x', name: 'n', 'os-extended-snapshot-attributes:progress': '45%' });
    assert.equal(s.isDirty, false);
    s.name = 'n';
    assert.equal(s.isDirty, false);
    s.description = 'd';
    assert.deepEqual(s.changes(), { description: 'd' });
    assert.equal(s.progress, '45%');
    assert.equal(s.progressPercent, 45);
  });

  it('keeps unknown response keys in raw and records decode issues instead of inventing values', () => {
    const s = Snapshot.existing({ id: 'x', size: 'big' as unknown as number, future_field: 1, force: 'True' });
    assert.equal(s.size, undefined);
    assert.equal(s.isForced, true);
    assert.equal(s.raw.future_field, 1);
    assert.equal(s.raw.size, 'big');
    assert.equal(s.decodeIssues.length, 1);
  });

  it('finds the next link in *_links, links, body next and Link header', () => {
    assert.equal(nextLink({ snapshots_links: [{ rel: 'next', href: 'h1' }] }, 'snapshots', new Headers()), 'h1');
    assert.equal(nextLink({ links: [{ rel: 'next', href: 'h2' }] }, 'snapshots', new Headers()), 'h2');
    assert.equal(nextLink({ next: 'h3' }, undefined, new Headers()), 'h3');
    assert.equal(nextLink({}, 'x', new Headers({ link: '<h4>; rel="next"' })), 'h4');
    assert.equal(nextLink({}, 'x', new Headers()), undefined);
  });
});

const ids = Array.from({ length: 5 }, (_, i) => `00000000-0000-4000-8000-00000000000${i}`);
const snap = (i: number, extra: Record<string, unknown> = {}) => ({
  id: ids[i],
  name: `s${i}`,
  status: 'available',
  size: 1,
  ...extra,
});

describe('resource operations against a fake Cinder', () => {
  let cloud: FakeCloud;
  let conn: Connection;
  const prefix = `/v3/${PROJECT_ID}`;
  const last = (m: string, p: string): RecordedRequest | undefined =>
    cloud.requests.filter((r) => r.method === m && r.path === `${prefix}${p}`).at(-1);

  before(async () => {
    cloud = await startFakeCloud();
    conn = new Connection({ auth: authFor(cloud), sleep: async () => {} });
    cloud.route('GET', new RegExp(`^${prefix}/snapshots/detail$`), (req) => {
      const marker = req.query.get('marker');
      const limit = Number(req.query.get('limit') ?? 1000);
      if (req.query.get('name') === 'dup')
        return { body: { snapshots: [snap(0, { name: 'dup' }), snap(1, { name: 'dup' })] } };
      if (req.query.get('name'))
        return { body: { snapshots: [snap(2)].filter((s) => s.name === req.query.get('name')) } };
      if (req.query.get('status') === 'loop') {
        return {
          body: {
            snapshots: [snap(0)],
            snapshots_links: [
              { rel: 'next', href: `${cloud.url}${prefix}/snapshots/detail?status=loop&marker=${ids[0]}` },
            ],
          },
        };
      }
      const start = marker ? ids.indexOf(marker) + 1 : 0;
      const page = ids.slice(start, start + limit).map((_, i) => snap(start + i));
      const more = start + limit < ids.length;
      const links =
        more && req.query.get('nolinks') === null
          ? [{ rel: 'next', href: `${cloud.url}${prefix}/snapshots/detail?limit=${limit}&marker=${page.at(-1)?.id}` }]
          : undefined;
      return { body: { snapshots: page, ...(links ? { snapshots_links: links } : {}) } };
    });
    cloud.route('GET', new RegExp(`^${prefix}/snapshots/([^/]+)$`), (_req, m) => {
      const i = ids.indexOf(m[1] ?? '');
      return i >= 0
        ? { body: { snapshot: snap(i) } }
        : { status: 404, body: { itemNotFound: { code: 404, message: 'nope' } } };
    });
    cloud.route('PUT', new RegExp(`^${prefix}/snapshots/([^/]+)$`), (req, m) => ({
      body: { snapshot: { ...snap(ids.indexOf(m[1] ?? '')), ...(req.body as { snapshot: object }).snapshot } },
    }));
  });
  after(() => cloud.close());

  it('lists following snapshots_links; limit is the page size, maxItems the cap', async () => {
    const all = await conn.blockStorage.snapshots({}, { limit: 2 }).toArray();
    assert.deepEqual(
      all.map((s) => s.id),
      ids,
    );
    const pages = cloud.requests.filter((r) => r.path.endsWith('/snapshots/detail')).slice(-3);
    assert.deepEqual(
      pages.map((r) => r.query.get('marker')),
      [null, ids[1], ids[3]],
    );
    const capped = await conn.blockStorage.snapshots({}, { maxItems: 3 }).toArray();
    assert.equal(capped.length, 3);
    assert.equal(last('GET', '/snapshots/detail')?.query.get('limit'), '3');
  });

  it('falls back to marker paging without links and stops on a short page', async () => {
    const before = cloud.requests.length;
    const all = await conn.blockStorage.snapshots({ rawQuery: { nolinks: '1' } }, { limit: 2 }).toArray();
    assert.equal(all.length, 5);
    assert.equal(cloud.requests.length - before, 3); // 2 + 2 + 1, no extra empty page
  });

  it('detects endless pagination', async () => {
    await assert.rejects(conn.blockStorage.snapshots({ status: 'loop' }).toArray(), EndlessPaginationError);
  });

  it('maps allProjects to all_tenants and applies client-side filters', async () => {
    const big = await conn.blockStorage.snapshots({ allProjects: true, size: 2 }).toArray();
    assert.equal(big.length, 0);
    assert.equal(last('GET', '/snapshots/detail')?.query.get('all_tenants'), 'true');
  });

  it('find: id first, then name; duplicates and missing are errors', async () => {
    const byId = await conn.blockStorage.findSnapshot(ids[3] as string);
    assert.equal(byId?.name, 's3');
    const before = cloud.requests.length;
    const byName = await conn.blockStorage.findSnapshot('s2');
    assert.equal(byName?.id, ids[2]);
    assert.equal(cloud.requests.length - before, 1, 'no GET-by-id probe for a non-UUID');
    await assert.rejects(conn.blockStorage.findSnapshot('dup'), DuplicateResourceError);
    await assert.rejects(conn.blockStorage.findSnapshot('missing'), NotFoundError);
    assert.equal(await conn.blockStorage.findSnapshot('missing', { ignoreMissing: true }), undefined);
  });

  it('commit sends only changed fields inside the envelope, and nothing when unchanged', async () => {
    const s = await conn.blockStorage.getSnapshot(ids[0] as string);
    assert.equal(s.$metadata?.status, 200);
    assert.match(String(s.$metadata?.requestId), /^req-/);
    const count = cloud.requests.length;
    await s.commit();
    assert.equal(cloud.requests.length, count);
    await conn.blockStorage.updateSnapshot(s, { description: 'new' });
    assert.deepEqual(last('PUT', `/snapshots/${ids[0]}`)?.body, { snapshot: { description: 'new' } });
    assert.equal(s.description, 'new');
    assert.equal(s.isDirty, false);
  });

  it('Backup create renames isIncremental to incremental', () => {
    const b = Backup.new({ volumeId: 'v', isIncremental: true });
    assert.deepEqual(b.changes(), { volume_id: 'v', is_incremental: true });
  });
});
