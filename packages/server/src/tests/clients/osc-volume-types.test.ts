import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ADMIN_PASSWORD, startTestServer } from '../../test-support/harness.js';
import { waitStatus } from './test-support/api-helpers.js';
import { Cli, cloudEntry, cloudEnv, missingTools, OPENSTACK, writeClouds } from './test-support/support.js';

// An admin manages volume types with python-openstackclient; a member uses a private one once given access.
test('python-openstackclient: volume type create, set, unset, show, delete with properties and project access', async (t) => {
  const why = await missingTools([OPENSTACK], ['openstackclient']);
  if (why) {
    t.skip(why);
    return;
  }
  const ts = await startTestServer();
  const home = await mkdtemp(join(tmpdir(), 'cinderbox-osc-types-'));
  try {
    const authUrl = `${ts.url}/identity/v3`;
    const member = await ts.createMember('osc-typer');
    const clouds = await writeClouds(home, {
      admin: cloudEntry(authUrl, { username: 'admin', password: ADMIN_PASSWORD, projectName: 'admin' }),
      member: cloudEntry(authUrl, { username: 'osc-typer', password: 'osc-typer-pw', projectName: 'osc-typer' }),
    });
    const admin = new Cli(OPENSTACK, cloudEnv(clouds, 'admin', home));
    const user = new Cli(OPENSTACK, cloudEnv(clouds, 'member', home));

    const created = await admin.json(['volume', 'type', 'create', '--description', 'fast', '--property', 'tier=gold', 'gold']);
    assert.equal(created.name, 'gold');
    assert.equal(created.description, 'fast');
    await admin.ok(['volume', 'type', 'set', '--property', 'color=red', '--description', 'faster', 'gold']);
    const shown = await admin.json(['volume', 'type', 'show', 'gold']);
    assert.equal(shown.description, 'faster');
    assert.deepEqual(shown.properties, { tier: 'gold', color: 'red' });
    await admin.ok(['volume', 'type', 'unset', '--property', 'tier', 'gold']);
    assert.deepEqual((await admin.json(['volume', 'type', 'show', 'gold'])).properties, { color: 'red' });

    // A private type: invisible to the member until its project is given access.
    await admin.json(['volume', 'type', 'create', '--private', 'secret']);
    await user.fails(['volume', 'create', '--size', '1', '--type', 'secret', 'v']);
    await admin.ok(['volume', 'type', 'set', '--project', member.projectId, 'secret']);
    const v = await user.json(['volume', 'create', '--size', '1', '--type', 'secret', 'v']);
    assert.equal(v.type, 'secret');
    await waitStatus(ts, member.token, `/v3/${member.projectId}/volumes/${v.id}`, 'volume', 'available');
    // In use: the type stays.
    await admin.fails(['volume', 'type', 'delete', 'secret']);
    await user.ok(['volume', 'delete', v.id]);
    await admin.ok(['volume', 'type', 'unset', '--project', member.projectId, 'secret']);

    await admin.ok(['volume', 'type', 'delete', 'gold']);
    const names = (await admin.json<any[]>(['volume', 'type', 'list'])).map((x) => x.Name);
    assert.ok(!names.includes('gold'), JSON.stringify(names));
  } finally {
    await ts.close();
    await rm(home, { recursive: true, force: true });
  }
});
