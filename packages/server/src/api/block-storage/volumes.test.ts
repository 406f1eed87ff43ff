import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer, waitFor } from '../../test-support/harness.js';

type Who = { token: string; projectId: string };

let t: TestServer;
let admin: Who;
let alice: Who;
let bob: Who;

async function createVolume(who: Who, volume: Record<string, unknown> = { size: 1 }, mv?: string): Promise<string> {
  const r = await t.request('POST', `/v3/${who.projectId}/volumes`, {
    token: who.token,
    body: { volume },
    ...(mv ? { mv } : {}),
  });
  assert.equal(r.status, 202, r.text);
  const id = r.body.volume.id as string;
  await waitFor(
    async () =>
      (await t.request('GET', `/v3/${who.projectId}/volumes/${id}`, { token: who.token })).body?.volume?.status ===
      'available',
    'volume available',
  );
  return id;
}

const BASE_DETAIL = [
  'attachments',
  'availability_zone',
  'bootable',
  'consistencygroup_id',
  'created_at',
  'description',
  'encrypted',
  'id',
  'links',
  'metadata',
  'multiattach',
  'name',
  'replication_status',
  'size',
  'snapshot_id',
  'source_volid',
  'status',
  'updated_at',
  'user_id',
  'volume_type',
];

before(async () => {
  t = await startTestServer({ backends: [{ name: 'raw', driver: 'raw', pool: 'raw' }] }); // raw files inspected directly
  admin = { token: t.adminToken, projectId: t.adminProjectId };
  alice = await t.createMember('alice');
  bob = await t.createMember('bob');
});
after(async () => t.close());

describe('volume views', () => {
  test('create, show at 3.0 carry exactly the base fields; member sees no host or migration attributes', async () => {
    const r = await t.request('POST', `/v3/${alice.projectId}/volumes`, {
      token: alice.token,
      body: { volume: { size: 1, name: 'v0' } },
    });
    assert.equal(r.status, 202);
    assert.deepEqual(Object.keys(r.body.volume).sort(), BASE_DETAIL);
    assert.equal(r.body.volume.status, 'creating');
    assert.equal(r.body.volume.volume_type, '__DEFAULT__');
    const id = r.body.volume.id;
    await waitFor(
      async () =>
        (await t.request('GET', `/v3/${alice.projectId}/volumes/${id}`, { token: alice.token })).body.volume.status ===
        'available',
      'available',
    );
    const s = await t.request('GET', `/v3/${alice.projectId}/volumes/${id}`, { token: alice.token });
    assert.deepEqual(Object.keys(s.body.volume).sort(), [...BASE_DETAIL, 'os-vol-tenant-attr:tenant_id'].sort());
    assert.equal(s.body.volume.bootable, 'false');
  });

  test('admin sees the host as host@backend#pool; latest adds the MV fields', async () => {
    const id = await createVolume(admin, { size: 1 });
    const s = await t.request('GET', `/v3/${admin.projectId}/volumes/${id}`, { token: admin.token, mv: 'latest' });
    const v = s.body.volume;
    assert.equal(v['os-vol-host-attr:host'], 'cinderbox@raw#raw');
    for (const k of [
      'group_id',
      'provider_id',
      'shared_targets',
      'service_uuid',
      'cluster_name',
      'volume_type_id',
      'consumes_quota',
      'migration_status',
    ])
      assert.ok(k in v, k);
    assert.equal(v.consumes_quota, true);
    const at312 = await t.request('GET', `/v3/${admin.projectId}/volumes/${id}`, { token: admin.token, mv: '3.12' });
    assert.ok(!('volume_type_id' in at312.body.volume));
    assert.ok(!('group_id' in at312.body.volume));
  });

  test('v2 routes answer 3.0 shapes without a version header', async () => {
    const id = await createVolume(alice);
    const s = await t.request('GET', `/v2/${alice.projectId}/volumes/${id}`, { token: alice.token, mv: 'latest' });
    assert.equal(s.status, 200);
    assert.equal(s.headers.get('openstack-api-version'), null);
    assert.ok(!('consumes_quota' in s.body.volume));
    assert.match(s.body.volume.links[0].href, /\/v2\/[0-9a-f]{32}\/volumes\//);
  });
});

describe('volume lists', () => {
  let proj: Who;
  const ids: string[] = [];
  before(async () => {
    proj = await t.createMember('lister');
    for (let i = 0; i < 5; i++)
      ids.push(
        await createVolume(proj, {
          size: 1 + (i % 2),
          name: `vol-${i}`,
          metadata: { idx: String(i), even: String(i % 2 === 0) },
        }),
      );
  });

  test('keyset pages follow created_at desc with next links that keep the URL form', async () => {
    const seen: string[] = [];
    let path: string | null = `/v3/${proj.projectId}/volumes?limit=2`;
    while (path) {
      const r = await t.request('GET', path, { token: proj.token });
      assert.equal(r.status, 200);
      seen.push(...r.body.volumes.map((v: { id: string }) => v.id));
      const next = r.body.volumes_links?.[0]?.href as string | undefined;
      if (next) assert.ok(next.includes(`/v3/${proj.projectId}/volumes?limit=2&marker=`), next);
      path = next ? next.slice(t.url.length) : null;
    }
    assert.deepEqual(seen, [...ids].reverse());
    const noPid = await t.request('GET', '/v3/volumes/detail?limit=1', { token: proj.token });
    assert.match(noPid.body.volumes_links[0].href, /\/v3\/volumes\/detail\?limit=1&marker=/);
  });

  test('sort, offset and with_count (3.45)', async () => {
    const r = await t.request('GET', `/v3/${proj.projectId}/volumes?sort=name:asc&offset=1&limit=2&with_count=true`, {
      token: proj.token,
      mv: '3.45',
    });
    assert.deepEqual(
      r.body.volumes.map((v: { name: string }) => v.name),
      ['vol-1', 'vol-2'],
    );
    assert.equal(r.body.count, 5);
    const old = await t.request('GET', `/v3/${proj.projectId}/volumes?with_count=true`, {
      token: proj.token,
      mv: '3.44',
    });
    assert.ok(!('count' in old.body));
    assert.equal(
      (await t.request('GET', `/v3/${proj.projectId}/volumes?sort_key=nope`, { token: proj.token })).status,
      400,
    );
    assert.equal(
      (await t.request('GET', `/v3/${proj.projectId}/volumes?sort_dir=up`, { token: proj.token })).status,
      400,
    );
    assert.equal((await t.request('GET', `/v3/${proj.projectId}/volumes?limit=x`, { token: proj.token })).status, 400);
    assert.equal((await t.request('GET', `/v3/${proj.projectId}/volumes?limit=-1`, { token: proj.token })).status, 400);
    const bad = await t.request('GET', `/v3/${proj.projectId}/volumes?marker=${crypto.randomUUID()}`, {
      token: proj.token,
    });
    assert.equal(bad.status, 404);
    assert.ok(bad.body.itemNotFound);
  });

  test('filters: name, size, metadata, like (3.34), lenient below 3.31 and strict from 3.31', async () => {
    const g = (q: string, mv = '3.0') =>
      t.request('GET', `/v3/${proj.projectId}/volumes/detail?${q}`, { token: proj.token, mv });
    assert.deepEqual(
      (await g('name=vol-3')).body.volumes.map((v: { name: string }) => v.name),
      ['vol-3'],
    );
    assert.equal((await g('size=2')).body.volumes.length, 2);
    assert.equal((await g(`metadata=${encodeURIComponent("{'even': 'true'}")}`)).body.volumes.length, 3);
    assert.equal((await g('name~=vol-', '3.34')).body.volumes.length, 5);
    assert.equal((await g('bogus=1')).body.volumes.length, 5);
    const strict = await g('bogus=1', '3.31');
    assert.equal(strict.status, 400);
    assert.match(strict.body.badRequest.message, /Invalid filters bogus/);
    const summary = await t.request('GET', `/v3/${proj.projectId}/volumes/summary`, { token: proj.token, mv: '3.36' });
    assert.equal(summary.body['volume-summary'].total_count, 5);
    assert.equal(summary.body['volume-summary'].total_size, 7);
    assert.deepEqual(summary.body['volume-summary'].metadata.even.sort(), ['false', 'true']);
    assert.equal(
      (await t.request('GET', `/v3/${proj.projectId}/volumes/summary`, { token: proj.token, mv: '3.11' })).status,
      404,
    );
  });

  test('lists are scoped to the project; admins widen them with all_tenants and project_id', async () => {
    const mine = await t.request('GET', `/v3/${admin.projectId}/volumes`, { token: admin.token });
    assert.ok(!mine.body.volumes.some((v: { id: string }) => ids.includes(v.id)));
    const all = await t.request('GET', `/v3/${admin.projectId}/volumes?all_tenants=1&project_id=${proj.projectId}`, {
      token: admin.token,
    });
    assert.equal(all.body.volumes.length, 5);
    const member = await t.request('GET', `/v3/${alice.projectId}/volumes?all_tenants=1`, { token: alice.token });
    assert.ok(!member.body.volumes.some((v: { id: string }) => ids.includes(v.id)));
  });
});

describe('volume policy and lifecycle', () => {
  test('another project reads 404; admin reads by id through its own URL', async () => {
    const id = await createVolume(alice);
    const other = await t.request('GET', `/v3/${bob.projectId}/volumes/${id}`, { token: bob.token });
    assert.equal(other.status, 404);
    assert.equal(other.body.itemNotFound.message, `Volume ${id} could not be found.`);
    assert.equal((await t.request('DELETE', `/v3/${bob.projectId}/volumes/${id}`, { token: bob.token })).status, 404);
    assert.equal((await t.request('GET', `/v3/${admin.projectId}/volumes/${id}`, { token: admin.token })).status, 200);
    const wrongUrl = await t.request('GET', `/v3/${alice.projectId}/volumes/${id}`, { token: bob.token });
    assert.equal(wrongUrl.status, 400);
  });

  test('admin clone of another project volume belongs to the admin project', async () => {
    const src = await createVolume(alice);
    const clone = await createVolume(admin, { source_volid: src });
    const s = await t.request('GET', `/v3/${admin.projectId}/volumes/${clone}`, { token: admin.token });
    assert.equal(s.body.volume['os-vol-tenant-attr:tenant_id'], admin.projectId);
    assert.equal(s.body.volume.source_volid, src);
  });

  test('update, metadata endpoints and delete', async () => {
    const id = await createVolume(alice, { size: 1, metadata: { a: '1' } });
    const base = `/v3/${alice.projectId}/volumes/${id}`;
    const u = await t.request('PUT', base, {
      token: alice.token,
      body: { volume: { display_name: 'renamed', description: 'd' } },
    });
    assert.equal(u.status, 200);
    assert.equal(u.body.volume.name, 'renamed');
    assert.deepEqual(
      (await t.request('POST', `${base}/metadata`, { token: alice.token, body: { metadata: { b: '2' } } })).body
        .metadata,
      { a: '1', b: '2' },
    );
    assert.deepEqual(
      (await t.request('PUT', `${base}/metadata`, { token: alice.token, body: { metadata: { c: '3' } } })).body
        .metadata,
      { c: '3' },
    );
    assert.deepEqual((await t.request('GET', `${base}/metadata/c`, { token: alice.token })).body, { meta: { c: '3' } });
    assert.equal(
      (await t.request('PUT', `${base}/metadata/c`, { token: alice.token, body: { meta: { d: '4' } } })).status,
      400,
    );
    assert.equal((await t.request('DELETE', `${base}/metadata/c`, { token: alice.token })).status, 200);
    assert.equal((await t.request('DELETE', `${base}/metadata/c`, { token: alice.token })).status, 404);
    assert.equal((await t.request('DELETE', base, { token: alice.token })).status, 202);
    await waitFor(async () => (await t.request('GET', base, { token: alice.token })).status === 404, 'deleted');
  });

  test('delete refuses volumes with snapshots unless cascade; force needs admin and 3.23', async () => {
    const id = await createVolume(alice);
    const base = `/v3/${alice.projectId}/volumes/${id}`;
    const snap = await t.request('POST', `/v3/${alice.projectId}/snapshots`, {
      token: alice.token,
      body: { snapshot: { volume_id: id } },
    });
    const sid = snap.body.snapshot.id;
    await waitFor(
      async () =>
        (await t.request('GET', `/v3/${alice.projectId}/snapshots/${sid}`, { token: alice.token })).body.snapshot
          .status === 'available',
      'snap',
    );
    const refused = await t.request('DELETE', base, { token: alice.token });
    assert.equal(refused.status, 400);
    assert.match(refused.body.badRequest.message, /have snapshots/);
    const forced = await t.request('DELETE', `${base}?force=true`, { token: alice.token, mv: '3.23' });
    assert.equal(forced.status, 403);
    assert.equal((await t.request('DELETE', `${base}?cascade=true`, { token: alice.token })).status, 202);
    await waitFor(async () => (await t.request('GET', base, { token: alice.token })).status === 404, 'deleted');
    assert.equal(
      (await t.request('GET', `/v3/${alice.projectId}/snapshots/${sid}`, { token: alice.token })).status,
      404,
    );
  });

  test('quota overrun is 413 with retryAfter and creates nothing', async () => {
    const q = await t.createMember('quota-v');
    const set = await t.request('PUT', `/v3/${admin.projectId}/os-quota-sets/${q.projectId}`, {
      token: admin.token,
      body: { quota_set: { gigabytes: 2 } },
    });
    assert.equal(set.status, 200, set.text);
    const r = await t.request('POST', `/v3/${q.projectId}/volumes`, { token: q.token, body: { volume: { size: 3 } } });
    assert.equal(r.status, 413);
    assert.equal(r.headers.get('retry-after'), '0');
    assert.equal(r.body.overLimit.retryAfter, '0');
    assert.match(r.body.overLimit.message, /VolumeSizeExceedsAvailableQuota/);
    assert.equal((await t.request('GET', `/v3/${q.projectId}/volumes`, { token: q.token })).body.volumes.length, 0);
  });

  test('create validation: below 3.53 nulls and unknown keys pass; from 3.53 strict', async () => {
    const lenient = await t.request('POST', `/v3/${alice.projectId}/volumes`, {
      token: alice.token,
      body: {
        volume: {
          size: '1',
          backup_id: null,
          consistencygroup_id: null,
          imageRef: null,
          snapshot_id: null,
          source_volid: null,
          volume_type: null,
          availability_zone: null,
          metadata: null,
          multiattach: null,
          whatever: 1,
        },
      },
    });
    assert.equal(lenient.status, 202, lenient.text);
    const strict = await t.request('POST', `/v3/${alice.projectId}/volumes`, {
      token: alice.token,
      mv: '3.53',
      body: { volume: { size: 1, whatever: 1 } },
    });
    assert.equal(strict.status, 400);
    assert.ok(strict.body.badRequest);
    const noSize = await t.request('POST', `/v3/${alice.projectId}/volumes`, {
      token: alice.token,
      body: { volume: { name: 'x' } },
    });
    assert.equal(noSize.status, 400);
    const badType = await t.request('POST', `/v3/${alice.projectId}/volumes`, {
      token: alice.token,
      body: { volume: { size: 1, volume_type: 'nope' } },
    });
    assert.equal(badType.status, 404);
    const fromBackup = await t.request('POST', `/v3/${alice.projectId}/volumes`, {
      token: alice.token,
      mv: '3.47',
      body: { volume: { size: 1, backup_id: crypto.randomUUID() } },
    });
    assert.equal(fromBackup.status, 404);
    assert.match(fromBackup.body.itemNotFound.message, /^Backup .* could not be found\.$/);
  });
});
