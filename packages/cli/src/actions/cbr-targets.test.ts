/**
 * Backup targets and immutable backups from the CLI: `vault create --backup-target --lock-days`, `backup create
 * --container TARGET`, and the refusals a user meets (an unknown target, a lock out of range, deleting a locked
 * backup), against a real server with a second, locked file target.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseBackupTarget } from '../../../server/src/config/backup-targets.js';
import { startTestServer, type TestServer } from '../../../server/src/test-support/harness.js';
import { adminEnv, Cli } from '../test-support/cli.js';

let ts: TestServer;
let cli: Cli;
let dir: string;
const DAY_MS = 86_400_000;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cinderbox-cli-targets-'));
  ts = await startTestServer({
    backends: [{ name: 'raw', driver: 'raw', pool: 'raw' }],
    backupTargets: [parseBackupTarget(`vaulted=file://${join(dir, 'vaulted')}?lock_days=2`)],
    defaultBackupTarget: 'default',
  });
  cli = new Cli(adminEnv(ts.dataDir));
});
after(async () => {
  await ts?.close();
  await rm(dir, { recursive: true, force: true });
});

test('vault create --backup-target --lock-days: the vault says so, and an unknown target or a lock out of range is refused', async () => {
  await cli.json(['volume', 'create', '--size', '1', 'data', '--wait']);
  const v = await cli.json(['vault', 'create', 'locked', '--size', '10', '--resource', 'data', '--backup-target', 'vaulted', '--lock-days', '3']);
  assert.equal(v.backup_target, 'vaulted');
  assert.equal(v.lock_days, 3);
  const shown = await cli.json(['vault', 'show', 'locked']);
  assert.equal(shown.backup_target, 'vaulted');

  const plain = await cli.json(['vault', 'create', 'plain', '--size', '10']);
  assert.equal(plain.backup_target, 'default');
  assert.equal(plain.lock_days, null);

  // A replication vault needs regions (serve --region), which this server has none of: the server's refusal.
  const replication = await cli.run(['vault', 'create', 'x', '--size', '10', '--protect-type', 'replication']);
  assert.equal(replication.code, 1);
  assert.match(replication.stderr, /Replication vaults are not supported/);
  const badType = await cli.run(['vault', 'create', 'x', '--size', '10', '--protect-type', 'archive']);
  assert.equal(badType.code, 2);

  const unknown = await cli.run(['vault', 'create', 'x', '--size', '10', '--backup-target', 'nowhere']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /backup_target "nowhere" is not a configured backup target/);
  const zero = await cli.run(['vault', 'create', 'x', '--size', '10', '--lock-days', '0']);
  assert.equal(zero.code, 2);
  assert.match(zero.stderr, /--lock-days.*positive integer/);
  const tooLong = await cli.run(['vault', 'create', 'x', '--size', '10', '--lock-days', '36501']);
  assert.equal(tooLong.code, 1, tooLong.stderr);
  assert.match(tooLong.stderr, /lock_days/);
});

test('backup create --container TARGET: the backup lands on that target with its lock, and delete is refused until it ends', async () => {
  await cli.json(['volume', 'create', '--size', '1', 'src', '--wait']);
  const b = await cli.json(['backup', 'create', 'src', '--name', 'kept', '--container', 'vaulted', '--wait']);
  assert.equal(b.status, 'available');
  assert.equal(b.container, 'vaulted');
  const until = Date.parse(b.locked_until);
  // Two days, rounded up to the lock's step (12 h for two days).
  assert.ok(until > Date.now() + 2 * DAY_MS - 600_000 && until <= Date.now() + 2 * DAY_MS + 12 * 3_600_000, b.locked_until);
  const del = await cli.run(['backup', 'delete', 'kept']);
  assert.equal(del.code, 1);
  assert.match(del.stderr, /is immutable until/);
  assert.equal((await cli.json(['backup', 'show', 'kept'])).status, 'available');

  const unlocked = await cli.json(['backup', 'create', 'src', '--name', 'free', '--wait']);
  assert.equal(unlocked.locked_until ?? null, null);
});
