import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer, waitFor } from '../../test-support/harness.js';
import { assertFault, BackupApi, MiB, type Who } from './test-support/backup-api.js';

let t: TestServer;
let api: BackupApi;
let admin: Who;
let alice: Who;
let bob: Who;

const v3 = (who: Who, path: string) => `/v3/${who.projectId}${path}`;
const req = (who: Who, method: string, path: string, body?: unknown, mv?: string) =>
  t.request(method, v3(who, path), { token: who.token, ...(body === undefined ? {} : { body }), ...(mv ? { mv } : {}) });

async function upload(who: Who, id: string, data: Buffer): Promise<void> {
  const r = await t.request('PUT', v3(who, `/volumes/${id}/cinderbox-data`), {
    token: who.token,
    rawBody: data,
    headers: { 'Content-Type': 'application/octet-stream' },
  });
  assert.ok(r.status >= 200 && r.status < 300, r.text);
  await api.volumeStatus(who, id, 'available');
}

/** The first `length` bytes of a volume or snapshot, read over HTTP by `who`. */
async function download(who: Who, kind: 'volumes' | 'snapshots', id: string, length: number): Promise<Buffer> {
  const res = await fetch(`${t.url}${v3(who, `/${kind}/${id}/cinderbox-data`)}`, {
    headers: { 'X-Auth-Token': who.token, Range: `bytes=0-${length - 1}` },
  });
  assert.equal(res.status, 206, `${kind} ${id} read by ${who.projectId}`);
  return Buffer.from(await res.arrayBuffer());
}

async function snapshot(who: Who, volumeId: string): Promise<string> {
  const r = await req(who, 'POST', '/snapshots', { snapshot: { volume_id: volumeId, name: 'snap' } });
  assert.equal(r.status, 202, r.text);
  const id = r.body.snapshot.id as string;
  await waitFor(async () => (await req(who, 'GET', `/snapshots/${id}`)).body.snapshot?.status === 'available', `snapshot ${id}`);
  return id;
}

async function usage(who: Who): Promise<{ volumes: number; snapshots: number; gigabytes: number }> {
  const r = await t.request('GET', `/v3/${admin.projectId}/os-quota-sets/${who.projectId}?usage=true`, { token: admin.token });
  assert.equal(r.status, 200, r.text);
  const q = r.body.quota_set;
  return { volumes: q.volumes.in_use, snapshots: q.snapshots.in_use, gigabytes: q.gigabytes.in_use };
}

async function offer(who: Who, volumeId: string, opts: { path?: string; mv?: string; extra?: Record<string, unknown> } = {}) {
  const r = await req(who, 'POST', opts.path ?? '/os-volume-transfer', { transfer: { volume_id: volumeId, name: 'gift', ...opts.extra } }, opts.mv);
  assert.equal(r.status, 202, r.text);
  return r.body.transfer as { id: string; auth_key: string } & Record<string, unknown>;
}

before(async () => {
  t = await startTestServer();
  api = new BackupApi(t);
  admin = { token: t.adminToken, projectId: t.adminProjectId };
  alice = await t.createMember('xfer-alice');
  bob = await t.createMember('xfer-bob');
});
after(async () => t.close());

describe('volume transfer', () => {
  test('a volume with bytes and a snapshot moves to the accepting project, byte-exact, with its quota usage', async () => {
    const data = randomBytes(MiB);
    const vol = await api.volume(alice, { size: 1, name: 'moving' });
    await upload(alice, vol, data);
    const snap = await snapshot(alice, vol);
    const [a0, b0] = [await usage(alice), await usage(bob)];

    const tr = await offer(alice, vol);
    assert.match(tr.auth_key, /^[0-9a-f]{16}$/);
    assert.deepEqual(Object.keys(tr).sort(), ['auth_key', 'created_at', 'id', 'links', 'name', 'volume_id']);
    assert.equal((await req(alice, 'GET', `/volumes/${vol}`)).body.volume.status, 'awaiting-transfer');
    // The key is shown once: never in show or list.
    const shown = await req(alice, 'GET', `/os-volume-transfer/${tr.id}`);
    assert.equal(shown.status, 200, shown.text);
    assert.deepEqual(Object.keys(shown.body.transfer).sort(), ['created_at', 'id', 'links', 'name', 'volume_id']);
    const listed = (await req(alice, 'GET', '/os-volume-transfer')).body.transfers;
    assert.deepEqual(listed, [{ id: tr.id, volume_id: vol, name: 'gift', links: shown.body.transfer.links }]);
    // Awaiting a transfer, the volume cannot be deleted or attached.
    assertFault(await req(alice, 'DELETE', `/volumes/${vol}`), 400, /awaiting a transfer/);
    assertFault(await req(alice, 'POST', `/volumes/${vol}/action`, { 'os-reserve': null }), 400);
    // Another project neither sees the offer nor lists it.
    assertFault(await req(bob, 'GET', `/os-volume-transfer/${tr.id}`), 404, new RegExp(`Transfer ${tr.id} could not be found`));
    assert.deepEqual((await req(bob, 'GET', '/os-volume-transfer')).body.transfers, []);

    const accepted = await req(bob, 'POST', `/os-volume-transfer/${tr.id}/accept`, { accept: { auth_key: tr.auth_key } });
    assert.equal(accepted.status, 202, accepted.text);
    assert.deepEqual(Object.keys(accepted.body.transfer).sort(), ['id', 'links', 'name', 'volume_id']);
    assert.equal(accepted.body.transfer.volume_id, vol);

    const moved = (await req(bob, 'GET', `/volumes/${vol}`)).body.volume;
    assert.equal(moved.status, 'available');
    assert.ok((await download(bob, 'volumes', vol, MiB)).equals(data), 'the volume reads the same bytes in its new project');
    assert.equal((await req(bob, 'GET', `/snapshots/${snap}`)).body.snapshot.volume_id, vol);
    assert.ok((await download(bob, 'snapshots', snap, MiB)).equals(data), 'the snapshot moved with its bytes');
    assertFault(await req(alice, 'GET', `/volumes/${vol}`), 404);
    assertFault(await req(alice, 'GET', `/snapshots/${snap}`), 404);
    // An accepted transfer is gone for both sides, and cannot be accepted twice.
    assertFault(await req(alice, 'GET', `/os-volume-transfer/${tr.id}`), 404);
    assert.deepEqual((await req(alice, 'GET', '/os-volume-transfer/detail')).body.transfers, []);
    assertFault(await req(bob, 'POST', `/os-volume-transfer/${tr.id}/accept`, { accept: { auth_key: tr.auth_key } }), 404);

    const [a1, b1] = [await usage(alice), await usage(bob)];
    assert.deepEqual(a1, { volumes: a0.volumes - 1, snapshots: a0.snapshots - 1, gigabytes: a0.gigabytes - 2 });
    assert.deepEqual(b1, { volumes: b0.volumes + 1, snapshots: b0.snapshots + 1, gigabytes: b0.gigabytes + 2 });
    // The new owner can delete what it received (snapshot first, as always).
    assert.equal((await req(bob, 'DELETE', `/snapshots/${snap}`)).status, 202);
    await api.gone(bob, `/snapshots/${snap}`);
    assert.equal((await req(bob, 'DELETE', `/volumes/${vol}`)).status, 202);
    await api.gone(bob, `/volumes/${vol}`);
    assert.deepEqual(await usage(bob), b0);
  });

  test('a wrong auth key is refused with 400 and leaves the offer open', async () => {
    const vol = await api.volume(alice);
    const tr = await offer(alice, vol);
    const r = await req(bob, 'POST', `/os-volume-transfer/${tr.id}/accept`, { accept: { auth_key: '0123456789abcdef' } });
    assertFault(r, 400, new RegExp(`^Invalid auth key: Attempt to transfer ${tr.id} with invalid auth key\\.$`));
    assertFault(await req(bob, 'POST', `/os-volume-transfer/${tr.id}/accept`, { accept: {} }), 400);
    assert.equal((await req(alice, 'GET', `/volumes/${vol}`)).body.volume.status, 'awaiting-transfer');
    assert.equal((await req(alice, 'GET', `/os-volume-transfer/${tr.id}`)).status, 200);
    assert.equal((await req(alice, 'DELETE', `/os-volume-transfer/${tr.id}`)).status, 202);
  });

  test('only an available volume is offered; an unknown one is 404', async () => {
    const vol = await api.volume(alice);
    assert.equal((await req(alice, 'POST', `/volumes/${vol}/action`, { 'os-reserve': null })).status, 202);
    assertFault(await req(alice, 'POST', '/os-volume-transfer', { transfer: { volume_id: vol } }), 400, /^Invalid volume: status must be available$/);
    assert.deepEqual((await req(alice, 'GET', '/os-volume-transfer')).body.transfers, []);
    assert.equal((await req(alice, 'POST', `/volumes/${vol}/action`, { 'os-unreserve': null })).status, 202);
    const other = await api.volume(bob);
    assertFault(await req(alice, 'POST', '/os-volume-transfer', { transfer: { volume_id: other } }), 404, /could not be found/);
    assertFault(await req(alice, 'POST', '/os-volume-transfer', { transfer: { volume_id: 'nope' } }), 400);
    assertFault(await req(alice, 'POST', '/os-volume-transfer', { transfer: { volume_id: vol, bogus: 1 } }), 400);
    // Offered once only.
    const tr = await offer(alice, vol);
    assertFault(await req(alice, 'POST', '/os-volume-transfer', { transfer: { volume_id: vol } }), 400, /status must be available/);
    assert.equal((await req(alice, 'DELETE', `/os-volume-transfer/${tr.id}`)).status, 202);
  });

  test('deleting a transfer gives the volume back to its owner, available', async () => {
    const vol = await api.volume(alice);
    const tr = await offer(alice, vol);
    assertFault(await req(bob, 'DELETE', `/os-volume-transfer/${tr.id}`), 404);
    const del = await req(alice, 'DELETE', `/os-volume-transfer/${tr.id}`);
    assert.equal(del.status, 202, del.text);
    assert.equal((await req(alice, 'GET', `/volumes/${vol}`)).body.volume.status, 'available');
    assertFault(await req(alice, 'GET', `/os-volume-transfer/${tr.id}`), 404);
    assertFault(await req(bob, 'POST', `/os-volume-transfer/${tr.id}/accept`, { accept: { auth_key: tr.auth_key } }), 404);
    assert.equal((await req(alice, 'GET', `/volumes/${vol}`)).body.volume.status, 'available');
  });

  test('a recipient over quota is refused with 413 and nothing moves', async () => {
    const carol = await t.createMember('xfer-carol');
    const q = await t.request('PUT', `/v3/${admin.projectId}/os-quota-sets/${carol.projectId}`, {
      token: admin.token,
      body: { quota_set: { volumes: 0 } },
    });
    assert.equal(q.status, 200, q.text);
    const vol = await api.volume(alice);
    const before = await usage(alice);
    const tr = await offer(alice, vol);
    const r = await req(carol, 'POST', `/os-volume-transfer/${tr.id}/accept`, { accept: { auth_key: tr.auth_key } });
    assertFault(r, 413, /VolumeLimitExceeded/);
    assert.equal((await req(alice, 'GET', `/volumes/${vol}`)).body.volume.status, 'awaiting-transfer');
    assert.deepEqual(await usage(alice), before);
    assert.deepEqual(await usage(carol), { volumes: 0, snapshots: 0, gigabytes: 0 });
    assert.equal((await req(alice, 'DELETE', `/os-volume-transfer/${tr.id}`)).status, 202);
  });

  test('volume-transfers: no_snapshots from 3.55, history fields from 3.57, v3 only', async () => {
    const vol = await api.volume(alice);
    const snap = await snapshot(alice, vol);
    // Before 3.55 the field is unknown, and os-volume-transfer never takes it.
    assertFault(await req(alice, 'POST', '/volume-transfers', { transfer: { volume_id: vol, no_snapshots: true } }, '3.54'), 400);
    assertFault(await req(alice, 'POST', '/os-volume-transfer', { transfer: { volume_id: vol, no_snapshots: true } }, '3.57'), 400);
    assertFault(await t.request('GET', `/v2/${alice.projectId}/volume-transfers`, { token: alice.token }), 404);

    const tr = await offer(alice, vol, { path: '/volume-transfers', mv: '3.57', extra: { no_snapshots: true } });
    assert.equal(tr.no_snapshots, true);
    assert.equal(tr.source_project_id, alice.projectId);
    assert.equal(tr.destination_project_id, null);
    assert.equal(tr.accepted, false);
    const at355 = (await req(alice, 'GET', `/volume-transfers/${tr.id}`, undefined, '3.55')).body.transfer;
    assert.equal(at355.no_snapshots, true);
    assert.equal('accepted' in at355, false);
    const at30 = (await req(alice, 'GET', `/os-volume-transfer/${tr.id}`, undefined, '3.0')).body.transfer;
    assert.equal('no_snapshots' in at30, false);
    const detail = (await req(alice, 'GET', '/volume-transfers/detail', undefined, '3.57')).body.transfers;
    assert.equal(detail.length, 1);
    assert.equal(detail[0].source_project_id, alice.projectId);

    const before = await usage(alice);
    const r = await req(bob, 'POST', `/volume-transfers/${tr.id}/accept`, { accept: { auth_key: tr.auth_key } }, '3.57');
    assert.equal(r.status, 202, r.text);
    assert.equal((await req(bob, 'GET', `/volumes/${vol}`)).body.volume.status, 'available');
    // The snapshot stayed behind with the donor, and so did its quota usage.
    assert.equal((await req(alice, 'GET', `/snapshots/${snap}`)).status, 200);
    assertFault(await req(bob, 'GET', `/snapshots/${snap}`), 404);
    assert.deepEqual(await usage(alice), { volumes: before.volumes - 1, snapshots: before.snapshots, gigabytes: before.gigabytes - 1 });
    // A volume whose snapshots belong to another project cannot be deleted (Cinder's rule).
    assertFault(await req(bob, 'DELETE', `/volumes/${vol}`), 400);
  });

  test('a volume restored from a backup is handed to another project, byte-exact', async () => {
    const data = randomBytes(2 * MiB);
    const src = await api.volume(alice);
    await upload(alice, src, data);
    const backup = await api.backup(alice, { volume_id: src, name: 'b' });
    await api.backupStatus(alice, backup, 'available');
    const restored = await api.restore(alice, backup);
    const tr = await offer(alice, restored, { path: '/volume-transfers', mv: '3.55' });
    const r = await req(bob, 'POST', `/volume-transfers/${tr.id}/accept`, { accept: { auth_key: tr.auth_key } }, '3.55');
    assert.equal(r.status, 202, r.text);
    assert.ok((await download(bob, 'volumes', restored, 2 * MiB)).equals(data));
    assertFault(await req(alice, 'GET', `/volumes/${restored}`), 404);
  });

  test('a limited list links to the next page, which starts after the marker', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await offer(alice, await api.volume(alice))).id);
    const first = (await req(alice, 'GET', '/os-volume-transfer?limit=2')).body;
    assert.deepEqual(first.transfers.map((x: { id: string }) => x.id), ids.slice(0, 2));
    const next = new URL(first.transfers_links[0].href);
    assert.equal(next.searchParams.get('marker'), ids[1]);
    const second = (await req(alice, 'GET', `/os-volume-transfer?${next.searchParams.toString()}`)).body;
    assert.deepEqual(second.transfers.map((x: { id: string }) => x.id), ids.slice(2));
    assert.equal(second.transfers_links, undefined);
    assertFault(await req(alice, 'GET', `/os-volume-transfer?marker=${ids[0]!.replace(/^./, (c) => (c === 'f' ? 'e' : 'f'))}`), 400, /Marker .* could not be found/);
    for (const id of ids) assert.equal((await req(alice, 'DELETE', `/os-volume-transfer/${id}`)).status, 202);
  });

  test('an admin lists every project\'s transfers with all_tenants', async () => {
    const vol = await api.volume(alice);
    const tr = await offer(alice, vol);
    const all = (await req(admin, 'GET', '/os-volume-transfer?all_tenants=1')).body.transfers;
    assert.ok(all.some((x: { id: string }) => x.id === tr.id));
    assert.ok(!(await req(admin, 'GET', '/os-volume-transfer')).body.transfers.some((x: { id: string }) => x.id === tr.id));
    assert.equal((await req(admin, 'GET', `/os-volume-transfer/${tr.id}`)).status, 200);
    assert.equal((await req(alice, 'DELETE', `/os-volume-transfer/${tr.id}`)).status, 202);
  });
});
