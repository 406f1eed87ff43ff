import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer, waitFor } from '../../../server/src/test-support/harness.js';
import { adminEnv, Cli } from '../test-support/cli.js';

let ts: TestServer;
let cli: Cli;

before(async () => {
  ts = await startTestServer();
  cli = new Cli(adminEnv(ts.dataDir));
});
after(async () => ts?.close());

test('volume message list, show, delete of a failed backup', async () => {
  const v = await cli.json(['volume', 'create', '--size', '1', 'msg-vol', '--wait']);
  // The volume's backend file goes behind the server's back: the backup cannot read it.
  for (const e of await readdir(join(ts.dataDir, 'volumes'), { recursive: true, withFileTypes: true }))
    if (e.isFile() && e.name === `volume-${v.id}`) await rm(join(e.parentPath, e.name));
  const b = await cli.json(['backup', 'create', v.id, '--name', 'msg-backup']);
  await waitFor(async () => (await cli.json(['backup', 'show', b.id])).status === 'error', 'backup error');

  const list = await cli.json(['volume', 'message', 'list']);
  assert.equal(list.length, 1);
  const [row] = list;
  assert.deepEqual(Object.keys(row), [
    'ID',
    'Event ID',
    'Resource Type',
    'Resource UUID',
    'Message Level',
    'User Message',
    'Request ID',
    'Created At',
    'Guaranteed Until',
  ]);
  assert.equal(row['Event ID'], 'VOLUME_VOLUME_BACKUP_013_020');
  assert.equal(row['Resource UUID'], b.id);
  assert.equal(row['User Message'], 'create backup: Backup driver failed to create backup.');
  assert.deepEqual(await cli.json(['volume', 'message', 'list', '--limit', '0']), []);

  const shown = await cli.json(['volume', 'message', 'show', row.ID]);
  assert.equal(shown.id, row.ID);
  assert.equal(shown.event_id, 'VOLUME_VOLUME_BACKUP_013_020');
  assert.equal(shown.resource_type, 'VOLUME_BACKUP');

  const partly = await cli.run(['volume', 'message', 'delete', row.ID, '00000000-0000-4000-8000-000000000000']);
  assert.equal(partly.code, 1);
  assert.match(partly.stderr, /Failed to delete 1 of 2 messages\./);
  assert.deepEqual(await cli.json(['volume', 'message', 'list']), []);
  const missing = await cli.run(['volume', 'message', 'show', row.ID]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /No message with a name or ID/);
});
