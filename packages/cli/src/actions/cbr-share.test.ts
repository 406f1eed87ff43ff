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
let receiverProject: string;

before(async () => {
  // Raw driver as in cbr.test.ts; disk-backup sharing is an extension the server must switch on.
  ts = await startTestServer({ backends: [{ name: 'raw', driver: 'raw', pool: 'raw' }] }, undefined, {
    cbr: { shareDiskBackups: true },
  });
  owner = new Cli(adminEnv(ts.dataDir));
  receiverProject = (await ts.createMember('receiver')).projectId;
  const authUrl = (parse(await readFile(join(ts.dataDir, 'clouds.yaml'), 'utf8')) as any).clouds.cinderbox.auth.auth_url;
  receiver = new Cli({
    OS_AUTH_URL: authUrl,
    OS_USERNAME: 'receiver',
    OS_PASSWORD: 'receiver-pw',
    OS_PROJECT_NAME: 'receiver',
    OS_USER_DOMAIN_NAME: 'Default',
    OS_PROJECT_DOMAIN_NAME: 'Default',
  });
});
after(async () => ts?.close());

test('cbr-member: the owner shares a backup, the receiver accepts it into its vault, the owner revokes it; cbr-task lists the backup run', async () => {
  await owner.json(['volume', 'create', '--size', '1', 'disk', '--wait']);
  await owner.json(['vault', 'create', 'src', '--size', '10', '--resource', 'disk']);
  const cp = await owner.json(['checkpoint', 'create', 'src', '--name', 'shared', '--wait']);
  const [b] = await owner.json(['cbr-backup', 'list', '--checkpoint', cp.id, '-c', 'ID']);
  const backupId = b.ID as string;

  // Add by project name (the admin may look projects up); the share starts pending.
  const added = await owner.json(['cbr-member', 'add', backupId, 'receiver']);
  assert.deepEqual(
    added.map((m: any) => [m['Project ID'], m.Status]),
    [[receiverProject, 'pending']],
  );
  // Read-only checks run side by side (each is a CLI process).
  const [again, listed, none, shown] = await Promise.all([
    owner.run(['cbr-member', 'add', backupId, receiverProject]),
    owner.json(['cbr-member', 'list', backupId, '-c', 'Project ID', '-c', 'Status']),
    owner.json(['cbr-member', 'list', backupId, '--status', 'accepted']),
    owner.json(['cbr-member', 'show', backupId, receiverProject]),
  ]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /BackupService\.6703|already/i);
  assert.deepEqual(listed, [{ 'Project ID': receiverProject, Status: 'pending' }]);
  assert.deepEqual(none, []);
  assert.equal(shown.dest_project_id, receiverProject);
  assert.equal(shown.backup_id, backupId);
  assert.equal(shown.status, 'pending');

  // The receiver accepts into a vault of its own (by name); accepting without a vault is a usage error.
  const [noVault, badStatus, mine] = await Promise.all([
    receiver.run(['cbr-member', 'set', backupId, receiverProject, '--status', 'accepted']),
    receiver.run(['cbr-member', 'set', backupId, receiverProject, '--status', 'maybe']),
    receiver.json(['vault', 'create', 'dst', '--size', '10']),
  ]);
  assert.equal(noVault.code, 2);
  assert.match(noVault.stderr, /--vault/);
  assert.equal(badStatus.code, 2);
  const accepted = await receiver.json(['cbr-member', 'set', backupId, receiverProject, '--status', 'accepted', '--vault', 'dst']);
  assert.equal(accepted.status, 'accepted');
  assert.equal(accepted.vault_id, mine.id);
  assert.deepEqual(await owner.json(['cbr-member', 'list', backupId, '--long', '-c', 'Status', '-c', 'Vault ID', '-c', 'Backup ID']), [
    { Status: 'accepted', 'Vault ID': mine.id, 'Backup ID': backupId },
  ]);

  // Revoked: the receiver no longer sees the backup; deleting it again fails with exit 1.
  assert.equal((await owner.run(['cbr-member', 'delete', backupId, receiverProject])).code, 0);
  const [empty, gone, twice] = await Promise.all([
    owner.json(['cbr-member', 'list', backupId]),
    receiver.run(['cbr-backup', 'show', backupId]),
    owner.run(['cbr-member', 'delete', backupId, receiverProject]),
  ]);
  assert.deepEqual(empty, []);
  assert.equal(gone.code, 1);
  assert.equal(twice.code, 1);

  // Operation logs: the checkpoint's backup run succeeded, and show gives the full record.
  const logs = await owner.json(['cbr-task', 'list', '--operation-type', 'backup', '--long']);
  assert.ok(logs.length >= 1, 'a backup operation log');
  const log = logs.find((l: any) => l['Checkpoint ID'] === cp.id);
  assert.ok(log, `a log for checkpoint ${cp.id}: ${JSON.stringify(logs)}`);
  assert.equal(log.Status, 'success');
  assert.equal(log['Operation Type'], 'backup');
  const [restores, byVault, full, missing, ...helps] = await Promise.all([
    owner.json(['cbr-task', 'list', '--operation-type', 'restore']),
    owner.json(['cbr-task', 'list', '--vault', 'src', '-c', 'ID']),
    owner.json(['cbr-operation-log', 'show', log.ID]),
    owner.run(['cbr-task', 'show', '00000000-0000-4000-8000-000000000000']),
    owner.run(['cbr-member', '--help']),
    owner.run(['cbr-task', '--help']),
  ]);
  assert.deepEqual(restores, []);
  assert.deepEqual(
    byVault.map((r: any) => r.ID),
    logs.filter((l: any) => l['Vault ID'] === log['Vault ID']).map((l: any) => l.ID),
  );
  assert.equal(full.id, log.ID);
  assert.equal(full.checkpoint_id, cp.id);
  assert.equal(full.status, 'success');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /No operation log with a name or ID of '00000000-0000-4000-8000-000000000000'/);
  for (const h of helps) assert.equal(h.code, 0);
});
