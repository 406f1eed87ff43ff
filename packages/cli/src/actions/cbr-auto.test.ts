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

test('vault create --auto-bind --bind-tag binds matching new volumes; vault set --no-bind-tag / --auto-expand', async () => {
  const v = await admin.json(['vault', 'create', 'gold', '--size', '10', '--auto-bind', '--bind-tag', 'tier=gold']);
  assert.equal(v.auto_bind, true);
  assert.deepEqual(v.bind_rules, { tags: [{ key: 'tier', value: 'gold' }] });
  const gold = await admin.json(['volume', 'create', '--size', '1', '--property', 'tier=gold', 'g1', '--wait']);
  await admin.json(['volume', 'create', '--size', '1', 'plain', '--wait']);
  const shown = await admin.json(['vault', 'show', 'gold']);
  assert.deepEqual(shown.resources.map((r: any) => r.id), [gold.id]);

  const set = await admin.json(['vault', 'set', 'gold', '--no-bind-tag', '--auto-expand']);
  assert.deepEqual(set.bind_rules, {});
  assert.equal(set.auto_expand, true);
  const any = await admin.json(['volume', 'create', '--size', '1', 'any', '--wait']);
  assert.ok((await admin.json(['vault', 'show', 'gold'])).resources.some((r: any) => r.id === any.id));
});
