/**
 * SIGKILL while a retype copies a volume from the raw backend to the qcow2 one: after the restart the volume is
 * back where it was (available, old type, old host, its bytes unchanged), the partial copy is gone and a user
 * message says why; a second retype then moves it byte-exact.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { probeQemuImg } from '../../drivers/volume/qcow2/qemu.js';
import { type Child, CrashApi, kill, startChild, stopChild } from './crash-support.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const qemu = probeQemuImg();

let dataDir = '';
let child: Child | undefined;
after(async () => {
  if (child) await kill(child);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function sha(api: CrashApi, id: string): Promise<string> {
  const res = await fetch(`${api.c.url}${api.base}/volumes/${id}/cinderbox-data`, { headers: { 'X-Auth-Token': api.token } });
  assert.equal(res.status, 200);
  const h = createHash('sha256');
  for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) h.update(part);
  return h.digest('hex');
}

async function objectsOf(id: string): Promise<string[]> {
  const out: string[] = [];
  for (const backend of await readdir(join(dataDir, 'volumes'))) {
    for (const f of await readdir(join(dataDir, 'volumes', backend))) if (f.includes(id)) out.push(`${backend}/${f}`);
  }
  return out.sort();
}

test('a retype killed mid-copy gives the volume back unchanged after the restart', { timeout: 180_000, skip: qemu.available ? false : `needs qcow2: ${qemu.detail}` }, async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'cinderbox-retype-crash-'));
  // Both backends (CINDERBOX_VOLUME_BACKENDS wins over the driver the crash support pins).
  process.env.CINDERBOX_VOLUME_BACKENDS = 'raw:raw,qcow2:qcow2';
  let api = new CrashApi((child = await startChild(dataDir, 'raw')));
  await api.login();
  for (const [name, backend] of [['on-raw', 'raw'], ['on-qcow2', 'qcow2']]) {
    const r = await api.call('POST', '/types', { volume_type: { name, extra_specs: { volume_backend_name: backend } } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  const v = await api.call('POST', '/volumes', { volume: { size: 1, volume_type: 'on-raw' } });
  assert.equal(v.status, 202);
  const id = v.body.volume.id as string;
  await api.until('volumes', id, 'available');
  // Enough data that the copy is still running when the kill lands.
  const image = Buffer.alloc(GiB);
  randomBytes(192 * MiB).copy(image, 64 * MiB);
  const put = await fetch(`${api.c.url}${api.base}/volumes/${id}/cinderbox-data`, {
    method: 'PUT',
    headers: { 'X-Auth-Token': api.token, 'Content-Type': 'application/octet-stream', 'Content-Range': `bytes ${64 * MiB}-${256 * MiB - 1}/*` },
    body: image.subarray(64 * MiB, 256 * MiB),
  });
  assert.ok(put.status < 300, String(put.status));
  await api.until('volumes', id, 'available');
  const digest = createHash('sha256').update(image).digest('hex');

  const r = await api.call('POST', `/volumes/${id}/action`, { 'os-retype': { new_type: 'on-qcow2', migration_policy: 'on-demand' } });
  assert.equal(r.status, 202);
  // Killed once the copy's object exists on the target backend and the record still names the source.
  await api.poll(async () => (await objectsOf(id)).includes(`qcow2/volume-${id}`), 'copy under way', 30_000);
  await kill(api.c);

  api = new CrashApi((child = await startChild(dataDir, 'raw')));
  await api.login();
  // The interrupted move is given back by its task's recovery, which runs once the server is up (on PostgreSQL
  // after the dead process's task lease), not necessarily before the first request.
  const back = await api.poll(async () => {
    const s = await api.status('volumes', id);
    return s.status === 'retyping' ? null : s;
  }, 'the interrupted retype given back');
  assert.equal(back.status, 'available');
  assert.equal(back.volume_type, 'on-raw');
  assert.equal(back.migration_status, 'error');
  assert.match(back['os-vol-host-attr:host'], /@raw#raw$/);
  assert.deepEqual(await objectsOf(id), [`raw/volume-${id}`]);
  assert.equal(await sha(api, id), digest);
  const ms = await fetch(`${api.c.url}${api.base}/messages?resource_uuid=${id}`, {
    headers: { 'X-Auth-Token': api.token, 'OpenStack-API-Version': 'volume 3.5' },
  });
  const messages = ((await ms.json()) as { messages: unknown[] }).messages;
  assert.equal(messages.length, 1, JSON.stringify(messages));

  // Nothing is stuck: the same retype now completes, byte-exact.
  assert.equal((await api.call('POST', `/volumes/${id}/action`, { 'os-retype': { new_type: 'on-qcow2', migration_policy: 'on-demand' } })).status, 202);
  await api.poll(async () => {
    const s = await api.status('volumes', id);
    return s.status === 'available' && s.volume_type === 'on-qcow2';
  }, 'retyped');
  assert.deepEqual(await objectsOf(id), [`qcow2/volume-${id}`]);
  assert.equal(await sha(api, id), digest);
  assert.equal((await api.call('DELETE', `/volumes/${id}`)).status, 202);
  await api.poll(async () => (await api.call('GET', `/volumes/${id}`)).status === 404, 'volume deleted');
  await stopChild(api.c);
  delete process.env.CINDERBOX_VOLUME_BACKENDS;
});
