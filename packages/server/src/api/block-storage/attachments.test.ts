import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../../test-support/harness.js';
import { assertFault, BackupApi, type Who } from './test-support/backup-api.js';

let t: TestServer;
let api: BackupApi;
let admin: Who;
let alice: Who;
let bob: Who;
let multiType: string;

const MV = '3.54';
const v3 = (who: Who, path: string) => `/v3/${who.projectId}${path}`;
const req = (who: Who, method: string, path: string, body?: unknown, mv: string | null = MV) =>
  t.request(method, v3(who, path), { token: who.token, ...(body === undefined ? {} : { body }), ...(mv ? { mv } : {}) });

const connector = { host: 'compute-1', initiator: 'iqn.1993-08.org.debian:01:abc', mountpoint: '/dev/vdb', platform: 'x86_64', os_type: 'linux' };

async function volumeOf(who: Who, id: string): Promise<any> {
  const r = await req(who, 'GET', `/volumes/${id}`);
  assert.equal(r.status, 200, r.text);
  return r.body.volume;
}

async function attach(who: Who, volumeId: string, extra: Record<string, unknown> = {}) {
  return req(who, 'POST', '/attachments', { attachment: { volume_uuid: volumeId, ...extra } });
}

before(async () => {
  t = await startTestServer();
  api = new BackupApi(t);
  admin = { token: t.adminToken, projectId: t.adminProjectId };
  alice = await t.createMember('att-alice');
  bob = await t.createMember('att-bob');
  const ty = await req(admin, 'POST', '/types', { volume_type: { name: 'multi', extra_specs: { multiattach: '<is> True' } } });
  assert.equal(ty.status, 200, ty.text);
  multiType = ty.body.volume_type.id;
});
after(async () => t.close());

describe('attachments API', () => {
  test('reserve, connect, complete and delete walk the volume through reserved, attaching, in-use and back to available', async () => {
    const vol = await api.volume(alice, { size: 1, name: 'att' });
    const server = randomUUID();
    const created = await attach(alice, vol, { instance_uuid: server });
    assert.equal(created.status, 200, created.text);
    const a = created.body.attachment;
    assert.deepEqual(Object.keys(a).sort(), ['attach_mode', 'attached_at', 'connection_info', 'detached_at', 'id', 'instance', 'status', 'volume_id']);
    assert.equal(a.status, 'reserved');
    assert.equal(a.instance, server);
    assert.deepEqual(a.connection_info, {});
    assert.equal((await volumeOf(alice, vol)).status, 'reserved');

    const upd = await req(alice, 'PUT', `/attachments/${a.id}`, { attachment: { connector } });
    assert.equal(upd.status, 200, upd.text);
    const ci = upd.body.attachment.connection_info;
    assert.equal(ci.driver_volume_type, 'local');
    assert.equal(ci.attachment_id, a.id);
    assert.equal(ci.access_mode, 'rw');
    assert.equal(typeof ci.device_path, 'string');
    assert.equal(upd.body.attachment.status, 'attaching');
    assert.equal((await volumeOf(alice, vol)).status, 'attaching');
    // The volume view lists attached attachments only, as Cinder's does.
    assert.deepEqual((await volumeOf(alice, vol)).attachments, []);

    const done = await req(alice, 'POST', `/attachments/${a.id}/action`, { 'os-complete': null });
    assert.equal(done.status, 204, done.text);
    const inUse = await volumeOf(alice, vol);
    assert.equal(inUse.status, 'in-use');
    assert.equal(inUse.attachments.length, 1);
    assert.equal(inUse.attachments[0].attachment_id, a.id);
    assert.equal(inUse.attachments[0].server_id, server);
    assert.equal(inUse.attachments[0].device, '/dev/vdb');
    const shown = await req(alice, 'GET', `/attachments/${a.id}`);
    assert.equal(shown.body.attachment.status, 'attached');

    const del = await req(alice, 'DELETE', `/attachments/${a.id}`);
    assert.equal(del.status, 200, del.text);
    assert.deepEqual(del.body, { attachments: [] });
    const back = await volumeOf(alice, vol);
    assert.equal(back.status, 'available');
    assert.deepEqual(back.attachments, []);
    assertFault(await req(alice, 'GET', `/attachments/${a.id}`), 404, /Volume attachment could not be found/);
  });

  test('create with a connector connects at once; 3.54 mode ro is the connection access mode', async () => {
    const vol = await api.volume(alice, { size: 1 });
    const r = await attach(alice, vol, { instance_uuid: randomUUID(), connector, mode: 'ro' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.attachment.status, 'attaching');
    assert.equal(r.body.attachment.attach_mode, 'ro');
    assert.equal(r.body.attachment.connection_info.access_mode, 'ro');
    assert.equal((await volumeOf(alice, vol)).status, 'attaching');
    // Before 3.54 there is no mode: the schema refuses it.
    const vol2 = await api.volume(alice, { size: 1 });
    assertFault(await req(alice, 'POST', '/attachments', { attachment: { volume_uuid: vol2, mode: 'ro' } }, '3.27'), 400);
    assert.equal((await volumeOf(alice, vol2)).status, 'available');
  });

  test('a second attachment of a non-multiattach volume is refused; a multiattach type volume takes two', async () => {
    const single = await api.volume(alice, { size: 1 });
    assert.equal((await attach(alice, single, { instance_uuid: randomUUID() })).status, 200);
    assertFault(await attach(alice, single, { instance_uuid: randomUUID() }), 400, /status must be available/);

    const multi = await api.volume(alice, { size: 1, volume_type: multiType }, '3.50');
    assert.equal((await volumeOf(alice, multi)).multiattach, true);
    const servers = [randomUUID(), randomUUID()];
    const ids: string[] = [];
    for (const s of servers) {
      const r = await attach(alice, multi, { instance_uuid: s, connector });
      assert.equal(r.status, 200, r.text);
      ids.push(r.body.attachment.id);
      assert.equal((await req(alice, 'POST', `/attachments/${r.body.attachment.id}/action`, { 'os-complete': null })).status, 204);
    }
    const v = await volumeOf(alice, multi);
    assert.equal(v.status, 'in-use');
    assert.deepEqual(v.attachments.map((x: any) => x.server_id).sort(), [...servers].sort());
    const del = await req(alice, 'DELETE', `/attachments/${ids[0]}`);
    assert.deepEqual(del.body.attachments.map((x: any) => x.id), [ids[1]]);
    assert.equal((await volumeOf(alice, multi)).status, 'in-use');
    await req(alice, 'DELETE', `/attachments/${ids[1]}`);
    assert.equal((await volumeOf(alice, multi)).status, 'available');
  });

  test('the same server may attach a non-multiattach volume again (a move between hosts), but only one connection at a time', async () => {
    const vol = await api.volume(admin, { size: 1 });
    const server = randomUUID();
    const first = (await attach(admin, vol, { instance_uuid: server, connector })).body.attachment;
    assert.equal((await req(admin, 'POST', `/attachments/${first.id}/action`, { 'os-complete': null })).status, 204);
    assertFault(await attach(admin, vol, { instance_uuid: randomUUID() }), 400);
    const second = await attach(admin, vol, { instance_uuid: server });
    assert.equal(second.status, 200, second.text);
    assert.equal((await volumeOf(admin, vol)).status, 'in-use');
    assertFault(
      await req(admin, 'PUT', `/attachments/${second.body.attachment.id}`, { attachment: { connector: { ...connector, host: 'compute-2' } } }),
      409,
      /duplicate connectors/,
    );
    // The first goes (the volume is then reserved for the second), the second connects and completes.
    assert.deepEqual((await req(admin, 'DELETE', `/attachments/${first.id}`)).body.attachments.map((a: any) => a.id), [second.body.attachment.id]);
    assert.equal((await volumeOf(admin, vol)).status, 'reserved');
    const moved = await req(admin, 'PUT', `/attachments/${second.body.attachment.id}`, { attachment: { connector: { ...connector, host: 'compute-2' } } });
    assert.equal(moved.status, 200, moved.text);
    assert.equal((await req(admin, 'POST', `/attachments/${second.body.attachment.id}/action`, { 'os-complete': null })).status, 204);
    const v = await volumeOf(admin, vol);
    assert.equal(v.status, 'in-use');
    assert.equal(v.attachments.length, 1);
  });

  test('two concurrent attachment creates on a non-multiattach volume: exactly one wins', async () => {
    for (let round = 0; round < 3; round++) {
      const vol = await api.volume(alice, { size: 1 });
      const res = await Promise.all([0, 1, 2].map(() => attach(alice, vol, { instance_uuid: randomUUID() })));
      assert.deepEqual(res.map((r) => r.status).sort(), [200, 400, 400], res.map((r) => r.text).join('\n'));
      const listed = await req(alice, 'GET', `/attachments?volume_id=${vol}`);
      assert.equal(listed.body.attachments.length, 1);
    }
  });

  test('the legacy actions and the attachments API share one table', async () => {
    const vol = await api.volume(alice, { size: 1 });
    const server = randomUUID();
    for (const [action, body] of [
      ['os-reserve', {}],
      ['os-attach', { instance_uuid: server, mountpoint: '/dev/vdc', mode: 'rw' }],
    ] as const) {
      const r = await req(alice, 'POST', `/volumes/${vol}/action`, { [action]: body }, null);
      assert.equal(r.status, 202, r.text);
    }
    const listed = await req(alice, 'GET', `/attachments/detail?volume_id=${vol}`);
    assert.equal(listed.status, 200, listed.text);
    assert.equal(listed.body.attachments.length, 1);
    const att = listed.body.attachments[0];
    assert.equal(att.status, 'attached');
    assert.equal(att.instance, server);
    assert.equal((await volumeOf(alice, vol)).attachments[0].attachment_id, att.id);
    // Deleting through the new API detaches what the legacy action attached.
    assert.equal((await req(alice, 'DELETE', `/attachments/${att.id}`)).status, 200);
    assert.equal((await volumeOf(alice, vol)).status, 'available');

    // And the legacy detach removes an attachment the new API made.
    const made = await attach(alice, vol, { instance_uuid: server, connector });
    const id = made.body.attachment.id;
    assert.equal((await req(alice, 'POST', `/attachments/${id}/action`, { 'os-complete': null })).status, 204);
    const det = await req(alice, 'POST', `/volumes/${vol}/action`, { 'os-detach': { attachment_id: id } }, null);
    assert.equal(det.status, 202, det.text);
    assert.equal((await volumeOf(alice, vol)).status, 'available');
    assertFault(await req(alice, 'GET', `/attachments/${id}`), 404);
  });

  test('lists filter by volume, instance and status; another project sees nothing; admins see all with all_tenants', async () => {
    const vol = await api.volume(bob, { size: 1 });
    const server = randomUUID();
    const a = (await attach(bob, vol, { instance_uuid: server })).body.attachment;
    const mine = await req(bob, 'GET', `/attachments?instance_id=${server}`);
    assert.deepEqual(mine.body.attachments, [{ id: a.id, status: 'reserved', instance: server, volume_id: vol }]);
    assert.equal((await req(bob, 'GET', `/attachments?instance_id=${server}&status=attached`)).body.attachments.length, 0);
    assert.equal((await req(alice, 'GET', `/attachments?instance_id=${server}`)).body.attachments.length, 0);
    assertFault(await req(alice, 'GET', `/attachments/${a.id}`), 404);
    assertFault(await req(alice, 'DELETE', `/attachments/${a.id}`), 404);
    assert.equal((await req(admin, 'GET', `/attachments?instance_id=${server}`)).body.attachments.length, 0);
    assert.equal((await req(admin, 'GET', `/attachments?instance_id=${server}&all_tenants=1`)).body.attachments.length, 1);
    assertFault(await req(bob, 'GET', '/attachments?bogus=1'), 400, /Invalid filters/);
    const paged = await req(bob, 'GET', '/attachments?limit=1');
    assert.equal(paged.body.attachments.length, 1);
    assert.ok(Array.isArray(paged.body.attachments_links));
  });

  test('os-force_detach (admin) removes the named or only attachment whatever the status; the volume follows', async () => {
    const act = (who: Who, id: string, body: unknown) => req(who, 'POST', `/volumes/${id}/action`, body, null);
    const multi = await api.volume(bob, { size: 1, volume_type: multiType }, '3.50');
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await attach(bob, multi, { instance_uuid: randomUUID(), connector });
      ids.push(r.body.attachment.id);
      assert.equal((await req(bob, 'POST', `/attachments/${r.body.attachment.id}/action`, { 'os-complete': null })).status, 204);
    }
    assertFault(await act(bob, multi, { 'os-force_detach': { attachment_id: ids[0] } }), 403);
    assertFault(await act(admin, multi, { 'os-force_detach': {} }), 400, /More than one attachment/);
    assert.equal((await act(admin, multi, { 'os-force_detach': { attachment_id: ids[0], connector: null } })).status, 202);
    assert.equal((await volumeOf(bob, multi)).status, 'in-use');
    assertFault(await req(bob, 'GET', `/attachments/${ids[0]}`), 404);
    // A volume left detaching by a failed detach: forcing the only attachment off makes it available.
    assert.equal((await act(bob, multi, { 'os-begin_detaching': null })).status, 202);
    assert.equal((await volumeOf(bob, multi)).status, 'detaching');
    assert.equal((await act(admin, multi, { 'os-force_detach': null })).status, 202);
    const v = await volumeOf(bob, multi);
    assert.equal(v.status, 'available');
    assert.deepEqual(v.attachments, []);
    assert.deepEqual((await req(bob, 'GET', `/attachments?volume_id=${multi}`)).body.attachments, []);
  });

  test('bad input: 404 below 3.27 and on v2, 400 for junk bodies, an unknown volume 404, an error volume 400', async () => {
    const carol = await t.createMember('att-carol');
    const vol = await api.volume(carol, { size: 1 });
    // An empty connector (python-cinderclient's when not connecting) only reserves.
    assert.equal((await attach(carol, vol, { connector: {} })).body.attachment.status, 'reserved');
    assertFault(await req(carol, 'GET', '/attachments', undefined, '3.26'), 404);
    assertFault(await t.request('GET', `/v2/${carol.projectId}/attachments`, { token: carol.token }), 404);
    assertFault(await req(carol, 'POST', '/attachments', { attachment: {} }), 400);
    assertFault(await req(carol, 'POST', '/attachments', { attachment: { volume_uuid: 'nope' } }), 400);
    assertFault(await req(carol, 'POST', '/attachments', { attachment: { volume_uuid: randomUUID() } }), 404);
    const listed = (await req(carol, 'GET', `/attachments?volume_id=${vol}`)).body.attachments;
    assertFault(await req(carol, 'PUT', `/attachments/${listed[0].id}`, { attachment: { connector: {} } }), 400);
    assertFault(await req(carol, 'POST', `/attachments/${listed[0].id}/action`, { 'os-complete': null }, '3.43'), 400);
    const bad = await api.volume(carol, { size: 1 });
    assert.equal((await req(admin, 'POST', `/volumes/${bad}/action`, { 'os-reset_status': { status: 'error' } })).status, 202);
    assertFault(await attach(carol, bad), 400, /error state/);
  });
});
