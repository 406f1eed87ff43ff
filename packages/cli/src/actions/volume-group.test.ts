import assert from 'node:assert/strict';
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

test('volume group type, volume group and volume group snapshot round trip', async () => {
  const gt = await cli.json(['volume', 'group', 'type', 'create', 'cli-gt', '--property', 'consistent_group_snapshot_enabled=<is> True']);
  assert.equal(gt.name, 'cli-gt');
  assert.deepEqual(gt.group_specs, { consistent_group_snapshot_enabled: '<is> True' });
  const set = await cli.json(['volume', 'group', 'type', 'set', 'cli-gt', '--description', 'for the CLI', '--property', 'k=v']);
  assert.equal(set.description, 'for the CLI');
  assert.equal(set.group_specs.k, 'v');
  assert.equal((await cli.json(['volume', 'group', 'type', 'unset', 'cli-gt', '--property', 'k'])).group_specs.k, undefined);
  assert.ok((await cli.json(['volume', 'group', 'type', 'list'])).some((t: { Name: string }) => t.Name === 'cli-gt'));

  const g = await cli.json(['volume', 'group', 'create', 'cli-gt', '__DEFAULT__', '--name', 'cli-group']);
  assert.equal(g.status, 'available');
  assert.deepEqual(g.volumes, []);
  const v = await cli.json(['volume', 'create', '--size', '1', 'cli-member', '--wait']);
  const add = await cli.run(['volume', 'group', 'add', 'volume', 'cli-group', 'cli-member']);
  assert.equal(add.code, 0, add.stderr);
  assert.deepEqual((await cli.json(['volume', 'group', 'show', 'cli-group'])).volumes, [v.id]);
  assert.equal((await cli.json(['volume', 'group', 'set', 'cli-group', '--description', 'd'])).description, 'd');
  assert.deepEqual(await cli.json(['volume', 'group', 'list']), [{ ID: g.id, Status: 'available', Name: 'cli-group' }]);

  const gs = await cli.json(['volume', 'group', 'snapshot', 'create', 'cli-group', '--name', 'cli-gs']);
  assert.equal(gs.group_id, g.id);
  for (let i = 0; i < 100 && (await cli.json(['volume', 'group', 'snapshot', 'show', 'cli-gs'])).status !== 'available'; i++)
    await new Promise((r) => setTimeout(r, 100));
  assert.equal((await cli.json(['volume', 'group', 'snapshot', 'show', 'cli-gs'])).status, 'available');
  assert.equal((await cli.json(['volume', 'group', 'snapshot', 'list']))[0].ID, gs.id);
  assert.equal((await cli.run(['volume', 'group', 'snapshot', 'delete', 'cli-gs'])).code, 0);

  const refused = await cli.run(['volume', 'group', 'delete', 'cli-group']);
  assert.equal(refused.code, 1, 'a group with volumes needs --force');
  assert.equal((await cli.run(['volume', 'group', 'remove', 'volume', 'cli-group', 'cli-member'])).code, 0);
  assert.equal((await cli.run(['volume', 'group', 'delete', 'cli-group'])).code, 0);
  assert.equal((await cli.run(['volume', 'group', 'type', 'delete', 'cli-gt'])).code, 0);
});
