/**
 * CBR replication through the SDK against the live server, between the data directory's repository and a
 * directory target (regions `here` and `away`): capabilities, a backup replicated into a vault of the other
 * region, listed there as a replica, and a vault replication that finds nothing left to copy.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Connection } from '../connection.js';
import { BadRequestError } from '../errors.js';
import { adminConnection, startTestServer, type TestServer } from '../test-support/live.js';

let t: TestServer;
let admin: Connection;
let dir: string;
const fast = { minDelayMs: 5, maxDelayMs: 50, waitTimeoutMs: 30_000 };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cbx-sdk-repl-'));
  const nas = join(dir, 'nas');
  t = await startTestServer({
    backupTargets: [{ name: 'nas', kind: 'file', url: `file://${nas}`, path: nas }],
    defaultBackupTarget: 'default',
    regions: [
      { name: 'here', target: 'default' },
      { name: 'away', target: 'nas' },
    ],
  });
  admin = adminConnection(t.url);
});
after(async () => {
  await t?.close();
  await rm(dir, { recursive: true, force: true });
});

test('replicationCapabilities, replicateBackup and replicateCheckpoint', async () => {
  const cbr = admin.cbr;
  assert.deepEqual(await cbr.replicationCapabilities(), [
    { name: 'here', replicationDestinations: ['away'] },
    { name: 'away', replicationDestinations: ['here'] },
  ]);
  const v = await admin.blockStorage.createVolume({ size: 1, name: 'repl' });
  await admin.blockStorage.waitForStatus(v, fast);
  const billing = { consistentLevel: 'crash_consistent', objectType: 'disk', protectType: 'backup', size: 10 };
  const home = await cbr.createVault({ name: 'home', billing, resources: [{ id: v.id as string, type: 'OS::Cinder::Volume' }] });
  const remote = await cbr.createVault({ name: 'remote', billing, resources: [], backupTarget: 'nas' });
  const cp = await cbr.createCheckpoint({ vaultId: home.id, parameters: { name: 'manual' } });
  assert.equal((await cbr.waitForCheckpoint(cp, fast)).state, 'success');
  const [b] = await cbr.backups({ checkpointId: cp.id }).toArray();

  const dest = { destinationProjectId: home.projectId as string, destinationRegion: 'away', destinationVaultId: remote.id as string };
  await assert.rejects(cbr.replicateBackup(b!, { ...dest, destinationRegion: 'here' }), BadRequestError);
  const r = await cbr.replicateBackup(b!, { ...dest, name: 'copy' });
  assert.equal(r.backupId, b!.id);
  assert.equal(r.sourceRegion, 'here');
  const [replica] = await cbr.backups({ vaultId: remote.id, imageType: 'replication' }).toArray();
  assert.equal(replica?.name, 'copy');
  await assert.doesNotReject(
    (async () => {
      for (let i = 0; i < 300; i++) {
        if ((await cbr.getBackup(replica!)).status === 'available') return;
        await new Promise((res) => setTimeout(res, 100));
      }
      throw new Error('the replica never became available');
    })(),
  );
  const again = await cbr.replicateCheckpoint({ ...dest, vaultId: home.id as string });
  assert.deepEqual(again.backups, []);
  assert.equal(again.vaultId, home.id);

  // A replication policy on the source vault, bound with the vault its runs copy to.
  const policy = await cbr.createPolicy({
    name: 'offsite',
    operationType: 'replication',
    operationDefinition: { destinationRegion: 'away', destinationProjectId: dest.destinationProjectId },
    trigger: { properties: { pattern: ['FREQ=DAILY;INTERVAL=1;BYHOUR=2;BYMINUTE=0'] } },
  });
  assert.equal(policy.operationDefinition?.destinationRegion, 'away');
  await cbr.bindPolicy(home, policy, { destinationVaultId: remote.id as string });
  const bound = await cbr.getPolicy(policy);
  assert.deepEqual(bound.associatedVaults, [{ vaultId: home.id, destinationVaultId: remote.id }]);
});
