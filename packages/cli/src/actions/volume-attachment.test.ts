import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from '../../../server/src/test-support/harness.js';
import { adminEnv, Cli } from '../test-support/cli.js';

let ts: TestServer;
let cli: Cli;

before(async () => {
  ts = await startTestServer();
  cli = new Cli(adminEnv(ts.dataDir));
});
after(async () => ts?.close());

test('volume attachment create, set, complete, list, show, delete walk a volume to in-use and back', async () => {
  const v = await cli.json(['volume', 'create', '--size', '1', 'att-cli', '--wait']);
  const server = randomUUID();
  const a = await cli.json(['volume', 'attachment', 'create', 'att-cli', server, '--mode', 'ro']);
  assert.deepEqual(Object.keys(a), ['ID', 'Volume ID', 'Instance ID', 'Status', 'Attach Mode', 'Attached At', 'Detached At']);
  assert.equal(a['Volume ID'], v.id);
  assert.equal(a['Instance ID'], server);
  assert.equal(a.Status, 'reserved');
  assert.equal(a['Attach Mode'], 'ro');
  assert.equal((await cli.json(['volume', 'show', v.id])).status, 'reserved');

  const refused = await cli.run(['volume', 'attachment', 'create', 'att-cli', randomUUID(), '--host', 'h']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /--connect/);

  const set = await cli.json(['volume', 'attachment', 'set', a.ID, '--host', 'compute-1', '--mountpoint', '/dev/vdb']);
  assert.equal(set.Status, 'attaching');
  assert.equal(set.Properties.access_mode, 'ro');
  assert.equal(set.Properties.attachment_id, a.ID);

  const done = await cli.run(['volume', 'attachment', 'complete', a.ID]);
  assert.equal(done.code, 0, done.stderr);
  assert.equal((await cli.json(['volume', 'show', v.id])).status, 'in-use');
  assert.deepEqual(await cli.json(['volume', 'attachment', 'list', '--volume-id', v.id]), [
    { ID: a.ID, 'Volume ID': v.id, 'Server ID': server, Status: 'attached' },
  ]);
  assert.equal((await cli.json(['volume', 'attachment', 'show', a.ID])).Status, 'attached');

  const del = await cli.run(['volume', 'attachment', 'delete', a.ID]);
  assert.equal(del.code, 0, del.stderr);
  assert.equal((await cli.json(['volume', 'show', v.id])).status, 'available');
  const gone = await cli.run(['volume', 'attachment', 'show', a.ID]);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /No attachment with a name or ID/);
});
