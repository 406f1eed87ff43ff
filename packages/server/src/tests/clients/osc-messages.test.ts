import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startTestServer, waitFor } from '../../test-support/harness.js';
import { waitStatus } from './test-support/api-helpers.js';
import { CINDER, Cli, cinderEnv, cloudEntry, cloudEnv, missingTools, OPENSTACK, writeClouds } from './test-support/support.js';

// A snapshot of a volume whose backend file is gone fails; python-openstackclient and python-cinderclient read the
// message that says so, and delete it.
test('python-openstackclient and python-cinderclient: volume message list, show, delete / message-list, -show, -delete', async (t) => {
  const why = await missingTools([OPENSTACK, CINDER], ['openstackclient', 'cinderclient']);
  if (why) {
    t.skip(why);
    return;
  }
  const ts = await startTestServer();
  const home = await mkdtemp(join(tmpdir(), 'cinderbox-osc-msg-'));
  try {
    const authUrl = `${ts.url}/identity/v3`;
    const me = await ts.createMember('osc-msg');
    const user = { username: 'osc-msg', password: 'osc-msg-pw', projectName: 'osc-msg' };
    const clouds = await writeClouds(home, { me: cloudEntry(authUrl, user) });
    const osc = new Cli(OPENSTACK, cloudEnv(clouds, 'me', home));
    const cinder = new Cli(CINDER, cinderEnv(authUrl, user, home, '3.5'));

    const v = await osc.json(['volume', 'create', '--size', '1', 'doomed']);
    await waitStatus(ts, me.token, `/v3/${me.projectId}/volumes/${v.id}`, 'volume', 'available');
    const [driver] = [...ts.server.services.drivers.values()];
    await rm(driver!.path('volume', v.id), { force: true });
    const s = await osc.json(['volume', 'snapshot', 'create', '--volume', v.id, 'broken']);
    await waitFor(async () => (await osc.json(['volume', 'snapshot', 'show', s.id])).status === 'error', 'snapshot error');

    // OSC asks for 3.3 itself only when told to; below it the command refuses before sending.
    const old = await osc.fails(['volume', 'message', 'list']);
    assert.match(old.stderr, /3\.3 or greater is required/);
    const list = await osc.json<any[]>(['--os-volume-api-version', '3.3', 'volume', 'message', 'list']);
    assert.equal(list.length, 1);
    assert.equal(list[0]['Event ID'], 'VOLUME_VOLUME_SNAPSHOT_009_013');
    assert.equal(list[0]['Resource UUID'], s.id);
    assert.equal(list[0]['User Message'], 'create snapshot: Snapshot failed to create.');
    const shown = await osc.json(['--os-volume-api-version', '3.3', 'volume', 'message', 'show', list[0].ID]);
    assert.equal(shown.resource_type, 'VOLUME_SNAPSHOT');
    assert.equal(shown.message_level, 'ERROR');

    const cl = await cinder.ok(['message-list', '--resource_uuid', s.id]);
    assert.match(cl, new RegExp(list[0].ID));
    assert.match(await cinder.ok(['message-show', list[0].ID]), /VOLUME_VOLUME_SNAPSHOT_009_013/);
    await cinder.ok(['message-delete', list[0].ID]);
    assert.deepEqual(await osc.json(['--os-volume-api-version', '3.3', 'volume', 'message', 'list']), []);
    const gone = await osc.fails(['--os-volume-api-version', '3.3', 'volume', 'message', 'delete', list[0].ID]);
    assert.match(gone.stderr, /Failed to delete 1 of 1 messages/);
  } finally {
    await ts.close();
    await rm(home, { recursive: true, force: true });
  }
});
