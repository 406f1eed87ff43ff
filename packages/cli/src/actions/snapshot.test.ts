import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from '../../../server/src/test-support/harness.js';
import { adminEnv, Cli } from '../test-support/cli.js';

let ts: TestServer;
let cli: Cli;

before(async () => {
  ts = await startTestServer();
  cli = new Cli(adminEnv(ts.dataDir));
});
after(async () => {
  await ts?.close();
});

test('snapshot create --wait, list --long (volume named), show, set, unset and delete --wait', async () => {
  const v = await cli.json(['volume', 'create', '--size', '1', 'src', '--wait']);
  const s = await cli.json(['snapshot', 'create', '--volume', 'src', '--property', 'app=db', 'nightly', '--wait']);
  assert.equal(s.status, 'available');
  assert.equal(s.volume_id, v.id);
  assert.equal(s['os-extended-snapshot-attributes:progress'], '100%');
  assert.deepEqual(s.properties, { app: 'db' });

  const long = await cli.json(['snapshot', 'list', '--long']);
  assert.equal(long.length, 1);
  assert.deepEqual(
    { ...long[0], 'Created At': undefined },
    {
      ID: s.id,
      Name: 'nightly',
      Description: null,
      Status: 'available',
      Size: 1,
      'Created At': undefined,
      Volume: 'src',
      Properties: { app: 'db' },
    },
  );
  assert.deepEqual(await cli.json(['snapshot', 'list', '--volume', v.id, '-c', 'ID']), [{ ID: s.id }]);

  assert.equal(
    (
      await cli.run([
        'snapshot',
        'set',
        'nightly',
        '--name',
        'kept',
        '--description',
        'audit',
        '--property',
        'tier=gold',
      ])
    ).code,
    0,
  );
  assert.equal((await cli.run(['snapshot', 'unset', 'kept', '--property', 'app'])).code, 0);
  assert.deepEqual(await cli.json(['snapshot', 'show', s.id, '-c', 'name', '-c', 'description', '-c', 'properties']), {
    description: 'audit',
    name: 'kept',
    properties: { tier: 'gold' },
  });

  const del = await cli.run(['snapshot', 'delete', 'kept', '--wait']);
  assert.equal(del.code, 0, del.stderr);
  const gone = await ts.request('GET', `/v3/${ts.adminProjectId}/snapshots/${s.id}`, { token: ts.adminToken });
  assert.equal(gone.status, 404);
});

test('snapshot create --wait exits 3 when the snapshot ends in error; an API refusal exits 1 with the request id', async () => {
  const v = await cli.json(['volume', 'create', '--size', '1', 'broken', '--wait']);
  // Take the volume's backing file away so the copy fails on the server: the snapshot ends in `error`.
  const files = (await readdir(join(ts.dataDir, 'volumes'), { recursive: true })).filter((f) => f.endsWith(v.id));
  assert.equal(files.length, 1, 'the volume has one backing file');
  await rm(join(ts.dataDir, 'volumes', files[0] as string));
  const failed = await cli.run(['snapshot', 'create', '--volume', 'broken', 'bad', '--wait', '-f', 'json']);
  assert.equal(failed.code, 3, failed.stderr);
  assert.match(failed.stderr, /snapshot [0-9a-f-]+: ended in status error/);
  assert.equal(failed.stdout, '');
  assert.deepEqual(await cli.json(['snapshot', 'list', '-c', 'Name', '-c', 'Status']), [
    { Name: 'bad', Status: 'error' },
  ]);

  await ts.request('POST', `/v3/${ts.adminProjectId}/volumes/${v.id}/action`, {
    token: ts.adminToken,
    body: { 'os-reset_status': { status: 'error' } },
  });
  const refused = await cli.run(['snapshot', 'create', '--volume', 'broken', 'x', '--wait']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /\(HTTP 400\) \(Request-ID: req-[0-9a-f-]+\)/);
  const missing = await cli.run(['snapshot', 'delete', 'bad', 'no-such-snapshot']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /Failed to delete snapshot 'no-such-snapshot'/);
  assert.match(missing.stderr, /1 of 2 snapshots failed to delete/);
});
