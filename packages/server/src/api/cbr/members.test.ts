import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type TestServer, waitFor } from '../../test-support/harness.js';
import { admin, backupsOf, type Caller, cbr, checkpoint, createVault, createVolume, noise, volumeSha, waitVolume, writeVolume, startCbrServer } from './test-support/cbr.js';

describe('CBR share members (disk sharing extension on)', () => {
  let ts: TestServer;
  let me: Caller;
  let them: Caller;
  before(async () => {
    ts = await startCbrServer({}, undefined, { cbr: { shareDiskBackups: true } });
    me = admin(ts);
    them = await ts.createMember('cbr-receiver');
  });
  after(async () => ts.close());

  it('shares a disk backup: the member sees it once shared, accepts it into its vault and restores it', async () => {
    const vol = await createVolume(ts, me, 'shared');
    await writeVolume(ts, vol, 0, noise(64 * 1024));
    const v = await createVault(ts, me, 'src', [vol]);
    const { created } = await checkpoint(ts, me, v.id);
    const [b] = await backupsOf(ts, me, `checkpoint_id=${created.id}`);
    assert.equal((await cbr(ts, them, 'GET', `/backups/${b.id}`)).status, 404);

    const add = await cbr(ts, me, 'POST', `/backups/${b.id}/members`, { members: [them.projectId] });
    assert.equal(add.status, 200);
    assert.equal(add.body.count, 1);
    assert.equal(add.body.members[0].status, 'pending');
    const again = await cbr(ts, me, 'POST', `/backups/${b.id}/members`, { members: [them.projectId] });
    assert.equal(again.body.error_code, 'BackupService.6703');
    const bogus = await cbr(ts, me, 'POST', `/backups/${b.id}/members`, { members: ['0123456789abcdef0123456789abcdef'] });
    assert.equal(bogus.body.error_code, 'BackupService.6704');
    assert.equal((await cbr(ts, me, 'GET', `/backups/${b.id}/members`)).body.count, 1);
    assert.equal((await cbr(ts, me, 'GET', `/backups/${b.id}/members/${them.projectId}`)).body.member.dest_project_id, them.projectId);

    // The member sees it pending, cannot restore before accepting, and the owner cannot accept for it.
    assert.equal((await cbr(ts, them, 'GET', `/backups/${b.id}`)).status, 200);
    assert.equal((await cbr(ts, them, 'GET', '/backups?own_type=shared&member_status=pending')).body.count, 1);
    const target = await createVolume(ts, them, 'target');
    const early = await cbr(ts, them, 'POST', `/backups/${b.id}/restore`, { restore: { volume_id: target } });
    assert.equal(early.body.error_code, 'BackupService.2005');
    const byOwner = await cbr(ts, me, 'PUT', `/backups/${b.id}/members/${them.projectId}`, { status: 'accepted', vault_id: v.id });
    assert.equal(byOwner.status, 400);
    const noVault = await cbr(ts, them, 'PUT', `/backups/${b.id}/members/${them.projectId}`, { status: 'accepted', vault_id: null });
    assert.equal(noVault.body.error_code, 'BackupService.9900');
    const theirVault = await createVault(ts, them, 'dst', []);
    const ok = await cbr(ts, them, 'PUT', `/backups/${b.id}/members/${them.projectId}`, { status: 'accepted', vault_id: theirVault.id });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.member.status, 'accepted');
    // A share is answered once: an accepted share cannot be rejected or accepted again.
    const twice = await cbr(ts, them, 'PUT', `/backups/${b.id}/members/${them.projectId}`, { status: 'rejected' });
    assert.equal(twice.status, 400);
    assert.equal(twice.body.error_code, 'BackupService.9900');
    assert.equal((await cbr(ts, them, 'GET', '/backups?own_type=all_granted')).body.count, 1);

    const r = await cbr(ts, them, 'POST', `/backups/${b.id}/restore`, { restore: { volume_id: target } });
    assert.equal(r.status, 202);
    await waitFor(async () => (await cbr(ts, them, 'GET', '/operation-logs?operation_type=restore&status=success')).body.count === 1, 'restore');
    await waitVolume(ts, them, target, 'available');
    assert.equal(await volumeSha(ts, target), await volumeSha(ts, vol));

    // The owner revokes the share: the member no longer sees the backup.
    assert.equal((await cbr(ts, me, 'DELETE', `/backups/${b.id}/members/${them.projectId}`)).status, 204);
    assert.equal((await cbr(ts, them, 'GET', `/backups/${b.id}`)).status, 404);
  });
});
