import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type TestServer, waitFor } from '../../test-support/harness.js';
import {
  admin,
  backupsOf,
  type Caller,
  cbr,
  checkpoint,
  createVault,
  createVolume,
  noise,
  volumeSha,
  volumeStatus,
  waitVolume,
  startCbrServer,
  writeVolume,
} from './test-support/cbr.js';

const MiB = 1024 * 1024;

describe('CBR checkpoints, backups and restores', () => {
  let ts: TestServer;
  let me: Caller;
  before(async () => {
    ts = await startCbrServer();
    me = admin(ts);
  });
  after(async () => ts.close());

  it('backs up every volume of a vault, skipping one in error, and restores bytes to the original and to another volume', async () => {
    const a = await createVolume(ts, me, 'a');
    const b = await createVolume(ts, me, 'b');
    const bad = await createVolume(ts, me, 'bad');
    await writeVolume(ts, a, 0, noise(256 * 1024));
    await writeVolume(ts, b, 5 * MiB, noise(128 * 1024));
    const reset = await ts.request('POST', `/v3/${me.projectId}/volumes/${bad}/action`, {
      token: me.token,
      body: { 'os-reset_status': { status: 'error' } },
    });
    assert.equal(reset.status, 202);
    const vault = await createVault(ts, me, 'three', [a, b, bad]);
    assert.equal(vault.resources.length, 3);

    const { created, done } = await checkpoint(ts, me, vault.id, { name: 'first', description: 'three disks' });
    assert.equal(created.status, 'protecting');
    assert.deepEqual(created.vault.resources.map((r: any) => r.id).sort(), [a, b].sort());
    assert.equal(created.vault.skipped_resources.length, 1);
    assert.equal(created.vault.skipped_resources[0].id, bad);
    assert.equal(created.vault.skipped_resources[0].code, 'BackupService.7003');
    assert.equal(created.extra_info.name, 'first');
    assert.equal(created.extra_info.retention_duration, -1);
    assert.equal(done.status, 'available');

    const backups = await backupsOf(ts, me, `checkpoint_id=${created.id}`);
    assert.equal(backups.length, 2);
    for (const bk of backups) {
      assert.equal(bk.status, 'available');
      assert.equal(bk.resource_type, 'OS::Cinder::Volume');
      assert.equal(bk.image_type, 'backup');
      assert.equal(bk.extend_info.incremental, false);
      assert.equal(bk.extend_info.auto_trigger, false);
      assert.match(bk.protected_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    }
    // Volumes are given back as soon as their snapshots exist.
    assert.equal(await volumeStatus(ts, me, a), 'available');
    const shaA = await volumeSha(ts, a);
    const backupA = backups.find((x) => x.resource_id === a);

    // Vault usage reflects the stored bytes.
    const v = (await cbr(ts, me, 'GET', `/vaults/${vault.id}`)).body.vault;
    assert.ok(v.billing.used > 0);
    const resA = v.resources.find((r: any) => r.id === a);
    assert.equal(resA.backup_count, 1);
    assert.equal(resA.protect_status, 'available');

    // Restore onto the original volume after overwriting it.
    await writeVolume(ts, a, 0, noise(256 * 1024));
    assert.notEqual(await volumeSha(ts, a), shaA);
    const r1 = await cbr(ts, me, 'POST', `/backups/${backupA.id}/restore`, { restore: {} });
    assert.equal(r1.status, 202);
    assert.equal(r1.text, '');
    await waitVolume(ts, me, a, 'available');
    await waitFor(async () => (await backupsOf(ts, me, `resource_id=${a}`))[0].status === 'available', 'backup back');
    assert.equal(await volumeSha(ts, a), shaA);

    // Restore to another (larger) volume.
    const other = await createVolume(ts, me, 'other', 2);
    const r2 = await cbr(ts, me, 'POST', `/backups/${backupA.id}/restore`, { restore: { volume_id: other } });
    assert.equal(r2.status, 202);
    await waitFor(async () => (await cbr(ts, me, 'GET', `/operation-logs?operation_type=restore&status=success`)).body.count === 2, 'restores logged');
    await waitVolume(ts, me, other, 'available');
    // The target is larger: its first GiB holds the backup and the rest stays zero.
    assert.equal(await volumeSha(ts, other, 1024 * MiB), shaA);
  });

  it('stores only changed chunks in an incremental checkpoint', async () => {
    const vol = await createVolume(ts, me, 'inc');
    await writeVolume(ts, vol, 0, noise(MiB));
    await writeVolume(ts, vol, 8 * MiB, noise(MiB));
    const vault = await createVault(ts, me, 'inc', [vol]);
    const first = await checkpoint(ts, me, vault.id);
    await writeVolume(ts, vol, 8 * MiB, noise(MiB));
    const second = await checkpoint(ts, me, vault.id);
    const [b1] = await backupsOf(ts, me, `checkpoint_id=${first.created.id}`);
    const [b2] = await backupsOf(ts, me, `checkpoint_id=${second.created.id}`);
    assert.equal(b1.extend_info.new_chunks, 2);
    assert.equal(b2.extend_info.incremental, true);
    assert.equal(b2.extend_info.new_chunks, 1);
    assert.ok(b2.extend_info.stored_bytes < b1.extend_info.stored_bytes * 0.75);
    const full = await checkpoint(ts, me, vault.id, { incremental: false });
    const [b3] = await backupsOf(ts, me, `checkpoint_id=${full.created.id}`);
    assert.equal(b3.extend_info.incremental, false);
    // The manifest is complete on its own: restore the newest after the older ones are deleted.
    const sha = await volumeSha(ts, vol);
    for (const b of [b1, b2]) assert.equal((await cbr(ts, me, 'DELETE', `/backups/${b.id}`)).status, 204);
    await waitFor(async () => (await backupsOf(ts, me, `vault_id=${vault.id}`)).length === 1, 'deleted');
    await writeVolume(ts, vol, 0, noise(MiB));
    assert.equal((await cbr(ts, me, 'POST', `/backups/${b3.id}/restore`, { restore: { volume_id: vol } })).status, 202);
    await waitFor(async () => (await backupsOf(ts, me, `vault_id=${vault.id}`))[0].status === 'available', 'restored');
    await waitVolume(ts, me, vol, 'available');
    assert.equal(await volumeSha(ts, vol), sha);
  });
});
