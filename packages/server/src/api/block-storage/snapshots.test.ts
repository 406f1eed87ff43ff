import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer, waitFor } from '../../test-support/harness.js';

type Who = { token: string; projectId: string };

let t: TestServer;
let admin: Who;
let alice: Who;
let bob: Who;

async function until(who: Who, kind: 'volumes' | 'snapshots', id: string, status: string): Promise<void> {
  const key = kind === 'volumes' ? 'volume' : 'snapshot';
  await waitFor(
    async () =>
      (await t.request('GET', `/v3/${who.projectId}/${kind}/${id}`, { token: who.token })).body?.[key]?.status ===
      status,
    `${kind} ${status}`,
  );
}

async function createVolume(who: Who, size = 1): Promise<string> {
  const r = await t.request('POST', `/v3/${who.projectId}/volumes`, { token: who.token, body: { volume: { size } } });
  assert.equal(r.status, 202, r.text);
  await until(who, 'volumes', r.body.volume.id, 'available');
  return r.body.volume.id;
}

async function createSnapshot(
  who: Who,
  volumeId: string,
  extra: Record<string, unknown> = {},
  mv?: string,
): Promise<string> {
  const r = await t.request('POST', `/v3/${who.projectId}/snapshots`, {
    token: who.token,
    body: { snapshot: { volume_id: volumeId, ...extra } },
    ...(mv ? { mv } : {}),
  });
  assert.equal(r.status, 202, r.text);
  await until(who, 'snapshots', r.body.snapshot.id, 'available');
  return r.body.snapshot.id;
}

async function makeInUse(who: Who, volumeId: string): Promise<void> {
  const act = (body: unknown) =>
    t.request('POST', `/v3/${who.projectId}/volumes/${volumeId}/action`, { token: who.token, body });
  assert.equal((await act({ 'os-reserve': null })).status, 202);
  assert.equal((await act({ 'os-attach': { host_name: 'h1', mountpoint: '/dev/vdb' } })).status, 202);
}

const BASE = ['created_at', 'description', 'id', 'metadata', 'name', 'size', 'status', 'updated_at', 'volume_id'];
const EXT = ['os-extended-snapshot-attributes:progress', 'os-extended-snapshot-attributes:project_id'];

before(async () => {
  t = await startTestServer();
  admin = { token: t.adminToken, projectId: t.adminProjectId };
  alice = await t.createMember('alice');
  bob = await t.createMember('bob');
});
after(async () => t.close());

describe('snapshot views by microversion', () => {
  let vol: string;
  let snap: string;
  before(async () => {
    vol = await createVolume(alice);
    snap = await createSnapshot(alice, vol, { display_name: 'legacy-name', metadata: { k: 'v' } });
  });

  test('at 3.0: create/update base 9, show/detail base + extended attributes, summary list base 9', async () => {
    const r = await t.request('POST', `/v3/${alice.projectId}/snapshots`, {
      token: alice.token,
      body: { snapshot: { volume_id: vol, name: 'x' } },
    });
    assert.deepEqual(Object.keys(r.body.snapshot).sort(), BASE);
    await until(alice, 'snapshots', r.body.snapshot.id, 'available');
    const show = await t.request('GET', `/v3/${alice.projectId}/snapshots/${snap}`, { token: alice.token });
    assert.deepEqual(Object.keys(show.body.snapshot).sort(), [...BASE, ...EXT].sort());
    assert.equal(show.body.snapshot.name, 'legacy-name');
    assert.equal(show.body.snapshot['os-extended-snapshot-attributes:progress'], '100%');
    assert.equal(show.body.snapshot['os-extended-snapshot-attributes:project_id'], alice.projectId);
    const list = await t.request('GET', `/v3/${alice.projectId}/snapshots`, { token: alice.token });
    for (const s of list.body.snapshots) assert.deepEqual(Object.keys(s).sort(), BASE);
    const upd = await t.request('PUT', `/v3/${alice.projectId}/snapshots/${snap}`, {
      token: alice.token,
      body: { snapshot: { description: 'd' } },
    });
    assert.equal(upd.status, 200);
    assert.deepEqual(Object.keys(upd.body.snapshot).sort(), BASE);
  });

  test('3.14 adds group_snapshot_id, 3.41 user_id, 3.65 consumes_quota, each exactly at its version', async () => {
    const get = async (mv: string) =>
      (await t.request('GET', `/v3/${alice.projectId}/snapshots/${snap}`, { token: alice.token, mv })).body.snapshot;
    assert.ok(!('group_snapshot_id' in (await get('3.13'))));
    assert.ok('group_snapshot_id' in (await get('3.14')));
    assert.ok(!('user_id' in (await get('3.40'))));
    assert.ok('user_id' in (await get('3.41')));
    assert.ok(!('consumes_quota' in (await get('3.64'))));
    assert.equal((await get('3.65')).consumes_quota, true);
    const detail = await t.request('GET', `/v3/${alice.projectId}/snapshots/detail`, {
      token: alice.token,
      mv: '3.65',
    });
    for (const s of detail.body.snapshots) assert.ok('consumes_quota' in s && EXT.every((k) => k in s));
  });
});

describe('snapshot create rules', () => {
  test('in-use volume: <3.66 needs force; 3.66 allows it, refuses force=false, ignores force=true', async () => {
    const vol = await createVolume(alice);
    await makeInUse(alice, vol);
    const post = (snapshot: Record<string, unknown>, mv?: string) =>
      t.request('POST', `/v3/${alice.projectId}/snapshots`, {
        token: alice.token,
        body: { snapshot: { volume_id: vol, ...snapshot } },
        ...(mv ? { mv } : {}),
      });
    const refused = await post({});
    assert.equal(refused.status, 400);
    assert.match(refused.body.badRequest.message, /status must be available, but current status is: in-use/);
    assert.equal((await post({ force: 'true' })).status, 202);
    assert.equal((await post({}, '3.66')).status, 202);
    assert.equal((await post({ force: false }, '3.66')).status, 400);
    assert.equal((await post({ force: true }, '3.66')).status, 202);
    assert.equal((await post({ force: 'maybe' })).status, 400);
  });

  test('volume_id null or unknown is 404; concurrent creates of one volume are all accepted', async () => {
    const nul = await t.request('POST', `/v3/${alice.projectId}/snapshots`, {
      token: alice.token,
      body: { snapshot: { volume_id: null } },
    });
    assert.equal(nul.status, 404);
    const vol = await createVolume(alice);
    const res = await Promise.all(
      Array.from({ length: 4 }, () =>
        t.request('POST', `/v3/${alice.projectId}/snapshots`, {
          token: alice.token,
          body: { snapshot: { volume_id: vol } },
        }),
      ),
    );
    assert.deepEqual(
      res.map((r) => r.status),
      [202, 202, 202, 202],
    );
    for (const r of res) await until(alice, 'snapshots', r.body.snapshot.id, 'available');
  });

  test('snapshot count quota is 413 SnapshotLimitExceeded', async () => {
    const q = await t.createMember('quota-s');
    await t.request('PUT', `/v3/${admin.projectId}/os-quota-sets/${q.projectId}`, {
      token: admin.token,
      body: { quota_set: { snapshots: 1 } },
    });
    const vol = await createVolume(q);
    await createSnapshot(q, vol);
    const r = await t.request('POST', `/v3/${q.projectId}/snapshots`, {
      token: q.token,
      body: { snapshot: { volume_id: vol } },
    });
    assert.equal(r.status, 413);
    assert.match(r.body.overLimit.message, /^SnapshotLimitExceeded/);
    assert.equal((await t.request('GET', `/v3/${q.projectId}/snapshots`, { token: q.token })).body.snapshots.length, 1);
  });
});

describe('snapshot metadata, actions, deletion and policy', () => {
  test('metadata: GET, POST merges, PUT replaces, per-key GET/PUT/DELETE', async () => {
    const alice = await t.createMember('metauser');
    const vol = await createVolume(alice);
    const sid = await createSnapshot(alice, vol, { metadata: { a: '1' } });
    const base = `/v3/${alice.projectId}/snapshots/${sid}/metadata`;
    assert.deepEqual((await t.request('GET', base, { token: alice.token })).body, { metadata: { a: '1' } });
    assert.deepEqual((await t.request('POST', base, { token: alice.token, body: { metadata: { b: '2' } } })).body, {
      metadata: { a: '1', b: '2' },
    });
    assert.deepEqual((await t.request('PUT', base, { token: alice.token, body: { metadata: { c: '3' } } })).body, {
      metadata: { c: '3' },
    });
    assert.deepEqual((await t.request('PUT', `${base}/c`, { token: alice.token, body: { meta: { c: '4' } } })).body, {
      meta: { c: '4' },
    });
    const mismatch = await t.request('PUT', `${base}/c`, { token: alice.token, body: { meta: { x: '4' } } });
    assert.equal(mismatch.status, 400);
    assert.equal(mismatch.body.badRequest.message, 'Request body and URI mismatch');
    assert.equal(
      (await t.request('PUT', `${base}/c`, { token: alice.token, body: { meta: { c: '1', d: '2' } } })).status,
      400,
    );
    assert.equal(
      (await t.request('POST', base, { token: alice.token, body: { metadata: { k: 'v'.repeat(256) } } })).status,
      413,
    );
    assert.equal((await t.request('POST', base, { token: alice.token, body: { metadata: { '': 'v' } } })).status, 400);
    assert.equal((await t.request('POST', base, { token: alice.token, body: { metadat: {} } })).status, 400);
    assert.deepEqual((await t.request('GET', `${base}/c`, { token: alice.token })).body, { meta: { c: '4' } });
    assert.equal((await t.request('DELETE', `${base}/c`, { token: alice.token })).status, 200);
    assert.equal((await t.request('GET', `${base}/c`, { token: alice.token })).status, 404);
    assert.deepEqual((await t.request('GET', base, { token: alice.token })).body, { metadata: {} });
  });

  test('admin-only actions are 403 for members; update_snapshot_status is a member action', async () => {
    const alice = await t.createMember('actor');
    const vol = await createVolume(alice);
    const sid = await createSnapshot(alice, vol);
    const act = (who: Who, body: unknown) =>
      t.request('POST', `/v3/${who.projectId}/snapshots/${sid}/action`, { token: who.token, body });
    const reset = await act(alice, { 'os-reset_status': { status: 'error' } });
    assert.equal(reset.status, 403);
    assert.equal(
      reset.body.forbidden.message,
      "Policy doesn't allow volume_extension:snapshot_admin_actions:reset_status to be performed.",
    );
    assert.equal((await act(alice, { 'os-force_delete': null })).status, 403);
    assert.equal((await act(admin, { 'os-reset_status': { status: 'CREATING' } })).status, 202);
    assert.equal(
      (await t.request('GET', `/v3/${alice.projectId}/snapshots/${sid}`, { token: alice.token })).body.snapshot.status,
      'creating',
    );
    assert.equal((await act(admin, { 'os-reset_status': { status: 'bogus' } })).status, 400);
    assert.equal((await act(alice, { 'os-update_snapshot_status': { status: 'deleting' } })).status, 400);
    assert.equal(
      (await act(alice, { 'os-update_snapshot_status': { status: 'available', progress: '90%' } })).status,
      202,
    );
    const s = (await t.request('GET', `/v3/${alice.projectId}/snapshots/${sid}`, { token: alice.token })).body.snapshot;
    assert.equal(s.status, 'available');
    assert.equal(s['os-extended-snapshot-attributes:progress'], '90%');
    assert.equal((await act(alice, { 'os-update_snapshot_status': { status: 'available' } })).status, 400);
    assert.equal((await act(alice, { 'os-unmanage': null })).status, 403, 'unmanage is admin-only');
    assert.equal((await act(admin, { 'os-force_delete': {} })).status, 202);
    await waitFor(
      async () =>
        (await t.request('GET', `/v3/${alice.projectId}/snapshots/${sid}`, { token: alice.token })).status === 404,
      'gone',
    );
  });

  test('delete needs available or error; other projects get 404; admin lists all_tenants', async () => {
    const alice = await t.createMember('deleter');
    const vol = await createVolume(alice);
    const sid = await createSnapshot(alice, vol);
    assert.equal((await t.request('GET', `/v3/${bob.projectId}/snapshots/${sid}`, { token: bob.token })).status, 404);
    assert.equal(
      (await t.request('DELETE', `/v3/${bob.projectId}/snapshots/${sid}`, { token: bob.token })).status,
      404,
    );
    const bobList = await t.request('GET', `/v3/${bob.projectId}/snapshots?all_tenants=true`, { token: bob.token });
    assert.ok(!bobList.body.snapshots.some((s: { id: string }) => s.id === sid));
    const adminList = await t.request('GET', `/v3/${admin.projectId}/snapshots?all_tenants=true`, {
      token: admin.token,
    });
    assert.ok(adminList.body.snapshots.some((s: { id: string }) => s.id === sid));
    await t.request('POST', `/v3/${admin.projectId}/snapshots/${sid}/action`, {
      token: admin.token,
      body: { 'os-reset_status': { status: 'creating' } },
    });
    const refused = await t.request('DELETE', `/v3/${alice.projectId}/snapshots/${sid}`, { token: alice.token });
    assert.equal(refused.status, 400);
    assert.match(refused.body.badRequest.message, /^Invalid snapshot: Snapshot status must be available or error/);
    await t.request('POST', `/v3/${admin.projectId}/snapshots/${sid}/action`, {
      token: admin.token,
      body: { 'os-reset_status': { status: 'error' } },
    });
    assert.equal(
      (await t.request('DELETE', `/v3/${alice.projectId}/snapshots/${sid}`, { token: alice.token })).status,
      202,
    );
    await waitFor(
      async () =>
        (await t.request('GET', `/v3/${alice.projectId}/snapshots/${sid}`, { token: alice.token })).status === 404,
      'gone',
    );
  });

  test('list filters and pagination', async () => {
    const p = await t.createMember('snaplister');
    const vol = await createVolume(p);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await createSnapshot(p, vol, { name: `s${i}`, metadata: { n: String(i) } }));
    const g = (q: string, mv = '3.0') => t.request('GET', `/v3/${p.projectId}/snapshots?${q}`, { token: p.token, mv });
    const page1 = await g('limit=2');
    assert.deepEqual(
      page1.body.snapshots.map((s: { id: string }) => s.id),
      [ids[2], ids[1]],
    );
    assert.ok(page1.body.snapshots_links[0].href.endsWith(`limit=2&marker=${ids[1]}`));
    const page2 = await g(`limit=2&marker=${ids[1]}`);
    assert.deepEqual(
      page2.body.snapshots.map((s: { id: string }) => s.id),
      [ids[0]],
    );
    assert.ok(!('snapshots_links' in page2.body));
    assert.equal((await g(`marker=${crypto.randomUUID()}`)).status, 404);
    assert.equal((await g('sort=name:asc')).status, 400);
    assert.deepEqual(
      (await g('sort=name:asc', '3.30')).body.snapshots.map((s: { name: string }) => s.name),
      ['s0', 's1', 's2'],
    );
    assert.equal((await g('name=s1')).body.snapshots.length, 1);
    assert.equal((await g(`volume_id=${vol}&status=available`)).body.snapshots.length, 3);
    // metadata filter: ignored (dropped) below 3.22 for non-admins, honoured from 3.22
    assert.equal((await g(`metadata=${encodeURIComponent("{'n':'1'}")}`, '3.21')).body.snapshots.length, 3);
    assert.equal((await g(`metadata=${encodeURIComponent("{'n':'1'}")}`, '3.22')).body.snapshots.length, 1);
    assert.equal((await g('host=x', '3.31')).status, 400);
    assert.equal((await g('with_count=true', '3.45')).body.count, 3);
    assert.equal((await g('name~=s', '3.34')).body.snapshots.length, 3);
  });
});

describe('snapshot detail list rendered by the store', () => {
  let carol: Who;
  const who = () => carol;
  let ids: string[];
  before(async () => {
    // A project of its own: the suites before fill alice's snapshot quota.
    carol = await t.createMember('carol');
    const vol = await createVolume(who());
    // JSON text, not a literal: `__proto__` must reach the server as an ordinary key.
    const hostile = JSON.parse(
      '{"__proto__": "p", "constructor": "c", "10": "ten", "9": "nine", "a:b.c-d_e": "q\\"uo\\\\te \\u0001\\n\\t\\u001f é ✓ 😀"}',
    );
    ids = [
      await createSnapshot(who(), vol, { name: 'a "quoted" \\ name', description: 'd é ✓ </script>', metadata: hostile }),
      await createSnapshot(who(), vol, {}),
      await createSnapshot(who(), vol, { name: 'plain', metadata: { k: 'v' } }),
    ];
  });

  for (const mv of ['3.0', '3.14', '3.41', '3.64', '3.65', '3.70']) {
    test(`at ${mv}: each item is the body GET shows, with the same keys`, async () => {
      const list = await t.request('GET', `/v3/${who().projectId}/snapshots/detail`, { token: who().token, mv });
      assert.equal(list.status, 200, list.text);
      assert.match(list.headers.get('content-type') ?? '', /^application\/json; charset=utf-8$/);
      for (const id of ids) {
        const item = list.body.snapshots.find((s: { id: string }) => s.id === id);
        assert.ok(item, `${id} listed`);
        const one = await t.request('GET', `/v3/${who().projectId}/snapshots/${id}`, { token: who().token, mv });
        assert.deepEqual(item, one.body.snapshot);
        // The same keys, not the same order: the list splices the microversion-gated keys after the stored
        // rendering of the others (migration 0033), and key order means nothing to a JSON client.
        assert.deepEqual(Object.keys(item).sort(), Object.keys(one.body.snapshot).sort());
      }
      const first = list.body.snapshots.find((s: { id: string }) => s.id === ids[0]);
      assert.ok(Object.hasOwn(first.metadata, '__proto__'), 'the __proto__ key is an own key of the listed metadata');
      assert.equal(first.metadata['a:b.c-d_e'], 'q"uo\\te \u0001\n\t\u001f é ✓ 😀');
    });
  }

  test('pages after a marker, sorted, with links and count, match the unpaged list', async () => {
    const all = await t.request('GET', `/v3/${who().projectId}/snapshots/detail?sort=name:asc`, { token: who().token, mv: '3.65' });
    assert.equal(all.status, 200, all.text);
    const seen: unknown[] = [];
    let url: string | null = `/v3/${who().projectId}/snapshots/detail?sort=name:asc&limit=2&with_count=true`;
    while (url) {
      const page = await t.request('GET', url, { token: who().token, mv: '3.65' });
      assert.equal(page.status, 200, page.text);
      assert.equal(page.body.count, all.body.snapshots.length);
      seen.push(...page.body.snapshots);
      const next: string | undefined = page.body.snapshots_links?.[0]?.href;
      url = next ? next.slice(next.indexOf('/v3/')) : null;
    }
    assert.deepEqual(seen, all.body.snapshots);
    const bad = await t.request('GET', `/v3/${who().projectId}/snapshots/detail?marker=00000000-0000-4000-8000-000000000000`, { token: who().token });
    assert.equal(bad.status, 404, bad.text);
    assert.ok(bad.body.itemNotFound, bad.text);
  });

  // The store joins a page's items into one text; its order must be the list's order, which the summary list
  // (rows read one by one, ordered by the same keys) shows.
  test('the order of every page, first and after a marker, is the summary list\'s on each sort', async () => {
    const vol = await createVolume(who());
    await createSnapshot(who(), vol, { name: 'plain' });
    await createSnapshot(who(), vol, { name: 'b', description: 'z' });
    const base = `/v3/${who().projectId}/snapshots`;
    const idsOf = (b: { snapshots: { id: string }[] }) => b.snapshots.map((s) => s.id);
    for (const sort of ['', 'sort=name:asc', 'sort=name:desc,created_at:asc', 'sort=status:asc,name:desc', 'sort=created_at:asc', 'sort=description:desc,id:asc']) {
      const summary = await t.request('GET', `${base}?${sort}`, { token: who().token, mv: '3.30' });
      assert.equal(summary.status, 200, summary.text);
      assert.equal(summary.body.snapshots.length, 5);
      const detail = await t.request('GET', `${base}/detail?${sort}`, { token: who().token, mv: '3.30' });
      assert.deepEqual(idsOf(detail.body), idsOf(summary.body), sort);
      for (const limit of [1, 2, 3]) {
        const seen: string[] = [];
        let url: string | null = `${base}/detail?${sort}&limit=${limit}`;
        while (url) {
          const page = await t.request('GET', url, { token: who().token, mv: '3.30' });
          assert.equal(page.status, 200, page.text);
          assert.ok(page.body.snapshots.length <= limit);
          seen.push(...idsOf(page.body));
          const next: string | undefined = page.body.snapshots_links?.[0]?.href;
          url = next ? next.slice(next.indexOf('/v3/')) : null;
        }
        assert.deepEqual(seen, idsOf(summary.body), `${sort} limit=${limit}`);
      }
    }
    const none = await t.request('GET', `${base}/detail?status=error&limit=2`, { token: who().token });
    assert.equal(none.text, '{"snapshots":[]}');
  });
});

/*
 * The detail list concatenates a trigger-kept rendering of each snapshot (migration 0033). Every write that
 * changes a field of it must re-render it, or the list shows the old value while GET shows the new one: after each
 * kind of write, the listed item must be GET's body at a base and a current microversion.
 */
describe('snapshot detail list follows every write (the stored rendering never goes stale)', () => {
  let dora: Who;
  let vol: string;
  before(async () => {
    dora = await t.createMember('dora');
    vol = await createVolume(dora);
  });

  async function listed(who: Who, id: string, mv: string): Promise<Record<string, unknown> | undefined> {
    const r = await t.request('GET', `/v3/${who.projectId}/snapshots/detail?limit=1000`, { token: who.token, mv });
    assert.equal(r.status, 200, r.text);
    return r.body.snapshots.find((s: { id: string }) => s.id === id);
  }

  async function agrees(who: Who, id: string, expect: Record<string, unknown> = {}): Promise<void> {
    for (const mv of ['3.0', '3.41', '3.65']) {
      const one = await t.request('GET', `/v3/${who.projectId}/snapshots/${id}`, { token: who.token, mv });
      assert.equal(one.status, 200, one.text);
      for (const [k, v] of Object.entries(expect)) assert.deepEqual(one.body.snapshot[k], v, `GET ${k} at ${mv}`);
      assert.deepEqual(await listed(who, id, mv), one.body.snapshot, `listed ${id} at ${mv}`);
    }
  }

  async function act(id: string, body: unknown): Promise<void> {
    // Admin actions, named in the admin's own project (a token's project is the URL's).
    const r = await t.request('POST', `/v3/${admin.projectId}/snapshots/${id}/action`, { token: admin.token, body });
    assert.equal(r.status, 202, r.text);
  }

  test('create, update, metadata set / replace / key update / key delete', async () => {
    const id = await createSnapshot(dora, vol, { name: 'first', description: 'd1', metadata: { a: '1' } });
    await agrees(dora, id, { status: 'available', name: 'first', metadata: { a: '1' } });

    const put = await t.request('PUT', `/v3/${dora.projectId}/snapshots/${id}`, {
      token: dora.token,
      body: { snapshot: { name: 'sec"ond', description: null } },
    });
    assert.equal(put.status, 200, put.text);
    await agrees(dora, id, { name: 'sec"ond', description: null });

    const md = (method: string, path: string, body?: unknown) =>
      t.request(method, `/v3/${dora.projectId}/snapshots/${id}/metadata${path}`, { token: dora.token, body });
    assert.equal((await md('POST', '', { metadata: { b: '2', 'c"\\': 'é' } })).status, 200);
    await agrees(dora, id, { metadata: { a: '1', b: '2', 'c"\\': 'é' } });
    assert.equal((await md('PUT', '/b', { meta: { b: 'two' } })).status, 200);
    await agrees(dora, id, { metadata: { a: '1', b: 'two', 'c"\\': 'é' } });
    assert.equal((await md('DELETE', '/a')).status, 200);
    await agrees(dora, id, { metadata: { b: 'two', 'c"\\': 'é' } });
    assert.equal((await md('PUT', '', { metadata: { z: 'only' } })).status, 200);
    await agrees(dora, id, { metadata: { z: 'only' } });
    assert.equal((await md('PUT', '', { metadata: {} })).status, 200);
    await agrees(dora, id, { metadata: {} });
  });

  test('reset-status, update-snapshot-status with progress, force-delete, delete', async () => {
    const id = await createSnapshot(dora, vol, { name: 'states' });
    await act(id, { 'os-reset_status': { status: 'creating' } });
    await agrees(dora, id, { status: 'creating' });
    await act(id, { 'os-update_snapshot_status': { status: 'creating', progress: '42%' } });
    await agrees(dora, id, { status: 'creating', 'os-extended-snapshot-attributes:progress': '42%' });
    await act(id, { 'os-update_snapshot_status': { status: 'error', progress: '7' } });
    await agrees(dora, id, { status: 'error', 'os-extended-snapshot-attributes:progress': '7%' });
    await act(id, { 'os-force_delete': null });
    await waitFor(async () => (await listed(dora, id, '3.65')) === undefined, 'force-deleted snapshot unlisted');

    const other = await createSnapshot(dora, vol, {});
    assert.equal((await t.request('DELETE', `/v3/${dora.projectId}/snapshots/${other}`, { token: dora.token })).status, 202);
    await waitFor(async () => (await listed(dora, other, '3.65')) === undefined, 'deleted snapshot unlisted');
  });

  test('unmanage then manage', async () => {
    // The admin's own project: managing takes an admin, and the snapshot lands in the caller's project.
    const avol = await createVolume(admin);
    const id = await createSnapshot(admin, avol, { name: 'managed' });
    await act(id, { 'os-unmanage': null });
    await waitFor(async () => (await listed(admin, id, '3.65')) === undefined, 'unmanaged snapshot unlisted');
    const m = await t.request('POST', `/v3/${admin.projectId}/os-snapshot-manage`, {
      token: admin.token,
      body: { snapshot: { volume_id: avol, ref: { 'source-name': `_snapshot-${id}` }, name: 'back', metadata: { k: 'v' } } },
    });
    assert.equal(m.status, 202, m.text);
    const back = m.body.snapshot.id as string;
    await agrees(admin, back, { name: 'back', metadata: { k: 'v' } });
    await until(admin, 'snapshots', back, 'available');
    await agrees(admin, back, { name: 'back', status: 'available', metadata: { k: 'v' } });
  });

  test('a volume transfer moves its snapshots to the new project', async () => {
    const ed = await t.createMember('ed');
    const v = await createVolume(dora);
    const id = await createSnapshot(dora, v, { name: 'moving' });
    const tr = await t.request('POST', `/v3/${dora.projectId}/os-volume-transfer`, {
      token: dora.token,
      body: { transfer: { volume_id: v, name: 'gift' } },
    });
    assert.equal(tr.status, 202, tr.text);
    const acc = await t.request('POST', `/v3/${ed.projectId}/os-volume-transfer/${tr.body.transfer.id}/accept`, {
      token: ed.token,
      body: { accept: { auth_key: tr.body.transfer.auth_key } },
    });
    assert.equal(acc.status, 202, acc.text);
    assert.equal(await listed(dora, id, '3.65'), undefined, 'no longer listed in the old project');
    await agrees(ed, id, { 'os-extended-snapshot-attributes:project_id': ed.projectId, name: 'moving' });
  });
});
