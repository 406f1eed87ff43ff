import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse } from 'yaml';
import { startTestServer, type TestServer } from '../../../server/src/test-support/harness.js';
import { adminEnv, Cli } from '../test-support/cli.js';

let ts: TestServer;
let owner: Cli;
let receiver: Cli;

before(async () => {
  ts = await startTestServer();
  owner = new Cli(adminEnv(ts.dataDir));
  await ts.createMember('xfer-receiver');
  const authUrl = (parse(await readFile(join(ts.dataDir, 'clouds.yaml'), 'utf8')) as any).clouds.cinderbox.auth.auth_url;
  receiver = new Cli({
    OS_AUTH_URL: authUrl,
    OS_USERNAME: 'xfer-receiver',
    OS_PASSWORD: 'xfer-receiver-pw',
    OS_PROJECT_NAME: 'xfer-receiver',
    OS_USER_DOMAIN_NAME: 'Default',
    OS_PROJECT_DOMAIN_NAME: 'Default',
  });
});
after(async () => ts?.close());

test('volume transfer request create, list, show, accept by another project, delete', async () => {
  const v = await owner.json(['volume', 'create', '--size', '1', 'gift', '--wait']);
  const req = await owner.json(['volume', 'transfer', 'request', 'create', 'gift', '--name', 'to-receiver']);
  assert.match(req.auth_key, /^[0-9a-f]{16}$/);
  assert.equal(req.volume_id, v.id);
  assert.equal(req.name, 'to-receiver');
  assert.equal('links' in req, false);

  assert.deepEqual(await owner.json(['volume', 'transfer', 'request', 'list']), [
    { ID: req.id, Name: 'to-receiver', Volume: v.id },
  ]);
  const shown = await owner.json(['volume', 'transfer', 'request', 'show', 'to-receiver']);
  assert.equal(shown.id, req.id);
  assert.equal('auth_key' in shown, false);

  const wrong = await receiver.run(['volume', 'transfer', 'request', 'accept', req.id, '--auth-key', '0000000000000000']);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /Invalid auth key/);
  const accepted = await receiver.json(['volume', 'transfer', 'request', 'accept', req.id, '--auth-key', req.auth_key]);
  assert.deepEqual(accepted, { id: req.id, name: 'to-receiver', volume_id: v.id });
  const mine = await receiver.json(['volume', 'show', v.id]);
  assert.equal(mine.status, 'available');
  // The admin still sees it by ID, as in Cinder, but no longer among its own project's volumes.
  assert.ok(!(await owner.json(['volume', 'list'])).some((x: { ID: string }) => x.ID === v.id));
  assert.deepEqual(await owner.json(['volume', 'transfer', 'request', 'list']), []);

  // --no-snapshots goes through volume-transfers (3.55); delete gives the volume back.
  await owner.json(['volume', 'create', '--size', '1', 'kept', '--wait']);
  const kept = await owner.json(['volume', 'transfer', 'request', 'create', 'kept', '--no-snapshots']);
  assert.equal(kept.no_snapshots, true);
  const del = await owner.run(['volume', 'transfer', 'request', 'delete', kept.id]);
  assert.equal(del.code, 0, del.stderr);
  assert.equal((await owner.json(['volume', 'show', 'kept'])).status, 'available');
  const missing = await owner.run(['volume', 'transfer', 'request', 'delete', kept.id]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /No transfer request with a name or ID/);
});
