import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ADMIN_PASSWORD, startTestServer } from '../../test-support/harness.js';
import { Cli, cloudEntry, cloudEnv, missingTools, OPENSTACK, writeClouds } from './test-support/support.js';

// An admin manages QoS specs with python-openstackclient and associates one with the default volume type.
test('python-openstackclient: volume qos create, list, show, set, unset, associate, disassociate, delete', async (t) => {
  const why = await missingTools([OPENSTACK], ['openstackclient']);
  if (why) {
    t.skip(why);
    return;
  }
  const ts = await startTestServer();
  const home = await mkdtemp(join(tmpdir(), 'cinderbox-osc-qos-'));
  try {
    const clouds = await writeClouds(home, {
      admin: cloudEntry(`${ts.url}/identity/v3`, { username: 'admin', password: ADMIN_PASSWORD, projectName: 'admin' }),
    });
    const a = new Cli(OPENSTACK, cloudEnv(clouds, 'admin', home));

    const q = await a.json(['volume', 'qos', 'create', '--consumer', 'front-end', '--property', 'read_iops_sec=2000', 'gold']);
    assert.equal(q.name, 'gold');
    assert.equal(q.consumer, 'front-end');
    assert.deepEqual(q.properties, { read_iops_sec: '2000' });

    await a.ok(['volume', 'qos', 'set', '--property', 'total_iops_sec_per_gb=100', 'gold']);
    await a.ok(['volume', 'qos', 'unset', '--property', 'read_iops_sec', 'gold']);
    await a.ok(['volume', 'qos', 'associate', 'gold', '__DEFAULT__']);
    const shown = await a.json(['volume', 'qos', 'show', 'gold']);
    assert.deepEqual(shown.properties, { total_iops_sec_per_gb: '100' });
    assert.deepEqual(shown.associations, ['__DEFAULT__']);
    const list = await a.json<any[]>(['volume', 'qos', 'list']);
    assert.deepEqual(
      list.map((x) => [x.ID, x.Name, x.Consumer, x.Associations]),
      [[q.id, 'gold', 'front-end', ['__DEFAULT__']]],
    );
    const type = await a.json(['volume', 'type', 'show', '__DEFAULT__']);
    assert.equal(type.qos_specs_id, q.id);

    await a.fails(['volume', 'qos', 'delete', 'gold']);
    await a.ok(['volume', 'qos', 'disassociate', '--volume-type', '__DEFAULT__', 'gold']);
    // OSC leaves the field out when there is none.
    assert.equal((await a.json(['volume', 'qos', 'show', 'gold'])).associations, undefined);
    await a.ok(['volume', 'qos', 'associate', 'gold', '__DEFAULT__']);
    await a.ok(['volume', 'qos', 'disassociate', '--all', 'gold']);
    await a.ok(['volume', 'qos', 'associate', 'gold', '__DEFAULT__']);
    await a.ok(['volume', 'qos', 'delete', '--force', 'gold']);
    assert.deepEqual(await a.json(['volume', 'qos', 'list']), []);
  } finally {
    await ts.close();
    await rm(home, { recursive: true, force: true });
  }
});
