import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseBackupTarget } from '../../../server/src/config/backup-targets.js';
import { startTestServer, type TestServer, waitFor } from '../../../server/src/test-support/harness.js';
import { adminEnv, Cli } from '../test-support/cli.js';

let ts: TestServer;
let cli: Cli;
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cinderbox-cli-repl-'));
  ts = await startTestServer({
    backends: [{ name: 'raw', driver: 'raw', pool: 'raw' }],
    backupTargets: [parseBackupTarget(`nas=file://${join(dir, 'nas')}`)],
    defaultBackupTarget: 'default',
    regions: [
      { name: 'here', target: 'default' },
      { name: 'away', target: 'nas' },
    ],
  });
  cli = new Cli(adminEnv(ts.dataDir));
});
after(async () => {
  await ts?.close();
  await rm(dir, { recursive: true, force: true });
});

test('cbr-replication: capabilities, a backup and a vault replicated into a vault of another region', async () => {
  assert.deepEqual(await cli.json(['cbr-replication', 'capabilities']), [
    { Name: 'here', 'Replication Destinations': 'away' },
    { Name: 'away', 'Replication Destinations': 'here' },
  ]);
  await cli.json(['volume', 'create', '--size', '1', 'rdisk', '--wait']);
  await cli.json(['vault', 'create', 'home', '--size', '10', '--resource', 'rdisk']);
  // The destination: a replication vault (OTC's kind for replicas only) on the other region's target.
  const remote = await cli.json(['vault', 'create', 'remote', '--size', '10', '--backup-target', 'nas', '--protect-type', 'replication']);
  assert.equal(remote.backup_target, 'nas');
  assert.equal(remote.billing.protect_type, 'replication');
  const cp = await cli.json(['checkpoint', 'create', 'home', '--wait']);
  const [b] = await cli.json(['cbr-backup', 'list', '--checkpoint', cp.id]);
  const r = await cli.json(['cbr-replication', 'backup', b.ID, '--region', 'away', '--vault', 'remote', '--name', 'copy']);
  assert.equal(r.backupId, b.ID);
  assert.equal(r.destinationRegion, 'away');
  assert.equal(r.sourceRegion, 'here');
  const replica = await waitFor(async () => {
    const list = await cli.json(['cbr-backup', 'list', '--vault', 'remote']);
    return list.length === 1 && list[0].Status === 'available' ? list[0] : null;
  }, 'replica available');
  assert.equal(replica.Name, 'copy');
  // The vault has no backup missing from the destination any more.
  const v = await cli.json(['cbr-replication', 'vault', 'home', '--region', 'away', '--vault', 'remote']);
  assert.deepEqual(v.backups, []);
  const bad = await cli.run(['cbr-replication', 'backup', b.ID, '--region', 'here', '--vault', 'home']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /already in region here/);
});
