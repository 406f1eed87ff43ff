import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, waitFor, type TestServer } from '../../../test-support/harness.js';

describe('block storage misc resources', () => {
  let t: TestServer;
  let url: string;
  let adminToken: string;
  let adminProject: string;
  /** A member whose project only reads and changes quotas. */
  let memberToken: string;
  let memberProject: string;
  /** A member whose project holds two volumes (1 and 2 GiB) and one snapshot: 2 volumes, 1 snapshot, 4 GiB. */
  let userToken: string;
  let userProject: string;

  const call = (method: string, path: string, opts: { token?: string; body?: unknown; mv?: string } = {}) => t.request(method, path, opts);

  async function waitAvailable(path: string, key: string, token: string): Promise<void> {
    await waitFor(async () => (await call('GET', path, { token })).body?.[key]?.status === 'available', `${path} available`);
  }

  before(async () => {
    t = await startTestServer({ backends: [{ name: 'raw', driver: 'raw', pool: 'raw' }] }); // asserts backend raw's names
    url = t.url;
    adminToken = t.adminToken;
    adminProject = t.adminProjectId;
    ({ token: memberToken, projectId: memberProject } = await t.createMember('misc-member'));
    ({ token: userToken, projectId: userProject } = await t.createMember('misc-user'));
    const ids: string[] = [];
    for (const size of [1, 2]) {
      const r = await call('POST', `/v3/${userProject}/volumes`, { token: userToken, body: { volume: { size } } });
      assert.equal(r.status, 202, r.text);
      ids.push(r.body.volume.id);
      await waitAvailable(`/v3/${userProject}/volumes/${r.body.volume.id}`, 'volume', userToken);
    }
    const s = await call('POST', `/v3/${userProject}/snapshots`, { token: userToken, body: { snapshot: { volume_id: ids[0] } } });
    assert.equal(s.status, 202, s.text);
    await waitAvailable(`/v3/${userProject}/snapshots/${s.body.snapshot.id}`, 'snapshot', userToken);
  });
  after(async () => t.close());

  describe('version documents', () => {
    test('GET / lists v3.0 and v2.0 with 300, absolute self links and no microversion header', async () => {
      const res = await call('GET', '/');
      assert.equal(res.status, 300);
      assert.equal(res.headers.get('openstack-api-version'), null);
      assert.match(res.headers.get('x-openstack-request-id') ?? '', /^req-[0-9a-f-]{36}$/);
      const [v3, v2] = res.body.versions;
      assert.equal(res.body.versions.length, 2);
      assert.deepEqual(
        { id: v3.id, status: v3.status, version: v3.version, min_version: v3.min_version, updated: v3.updated },
        { id: 'v3.0', status: 'CURRENT', version: '3.70', min_version: '3.0', updated: '2022-08-31T00:00:00Z' },
      );
      assert.deepEqual(v3.links.find((l: { rel: string }) => l.rel === 'self'), { rel: 'self', href: `${url}/v3/` });
      assert.deepEqual(v3['media-types'], [{ base: 'application/json', type: 'application/vnd.openstack.volume+json;version=3' }]);
      assert.deepEqual({ id: v2.id, status: v2.status, version: v2.version, min_version: v2.min_version }, { id: 'v2.0', status: 'DEPRECATED', version: '', min_version: '' });
      assert.deepEqual(v2.links.find((l: { rel: string }) => l.rel === 'self'), { rel: 'self', href: `${url}/v2/` });
    });

    test('GET /v3/ answers its own entry with 200, without a token, and echoes the microversion', async () => {
      for (const path of ['/v3/', '/v3']) {
        const res = await call('GET', path, { mv: '3.50' });
        assert.equal(res.status, 200, path);
        assert.deepEqual(res.body.versions.map((v: { id: string }) => v.id), ['v3.0']);
        assert.equal(res.headers.get('openstack-api-version'), 'volume 3.50');
      }
      const withBadToken = await call('GET', '/v3/', { token: 'not-a-token' });
      assert.equal(withBadToken.status, 200);
    });

    test('GET /v2/ answers the v2.0 entry with 200 and no microversion header', async () => {
      for (const path of ['/v2/', '/v2']) {
        const res = await call('GET', path);
        assert.equal(res.status, 200, path);
        assert.deepEqual(res.body.versions.map((v: { id: string }) => v.id), ['v2.0']);
        assert.equal(res.headers.get('openstack-api-version'), null);
      }
    });
  });

  describe('extensions', () => {
    test('lists Cinder descriptors with exactly the keys Tempest allows', async () => {
      const res = await call('GET', `/v3/${memberProject}/extensions`, { token: memberToken });
      assert.equal(res.status, 200);
      const aliases = res.body.extensions.map((e: { alias: string }) => e.alias);
      for (const a of ['os-quota-sets', 'os-used-limits', 'os-snapshot-manage', 'backups', 'os-admin-actions']) assert.ok(aliases.includes(a), a);
      assert.ok(res.body.extensions.some((e: { name: string }) => e.name === 'Hosts'));
      for (const e of res.body.extensions) assert.deepEqual(Object.keys(e).sort(), ['alias', 'description', 'links', 'name', 'updated']);
    });

    test('shows one by alias and 404s an unknown alias in the fault envelope', async () => {
      const one = await call('GET', `/v3/${memberProject}/extensions/os-quota-sets`, { token: memberToken });
      assert.equal(one.status, 200);
      assert.equal(one.body.extension.name, 'Quotas');
      const none = await call('GET', `/v3/${memberProject}/extensions/nope`, { token: memberToken });
      assert.equal(none.status, 404);
      assert.equal(none.body.itemNotFound.code, 404);
    });
  });

  describe('limits', () => {
    test('report the project quotas and its real usage, on every URL form', async () => {
      await call('PUT', `/v3/${adminProject}/os-quota-sets/${userProject}`, { token: adminToken, body: { quota_set: { volumes: 7, backup_gigabytes: 55 } } });
      for (const path of [`/v3/${userProject}/limits`, '/v3/limits', `/v2/${userProject}/limits`]) {
        const res = await call('GET', path, { token: userToken });
        assert.equal(res.status, 200, path);
        assert.deepEqual(res.body, {
          limits: {
            rate: [],
            absolute: {
              maxTotalVolumes: 7,
              maxTotalSnapshots: 10,
              maxTotalVolumeGigabytes: 1000,
              maxTotalBackups: 10,
              maxTotalBackupGigabytes: 55,
              totalVolumesUsed: 2,
              totalGigabytesUsed: 4,
              totalSnapshotsUsed: 1,
              totalBackupsUsed: 0,
              totalBackupGigabytesUsed: 0,
            },
          },
        });
      }
      await call('DELETE', `/v3/${adminProject}/os-quota-sets/${userProject}`, { token: adminToken });
    });

    test('an admin may ask for another project from 3.39 only', async () => {
      const old = await call('GET', `/v3/${adminProject}/limits?project_id=${userProject}`, { token: adminToken, mv: '3.38' });
      assert.equal(old.body.limits.absolute.totalVolumesUsed, 0);
      const now = await call('GET', `/v3/${adminProject}/limits?project_id=${userProject}`, { token: adminToken, mv: '3.39' });
      assert.equal(now.body.limits.absolute.totalVolumesUsed, 2);
      const notAdmin = await call('GET', `/v3/${userProject}/limits?tenant_id=${adminProject}`, { token: userToken, mv: '3.39' });
      assert.equal(notAdmin.body.limits.absolute.totalVolumesUsed, 2);
    });

    test('a project in the URL other than the token\'s is a 400', async () => {
      const res = await call('GET', `/v3/${adminProject}/limits`, { token: memberToken });
      assert.equal(res.status, 400);
      assert.equal(res.body.badRequest.message, 'Malformed request url');
    });
  });

  describe('quota sets', () => {
    const base = () => `/v3/${adminProject}/os-quota-sets`;

    test('a member reads its own quota set: every resource, groups, per-type keys and id', async () => {
      const res = await call('GET', `/v3/${memberProject}/os-quota-sets/${memberProject}`, { token: memberToken });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.quota_set, {
        volumes: 10,
        snapshots: 10,
        gigabytes: 1000,
        backups: 10,
        backup_gigabytes: 1000,
        per_volume_gigabytes: -1,
        groups: 10,
        volumes___DEFAULT__: -1,
        snapshots___DEFAULT__: -1,
        gigabytes___DEFAULT__: -1,
        id: memberProject,
      });
    });

    test('a member may not read another project, an admin may read any', async () => {
      const denied = await call('GET', `/v3/${memberProject}/os-quota-sets/${adminProject}`, { token: memberToken });
      assert.equal(denied.status, 403);
      assert.deepEqual(denied.body, { forbidden: { code: 403, message: "Policy doesn't allow volume_extension:quotas:show to be performed." } });
      const ok = await call('GET', `${base()}/${memberProject}`, { token: adminToken });
      assert.equal(ok.status, 200);
      assert.equal(ok.body.quota_set.id, memberProject);
    });

    test('usage=true gives limit, in_use and reserved for every key', async () => {
      const res = await call('GET', `/v3/${userProject}/os-quota-sets/${userProject}?usage=True`, { token: userToken });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.quota_set.snapshots, { limit: 10, in_use: 1, reserved: 0 });
      assert.deepEqual(res.body.quota_set.gigabytes, { limit: 1000, in_use: 4, reserved: 0 });
      assert.deepEqual(res.body.quota_set.groups, { limit: 10, in_use: 0, reserved: 0 });
      assert.deepEqual(res.body.quota_set.volumes___DEFAULT__, { limit: -1, in_use: 2, reserved: 0 });
      assert.equal(res.body.quota_set.id, userProject);
      const plain = await call('GET', `/v3/${userProject}/os-quota-sets/${userProject}?usage=False`, { token: userToken });
      assert.equal(plain.body.quota_set.volumes, 10);
      const bad = await call('GET', `${base()}/${userProject}?usage=maybe`, { token: adminToken });
      assert.equal(bad.status, 400);
    });

    test('defaults ignore the project overrides', async () => {
      await call('PUT', `${base()}/${memberProject}`, { token: adminToken, body: { quota_set: { volumes: 3 } } });
      const res = await call('GET', `/v3/${memberProject}/os-quota-sets/${memberProject}/defaults`, { token: memberToken });
      assert.equal(res.status, 200);
      assert.equal(res.body.quota_set.volumes, 10);
      assert.equal(res.body.quota_set.id, memberProject);
      await call('DELETE', `${base()}/${memberProject}`, { token: adminToken });
    });

    test('an admin updates limits (integers, integer strings, -1) and gets the new set back without id', async () => {
      const res = await call('PUT', `${base()}/${memberProject}`, {
        token: adminToken,
        body: { quota_set: { volumes: 11, gigabytes: '1009', snapshots: -1, groups: 4, snapshots___DEFAULT__: 5, tenant_id: memberProject } },
      });
      assert.equal(res.status, 200);
      assert.equal(res.body.quota_set.volumes, 11);
      assert.equal(res.body.quota_set.gigabytes, 1009);
      assert.equal(res.body.quota_set.snapshots, -1);
      assert.equal(res.body.quota_set.groups, 4);
      assert.equal(res.body.quota_set.snapshots___DEFAULT__, 5);
      assert.equal(res.body.quota_set.backups, 10);
      assert.equal(res.body.quota_set.id, undefined);
      const shown = await call('GET', `${base()}/${memberProject}`, { token: adminToken });
      assert.equal(shown.body.quota_set.volumes, 11);
    });

    test('delete puts the project back on the defaults with a 200 and no body', async () => {
      await call('PUT', `${base()}/${memberProject}`, { token: adminToken, body: { quota_set: { volumes: 15 } } });
      const res = await call('DELETE', `${base()}/${memberProject}`, { token: adminToken });
      assert.equal(res.status, 200);
      assert.equal(res.text, '');
      const shown = await call('GET', `${base()}/${memberProject}`, { token: adminToken });
      assert.equal(shown.body.quota_set.volumes, 10);
    });

    test('members may neither update nor delete quotas', async () => {
      const put = await call('PUT', `/v3/${memberProject}/os-quota-sets/${memberProject}`, { token: memberToken, body: { quota_set: { volumes: 50 } } });
      assert.equal(put.status, 403);
      assert.equal(put.body.forbidden.message, "Policy doesn't allow volume_extension:quotas:update to be performed.");
      const del = await call('DELETE', `/v3/${memberProject}/os-quota-sets/${memberProject}`, { token: memberToken });
      assert.equal(del.status, 403);
      assert.equal(del.body.forbidden.message, "Policy doesn't allow volume_extension:quotas:delete to be performed.");
      const shown = await call('GET', `/v3/${memberProject}/os-quota-sets/${memberProject}`, { token: memberToken });
      assert.equal(shown.body.quota_set.volumes, 10);
    });

    test('bad bodies are 400 and write nothing', async () => {
      const cases: [unknown, RegExp][] = [
        [{ quota_set: { volumes: 5, bogus: 1, other: 2 } }, /^Invalid input received: Bad key\(s\) in quota set: bogus, other$/],
        [{ quota_set: { volumes: -2 } }, /^volumes must be >= -1$/],
        [{ quota_set: { volumes: 1.5 } }, /^volumes must be an integer$/],
        [{ quota_set: { volumes: true } }, /^volumes must be an integer$/],
        [{ quota_set: { volumes: 2147483648 } }, /^volumes must be <= 2147483647$/],
        [{ quota_set: { volumes___gold: 1 } }, /Bad key\(s\) in quota set: volumes___gold/],
        [{ quota_set: {} }, /quota_set/],
        [{ quota_set: 5 }, /quota_set/],
        [{ quota: { volumes: 5 } }, /quota/],
        [undefined, /./],
      ];
      for (const [body, message] of cases) {
        const res = await call('PUT', `${base()}/${memberProject}`, { token: adminToken, body });
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.match(res.body.badRequest.message, message, JSON.stringify(body));
      }
      const shown = await call('GET', `${base()}/${memberProject}`, { token: adminToken });
      assert.equal(shown.body.quota_set.volumes, 10);
    });

    test('a limit below current usage is refused with Cinder\'s text, -1 is always accepted', async () => {
      const res = await call('PUT', `${base()}/${userProject}`, { token: adminToken, body: { quota_set: { snapshots: 4, volumes: 1 } } });
      assert.equal(res.status, 400);
      assert.equal(res.body.badRequest.message, 'Quota volumes limit must be equal or greater than existing resources. Current usage is 2 and the requested limit is 1.');
      const shown = await call('GET', `${base()}/${userProject}`, { token: adminToken });
      assert.equal(shown.body.quota_set.snapshots, 10, 'nothing written when one key fails');
      const equal = await call('PUT', `${base()}/${userProject}`, { token: adminToken, body: { quota_set: { volumes: 2 } } });
      assert.equal(equal.status, 200);
      const full = await call('POST', `/v3/${userProject}/volumes`, { token: userToken, body: { volume: { size: 1 } } });
      assert.equal(full.status, 413, 'the new limit is enforced');
      const unlimited = await call('PUT', `${base()}/${userProject}`, { token: adminToken, body: { quota_set: { volumes: -1 } } });
      assert.equal(unlimited.body.quota_set.volumes, -1);
      await call('DELETE', `${base()}/${userProject}`, { token: adminToken });
    });

    test('the default quota class is the defaults, for admins only', async () => {
      const res = await call('GET', `${base().replace('os-quota-sets', 'os-quota-class-sets')}/default`, { token: adminToken });
      assert.equal(res.status, 200);
      assert.equal(res.body.quota_class_set.id, 'default');
      assert.equal(res.body.quota_class_set.volumes, 10);
      assert.equal(res.body.quota_class_set.gigabytes___DEFAULT__, -1);
      const member = await call('GET', `/v3/${memberProject}/os-quota-class-sets/default`, { token: memberToken });
      assert.equal(member.status, 403);
    });
  });

  describe('availability zones, types, services, pools, resource filters', () => {
    test('one available zone from the configuration', async () => {
      const res = await call('GET', `/v3/${memberProject}/os-availability-zone`, { token: memberToken });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { availabilityZoneInfo: [{ zoneName: 'nova', zoneState: { available: true } }] });
    });

    test('types list and show the default type; a member sees no qos_specs_id', async () => {
      const list = await call('GET', `/v3/${memberProject}/types`, { token: memberToken });
      assert.equal(list.status, 200);
      assert.equal(list.body.volume_types.length, 1);
      const t = list.body.volume_types[0];
      assert.deepEqual(t, { id: t.id, name: '__DEFAULT__', is_public: true, description: 'Default Volume Type', extra_specs: {}, 'os-volume-type-access:is_public': true });
      assert.match(t.id, /^[0-9a-f-]{36}$/);
      const byId = await call('GET', `/v3/${memberProject}/types/${t.id}`, { token: memberToken });
      assert.deepEqual(byId.body.volume_type, t);
      const dflt = await call('GET', `/v3/${memberProject}/types/default`, { token: memberToken });
      assert.equal(dflt.body.volume_type.id, t.id);
      const admin = await call('GET', `/v3/${adminProject}/types/${t.id}`, { token: adminToken });
      assert.equal(admin.body.volume_type.qos_specs_id, null);
      const specs = await call('GET', `/v3/${memberProject}/types/${t.id}/extra_specs`, { token: memberToken });
      assert.deepEqual(specs.body, { extra_specs: {} });
    });

    test('unknown types and keys are 404 with Cinder text; a bad is_public is 400', async () => {
      const id = '00000000-0000-0000-0000-000000000000';
      const res = await call('GET', `/v3/${memberProject}/types/${id}`, { token: memberToken });
      assert.equal(res.status, 404);
      assert.equal(res.body.itemNotFound.message, `Volume type with id ${id} could not be found.`);
      const list = await call('GET', `/v3/${memberProject}/types`, { token: memberToken });
      const key = await call('GET', `/v3/${memberProject}/types/${list.body.volume_types[0].id}/extra_specs/k`, { token: memberToken });
      assert.equal(key.status, 404);
      const bad = await call('GET', `/v3/${adminProject}/types?is_public=perhaps`, { token: adminToken });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.badRequest.message, 'Invalid is_public filter [perhaps]');
    });

    test('os-services lists scheduler, volume per backend and backup, filtered as Cinder filters hosts', async () => {
      const res = await call('GET', `/v3/${adminProject}/os-services`, { token: adminToken });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.services.map((s: { binary: string; host: string }) => `${s.binary} ${s.host}`), ['cinder-scheduler cinderbox', 'cinder-volume cinderbox@raw', 'cinder-backup cinderbox']);
      const vol = res.body.services[1];
      assert.deepEqual(
        { zone: vol.zone, status: vol.status, state: vol.state, disabled_reason: vol.disabled_reason, frozen: vol.frozen },
        { zone: 'nova', status: 'enabled', state: 'up', disabled_reason: null, frozen: false },
      );
      assert.match(vol.updated_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
      assert.equal(vol.cluster, undefined);
      const byHost = await call('GET', `/v3/${adminProject}/os-services?host=cinderbox`, { token: adminToken });
      assert.equal(byHost.body.services.length, 3);
      const byBackend = await call('GET', `/v3/${adminProject}/os-services?host=cinderbox@raw&binary=cinder-volume`, { token: adminToken });
      assert.deepEqual(byBackend.body.services.map((s: { host: string }) => s.host), ['cinderbox@raw']);
      const none = await call('GET', `/v3/${adminProject}/os-services?host=other`, { token: adminToken });
      assert.deepEqual(none.body.services, []);
      const mv = await call('GET', `/v3/${adminProject}/os-services?binary=cinder-volume`, { token: adminToken, mv: '3.49' });
      assert.equal(mv.body.services[0].backend_state, 'up');
      assert.equal(mv.body.services[0].cluster, null);
    });

    test('pools report the data directory filesystem capacity in detail', async () => {
      const res = await call('GET', `/v3/${adminProject}/scheduler-stats/get_pools`, { token: adminToken });
      assert.deepEqual(res.body, { pools: [{ name: 'cinderbox@raw#raw' }] });
      const detail = await call('GET', `/v3/${adminProject}/scheduler-stats/get_pools?detail=true`, { token: adminToken });
      const caps = detail.body.pools[0].capabilities;
      assert.equal(caps.volume_backend_name, 'raw');
      assert.equal(caps.vendor_name, 'Open Source');
      assert.ok(typeof caps.total_capacity_gb === 'number' && caps.total_capacity_gb > 0);
      assert.ok(caps.free_capacity_gb >= 0 && caps.free_capacity_gb <= caps.total_capacity_gb);
      const filtered = await call('GET', `/v3/${adminProject}/scheduler-stats/get_pools?name=x`, { token: adminToken, mv: '3.28' });
      assert.deepEqual(filtered.body.pools, []);
    });

    test('services and pools are admin only', async () => {
      const s = await call('GET', `/v3/${memberProject}/os-services`, { token: memberToken });
      assert.equal(s.status, 403);
      assert.equal(s.body.forbidden.message, "Policy doesn't allow volume_extension:services:index to be performed.");
      const p = await call('GET', `/v3/${memberProject}/scheduler-stats/get_pools`, { token: memberToken });
      assert.equal(p.status, 403);
    });

    test('resource filters exist from 3.33 and narrow by resource', async () => {
      const old = await call('GET', `/v3/${memberProject}/resource_filters`, { token: memberToken, mv: '3.32' });
      assert.equal(old.status, 404);
      const v2 = await call('GET', `/v2/${memberProject}/resource_filters`, { token: memberToken });
      assert.equal(v2.status, 404);
      const all = await call('GET', `/v3/${memberProject}/resource_filters`, { token: memberToken, mv: '3.33' });
      assert.equal(all.status, 200);
      assert.ok(all.body.resource_filters.some((f: { resource: string }) => f.resource === 'volume'));
      const one = await call('GET', `/v3/${memberProject}/resource_filters?resource=snapshot`, { token: memberToken, mv: '3.33' });
      assert.deepEqual(one.body, { resource_filters: [{ resource: 'snapshot', filters: ['name', 'status', 'volume_id', 'metadata', 'availability_zone', 'consumes_quota'] }] });
    });
  });
});
