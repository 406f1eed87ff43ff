import assert from 'node:assert/strict';
import { mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type Child, startChild } from './crash-support.js';

const DATA_MIB = 768;

async function api(
  c: Child,
  token: string | null,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (token) headers['X-Auth-Token'] = token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${c.url}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

async function login(c: Child): Promise<{ token: string; projectId: string }> {
  const r = await api(c, null, 'POST', '/identity/v3/auth/tokens', {
    auth: {
      identity: {
        methods: ['password'],
        password: { user: { name: 'admin', domain: { id: 'default' }, password: 'crash-test-admin' } },
      },
      scope: { project: { name: 'admin', domain: { id: 'default' } } },
    },
  });
  assert.equal(r.status, 201);
  return { token: r.headers.get('x-subject-token')!, projectId: r.body.token.project.id };
}

async function poll<T>(fn: () => Promise<T | null | undefined | false>, what: string, ms = 60000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let dataDir = '';
after(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test('a snapshot interrupted by SIGKILL ends in error with no partial file, and nothing else is lost', {
  timeout: 240000,
}, async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'cinderbox-crash-'));
  let c = await startChild(dataDir, 'raw'); // kills a raw copy mid-way
  let { token, projectId } = await login(c);
  const base = `/v3/${projectId}`;

  const keep = await api(c, token, 'POST', `${base}/volumes`, {
    volume: { size: 1, name: 'bystander', metadata: { keep: 'yes' } },
  });
  const vol = await api(c, token, 'POST', `${base}/volumes`, { volume: { size: 1, name: 'big' } });
  assert.equal(vol.status, 202);
  const volId = vol.body.volume.id as string;
  await poll(
    async () => (await api(c, token, 'GET', `${base}/volumes/${volId}`)).body.volume.status === 'available',
    'volume available',
  );
  await poll(
    async () =>
      (await api(c, token, 'GET', `${base}/volumes/${keep.body.volume.id}`)).body.volume.status === 'available',
    'bystander available',
  );

  // Fill the volume with non-zero data through its device path so the (ext4: copying) snapshot takes a while.
  const conn = await api(c, token, 'POST', `${base}/volumes/${volId}/action`, {
    'os-initialize_connection': { connector: {} },
  });
  assert.equal(conn.status, 200);
  const device = conn.body.connection_info.data.device_path as string;
  const fh = await open(device, 'r+');
  const chunk = Buffer.alloc(4 * 1024 * 1024, 0xa5);
  for (let off = 0; off < DATA_MIB * 1024 * 1024; off += chunk.length) await fh.write(chunk, 0, chunk.length, off);
  await fh.sync();
  await fh.close();

  const good = await api(c, token, 'POST', `${base}/snapshots`, {
    snapshot: { volume_id: keep.body.volume.id, name: 'finished' },
  });
  await poll(
    async () =>
      (await api(c, token, 'GET', `${base}/snapshots/${good.body.snapshot.id}`)).body.snapshot.status === 'available',
    'bystander snapshot',
  );

  const snap = await api(c, token, 'POST', `${base}/snapshots`, { snapshot: { volume_id: volId, name: 'doomed' } });
  assert.equal(snap.status, 202);
  const snapId = snap.body.snapshot.id as string;
  const backendDir = join(dataDir, 'volumes', 'raw');
  // Kill while the copy is under way: the temporary exists and the snapshot is still creating.
  await poll(
    async () => (await readdir(backendDir)).some((n) => n.includes(`_snapshot-${snapId}`)),
    'copy started',
    30000,
  );
  const st = await api(c, token, 'GET', `${base}/snapshots/${snapId}`);
  assert.equal(st.body.snapshot.status, 'creating');
  c.proc.kill('SIGKILL');
  await new Promise((r) => c.proc.once('exit', r));

  c = await startChild(dataDir, 'raw'); // kills a raw copy mid-way
  ({ token, projectId } = await login(c));
  const after = await poll(async () => {
    const r = await api(c, token, 'GET', `${base}/snapshots/${snapId}`);
    return r.body.snapshot.status !== 'creating' ? r.body.snapshot : null;
  }, 'snapshot final state');
  assert.ok(['error', 'available'].includes(after.status), after.status);
  const files = await readdir(backendDir);
  if (after.status === 'error') assert.ok(!files.some((n) => n.includes(snapId)), `leftover: ${files.join(', ')}`);
  assert.ok(!files.some((n) => n.startsWith('.tmp-')), `temporaries left: ${files.join(', ')}`);

  const v = await api(c, token, 'GET', `${base}/volumes/${volId}`);
  assert.equal(v.body.volume.status, 'available');
  const k = await api(c, token, 'GET', `${base}/volumes/${keep.body.volume.id}`);
  assert.equal(k.body.volume.status, 'available');
  assert.deepEqual(k.body.volume.metadata, { keep: 'yes' });
  const g = await api(c, token, 'GET', `${base}/snapshots/${good.body.snapshot.id}`);
  assert.equal(g.body.snapshot.status, 'available');
  assert.ok(files.includes(`volume-${volId}`) && files.includes(`_snapshot-${good.body.snapshot.id}`));

  // The errored snapshot can be deleted and its quota comes back.
  assert.equal((await api(c, token, 'DELETE', `${base}/snapshots/${snapId}`)).status, 202);
  await poll(async () => (await api(c, token, 'GET', `${base}/snapshots/${snapId}`)).status === 404, 'deleted');
  const usage = await api(c, token, 'GET', `${base}/os-quota-sets/${projectId}?usage=true`);
  assert.equal(usage.body.quota_set.snapshots.in_use, 1);
  c.proc.kill('SIGTERM');
  await new Promise((r) => c.proc.once('exit', r));
});
