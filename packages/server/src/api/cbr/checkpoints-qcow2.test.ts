import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { probeQemuImg } from '../../drivers/volume/qcow2/qemu.js';
import { startTestServer, type TestServer, waitFor } from '../../test-support/harness.js';
import { admin, backupsOf, type Caller, cbr, checkpoint, createVault, createVolume, noise, waitVolume } from './test-support/cbr.js';

const qemu = probeQemuImg();
const MiB = 1024 * 1024;

/** Guest bytes go in and come out through the data extension, so the check holds whatever the file format. */
async function upload(ts: TestServer, who: Caller, id: string, data: Buffer): Promise<void> {
  const r = await fetch(`${ts.url}/v3/${who.projectId}/volumes/${id}/cinderbox-data`, {
    method: 'PUT',
    headers: { 'X-Auth-Token': who.token, 'Content-Type': 'application/octet-stream' },
    body: data,
  });
  assert.ok(r.ok, `upload ${r.status} ${await r.text()}`);
  await waitVolume(ts, who, id, 'available');
}

async function downloadSha(ts: TestServer, who: Caller, id: string, length: number): Promise<string> {
  const r = await fetch(`${ts.url}/v3/${who.projectId}/volumes/${id}/cinderbox-data`, {
    headers: { 'X-Auth-Token': who.token, Range: `bytes=0-${length - 1}` },
  });
  assert.ok(r.ok, `download ${r.status}`);
  return createHash('sha256').update(Buffer.from(await r.arrayBuffer())).digest('hex');
}

describe('CBR on the qcow2 driver', { skip: qemu.available ? false : qemu.detail }, () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ backends: [{ name: 'qcow2', driver: 'qcow2', pool: 'qcow2' } as never] });
  });
  after(() => ts.close());

  it('backs up the guest bytes of a qcow2 chain and restores them into the volume', async () => {
    const me = admin(ts);
    const vol = await createVolume(ts, me, 'q1');
    const original = noise(3 * MiB);
    await upload(ts, me, vol, original);
    const want = await downloadSha(ts, me, vol, 3 * MiB);
    const vault = await createVault(ts, me, 'qv', [vol]);
    const { done } = await checkpoint(ts, me, vault.id);
    assert.equal(done.status, 'available');
    const [backup] = await backupsOf(ts, me, `vault_id=${vault.id}`);
    assert.ok(backup, 'one backup');
    await upload(ts, me, vol, noise(3 * MiB));
    assert.notEqual(await downloadSha(ts, me, vol, 3 * MiB), want);
    const r = await cbr(ts, me, 'POST', `/backups/${backup.id}/restore`, { restore: {} });
    assert.equal(r.status, 202, r.text);
    await waitFor(async () => (await ts.request('GET', `/v3/${me.projectId}/volumes/${vol}`, { token: me.token })).body.volume.status !== 'restoring-backup', 'restore done');
    await waitVolume(ts, me, vol, 'available');
    assert.equal(await downloadSha(ts, me, vol, 3 * MiB), want);
  });
});
