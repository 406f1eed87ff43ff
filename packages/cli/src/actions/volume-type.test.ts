import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from '../../../server/src/test-support/harness.js';
import { adminEnv, Cli } from '../test-support/cli.js';

let ts: TestServer;
let cli: Cli;
let memberProject: string;

before(async () => {
  ts = await startTestServer();
  cli = new Cli(adminEnv(ts.dataDir));
  memberProject = (await ts.createMember('type-member')).projectId;
});
after(async () => ts?.close());

test('volume type create, show, list, set, unset, delete', async () => {
  const created = await cli.json(['volume', 'type', 'create', 'gold', '--description', 'fast', '--property', 'tier=gold']);
  assert.equal(created.name, 'gold');
  assert.equal(created.description, 'fast');
  assert.equal(created.is_public, true);
  assert.deepEqual(created.properties, { tier: 'gold' });

  const listed = await cli.json(['volume', 'type', 'list']);
  assert.ok(listed.some((r: { Name: string }) => r.Name === 'gold'));
  const bySpec = await cli.json(['volume', 'type', 'list', '--property', 'tier=gold']);
  assert.deepEqual(bySpec.map((r: { Name: string }) => r.Name), ['gold']);
  assert.deepEqual(await cli.json(['volume', 'type', 'list', '--property', 'tier=silver']), []);

  const set = await cli.run(['volume', 'type', 'set', 'gold', '--name', 'platinum', '--property', 'color=red']);
  assert.equal(set.code, 0, set.stderr);
  const shown = await cli.json(['volume', 'type', 'show', 'platinum']);
  assert.deepEqual(shown.properties, { tier: 'gold', color: 'red' });

  const unset = await cli.run(['volume', 'type', 'unset', 'platinum', '--property', 'tier']);
  assert.equal(unset.code, 0, unset.stderr);
  assert.deepEqual((await cli.json(['volume', 'type', 'show', 'platinum'])).properties, { color: 'red' });

  const nothing = await cli.run(['volume', 'type', 'set', 'platinum']);
  assert.notEqual(nothing.code, 0);
  assert.match(nothing.stderr, /nothing to change/);

  const del = await cli.run(['volume', 'type', 'delete', 'platinum']);
  assert.equal(del.code, 0, del.stderr);
  const gone = await cli.run(['volume', 'type', 'show', 'platinum']);
  assert.equal(gone.code, 1);
});

test('private volume type with project access, and an encryption type', async () => {
  const t = await cli.json(['volume', 'type', 'create', 'secret', '--private', '--project', memberProject]);
  assert.equal(t.is_public, false);
  assert.deepEqual(t.access_project_ids, [memberProject]);
  const un = await cli.run(['volume', 'type', 'unset', 'secret', '--project', memberProject]);
  assert.equal(un.code, 0, un.stderr);
  assert.deepEqual((await cli.json(['volume', 'type', 'show', 'secret'])).access_project_ids, []);

  const set = await cli.run(['volume', 'type', 'set', 'secret', '--encryption-provider', 'luks', '--encryption-key-size', '256']);
  assert.equal(set.code, 0, set.stderr);
  const shown = await cli.json(['volume', 'type', 'show', 'secret', '--encryption-type']);
  assert.equal(shown.encryption.provider, 'luks');
  assert.equal(shown.encryption.key_size, 256);
  assert.equal(shown.encryption.control_location, 'front-end');
  assert.equal((await cli.run(['volume', 'type', 'unset', 'secret', '--encryption-type'])).code, 0);
  assert.deepEqual((await cli.json(['volume', 'type', 'show', 'secret', '--encryption-type'])).encryption, {});
  assert.equal((await cli.run(['volume', 'type', 'delete', 'secret'])).code, 0);
});
