import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ADMIN_PASSWORD, startTestServer } from '../../test-support/harness.js';
import { waitGone, waitStatus } from './test-support/api-helpers.js';
import { CINDER, Cli, cinderEnv, cloudEntry, cloudEnv, missingTools, OPENSTACK, writeClouds } from './test-support/support.js';

const HOST = 'cinderbox@raw#raw';

async function writeAt(path: string, offset: number, data: Buffer): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.write(data, 0, data.length, offset);
  } finally {
    await fh.close();
  }
}

async function readAt(path: string, offset: number, length: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(length);
    await fh.read(buf, 0, length, offset);
    return buf;
  } finally {
    await fh.close();
  }
}

// The operator's round trips with the reference clients: cinder's manageable listings, snapshot-manage/unmanage,
// manage/unmanage, and python-openstackclient's `volume snapshot create --remote-source`.
test('cinder and python-openstackclient manage and unmanage existing backend objects', async (t) => {
  const why = await missingTools([OPENSTACK, CINDER], ['openstackclient', 'cinderclient']);
  if (why) {
    t.skip(why);
    return;
  }
  const ts = await startTestServer({ backends: [{ name: 'raw', driver: 'raw', pool: 'raw' }] }); // manages raw files
  const home = await mkdtemp(join(tmpdir(), 'cinderbox-manage-home-'));
  try {
    const authUrl = `${ts.url}/identity/v3`;
    const adminUser = { username: 'admin', password: ADMIN_PASSWORD, projectName: 'admin' };
    const clouds = await writeClouds(home, { admin: cloudEntry(authUrl, adminUser) });
    const osc = new Cli(OPENSTACK, cloudEnv(clouds, 'admin', home));
    const cinder = new Cli(CINDER, cinderEnv(authUrl, adminUser, home, '3.70'));
    const pid = ts.adminProjectId;
    const token = ts.adminToken;
    const backendDir = join(ts.dataDir, 'volumes', 'raw');
    const vpath = (id: string) => `/v3/${pid}/volumes/${id}`;
    const spath = (id: string) => `/v3/${pid}/snapshots/${id}`;
    const data = randomBytes(8192);

    const v = await osc.json(['volume', 'create', '--size', '1', 'managed-vol']);
    await waitStatus(ts, token, vpath(v.id), 'volume', 'available');
    await writeAt(join(backendDir, `volume-${v.id}`), 4096, data);
    const s = await osc.json(['volume', 'snapshot', 'create', '--volume', v.id, 'first']);
    await waitStatus(ts, token, spath(s.id), 'snapshot', 'available');

    let snapshotName = '';
    await t.test('cinder snapshot-unmanage, snapshot-manageable-list, snapshot-manage', async () => {
      await cinder.ok(['snapshot-unmanage', s.id]);
      await waitGone(ts, token, spath(s.id));
      snapshotName = `_snapshot-${s.id}`;
      const list = await cinder.ok(['snapshot-manageable-list', HOST]);
      const row = list.split('\n').find((l) => l.includes(snapshotName));
      assert.ok(row, list);
      assert.match(row, /True/);
      assert.match(row, new RegExp(`volume-${v.id}`));
      const out = await cinder.ok(['snapshot-manage', '--name', 'again', v.id, snapshotName]);
      assert.match(out, /again/);
      const id = /\|\s*id\s*\|\s*([0-9a-f-]{36})/.exec(out)?.[1];
      assert.ok(id, out);
      await waitStatus(ts, token, spath(id), 'snapshot', 'available');
      assert.deepEqual(await readAt(join(backendDir, `_snapshot-${id}`), 4096, data.length), data);
      const after = await cinder.ok(['snapshot-manageable-list', '--detailed', 'true', HOST]);
      const managedRow = after.split('\n').find((l) => l.includes(`_snapshot-${id}`));
      assert.ok(managedRow, after);
      assert.match(managedRow, /already managed/);
      assert.match(managedRow, new RegExp(id));
      // Forget it again for the OSC round trip.
      await cinder.ok(['snapshot-unmanage', id]);
      await waitGone(ts, token, spath(id));
      snapshotName = `_snapshot-${id}`;
    });

    await t.test('openstack volume snapshot create --remote-source', async () => {
      const m = await osc.json([
        'volume',
        'snapshot',
        'create',
        '--volume',
        v.id,
        '--remote-source',
        `source-name=${snapshotName}`,
        'from-osc',
      ]);
      assert.equal(m.name, 'from-osc');
      assert.equal(m.volume_id, v.id);
      await waitStatus(ts, token, spath(m.id), 'snapshot', 'available');
      assert.deepEqual(await readAt(join(backendDir, `_snapshot-${m.id}`), 4096, data.length), data);
      await osc.ok(['volume', 'snapshot', 'delete', m.id]);
      await waitGone(ts, token, spath(m.id));
    });

    await t.test('cinder unmanage, manageable-list, manage', async () => {
      await cinder.ok(['unmanage', v.id]);
      await waitGone(ts, token, vpath(v.id));
      const name = `volume-${v.id}`;
      assert.ok((await readdir(backendDir)).includes(name));
      const list = await cinder.ok(['manageable-list', HOST]);
      const row = list.split('\n').find((l) => l.includes(name));
      assert.ok(row, list);
      assert.match(row, /True/);
      const out = await cinder.ok(['manage', '--name', 'back', '--bootable', HOST, name]);
      const id = /\|\s*id\s*\|\s*([0-9a-f-]{36})/.exec(out)?.[1];
      assert.ok(id, out);
      const shown = await waitStatus(ts, token, vpath(id), 'volume', 'available');
      assert.equal(shown.name, 'back');
      assert.equal(shown.bootable, 'true');
      assert.deepEqual(await readAt(join(backendDir, `volume-${id}`), 4096, data.length), data);
      // Refusals come back as the client's errors, not tracebacks.
      const bad = await cinder.fails(['manage', HOST, '../escape.img']);
      assert.match(bad.stderr, /invalid backend reference/);
    });
  } finally {
    await ts.close();
    await rm(home, { recursive: true, force: true });
  }
});
