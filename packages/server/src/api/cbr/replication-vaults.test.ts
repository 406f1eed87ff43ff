/**
 * Replication gaps closed (issue #16), on file targets so that no S3 server is needed: OTC `protect_type:
 * replication` vaults as destinations only, a replication policy's retention applied to the replicas its runs
 * made, and a source backup held while a replica of it is being copied.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseBackupTarget } from '../../config/backup-targets.js';
import { type TestServer, waitFor } from '../../test-support/harness.js';
import { admin, type Caller, backupsOf, cbr, checkpoint, createVault, createVolume, noise, startCbrServer, writeVolume } from './test-support/cbr.js';

const MiB = 1024 * 1024;
let ts: TestServer;
let who: Caller;
let dir: string;
let t = Date.parse('2030-03-04T00:30:00Z');
const clock = { now: () => new Date(t) };

const replicationVault = (name: string, extra: Record<string, unknown> = {}) =>
  cbr(ts, who, 'POST', '/vaults', {
    vault: {
      name,
      billing: { consistent_level: 'crash_consistent', object_type: 'disk', protect_type: 'replication', size: 10 },
      resources: [],
      backup_target: 'nas',
      ...extra,
    },
  });

async function settled(id: string) {
  return waitFor(async () => {
    const r = await cbr(ts, who, 'GET', `/backups/${id}`);
    return ['available', 'error'].includes(r.body?.backup?.status) ? r.body.backup : null;
  }, `backup ${id}`, 60_000);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cbx-repl-vaults-'));
  ts = await startCbrServer(
    {
      backupTargets: [parseBackupTarget(`nas=file://${join(dir, 'nas')}`)],
      defaultBackupTarget: 'default',
      regions: [
        { name: 'here', target: 'default' },
        { name: 'away', target: 'nas' },
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
  await rm(dir, { recursive: true, force: true });
});

test('a protect_type replication vault is accepted as a destination only: no resources, no policies, no auto-bind; replicas land in it', async () => {
  const vol = await createVolume(ts, who, 'rv-src');
  await writeVolume(ts, vol, 0, noise(2 * MiB));
  const home = await createVault(ts, who, 'rv-home', [vol]);

  const created = await replicationVault('rv-dest');
  assert.equal(created.status, 200, created.text);
  const dest = created.body.vault;
  assert.equal(dest.billing.protect_type, 'replication');
  assert.equal(dest.backup_target, 'nas');

  const withDisk = await replicationVault('rv-bad', { resources: [{ id: vol, type: 'OS::Cinder::Volume' }] });
  assert.equal(withDisk.status, 400, withDisk.text);
  assert.equal(withDisk.body.error_code, 'BackupService.6102');
  const autoBind = await replicationVault('rv-bad2', { auto_bind: true });
  assert.equal(autoBind.status, 400, autoBind.text);
  assert.equal(autoBind.body.error_code, 'BackupService.6116');
  const other = await createVolume(ts, who, 'rv-other');
  const add = await cbr(ts, who, 'POST', `/vaults/${dest.id}/addresources`, { resources: [{ id: other, type: 'OS::Cinder::Volume' }] });
  assert.equal(add.status, 400, add.text);
  assert.equal(add.body.error_code, 'BackupService.6102');
  const backupPolicy = await cbr(ts, who, 'POST', '/policies', {
    policy: { name: 'rv-daily', operation_type: 'backup', operation_definition: { max_backups: 2 }, trigger: { properties: { pattern: ['FREQ=DAILY;INTERVAL=1;BYHOUR=3;BYMINUTE=00'] } } },
  });
  assert.equal(backupPolicy.status, 200, backupPolicy.text);
  const bind = await cbr(ts, who, 'POST', `/vaults/${dest.id}/associatepolicy`, { policy_id: backupPolicy.body.policy.id });
  assert.equal(bind.status, 400, bind.text);
  assert.equal(bind.body.error_code, 'BackupService.6127');
  const cpRefused = await cbr(ts, who, 'POST', '/checkpoints', { checkpoint: { vault_id: dest.id, parameters: {} } });
  assert.equal(cpRefused.status, 400, cpRefused.text);
  assert.equal((await backupsOf(ts, who, `vault_id=${dest.id}`)).length, 0, 'nothing recorded by the refusals');

  const cp = await checkpoint(ts, who, home.id);
  const [src] = await backupsOf(ts, who, `checkpoint_id=${cp.created.id}`);
  const rep = await cbr(ts, who, 'POST', `/backups/${src.id}/replicate`, {
    replicate: { destination_project_id: who.projectId, destination_region: 'away', destination_vault_id: dest.id },
  });
  assert.equal(rep.status, 200, rep.text);
  const [replica] = await backupsOf(ts, who, `vault_id=${dest.id}`);
  const done = await settled(replica.id);
  assert.equal(done.status, 'available', JSON.stringify(done.extend_info));
  assert.equal(done.image_type, 'replication');
  const list = await cbr(ts, who, 'GET', '/vaults?protect_type=replication');
  assert.deepEqual(list.body.vaults.map((v: any) => v.id), [dest.id]);
});

test('a replica into a vault with lock_days is immutable for that long (the longer of its source and its vault)', async () => {
  const vol = await createVolume(ts, who, 'lk-src');
  await writeVolume(ts, vol, 0, noise(MiB));
  const home = await createVault(ts, who, 'lk-home', [vol]);
  const dest = (await replicationVault('lk-dest', { lock_days: 3 })).body.vault;
  assert.equal(dest.lock_days, 3);
  const cp = await checkpoint(ts, who, home.id);
  const [src] = await backupsOf(ts, who, `checkpoint_id=${cp.created.id}`);
  assert.equal(src.extend_info.locked_until ?? null, null);
  const rep = await cbr(ts, who, 'POST', `/backups/${src.id}/replicate`, {
    replicate: { destination_project_id: who.projectId, destination_region: 'away', destination_vault_id: dest.id },
  });
  assert.equal(rep.status, 200, rep.text);
  const [replica] = await backupsOf(ts, who, `vault_id=${dest.id}`);
  const done = await settled(replica.id);
  assert.equal(done.status, 'available');
  // Three days from the replica's creation, rounded up to the lock's step (18 h for three days).
  const lu = done.extend_info.locked_until as string;
  const until = Date.parse(lu.endsWith('Z') ? lu : `${lu}Z`);
  assert.ok(until >= t + 3 * 86_400_000 && until < t + 3 * 86_400_000 + 18 * 3_600_000, done.extend_info.locked_until);
  assert.equal(until % (18 * 3_600_000), 0);
  const del = await cbr(ts, who, 'DELETE', `/backups/${replica.id}`);
  assert.equal(del.status, 400, del.text);
  assert.equal(del.body.error_code, 'BackupService.6201');
});

test("a replication policy's retention prunes the replicas its runs made in the destination vault, never a manual one", async () => {
  const vol = await createVolume(ts, who, 'rp-src');
  await writeVolume(ts, vol, 0, noise(MiB));
  const home = await createVault(ts, who, 'rp-home', [vol]);
  const dest = (await replicationVault('rp-dest')).body.vault;
  const policy = await cbr(ts, who, 'POST', '/policies', {
    policy: {
      name: 'rp-offsite',
      operation_type: 'replication',
      operation_definition: { destination_region: 'away', destination_project_id: who.projectId, max_backups: 1 },
      trigger: { properties: { pattern: ['FREQ=DAILY;INTERVAL=1;BYHOUR=1;BYMINUTE=00'] } },
    },
  });
  assert.equal(policy.status, 200, policy.text);
  const bound = await cbr(ts, who, 'POST', `/vaults/${home.id}/associatepolicy`, { policy_id: policy.body.policy.id, destination_vault_id: dest.id });
  assert.equal(bound.status, 200, bound.text);

  // A manual replica first: retention must leave it alone.
  const cp0 = await checkpoint(ts, who, home.id);
  const [src0] = await backupsOf(ts, who, `checkpoint_id=${cp0.created.id}`);
  const manual = await cbr(ts, who, 'POST', `/backups/${src0.id}/replicate`, {
    replicate: { destination_project_id: who.projectId, destination_region: 'away', destination_vault_id: dest.id, name: 'by-hand' },
  });
  assert.equal(manual.status, 200, manual.text);
  const [manualReplica] = await backupsOf(ts, who, `vault_id=${dest.id}`);
  assert.equal((await settled(manualReplica.id)).status, 'available');

  const runs: string[] = [];
  const startedAt = t;
  for (let day = 0; day < 2; day++) {
    await writeVolume(ts, vol, 0, noise(MiB));
    await checkpoint(ts, who, home.id);
    t += 86_400_000;
    assert.equal(await ts.server.cbr.scheduler.tick(), 1);
    const fresh = (await backupsOf(ts, who, `vault_id=${dest.id}`)).filter((b) => b.id !== manualReplica.id && !runs.includes(b.id));
    assert.ok(fresh.length >= 1, 'the run made replicas');
    for (const r of fresh) {
      assert.equal((await settled(r.id)).status, 'available');
      runs.push(r.id);
    }
  }
  // The clock goes back: the node's service heartbeat, on the same clock, would look days stale, and the next
  // test's volumes would find no volume service.
  t = startedAt;
  // max_backups 1 per resource over the policy's replicas: only the newest stays; the manual one is not counted.
  const left = await waitFor(async () => {
    const ids = (await backupsOf(ts, who, `vault_id=${dest.id}`)).map((b) => b.id);
    return ids.length === 2 ? ids : null;
  }, 'retention of the replication policy', 60_000);
  assert.ok(left.includes(manualReplica.id), 'the manual replica is kept');
  assert.ok(left.includes(runs[runs.length - 1]!), 'the newest policy replica is kept');
  const logs = await cbr(ts, who, 'GET', `/operation-logs?operation_type=delete&vault_id=${dest.id}`);
  assert.ok(logs.body.operation_logs.length >= 1);
  assert.equal(logs.body.operation_logs[0].policy_id, policy.body.policy.id);
});

// Last: it stops the task engine, so that a copy stays in progress for as long as the test needs.
test('a source backup being replicated cannot be deleted (400 BackupService.6216); one being deleted cannot be replicated', async () => {
  const vol = await createVolume(ts, who, 'held-src');
  await writeVolume(ts, vol, 0, noise(MiB));
  const home = await createVault(ts, who, 'held-home', [vol]);
  const dest = (await replicationVault('held-dest')).body.vault;
  const cp1 = await checkpoint(ts, who, home.id);
  const [src] = await backupsOf(ts, who, `checkpoint_id=${cp1.created.id}`);
  await writeVolume(ts, vol, 0, noise(MiB));
  const cp2 = await checkpoint(ts, who, home.id);
  const [other] = await backupsOf(ts, who, `checkpoint_id=${cp2.created.id}`);

  await ts.server.tasks.stop();
  const rep = await cbr(ts, who, 'POST', `/backups/${src.id}/replicate`, {
    replicate: { destination_project_id: who.projectId, destination_region: 'away', destination_vault_id: dest.id },
  });
  assert.equal(rep.status, 200, rep.text);
  const del = await cbr(ts, who, 'DELETE', `/backups/${src.id}`);
  assert.equal(del.status, 400, del.text);
  assert.equal(del.body.error_code, 'BackupService.6216');
  assert.match(del.body.error_msg, /is being replicated/);
  assert.equal((await cbr(ts, who, 'GET', `/backups/${src.id}`)).body.backup.status, 'available', 'the refused delete changed nothing');

  const delOther = await cbr(ts, who, 'DELETE', `/backups/${other.id}`);
  assert.ok(delOther.status < 300, delOther.text);
  const repOther = await cbr(ts, who, 'POST', `/backups/${other.id}/replicate`, {
    replicate: { destination_project_id: who.projectId, destination_region: 'away', destination_vault_id: dest.id },
  });
  assert.equal(repOther.status, 400, repOther.text);
  assert.equal(repOther.body.error_code, 'BackupService.6216');
});
