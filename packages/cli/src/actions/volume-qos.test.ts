import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from '../../../server/src/test-support/harness.js';
import { adminEnv, Cli } from '../test-support/cli.js';

let ts: TestServer;
let admin: Cli;

before(async () => {
  ts = await startTestServer();
  admin = new Cli(adminEnv(ts.dataDir));
});
after(async () => ts?.close());

test('volume qos create, list, show, set, unset, associate, disassociate, delete', async () => {
  const created = await admin.json(['volume', 'qos', 'create', 'gold', '--consumer', 'front-end', '--property', 'read_iops_sec=2000']);
  assert.deepEqual({ ...created, id: undefined }, { id: undefined, name: 'gold', consumer: 'front-end', properties: { read_iops_sec: '2000' } });

  await admin.ok(['volume', 'qos', 'set', 'gold', '--property', 'total_bytes_sec=1048576', '--property', 'write_iops_sec=10']);
  await admin.ok(['volume', 'qos', 'unset', 'gold', '--property', 'write_iops_sec']);
  await admin.ok(['volume', 'qos', 'associate', 'gold', '__DEFAULT__']);
  const shown = await admin.json(['volume', 'qos', 'show', created.id]);
  assert.deepEqual(shown, {
    associations: ['__DEFAULT__'],
    consumer: 'front-end',
    id: created.id,
    name: 'gold',
    properties: { read_iops_sec: '2000', total_bytes_sec: '1048576' },
  });
  assert.deepEqual(await admin.json(['volume', 'qos', 'list']), [
    { ID: created.id, Name: 'gold', Consumer: 'front-end', Associations: ['__DEFAULT__'], Properties: { read_iops_sec: '2000', total_bytes_sec: '1048576' } },
  ]);
  const table = await admin.ok(['volume', 'qos', 'show', 'gold']);
  assert.match(table, /read_iops_sec='2000', total_bytes_sec='1048576'/);

  // Refused while associated; --force disassociates and deletes.
  const refused = await admin.run(['volume', 'qos', 'delete', 'gold']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /Qos specs still in use/);
  assert.equal((await admin.run(['volume', 'qos', 'disassociate', 'gold'])).code, 2, 'neither --volume-type nor --all');
  await admin.ok(['volume', 'qos', 'disassociate', 'gold', '--volume-type', '__DEFAULT__']);
  assert.equal((await admin.json(['volume', 'qos', 'show', 'gold'])).associations, undefined, 'left out when none, as OSC does');
  await admin.ok(['volume', 'qos', 'associate', 'gold', '__DEFAULT__']);
  await admin.ok(['volume', 'qos', 'disassociate', 'gold', '--all']);
  await admin.ok(['volume', 'qos', 'associate', 'gold', '__DEFAULT__']);
  await admin.ok(['volume', 'qos', 'delete', '--force', 'gold']);
  assert.deepEqual(await admin.json(['volume', 'qos', 'list']), []);
  const missing = await admin.run(['volume', 'qos', 'show', 'gold']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /No QoS spec with a name or ID of 'gold' exists/);
});
