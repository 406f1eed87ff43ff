/**
 * CBR replication to another region (a backup target on the real radosgw): a replica restores byte-exact after
 * the source repository is gone, a second replication copies only the chunks the destination lacks, and bad
 * requests get CBR-shaped 400s. Skips with the reason without an S3 server.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type BackupTargetSpec, parseBackupTarget } from '../../config/backup-targets.js';
import type { S3ObjectStore } from '../../drivers/objects/s3/s3-object-store.js';
import { emptyAndClose, freshS3Store, s3Unavailable, skipOrFailWithoutS3, testS3Options } from '../../drivers/objects/s3/test-env.js';
import { type TestServer, waitFor } from '../../test-support/harness.js';
import {
  admin,
  type Caller,
  backupsOf,
  cbr,
  checkpoint,
  createVault,
  createVolume,
  noise,
  startCbrServer,
  volumeSha,
  waitVolume,
  writeVolume,
} from './test-support/cbr.js';

const MiB = 1024 * 1024;

async function chunkCount(store: S3ObjectStore): Promise<number> {
  let n = 0;
  for await (const o of store.list('chunks/')) if (o.key.startsWith('chunks/')) n++;
  return n;
}

async function waitBackup(ts: TestServer, who: Caller, id: string) {
  return waitFor(async () => {
    const r = await cbr(ts, who, 'GET', `/backups/${id}`);
    return ['available', 'error'].includes(r.body?.backup?.status) ? r.body.backup : null;
  }, `backup ${id}`, 60_000);
}

test('a replica that would overfill the destination vault fails with 6114 and leaves no manifest there', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cbx-repl-'));
  const ts = await startCbrServer(
    {
      backupTargets: [parseBackupTarget(`nas=file://${join(dir, 'nas')}`)],
      defaultBackupTarget: 'default',
      regions: [
        { name: 'here', target: 'default' },
        { name: 'away', target: 'nas' },
      ],
    },
    undefined,
    // A "GB" of 1 MiB: a vault of size 1 holds 1 MiB.
    { cbr: { gigabyte: MiB } },
  );
  try {
    const who = admin(ts);
    const vol = await createVolume(ts, who, 'full-src');
    await writeVolume(ts, vol, 0, noise(4 * MiB));
    const home = await createVault(ts, who, 'home', [vol], 100);
    const small = await cbr(ts, who, 'POST', '/vaults', {
      vault: {
        name: 'small',
        billing: { consistent_level: 'crash_consistent', object_type: 'disk', protect_type: 'backup', size: 1 },
        resources: [],
        backup_target: 'nas',
      },
    });
    const cp = await checkpoint(ts, who, home.id);
    const [src] = await backupsOf(ts, who, `checkpoint_id=${cp.created.id}`);
    const r = await cbr(ts, who, 'POST', `/backups/${src.id}/replicate`, {
      replicate: { destination_project_id: who.projectId, destination_region: 'away', destination_vault_id: small.body.vault.id },
    });
    assert.equal(r.status, 200, r.text);
    const [replica] = await backupsOf(ts, who, `vault_id=${small.body.vault.id}`);
    const done = await waitBackup(ts, who, replica.id);
    assert.equal(done.status, 'error');
    assert.equal(done.extend_info.error_code, 'BackupService.6114');
    assert.equal(done.replication_records[0].status, 'failed');
    assert.deepEqual(await readdir(join(dir, 'nas', 'backups', `cbr-${small.body.vault.id}`)).catch(() => []), []);
    const cpView = await cbr(ts, who, 'GET', `/checkpoints/${done.checkpoint_id}`);
    assert.equal(cpView.body.checkpoint.status, 'error');
  } finally {
    await ts.close();
    await rm(dir, { recursive: true, force: true });
  }
});

if (s3Unavailable) {
  test('CBR replication to an S3 region', skipOrFailWithoutS3);
} else {
  describe('CBR replication from the data directory repository to an S3 region', () => {
    let ts: TestServer;
    let who: Caller;
    let seed: S3ObjectStore;

    before(async () => {
      seed = await freshS3Store();
      const s3 = testS3Options({ prefix: seed.prefix });
      const away: BackupTargetSpec = { name: 'offsite', kind: 's3', url: `s3://${s3.bucket}/${s3.prefix ?? ''}`, s3 };
      ts = await startCbrServer({
        backupTargets: [away],
        defaultBackupTarget: 'default',
        regions: [
          { name: 'here', target: 'default' },
          { name: 'away', target: 'offsite' },
        ],
      });
      who = admin(ts);
    });
    after(async () => {
      await ts?.close();
      if (seed) await emptyAndClose(seed);
    });

    test('a replica copies only missing chunks and restores byte-exact after the source repository is gone', async () => {
      const caps = await cbr(ts, who, 'GET', '/replication-capabilities');
      assert.equal(caps.status, 200);
      assert.deepEqual(caps.body, {
        regions: [
          { name: 'here', replication_destinations: ['away'] },
          { name: 'away', replication_destinations: ['here'] },
        ],
      });

      const vol = await createVolume(ts, who, 'repl-src');
      await writeVolume(ts, vol, 0, noise(6 * MiB));
      await writeVolume(ts, vol, 100 * MiB, noise(2 * MiB));
      const home = await createVault(ts, who, 'home', [vol]);
      const remote = await cbr(ts, who, 'POST', '/vaults', {
        vault: {
          name: 'remote',
          billing: { consistent_level: 'crash_consistent', object_type: 'disk', protect_type: 'backup', size: 10 },
          resources: [],
          backup_target: 'offsite',
        },
      });
      assert.equal(remote.status, 200, remote.text);
      const remoteId = remote.body.vault.id as string;

      const first = await checkpoint(ts, who, home.id);
      assert.equal(first.done.status, 'available');
      const [src1] = await backupsOf(ts, who, `checkpoint_id=${first.created.id}`);

      // Refusals: same region, unknown region, another project, no body; nothing is recorded.
      const body = (over: Record<string, unknown>) => ({
        replicate: { destination_project_id: who.projectId, destination_region: 'away', destination_vault_id: remoteId, ...over },
      });
      for (const [over, pattern] of [
        [{ destination_region: 'here' }, /already in region here/],
        [{ destination_region: 'mars' }, /not a region of this cloud/],
        [{ destination_project_id: '0'.repeat(32) }, /project of the request/],
        [{ destination_vault_id: home.id }, /is not in region away/],
      ] as const) {
        const r = await cbr(ts, who, 'POST', `/backups/${src1.id}/replicate`, body(over));
        assert.equal(r.status, 400, r.text);
        assert.match(r.body.error_msg, pattern);
      }
      assert.equal((await cbr(ts, who, 'POST', `/backups/${src1.id}/replicate`, {})).status, 400);
      assert.equal((await backupsOf(ts, who, `vault_id=${remoteId}`)).length, 0);

      const rep1 = await cbr(ts, who, 'POST', `/backups/${src1.id}/replicate`, body({ name: 'copy-1' }));
      assert.equal(rep1.status, 200, rep1.text);
      const r1 = rep1.body.replication;
      assert.equal(r1.backup_id, src1.id);
      assert.equal(r1.source_region, 'here');
      assert.equal(r1.destination_region, 'away');
      const [replica1] = await backupsOf(ts, who, `vault_id=${remoteId}&image_type=replication`);
      const done1 = await waitBackup(ts, who, replica1.id);
      assert.equal(done1.status, 'available', JSON.stringify(done1.extend_info));
      assert.equal(done1.name, 'copy-1');
      assert.equal(done1.replication_records[0].id, r1.replication_record_id);
      assert.equal(done1.replication_records[0].source_backup_id, src1.id);
      assert.equal(done1.extend_info.new_chunks, src1.extend_info.new_chunks);
      const chunksAfterFirst = await chunkCount(seed);
      assert.equal(chunksAfterFirst, src1.extend_info.new_chunks);
      const srcView = await cbr(ts, who, 'GET', `/backups/${src1.id}`);
      assert.deepEqual(
        srcView.body.backup.replication_records.map((x: any) => [x.destination_backup_id, x.status]),
        [[replica1.id, 'available']],
      );
      const log = await cbr(ts, who, 'GET', '/operation-logs?operation_type=replication');
      assert.equal(log.body.operation_logs[0].status, 'success');

      // One chunk changes; the vault-wide replication copies the new backup only, and only its new chunk.
      await writeVolume(ts, vol, MiB, noise(MiB));
      const second = await checkpoint(ts, who, home.id);
      const [src2] = await backupsOf(ts, who, `checkpoint_id=${second.created.id}`);
      assert.equal(src2.extend_info.new_chunks, 1);
      const sha = await volumeSha(ts, vol);
      const rep2 = await cbr(ts, who, 'POST', '/checkpoints/replicate', {
        replicate: { vault_id: home.id, destination_project_id: who.projectId, destination_region: 'away', destination_vault_id: remoteId },
      });
      assert.equal(rep2.status, 200, rep2.text);
      assert.deepEqual(rep2.body.replication.backups.map((b: any) => b.backup_id), [src2.id]);
      const replica2 = (await backupsOf(ts, who, `vault_id=${remoteId}`)).find((b) => b.id !== replica1.id);
      const done2 = await waitBackup(ts, who, replica2.id);
      assert.equal(done2.status, 'available');
      assert.equal(done2.extend_info.new_chunks, 1, 'only the changed chunk is written to the destination');
      assert.equal(await chunkCount(seed), chunksAfterFirst + 1);

      // The source target is gone: the replica still restores, into a new volume, byte-exact.
      await rm(join(ts.dataDir, 'repo'), { recursive: true, force: true });
      const target = await createVolume(ts, who, 'repl-target');
      const restore = await cbr(ts, who, 'POST', `/backups/${replica2.id}/restore`, { restore: { volume_id: target } });
      assert.equal(restore.status, 202, restore.text);
      await waitVolume(ts, who, target, 'available');
      assert.equal(await volumeSha(ts, target), sha);
    });
  });

  describe('replication policies', () => {
    let ts: TestServer;
    let who: Caller;
    let seed: S3ObjectStore;
    let t = Date.parse('2030-03-04T00:30:00Z');
    const clock = { now: () => new Date(t) };

    before(async () => {
      seed = await freshS3Store();
      const s3 = testS3Options({ prefix: seed.prefix });
      const away: BackupTargetSpec = { name: 'offsite', kind: 's3', url: `s3://${s3.bucket}/${s3.prefix ?? ''}`, s3 };
      ts = await startCbrServer(
        {
          backupTargets: [away],
          defaultBackupTarget: 'default',
          regions: [
            { name: 'here', target: 'default' },
            { name: 'away', target: 'offsite' },
          ],
          tokenTtlSeconds: 30 * 86_400,
        },
        undefined,
        { clock, cbr: { schedulerIntervalMs: 3_600_000 } },
      );
      who = admin(ts);
    });
    after(async () => {
      await ts?.close();
      if (seed) await emptyAndClose(seed);
    });

    test('a replication policy bound to a backup vault copies its new backups to the destination vault when it runs', async () => {
      const vol = await createVolume(ts, who, 'policy-src');
      await writeVolume(ts, vol, 0, noise(4 * MiB));
      const home = await createVault(ts, who, 'policy-home', [vol]);
      const remote = await cbr(ts, who, 'POST', '/vaults', {
        vault: {
          name: 'policy-remote',
          billing: { consistent_level: 'crash_consistent', object_type: 'disk', protect_type: 'backup', size: 10 },
          resources: [],
          backup_target: 'offsite',
        },
      });
      const remoteId = remote.body.vault.id as string;
      const trigger = { properties: { pattern: ['FREQ=DAILY;INTERVAL=1;BYHOUR=1;BYMINUTE=00'] } };
      const bad = await cbr(ts, who, 'POST', '/policies', {
        policy: { name: 'bad', operation_type: 'replication', operation_definition: { destination_region: 'mars' }, trigger },
      });
      assert.equal(bad.status, 400);
      assert.match(bad.body.error_msg, /not a region of this cloud/);
      const created = await cbr(ts, who, 'POST', '/policies', {
        policy: {
          name: 'offsite',
          operation_type: 'replication',
          operation_definition: { destination_region: 'away', destination_project_id: who.projectId },
          trigger,
        },
      });
      assert.equal(created.status, 200, created.text);
      const policy = created.body.policy;
      assert.equal(policy.operation_type, 'replication');
      assert.equal(policy.operation_definition.destination_region, 'away');
      const noDest = await cbr(ts, who, 'POST', `/vaults/${home.id}/associatepolicy`, { policy_id: policy.id });
      assert.equal(noDest.status, 400);
      const bound = await cbr(ts, who, 'POST', `/vaults/${home.id}/associatepolicy`, { policy_id: policy.id, destination_vault_id: remoteId });
      assert.equal(bound.status, 200, bound.text);
      const got = await cbr(ts, who, 'GET', `/policies/${policy.id}`);
      assert.deepEqual(got.body.policy.associated_vaults, [{ vault_id: home.id, destination_vault_id: remoteId }]);

      const cp = await checkpoint(ts, who, home.id);
      const [src] = await backupsOf(ts, who, `checkpoint_id=${cp.created.id}`);
      assert.equal(await ts.server.cbr.scheduler.tick(), 0, 'not due before 01:00');
      t += 86_400_000;
      assert.equal(await ts.server.cbr.scheduler.tick(), 1);
      const [replica] = await backupsOf(ts, who, `vault_id=${remoteId}`);
      assert.equal(replica.image_type, 'replication');
      const done = await waitBackup(ts, who, replica.id);
      assert.equal(done.status, 'available');
      assert.equal(done.extend_info.auto_trigger, true);
      assert.equal(done.replication_records[0].source_backup_id, src.id);
      assert.equal(await ts.server.cbr.scheduler.tick(), 0, 'one run per trigger');
    });
  });
}
