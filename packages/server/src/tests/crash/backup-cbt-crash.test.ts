/**
 * SIGKILL during an incremental backup of a qcow2 volume: after the restart the backup ends `error`, the hidden
 * snapshot it took is gone (recovery runs the task's fail handler), the previous backup's base is kept, and the
 * next incremental reads only what changed since that base and restores byte-exact.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { probeQemuImg } from '../../drivers/volume/qcow2/qemu.js';
import { CrashApi, kill, startChild } from './crash-support.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const qemu = probeQemuImg();

class Api extends CrashApi {
  async backup(volumeId: string, incremental: boolean): Promise<string> {
    const r = await this.call('POST', '/backups', { backup: { volume_id: volumeId, incremental } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return r.body.backup.id as string;
  }

  /** SHA-256 of the volume's whole guest content, streamed through the download extension. */
  async sha(volumeId: string): Promise<string> {
    const res = await fetch(`${this.c.url}${this.base}/volumes/${volumeId}/cinderbox-data`, {
      headers: { 'X-Auth-Token': this.token },
    });
    assert.equal(res.status, 200);
    const h = createHash('sha256');
    for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) h.update(part);
    return h.digest('hex');
  }
}

/** The hidden (and any other) snapshot layers in the data directory's backends. */
async function snapshotFiles(dataDir: string): Promise<string[]> {
  const out: string[] = [];
  for (const backend of await readdir(join(dataDir, 'volumes'))) {
    for (const f of await readdir(join(dataDir, 'volumes', backend))) if (f.startsWith('_snapshot-')) out.push(f);
  }
  return out.sort();
}

function shaOf(parts: Buffer[], size: number): string {
  const h = createHash('sha256');
  let n = 0;
  for (const p of parts) {
    h.update(p);
    n += p.length;
  }
  const zeros = Buffer.alloc(4 * MiB);
  while (n < size) {
    const k = Math.min(zeros.length, size - n);
    h.update(zeros.subarray(0, k));
    n += k;
  }
  return h.digest('hex');
}

let dataDir = '';
after(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test(
  'SIGKILL during an incremental backup of a qcow2 volume removes its hidden snapshot and keeps the base',
  { timeout: 300_000, skip: qemu.available ? false : qemu.detail },
  async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'cinderbox-cbt-crash-'));
    let api = new Api(await startChild(dataDir, 'qcow2'));
    await api.login();
    const v = await api.call('POST', '/volumes', { volume: { size: 1 } });
    const vol = v.body.volume.id as string;
    await api.until('volumes', vol, 'available');

    const first = randomBytes(8 * MiB);
    assert.ok((await api.call('PUT', `/volumes/${vol}/cinderbox-data`, undefined, first)).status < 300);
    const full = await api.backup(vol, false);
    await api.until('backups', full, 'available');
    await api.until('volumes', vol, 'available');
    const base = await snapshotFiles(dataDir);
    assert.equal(base.length, 1, 'the full backup keeps one hidden base');

    // Enough new data that the incremental is still running when it is killed.
    const big = randomBytes(192 * MiB);
    assert.ok((await api.call('PUT', `/volumes/${vol}/cinderbox-data`, undefined, big)).status < 300);
    const doomed = await api.backup(vol, true);
    await api.poll(async () => {
      const p = (await api.call('GET', `/backups/${doomed}/cinderbox-progress`)).body.progress;
      return p.operation === 'backup' && p.bytes_done > 0 && p.fraction < 0.6;
    }, 'incremental under way');
    assert.equal((await snapshotFiles(dataDir)).length, 2, 'the running backup took a hidden snapshot');
    await kill(api.c);

    api = new Api(await startChild(dataDir, 'qcow2'));
    await api.login();
    const failed = await api.poll(async () => {
      const b = await api.status('backups', doomed);
      return b.status !== 'creating' ? b : null;
    }, 'backup final state');
    assert.equal(failed.status, 'error');
    await api.until('volumes', vol, 'available');
    assert.deepEqual(await snapshotFiles(dataDir), base, 'only the previous base remains');

    // The next incremental reads what changed since the kept base and restores the volume's bytes.
    const expected = shaOf([big], GiB);
    assert.equal(await api.sha(vol), expected);
    const inc = await api.backup(vol, true);
    await api.until('backups', inc, 'available');
    await api.until('volumes', vol, 'available');
    assert.equal((await snapshotFiles(dataDir)).length, 1, 'one base again');
    const r = await api.call('POST', `/backups/${inc}/restore`, { restore: {} });
    assert.equal(r.status, 202);
    await api.until('volumes', r.body.restore.volume_id, 'available');
    await api.until('backups', inc, 'available');
    assert.equal(await api.sha(r.body.restore.volume_id), expected);
    const verify = await api.call('POST', '/cinderbox-repo/verify', { full: false });
    assert.equal(verify.body.verify.ok, true, JSON.stringify(verify.body));
    api.c.proc.kill('SIGTERM');
    await new Promise((r2) => api.c.proc.once('exit', r2));
  },
);
