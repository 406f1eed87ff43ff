import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../../test-support/harness.js';
import { assertFault, BackupApi, type Who } from './test-support/backup-api.js';

let t: TestServer;
let api: BackupApi;
let admin: Who;
let member: Who;
/** The default volume type: the only type a fresh server has, so the one these tests associate. */
let typeId: string;

const req = (who: Who, method: string, path: string, body?: unknown) =>
  t.request(method, `/v3/${who.projectId}${path}`, { token: who.token, ...(body === undefined ? {} : { body }) });

async function create(qos: Record<string, unknown>): Promise<{ id: string; name: string; consumer: string; specs: Record<string, unknown> }> {
  const r = await req(admin, 'POST', '/qos-specs', { qos_specs: qos });
  assert.equal(r.status, 200, r.text);
  return r.body.qos_specs;
}

async function associations(id: string): Promise<string[]> {
  const r = await req(admin, 'GET', `/qos-specs/${id}/associations`);
  assert.equal(r.status, 200, r.text);
  return r.body.qos_associations.map((a: { association_type: string; id: string }) => {
    assert.equal(a.association_type, 'volume_type');
    return a.id;
  });
}

const typeQosId = async () => (await req(admin, 'GET', `/types/${typeId}`)).body.volume_type.qos_specs_id;

before(async () => {
  t = await startTestServer();
  api = new BackupApi(t);
  admin = { token: t.adminToken, projectId: t.adminProjectId };
  member = await t.createMember('qos-member');
  const d = await req(admin, 'GET', '/types/default');
  assert.equal(d.status, 200, d.text);
  typeId = d.body.volume_type.id;
});
after(async () => t.close());

describe('QoS specs', () => {
  test('create, show, list, set and unset keys, delete: Cinder bodies and status codes', async () => {
    const r = await req(admin, 'POST', '/qos-specs', { qos_specs: { name: ' gold ', consumer: 'front-end', read_iops_sec: '2000' } });
    assert.equal(r.status, 200, r.text);
    const q = r.body.qos_specs;
    assert.deepEqual(Object.keys(r.body).sort(), ['links', 'qos_specs']);
    assert.deepEqual({ ...q, id: undefined }, { id: undefined, name: 'gold', consumer: 'front-end', specs: { read_iops_sec: '2000' } });
    assert.match(r.body.links[0].href, new RegExp(`/v3/${admin.projectId}/qos-specs/${q.id}$`));

    assert.equal((await req(admin, 'POST', '/qos-specs', { qos_specs: { name: 'gold' } })).status, 409);
    assert.equal((await create({ name: 'silver' })).consumer, 'back-end', 'back-end is the default consumer');

    const shown = await req(admin, 'GET', `/qos-specs/${q.id}`);
    assert.equal(shown.status, 200, shown.text);
    assert.deepEqual(shown.body.qos_specs, q);
    const list = await req(admin, 'GET', '/qos-specs');
    assert.ok(list.body.qos_specs.some((x: unknown) => JSON.stringify(x) === JSON.stringify(q)), list.text);
    assert.deepEqual((await req(admin, 'GET', '/qos-specs?name=gold')).body.qos_specs.map((x: { id: string }) => x.id), [q.id]);
    const page = await req(admin, 'GET', '/qos-specs?limit=1&sort=name:asc');
    assert.equal(page.body.qos_specs[0].name, 'gold');
    assert.ok(page.body.qos_specs_links, page.text);

    // Set answers with the request body; a consumer in it changes the consumer, not the specs.
    const set = await req(admin, 'PUT', `/qos-specs/${q.id}`, { qos_specs: { iops_bytes: '500', consumer: 'both' } });
    assert.equal(set.status, 200, set.text);
    assert.deepEqual(set.body, { qos_specs: { iops_bytes: '500', consumer: 'both' } });
    const after1 = (await req(admin, 'GET', `/qos-specs/${q.id}`)).body.qos_specs;
    assert.equal(after1.consumer, 'both');
    assert.deepEqual(after1.specs, { iops_bytes: '500', read_iops_sec: '2000' });
    assertFault(await req(admin, 'PUT', `/qos-specs/${q.id}`, { qos_specs: { consumer: 'middle' } }), 400, /consumer/);

    // Keys go in order until the first one missing; the ones before it stay deleted, as in Cinder.
    assertFault(await req(admin, 'PUT', `/qos-specs/${q.id}/delete_keys`, { keys: ['iops_bytes', 'nope', 'read_iops_sec'] }), 404, /no spec with key nope/);
    assert.deepEqual((await req(admin, 'GET', `/qos-specs/${q.id}`)).body.qos_specs.specs, { read_iops_sec: '2000' });
    assert.equal((await req(admin, 'PUT', `/qos-specs/${q.id}/delete_keys`, { keys: ['read_iops_sec'] })).status, 202);
    assert.deepEqual((await req(admin, 'GET', `/qos-specs/${q.id}`)).body.qos_specs.specs, {});

    assert.equal((await req(admin, 'DELETE', `/qos-specs/${q.id}`)).status, 202);
    assertFault(await req(admin, 'GET', `/qos-specs/${q.id}`), 404, /No such QoS spec/);
    assertFault(await req(admin, 'DELETE', `/qos-specs/${q.id}`), 404);
  });

  test('bad bodies are 400 and create nothing', async () => {
    for (const body of [
      {},
      { qos_specs: {} },
      { qos_specs: { name: '' } },
      { qos_specs: { name: '   ' } },
      { qos_specs: { name: 'x\u0000y' } },
      { qos_specs: { name: 'n1', consumer: 'nobody' } },
      { qos_specs: { name: 'n2', read_iops_sec: 5 } },
      { qos_specs: { name: 'n3', k: 'v\u0000' } },
      { qos_specs: { name: 'n4', k: 'x'.repeat(256) } },
      { qos_specs: { name: 'n5' }, extra: 1 },
    ]) {
      assertFault(await req(admin, 'POST', '/qos-specs', body), 400);
    }
    const names = (await req(admin, 'GET', '/qos-specs')).body.qos_specs.map((x: { name: string }) => x.name);
    for (const n of ['n1', 'n2', 'n3', 'n4', 'n5']) assert.ok(!names.includes(n), n);
    const q = await create({ name: 'bad-bodies' });
    assertFault(await req(admin, 'PUT', `/qos-specs/${q.id}`, { qos_specs: { 'bad\u0001key': 'v' } }), 400);
    assertFault(await req(admin, 'PUT', `/qos-specs/${q.id}/delete_keys`, { keys: 'k' }), 400);
    assertFault(await req(admin, 'DELETE', `/qos-specs/${q.id}?force=maybe`), 400);
  });

  test('associate, associations, disassociate, disassociate_all; the type shows qos_specs_id', async () => {
    const q = await create({ name: 'assoc', consumer: 'back-end' });
    const other = await create({ name: 'assoc-other' });
    assertFault(await req(admin, 'GET', `/qos-specs/${q.id}/associate`), 400, /Volume Type id must not be None/);
    assertFault(await req(admin, 'GET', `/qos-specs/${q.id}/associate?vol_type_id=nosuchtype`), 404, /Volume type nosuchtype could not be found/);
    assertFault(await req(admin, 'GET', `/qos-specs/00000000-0000-0000-0000-000000000000/associate?vol_type_id=${typeId}`), 404);

    assert.equal((await req(admin, 'GET', `/qos-specs/${q.id}/associate?vol_type_id=${typeId}`)).status, 202);
    assert.deepEqual(await associations(q.id), [typeId]);
    assert.equal(await typeQosId(), q.id);
    // A member sees no qos_specs_id on a type, as in Cinder.
    assert.ok(!('qos_specs_id' in (await req(member, 'GET', `/types/${typeId}`)).body.volume_type));
    // Again with the same spec: nothing changes; with another: refused, a type has one spec.
    assert.equal((await req(admin, 'GET', `/qos-specs/${q.id}/associate?vol_type_id=${typeId}`)).status, 202);
    assertFault(await req(admin, 'GET', `/qos-specs/${other.id}/associate?vol_type_id=${typeId}`), 400, /already associated with another qos specs/);
    // Disassociating from a spec the type is not associated with leaves the association alone.
    assert.equal((await req(admin, 'GET', `/qos-specs/${other.id}/disassociate?vol_type_id=${typeId}`)).status, 202);
    assert.equal(await typeQosId(), q.id);

    assert.equal((await req(admin, 'GET', `/qos-specs/${q.id}/disassociate?vol_type_id=${typeId}`)).status, 202);
    assert.deepEqual(await associations(q.id), []);
    assert.equal(await typeQosId(), null);

    assert.equal((await req(admin, 'GET', `/qos-specs/${q.id}/associate?vol_type_id=${typeId}`)).status, 202);
    assert.equal((await req(admin, 'GET', `/qos-specs/${q.id}/disassociate_all`)).status, 202);
    assert.deepEqual(await associations(q.id), []);
    assert.equal(await typeQosId(), null);
  });

  test('delete is refused while a type is associated, and allowed with force, which disassociates', async () => {
    const q = await create({ name: 'in-use' });
    assert.equal((await req(admin, 'GET', `/qos-specs/${q.id}/associate?vol_type_id=${typeId}`)).status, 202);
    assertFault(await req(admin, 'DELETE', `/qos-specs/${q.id}`), 400, /Qos specs still in use/);
    assertFault(await req(admin, 'DELETE', `/qos-specs/${q.id}?force=false`), 400);
    assert.equal((await req(admin, 'GET', `/qos-specs/${q.id}`)).status, 200, 'still there');
    assert.equal(await typeQosId(), q.id);
    assert.equal((await req(admin, 'DELETE', `/qos-specs/${q.id}?force=true`)).status, 202);
    assert.equal((await req(admin, 'GET', `/qos-specs/${q.id}`)).status, 404);
    assert.equal(await typeQosId(), null);
  });

  test('non-admins are refused every QoS route with 403 naming the policy', async () => {
    const q = await create({ name: 'admins-only' });
    const calls: [string, string, unknown?][] = [
      ['GET', '/qos-specs'],
      ['POST', '/qos-specs', { qos_specs: { name: 'member-made' } }],
      ['GET', `/qos-specs/${q.id}`],
      ['PUT', `/qos-specs/${q.id}`, { qos_specs: { k: 'v' } }],
      ['PUT', `/qos-specs/${q.id}/delete_keys`, { keys: ['k'] }],
      ['DELETE', `/qos-specs/${q.id}`],
      ['GET', `/qos-specs/${q.id}/associations`],
      ['GET', `/qos-specs/${q.id}/associate?vol_type_id=${typeId}`],
      ['GET', `/qos-specs/${q.id}/disassociate?vol_type_id=${typeId}`],
      ['GET', `/qos-specs/${q.id}/disassociate_all`],
    ];
    for (const [method, path, body] of calls) {
      assertFault(await req(member, method, path, body), 403, /^Policy doesn't allow volume_extension:qos_specs_manage:\w+ to be performed\.$/);
    }
    const shown = (await req(admin, 'GET', `/qos-specs/${q.id}`)).body.qos_specs;
    assert.deepEqual(shown.specs, {});
    assert.deepEqual(await associations(q.id), []);
    assert.ok(!(await req(admin, 'GET', '/qos-specs')).body.qos_specs.some((x: { name: string }) => x.name === 'member-made'));
  });

  test('os-initialize_connection reports front-end limits, per-GB ones scaled by the volume size', async () => {
    const vol = await api.volume(member, { size: 3, name: 'limited' });
    const conn = async () => {
      const r = await req(member, 'POST', `/volumes/${vol}/action`, { 'os-initialize_connection': { connector: { host: 'h' } } });
      assert.equal(r.status, 200, r.text);
      return r.body.connection_info.data.qos_specs;
    };
    assert.equal(await conn(), null, 'no QoS on the type: null, as Cinder reports it');

    const back = await create({ name: 'backend-only', consumer: 'back-end', total_iops_sec: '100' });
    assert.equal((await req(admin, 'GET', `/qos-specs/${back.id}/associate?vol_type_id=${typeId}`)).status, 202);
    assert.equal(await conn(), null, 'back-end limits are not the front end’s');
    assert.equal((await req(admin, 'GET', `/qos-specs/${back.id}/disassociate_all`)).status, 202);

    const front = await create({
      name: 'front',
      consumer: 'both',
      total_bytes_sec: '1048576',
      read_iops_sec_per_gb: '100',
      write_iops_sec_per_gb: '10',
      write_iops_sec_per_gb_min: '50',
      total_iops_sec_per_gb: '1000',
      total_iops_sec_max: '2500',
    });
    assert.equal((await req(admin, 'GET', `/qos-specs/${front.id}/associate?vol_type_id=${typeId}`)).status, 202);
    assert.deepEqual(await conn(), {
      total_bytes_sec: '1048576',
      read_iops_sec: 300, // 100 × 3 GiB
      write_iops_sec: 50, // 10 × 3 = 30, raised to the minimum
      total_iops_sec: 2500, // 1000 × 3 = 3000, capped at the maximum
    });
    assert.equal((await req(admin, 'DELETE', `/qos-specs/${front.id}?force=1`)).status, 202);
    assert.equal(await conn(), null);
  });

  test('back-end limits pace the cinderbox-data upload and download, which stay byte-exact', async () => {
    const q = await create({ name: 'paced', consumer: 'back-end', write_bytes_sec: '2097152', read_bytes_sec_per_gb: '262144' });
    assert.equal((await req(admin, 'GET', `/qos-specs/${q.id}/associate?vol_type_id=${typeId}`)).status, 202);
    try {
      const vol = await api.volume(member, { size: 2, name: 'paced' });
      const data = randomBytes(1024 * 1024);
      const up = await t.request('PUT', `/v3/${member.projectId}/volumes/${vol}/cinderbox-data`, {
        token: member.token,
        rawBody: data,
        headers: { 'Content-Type': 'application/octet-stream' },
      });
      assert.equal(up.status, 200, up.text);
      await api.volumeStatus(member, vol, 'available');
      // 512 KiB/s (256 KiB per GiB × 2 GiB): the second half of the MiB waits for the bucket to refill.
      const res = await fetch(`${t.url}/v3/${member.projectId}/volumes/${vol}/cinderbox-data`, {
        headers: { 'X-Auth-Token': member.token, Range: `bytes=0-${data.length - 1}` },
      });
      assert.equal(res.status, 206);
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(data), 'the paced download returns the uploaded bytes');
    } finally {
      await req(admin, 'DELETE', `/qos-specs/${q.id}?force=true`);
    }
  });
});
