import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from '../../../server/src/test-support/harness.js';
import { adminEnv, Cli } from '../test-support/cli.js';

let ts: TestServer;
let cli: Cli;

before(async () => {
  ts = await startTestServer({ backends: [{ name: 'raw', driver: 'raw', pool: 'raw' }] });
  cli = new Cli(adminEnv(ts.dataDir));
});
after(async () => ts?.close());

test('vault tag add/list/remove, the project tag list, and bad tags refused by the server', async () => {
  await cli.json(['vault', 'create', 'tagged', '--size', '10']);
  await cli.json(['vault', 'create', 'other', '--size', '10']);
  await cli.ok(['vault', 'tag', 'add', 'tagged', '--tag', 'env=prod', '--tag', 'team=db']);
  await cli.ok(['vault', 'tag', 'add', 'other', '--tag', 'env=test']);
  const mine = await cli.json(['vault', 'tag', 'list', 'tagged']);
  assert.deepEqual(
    mine.sort((a: any, b: any) => a.Key.localeCompare(b.Key)),
    [
      { Key: 'env', Value: 'prod' },
      { Key: 'team', Value: 'db' },
    ],
  );
  const project = await cli.json(['vault', 'tag', 'list']);
  const env = project.find((t: any) => t.Key === 'env');
  assert.deepEqual(env.Values.split(', ').sort(), ['prod', 'test']);
  await cli.ok(['vault', 'tag', 'remove', 'tagged', '--tag', 'team']);
  assert.deepEqual(await cli.json(['vault', 'tag', 'list', 'tagged']), [{ Key: 'env', Value: 'prod' }]);
  const bad = await cli.run(['vault', 'tag', 'add', 'tagged', '--tag', 'no spaces=x']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /key must be 1-36 letters, digits, underscores or hyphens/);
  const noVault = await cli.run(['vault', 'tag', 'list', 'nowhere']);
  assert.equal(noVault.code, 1);
  assert.match(noVault.stderr, /No vault with a name or ID of 'nowhere' exists/);
});

test('vault migrate-resource moves a volume to another vault', async () => {
  const vol = await cli.json(['volume', 'create', '--size', '1', 'mover', '--wait']);
  await cli.json(['vault', 'create', 'from', '--size', '10', '--resource', 'mover']);
  await cli.json(['vault', 'create', 'to', '--size', '10']);
  assert.deepEqual(await cli.json(['vault', 'migrate-resource', 'from', 'mover', '--destination', 'to']), [
    { 'Resource ID': vol.id },
  ]);
  assert.deepEqual((await cli.json(['vault', 'show', 'from'])).resources, []);
  assert.deepEqual(
    (await cli.json(['vault', 'show', 'to'])).resources.map((r: any) => r.id),
    [vol.id],
  );
  const missing = await cli.run(['vault', 'migrate-resource', 'from', 'mover']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--destination/);
});
