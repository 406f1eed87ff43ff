import assert from 'node:assert/strict';
import { mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CrashApi, kill, startChild } from './crash-support.js';

const DATA_MIB = 768;

let dataDir = '';
after(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test('a snapshot interrupted by SIGKILL ends in error with no partial file, and nothing else is lost', {
  timeout: 240000,
}, async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'cinderbox-crash-'));
  // The raw driver: the kill point watches its copy's temporary.
  let a = new CrashApi(await startChild(dataDir, 'raw'));
  await a.login();

  const keep = await a.call('POST', `/volumes`, {
    volume: { size: 1, name: 'bystander', metadata: { keep: 'yes' } },
  });
  const vol = await a.call('POST', `/volumes`, { volume: { size: 1, name: 'big' } });
  assert.equal(vol.status, 202);
  const volId = vol.body.volume.id as string;
  await a.poll(
    async () => (await a.call('GET', `/volumes/${volId}`)).body.volume.status === 'available',
    'volume available',
  );
  await a.poll(
    async () =>
      (await a.call('GET', `/volumes/${keep.body.volume.id}`)).body.volume.status === 'available',
    'bystander available',
  );

  // Fill the volume with non-zero data through its device path so the (ext4: copying) snapshot takes a while.
  const conn = await a.call('POST', `/volumes/${volId}/action`, {
    'os-initialize_connection': { connector: {} },
  });
  assert.equal(conn.status, 200);
  const device = conn.body.connection_info.data.device_path as string;
  const fh = await open(device, 'r+');
  const chunk = Buffer.alloc(4 * 1024 * 1024, 0xa5);
  for (let off = 0; off < DATA_MIB * 1024 * 1024; off += chunk.length) await fh.write(chunk, 0, chunk.length, off);
  await fh.sync();
  await fh.close();

  const good = await a.call('POST', `/snapshots`, {
    snapshot: { volume_id: keep.body.volume.id, name: 'finished' },
  });
  await a.poll(
    async () =>
      (await a.call('GET', `/snapshots/${good.body.snapshot.id}`)).body.snapshot.status === 'available',
    'bystander snapshot',
  );

  const snap = await a.call('POST', `/snapshots`, { snapshot: { volume_id: volId, name: 'doomed' } });
  assert.equal(snap.status, 202);
  const snapId = snap.body.snapshot.id as string;
  const backendDir = join(dataDir, 'volumes', 'raw');
  // Kill while the copy is under way: the temporary exists and the snapshot is still creating.
  await a.poll(
    async () => (await readdir(backendDir)).some((n) => n.includes(`_snapshot-${snapId}`)),
    'copy started',
    30000,
  );
  const st = await a.call('GET', `/snapshots/${snapId}`);
  assert.equal(st.body.snapshot.status, 'creating');
  await kill(a.c);

  a = new CrashApi(await startChild(dataDir, 'raw'));
  await a.login();
  const after = await a.poll(async () => {
    const r = await a.call('GET', `/snapshots/${snapId}`);
    return r.body.snapshot.status !== 'creating' ? r.body.snapshot : null;
  }, 'snapshot final state');
  assert.ok(['error', 'available'].includes(after.status), after.status);
  const files = await readdir(backendDir);
  if (after.status === 'error') assert.ok(!files.some((n) => n.includes(snapId)), `leftover: ${files.join(', ')}`);
  assert.ok(!files.some((n) => n.startsWith('.tmp-')), `temporaries left: ${files.join(', ')}`);

  const v = await a.call('GET', `/volumes/${volId}`);
  assert.equal(v.body.volume.status, 'available');
  const k = await a.call('GET', `/volumes/${keep.body.volume.id}`);
  assert.equal(k.body.volume.status, 'available');
  assert.deepEqual(k.body.volume.metadata, { keep: 'yes' });
  const g = await a.call('GET', `/snapshots/${good.body.snapshot.id}`);
  assert.equal(g.body.snapshot.status, 'available');
  assert.ok(files.includes(`volume-${volId}`) && files.includes(`_snapshot-${good.body.snapshot.id}`));

  // The errored snapshot can be deleted and its quota comes back.
  assert.equal((await a.call('DELETE', `/snapshots/${snapId}`)).status, 202);
  await a.poll(async () => (await a.call('GET', `/snapshots/${snapId}`)).status === 404, 'deleted');
  const usage = await a.call('GET', `/os-quota-sets/${a.base.split('/')[2]}?usage=true`);
  assert.equal(usage.body.quota_set.snapshots.in_use, 1);
  const exited = new Promise((r) => a.c.proc.once('exit', r));
  a.c.proc.kill('SIGTERM');
  await exited;
});
