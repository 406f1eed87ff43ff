import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startTestServer } from '../../test-support/harness.js';
import { waitStatus } from './test-support/api-helpers.js';
import { Cli, cloudEntry, cloudEnv, missingTools, OPENSTACK, writeClouds } from './test-support/support.js';

// One project offers a volume with python-openstackclient, another accepts it with the auth key.
test('python-openstackclient: volume transfer request create, list, show, accept, delete', async (t) => {
  const why = await missingTools([OPENSTACK], ['openstackclient']);
  if (why) {
    t.skip(why);
    return;
  }
  const ts = await startTestServer();
  const home = await mkdtemp(join(tmpdir(), 'cinderbox-osc-xfer-'));
  try {
    const authUrl = `${ts.url}/identity/v3`;
    const giver = await ts.createMember('osc-giver');
    const taker = await ts.createMember('osc-taker');
    const clouds = await writeClouds(home, {
      giver: cloudEntry(authUrl, { username: 'osc-giver', password: 'osc-giver-pw', projectName: 'osc-giver' }),
      taker: cloudEntry(authUrl, { username: 'osc-taker', password: 'osc-taker-pw', projectName: 'osc-taker' }),
    });
    const a = new Cli(OPENSTACK, cloudEnv(clouds, 'giver', home));
    const b = new Cli(OPENSTACK, cloudEnv(clouds, 'taker', home));

    const v = await a.json(['volume', 'create', '--size', '1', 'gift']);
    await waitStatus(ts, giver.token, `/v3/${giver.projectId}/volumes/${v.id}`, 'volume', 'available');
    const req = await a.json(['volume', 'transfer', 'request', 'create', '--name', 'to-taker', 'gift']);
    assert.match(req.auth_key, /^[0-9a-f]{16}$/);
    assert.equal(req.volume_id, v.id);
    assert.equal(req.name, 'to-taker');

    const list = await a.json<any[]>(['volume', 'transfer', 'request', 'list']);
    assert.deepEqual(
      list.map((x) => [x.ID, x.Name, x.Volume]),
      [[req.id, 'to-taker', v.id]],
    );
    const shown = await a.json(['volume', 'transfer', 'request', 'show', req.id]);
    assert.equal(shown.volume_id, v.id);
    assert.equal(shown.auth_key, undefined);
    assert.equal((await a.json(['volume', 'show', 'gift'])).status, 'awaiting-transfer');

    const wrong = await b.fails(['volume', 'transfer', 'request', 'accept', '--auth-key', 'ffffffffffffffff', req.id]);
    assert.match(wrong.stderr, /Invalid auth key/);
    const accepted = await b.json(['volume', 'transfer', 'request', 'accept', '--auth-key', req.auth_key, req.id]);
    assert.equal(accepted.volume_id, v.id);
    const moved = await b.json(['volume', 'show', v.id]);
    assert.equal(moved.status, 'available');
    assert.equal(moved['os-vol-tenant-attr:tenant_id'], taker.projectId);
    assert.deepEqual(await a.json(['volume', 'list']), []);

    // Withdrawing an offer gives the volume back.
    const w = await b.json(['volume', 'create', '--size', '1', 'kept']);
    await waitStatus(ts, taker.token, `/v3/${taker.projectId}/volumes/${w.id}`, 'volume', 'available');
    const offer = await b.json(['volume', 'transfer', 'request', 'create', 'kept']);
    await b.ok(['volume', 'transfer', 'request', 'delete', offer.id]);
    assert.equal((await b.json(['volume', 'show', 'kept'])).status, 'available');
    assert.deepEqual(await b.json(['volume', 'transfer', 'request', 'list']), []);
  } finally {
    await ts.close();
    await rm(home, { recursive: true, force: true });
  }
});
