import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from '../../../server/src/test-support/harness.js';
import { adminEnv, Cli } from '../test-support/cli.js';

let ts: TestServer;
let cli: Cli;
let dir: string;

const DAILY = 'FREQ=DAILY;INTERVAL=1;BYHOUR=2;BYMINUTE=0';

before(async () => {
  // Pinned to the raw driver: on the qcow2 driver a CBR restore compares the backup with the image file's size
  // instead of the volume's (server issue, reported), so restores fail there.
  ts = await startTestServer({ backends: [{ name: 'raw', driver: 'raw', pool: 'raw' }] });
  cli = new Cli(adminEnv(ts.dataDir));
  dir = await mkdtemp(join(tmpdir(), 'cinderbox-cli-cbr-'));
});
after(async () => {
  await ts?.close();
  await rm(dir, { recursive: true, force: true });
});

test('vault and policy create/list/show/set/delete, resources added and removed, a policy associated and dissociated', async () => {
  const vol = await cli.json(['volume', 'create', '--size', '1', 'disk1', '--wait']);
  const p = await cli.json(['policy', 'create', 'daily', '--pattern', DAILY, '--max-backups', '3', '--disable']);
  assert.equal(p.name, 'daily');
  assert.equal(p.enabled, false);
  assert.equal(p.operation_type, 'backup');
  assert.equal(p.operation_definition.max_backups, 3);
  assert.deepEqual(p.trigger.properties.pattern, [DAILY]);

  const v = await cli.json(['vault', 'create', 'disks', '--size', '10', '--resource', 'disk1', '--description', 'd']);
  assert.equal(v.name, 'disks');
  assert.equal(v.billing.size, 10);
  assert.equal(v.billing.object_type, 'disk');
  assert.deepEqual(
    v.resources.map((r: any) => [r.id, r.type]),
    [[vol.id, 'OS::Cinder::Volume']],
  );
  assert.deepEqual(await cli.json(['vault', 'list', '-c', 'Name', '-c', 'Type', '-c', 'Size', '-c', 'Resources']), [
    { Name: 'disks', Type: 'disk', Size: 10, Resources: 1 },
  ]);
  assert.deepEqual(await cli.json(['vault', 'list', '--volume', 'disk1', '-c', 'ID']), [{ ID: v.id }]);

  const bound = await cli.json(['vault', 'associate-policy', 'disks', 'daily']);
  assert.deepEqual(bound, { policy_id: p.id, vault_id: v.id });
  assert.deepEqual(await cli.json(['policy', 'list', '--vault', 'disks', '-c', 'ID']), [{ ID: p.id }]);
  assert.deepEqual(await cli.json(['vault', 'list', '--policy', 'daily', '-c', 'ID']), [{ ID: v.id }]);
  assert.deepEqual(await cli.json(['vault', 'dissociate-policy', v.id, p.id]), { policy_id: p.id, vault_id: v.id });
  assert.deepEqual(await cli.json(['policy', 'list', '--vault', 'disks']), []);

  const set = await cli.json(['vault', 'set', 'disks', '--name', 'disks2', '--size', '20', '--auto-expand']);
  assert.equal(set.name, 'disks2');
  assert.equal(set.billing.size, 20);
  assert.equal(set.auto_expand, true);
  assert.deepEqual(await cli.json(['vault', 'remove-resource', 'disks2', 'disk1']), [{ 'Resource ID': vol.id }]);
  assert.deepEqual((await cli.json(['vault', 'show', v.id, '-c', 'resources'])).resources, []);
  assert.deepEqual(await cli.json(['vault', 'add-resource', 'disks2', vol.id]), [{ 'Resource ID': vol.id }]);

  const pset = await cli.json(['policy', 'set', 'daily', '--max-backups', '5', '--enable', '--name', 'daily-2']);
  assert.equal(pset.name, 'daily-2');
  assert.equal(pset.enabled, true);
  assert.equal(pset.operation_definition.max_backups, 5);
  const rows = await cli.json(['policy', 'list', '--long']);
  assert.deepEqual(rows, [
    {
      ID: p.id,
      Name: 'daily-2',
      Enabled: true,
      'Operation Type': 'backup',
      Pattern: [DAILY],
      'Max Backups': 5,
      'Retention Days': -1,
      Vaults: [],
    },
  ]);

  assert.equal((await cli.run(['policy', 'delete', 'daily-2'])).code, 0);
  assert.equal((await cli.run(['vault', 'delete', 'disks2'])).code, 0);
  assert.deepEqual(await cli.json(['vault', 'list']), []);
  assert.deepEqual(await cli.json(['policy', 'list']), []);
  const missing = await cli.run(['vault', 'show', 'disks2']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /No vault with a name or ID of 'disks2' exists\./);
});

test('exit codes and help: usage errors are 2, API refusals 1 with the CBR message and request id', async () => {
  const noSize = await cli.run(['vault', 'create', 'x']);
  assert.equal(noSize.code, 2);
  assert.match(noSize.stderr, /--size <gib>' not specified/);
  const noPattern = await cli.run(['policy', 'create', 'p1', '--max-backups', '2']);
  assert.equal(noPattern.code, 2);
  assert.match(noPattern.stderr, /--pattern/);
  const nothing = await cli.run(['vault', 'set', 'whatever']);
  assert.equal(nothing.code, 2);
  const badPattern = await cli.run(['policy', 'create', 'p1', '--pattern', 'NOT-A-RULE', '--max-backups', '2']);
  assert.equal(badPattern.code, 1);
  assert.match(badPattern.stderr, /\(HTTP 400\) \(Request-ID: req-/);
  const noCheckpoint = await cli.run(['checkpoint', 'show', '00000000-0000-4000-8000-000000000000']);
  assert.equal(noCheckpoint.code, 1);
  assert.match(noCheckpoint.stderr, /No checkpoint with a name or ID of '00000000-0000-4000-8000-000000000000'/);
  for (const cmd of ['vault', 'policy', 'checkpoint', 'cbr-backup']) {
    const help = await cli.run([cmd, '--help']);
    assert.equal(help.code, 0, cmd);
  }
  assert.match((await cli.run(['checkpoint', 'create', '--help'])).stdout, /--wait-timeout <seconds>/);
  assert.match((await cli.run(['cbr-backup', 'restore', '--help'])).stdout, /--wait/);
  const names = (await cli.json(['policy', 'list', '-c', 'Name'])).map((r: any) => r.Name);
  assert.equal(names.includes('p1'), false, 'nothing was created by the failed commands');
});

test('checkpoint create --wait backs up the vault; cbr-backup list/show, restore --wait brings the bytes back, delete', async () => {
  const vol = await cli.json(['volume', 'create', '--size', '1', 'data', '--wait']);
  const data = randomBytes(128 * 1024 + 5);
  const file = join(dir, 'in.bin');
  await writeFile(file, data);
  assert.equal((await cli.run(['volume', 'upload', 'data', file])).code, 0);
  await cli.json(['vault', 'create', 'v1', '--size', '10', '--resource', 'data']);

  const cp = await cli.json(['checkpoint', 'create', 'v1', '--name', 'manual', '--full', '--wait']);
  assert.equal(cp.status, 'available');
  assert.equal(cp.extra_info.name, 'manual');
  assert.deepEqual(
    cp.vault.resources.map((r: any) => r.id),
    [vol.id],
  );
  assert.equal((await cli.json(['checkpoint', 'show', cp.id, '-c', 'status'])).status, 'available');

  const backups = await cli.json(['cbr-backup', 'list', '--checkpoint', cp.id, '--long']);
  assert.equal(backups.length, 1);
  const b = backups[0];
  assert.equal(b.Status, 'available');
  assert.equal(b.Volume, vol.id);
  assert.equal(b['Volume Name'], 'data');
  assert.equal(b.Checkpoint, cp.id);
  assert.equal(b.Incremental, false);
  assert.deepEqual(await cli.json(['cbr-backup', 'list', '--vault', 'v1', '-c', 'ID']), [{ ID: b.ID }]);
  const shown = await cli.json(['cbr-backup', 'show', b.ID]);
  assert.equal(shown.resource_id, vol.id);
  assert.equal(shown.checkpoint_id, cp.id);

  // Overwrite the volume, then restore the backup onto it.
  const other = join(dir, 'other.bin');
  await writeFile(other, randomBytes(data.length));
  assert.equal((await cli.run(['volume', 'upload', 'data', other])).code, 0);
  const restore = await cli.run(['cbr-backup', 'restore', b.ID, '--wait']);
  assert.equal(restore.code, 0, restore.stderr);
  assert.equal((await cli.json(['volume', 'show', 'data', '-c', 'status'])).status, 'available');
  const out = join(dir, 'out.bin');
  assert.equal((await cli.run(['volume', 'download', 'data', out, '--length', String(data.length)])).code, 0);
  assert.ok((await readFile(out)).equals(data), 'the restore brought the backed-up bytes back');

  const del = await cli.run(['cbr-backup', 'delete', b.ID]);
  assert.equal(del.code, 0, del.stderr);
  const gone = await cli.run(['cbr-backup', 'show', b.ID]);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /No backup with a name or ID of/);
});
