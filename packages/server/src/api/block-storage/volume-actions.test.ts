import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer, waitFor } from '../../test-support/harness.js';

type Who = { token: string; projectId: string };
const GiB = 1024 ** 3;

let t: TestServer;
let admin: Who;
let m: Who;

async function status(who: Who, kind: 'volumes' | 'snapshots', id: string): Promise<string | undefined> {
  const r = await t.request('GET', `/v3/${who.projectId}/${kind}/${id}`, { token: who.token });
  return r.body?.[kind === 'volumes' ? 'volume' : 'snapshot']?.status;
}
async function until(who: Who, kind: 'volumes' | 'snapshots', id: string, s: string) {
  await waitFor(async () => (await status(who, kind, id)) === s, `${kind} ${id} ${s}`);
}
async function createVolume(who: Who, volume: Record<string, unknown> = { size: 1 }): Promise<string> {
  const r = await t.request('POST', `/v3/${who.projectId}/volumes`, { token: who.token, body: { volume } });
  assert.equal(r.status, 202, r.text);
  await until(who, 'volumes', r.body.volume.id, 'available');
  return r.body.volume.id;
}
const act = (who: Who, id: string, body: unknown, mv?: string) =>
  t.request('POST', `/v3/${who.projectId}/volumes/${id}/action`, { token: who.token, body, ...(mv ? { mv } : {}) });

async function upload(who: Who, id: string, data: Buffer) {
  return t.request('PUT', `/v3/${who.projectId}/volumes/${id}/cinderbox-data`, {
    token: who.token,
    rawBody: data,
    headers: { 'Content-Type': 'application/octet-stream' },
  });
}
async function download(
  who: Who,
  kind: 'volumes' | 'snapshots',
  id: string,
  range?: string,
): Promise<{ status: number; data: Buffer; headers: Headers }> {
  const headers: Record<string, string> = { 'X-Auth-Token': who.token };
  if (range) headers.Range = range;
  const res = await fetch(`${t.url}/v3/${who.projectId}/${kind}/${id}/cinderbox-data`, { headers });
  return { status: res.status, data: Buffer.from(await res.arrayBuffer()), headers: res.headers };
}

before(async () => {
  t = await startTestServer({ backends: [{ name: 'raw', driver: 'raw', pool: 'raw' }] }); // raw files inspected directly
  admin = { token: t.adminToken, projectId: t.adminProjectId };
  m = await t.createMember('actions');
});
after(async () => t.close());

describe('attach status machine', () => {
  test('reserve → attach → begin_detaching → roll → begin → detach, with attachments shown', async () => {
    const id = await createVolume(m);
    assert.equal((await act(m, id, { 'os-unreserve': null })).status, 202);
    assert.equal(await status(m, 'volumes', id), 'available');
    assert.equal((await act(m, id, { 'os-begin_detaching': null })).status, 400);
    assert.equal((await act(m, id, { 'os-reserve': null })).status, 202);
    assert.equal(await status(m, 'volumes', id), 'attaching');
    assert.equal((await act(m, id, { 'os-reserve': null })).status, 400);
    assert.equal((await act(m, id, { 'os-attach': { mountpoint: '/dev/vdb' } })).status, 400);
    assert.equal(
      (await act(m, id, { 'os-attach': { host_name: 'h', mountpoint: '/dev/vdb', mode: 'rw' } })).status,
      202,
    );
    const v = (await t.request('GET', `/v3/${m.projectId}/volumes/${id}`, { token: m.token })).body.volume;
    assert.equal(v.status, 'in-use');
    assert.equal(v.attachments.length, 1);
    assert.equal(v.attachments[0].device, '/dev/vdb');
    assert.equal(v.attachments[0].host_name, null);
    const del = await t.request('DELETE', `/v3/${m.projectId}/volumes/${id}`, { token: m.token });
    assert.equal(del.status, 400);
    assert.equal((await act(m, id, { 'os-begin_detaching': {} })).status, 202);
    assert.equal(await status(m, 'volumes', id), 'detaching');
    assert.equal((await act(m, id, { 'os-roll_detaching': {} })).status, 202);
    assert.equal(await status(m, 'volumes', id), 'in-use');
    assert.equal((await act(m, id, { 'os-begin_detaching': {} })).status, 202);
    assert.equal((await act(m, id, { 'os-detach': { attachment_id: v.attachments[0].attachment_id } })).status, 202);
    const after = (await t.request('GET', `/v3/${m.projectId}/volumes/${id}`, { token: m.token })).body.volume;
    assert.equal(after.status, 'available');
    assert.deepEqual(after.attachments, []);
  });

  test('readonly flag, bootable flag and connection info', async () => {
    const id = await createVolume(m);
    assert.equal((await act(m, id, { 'os-set_bootable': { bootable: 'true' } })).status, 200);
    assert.equal(
      (await t.request('GET', `/v3/${m.projectId}/volumes/${id}`, { token: m.token })).body.volume.bootable,
      'true',
    );
    assert.equal((await act(m, id, { 'os-set_bootable': { bootable: 'perhaps' } })).status, 400);
    assert.equal((await act(m, id, { 'os-update_readonly_flag': { readonly: true } })).status, 202);
    const shown = (await t.request('GET', `/v3/${m.projectId}/volumes/${id}`, { token: m.token })).body.volume;
    assert.equal(shown.metadata.readonly, 'True', 'the read-only flag shows in metadata, as Cinder shows it');
    const conn = await act(m, id, { 'os-initialize_connection': { connector: { host: 'h' } } });
    assert.equal(conn.status, 200);
    assert.equal(conn.body.connection_info.driver_volume_type, 'local');
    assert.equal(conn.body.connection_info.data.access_mode, 'ro');
    assert.equal(conn.body.connection_info.data.format, 'raw');
    assert.equal((await stat(conn.body.connection_info.data.device_path)).size, GiB);
    assert.equal((await act(m, id, { 'os-initialize_connection': {} })).status, 400);
    assert.equal((await act(m, id, { 'os-terminate_connection': { connector: null } })).status, 202);
    await act(m, id, { 'os-reserve': null });
    assert.equal(
      (await act(m, id, { 'os-attach': { host_name: 'h', mountpoint: '/dev/vdc', mode: 'rw' } })).status,
      400,
    );
  });
});

describe('admin actions and extend', () => {
  test('reset_status and force_delete are admin only; reset rules', async () => {
    const id = await createVolume(m);
    const r = await act(m, id, { 'os-reset_status': { status: 'error' } });
    assert.equal(r.status, 403);
    assert.equal(
      r.body.forbidden.message,
      "Policy doesn't allow volume_extension:volume_admin_actions:reset_status to be performed.",
    );
    assert.equal((await act(m, id, { 'os-force_delete': {} })).status, 403);
    assert.equal((await act(admin, id, { 'os-reset_status': { status: 'deleting' } })).status, 400);
    assert.equal((await act(admin, id, { 'os-reset_status': { status: 'in-use' } })).status, 400);
    assert.equal((await act(admin, id, { 'os-reset_status': {} })).status, 400);
    assert.equal((await act(admin, id, { 'os-reset_status': { status: 'error' } })).status, 202);
    assert.equal(await status(m, 'volumes', id), 'error');
    assert.equal((await act(admin, id, { 'os-force_delete': null })).status, 202);
    await waitFor(
      async () => (await t.request('GET', `/v3/${m.projectId}/volumes/${id}`, { token: m.token })).status === 404,
      'gone',
    );
    const files = await readdir(join(t.dataDir, 'volumes', 'raw'));
    assert.ok(!files.includes(`volume-${id}`));
  });

  test('extend grows the file and the quota; in-use only from 3.42', async () => {
    const id = await createVolume(m);
    assert.equal((await act(m, id, { 'os-extend': { new_size: 1 } })).status, 400);
    assert.equal((await act(m, id, { 'os-extend': { new_size: 2 } })).status, 202);
    await waitFor(
      async () =>
        (await t.request('GET', `/v3/${m.projectId}/volumes/${id}`, { token: m.token })).body.volume.size === 2,
      'extended',
    );
    assert.equal(await status(m, 'volumes', id), 'available');
    const conn = await act(m, id, { 'os-initialize_connection': { connector: {} } });
    assert.equal((await stat(conn.body.connection_info.data.device_path)).size, 2 * GiB);
    await act(m, id, { 'os-reserve': null });
    await act(m, id, { 'os-attach': { host_name: 'h', mountpoint: '/dev/vdb' } });
    assert.equal((await act(m, id, { 'os-extend': { new_size: 3 } }, '3.41')).status, 400);
    assert.equal((await act(m, id, { 'os-extend': { new_size: 3 } }, '3.42')).status, 202);
    await waitFor(
      async () =>
        (await t.request('GET', `/v3/${m.projectId}/volumes/${id}`, { token: m.token })).body.volume.status ===
        'in-use',
      'back to in-use',
    );
  });
});

describe('real bytes', () => {
  test('upload, ranged download, snapshot, clone, create-from-snapshot and revert move the data', async () => {
    const id = await createVolume(m);
    const first = Buffer.alloc(3 * 1024 * 1024, 0x11);
    const up = await upload(m, id, first);
    assert.equal(up.status, 200, up.text);
    const part = await download(m, 'volumes', id, 'bytes=1048576-1048579');
    assert.equal(part.status, 206);
    assert.deepEqual([...part.data], [0x11, 0x11, 0x11, 0x11]);
    assert.equal(part.headers.get('content-range'), `bytes 1048576-1048579/${GiB}`);
    const snapR = await t.request('POST', `/v3/${m.projectId}/snapshots`, {
      token: m.token,
      body: { snapshot: { volume_id: id } },
    });
    const sid = snapR.body.snapshot.id;
    await until(m, 'snapshots', sid, 'available');
    assert.equal((await upload(m, id, Buffer.alloc(1024 * 1024, 0x22))).status, 200);
    const snapBytes = await download(m, 'snapshots', sid, 'bytes=0-3');
    assert.deepEqual([...snapBytes.data], [0x11, 0x11, 0x11, 0x11]);

    const fromSnap = await createVolume(m, { snapshot_id: sid, size: 2 });
    assert.deepEqual([...(await download(m, 'volumes', fromSnap, 'bytes=0-1')).data], [0x11, 0x11]);
    const clone = await createVolume(m, { source_volid: id });
    assert.deepEqual([...(await download(m, 'volumes', clone, 'bytes=0-1')).data], [0x22, 0x22]);

    assert.equal((await act(m, id, { revert: { snapshot_id: sid } })).status, 400, 'revert needs 3.40');
    assert.equal((await act(m, id, { revert: { snapshot_id: sid } }, '3.40')).status, 202);
    await until(m, 'volumes', id, 'available');
    assert.deepEqual([...(await download(m, 'volumes', id, 'bytes=0-1')).data], [0x11, 0x11]);
    assert.equal(await status(m, 'snapshots', sid), 'available');
  });

  test('an upload longer than the volume is 400 and the volume stays available', async () => {
    const id = await createVolume(m);
    // Declares more bytes than the volume holds: refused from the header, before anything is written.
    const url = new URL(`${t.url}/v3/${m.projectId}/volumes/${id}/cinderbox-data`);
    const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(url, {
        method: 'PUT',
        headers: {
          'X-Auth-Token': m.token,
          'Content-Type': 'application/octet-stream',
          'Content-Length': String(GiB + 1),
        },
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, body });
        });
      });
      req.on('error', reject);
      req.write(Buffer.alloc(16, 1));
    });
    assert.equal(reply.status, 400);
    assert.ok(JSON.parse(reply.body).badRequest);
    const head = await download(m, 'volumes', id, 'bytes=0-15');
    assert.ok(head.data.every((b) => b === 0));
    assert.equal(await status(m, 'volumes', id), 'available');
    const json = await t.request('PUT', `/v3/${m.projectId}/volumes/${id}/cinderbox-data`, {
      token: m.token,
      body: { x: 1 },
    });
    assert.equal(json.status, 415);
  });
});
