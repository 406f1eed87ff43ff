import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startTestServer } from '../../test-support/harness.js';
import { waitStatus } from './test-support/api-helpers.js';
import { CINDER, Cli, cinderEnv, cloudEntry, cloudEnv, missingTools, OPENSTACK, writeClouds } from './test-support/support.js';

// python-cinderclient reserves and connects (OSC's `volume attachment create` looks the server up in Nova, which
// cinderbox does not serve); python-openstackclient connects, completes, lists, shows and deletes. Each sees the
// other's attachments, and the volume follows.
test('python-cinderclient and python-openstackclient: attachment-create/-update/-complete/-list/-show/-delete, volume attachment set/complete/list/show/delete', async (t) => {
  const why = await missingTools([OPENSTACK, CINDER], ['openstackclient', 'cinderclient']);
  if (why) {
    t.skip(why);
    return;
  }
  const ts = await startTestServer();
  const home = await mkdtemp(join(tmpdir(), 'cinderbox-osc-att-'));
  try {
    const authUrl = `${ts.url}/identity/v3`;
    const me = await ts.createMember('osc-att');
    const user = { username: 'osc-att', password: 'osc-att-pw', projectName: 'osc-att' };
    const clouds = await writeClouds(home, { me: cloudEntry(authUrl, user) });
    const osc = new Cli(OPENSTACK, cloudEnv(clouds, 'me', home));
    const cinder = new Cli(CINDER, cinderEnv(authUrl, user, home, '3.54'));
    const mv = ['--os-volume-api-version', '3.54'];
    const volumeStatus = async (id: string) => (await osc.json(['volume', 'show', id])).status;

    const v = await osc.json(['volume', 'create', '--size', '1', 'att']);
    await waitStatus(ts, me.token, `/v3/${me.projectId}/volumes/${v.id}`, 'volume', 'available');

    // OSC refuses below 3.27 before sending.
    const old = await osc.fails(['volume', 'attachment', 'list']);
    assert.match(old.stderr, /3\.27 or greater is required/);

    const server = randomUUID();
    const created = await cinder.ok(['attachment-create', '--mode', 'ro', 'att', server]);
    const id = /\|\s*id\s*\|\s*([0-9a-f-]{36})\s*\|/.exec(created)?.[1];
    assert.ok(id, created);
    assert.match(created, /\|\s*status\s*\|\s*reserved\s*\|/);
    assert.equal(await volumeStatus(v.id), 'reserved');

    const listed = await osc.json<any[]>([...mv, 'volume', 'attachment', 'list', '--volume-id', v.id]);
    assert.deepEqual(listed, [{ ID: id, 'Volume ID': v.id, 'Server ID': server, Status: 'reserved' }]);

    const set = await osc.json([...mv, 'volume', 'attachment', 'set', '--host', 'compute-1', '--mountpoint', '/dev/vdb', id]);
    assert.equal(set.Status, 'attaching');
    assert.equal(set['Attach Mode'], 'ro');
    assert.equal(set.Properties.access_mode, 'ro');
    assert.equal(await volumeStatus(v.id), 'attaching');

    await osc.ok([...mv, 'volume', 'attachment', 'complete', id]);
    assert.equal(await volumeStatus(v.id), 'in-use');
    const shown = await cinder.ok(['attachment-show', id]);
    assert.match(shown, /\|\s*status\s*\|\s*attached\s*\|/);
    assert.match(await cinder.ok(['attachment-list', '--volume-id', v.id]), new RegExp(`${id}.*attached.*${server}`));
    // The volume view lists the attachment as the legacy actions' would be.
    const vol = await osc.json(['volume', 'show', v.id]);
    assert.equal(vol.attachments[0].attachment_id, id);

    await osc.ok([...mv, 'volume', 'attachment', 'delete', id]);
    assert.equal(await volumeStatus(v.id), 'available');
    assert.deepEqual(await osc.json([...mv, 'volume', 'attachment', 'list']), []);

    // cinderclient's own round trip: create with a connection, update, complete, delete.
    const c2 = await cinder.ok(['attachment-create', '--connect', 'true', '--host', 'compute-2', '--initiator', 'iqn.x', 'att', server]);
    const id2 = /\|\s*id\s*\|\s*([0-9a-f-]{36})\s*\|/.exec(c2)?.[1];
    assert.ok(id2, c2);
    assert.match(c2, /driver_volume_type\s*\|\s*local/);
    assert.match(await cinder.ok(['attachment-update', '--host', 'compute-2', id2]), /attaching/);
    await cinder.ok(['attachment-complete', id2]);
    assert.equal(await volumeStatus(v.id), 'in-use');
    await cinder.ok(['attachment-delete', id2]);
    assert.equal(await volumeStatus(v.id), 'available');
  } finally {
    await ts.close();
    await rm(home, { recursive: true, force: true });
  }
});
