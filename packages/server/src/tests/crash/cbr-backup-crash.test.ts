/**
 * SIGKILL during a CBR incremental of a qcow2 disk: after the restart the backup ends `error`, the hidden snapshot
 * it took is gone (recovery runs the task's fail handler), the previous CBR backup's base is kept, and the next
 * checkpoint keeps one base again and restores byte-exact.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { probeQemuImg } from '../../drivers/volume/qcow2/qemu.js';
import { requestAt } from '../../test-support/http.js';
import { CrashApi, kill, startChild } from './crash-support.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const qemu = probeQemuImg();

class Api extends CrashApi {
  /** A CBR call: the same project, under `/cbr/v3`. */
  async cbr(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const r = await requestAt(this.c.url, method, `/cbr${this.base}${path}`, { token: this.token, body });
    return { status: r.status, body: r.body };
  }

  async checkpoint(vaultId: string): Promise<string> {
    const r = await this.cbr('POST', '/checkpoints', { checkpoint: { vault_id: vaultId, parameters: {} } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.checkpoint.id as string;
  }

  /** Waits for the checkpoint to end (after its backups' bookkeeping, bases included). */
  async checkpointDone(id: string): Promise<string> {
    return this.poll(async () => {
      const st = (await this.cbr('GET', `/checkpoints/${id}`)).body.checkpoint.status as string;
      return st === 'available' || st === 'error' ? st : null;
    }, `checkpoint ${id}`);
  }

  async backupOf(checkpointId: string): Promise<any> {
    const r = await this.cbr('GET', `/backups?checkpoint_id=${checkpointId}`);
    assert.equal(r.status, 200);
    return r.body.backups[0];
  }

  async backupStatus(id: string, status: string): Promise<any> {
    return this.poll(async () => {
      const b = (await this.cbr('GET', `/backups/${id}`)).body.backup;
      if (b.status === 'error' && status !== 'error') throw new Error(`backup ${id} failed: ${JSON.stringify(b)}`);
      return b.status === status ? b : null;
    }, `CBR backup ${id} ${status}`);
  }

  async sha(volumeId: string): Promise<string> {
    const res = await fetch(`${this.c.url}${this.base}/volumes/${volumeId}/cinderbox-data`, {
      headers: { 'X-Auth-Token': this.token },
    });
    assert.equal(res.status, 200);
    const h = createHash('sha256');
    for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) h.update(part);
    return h.digest('hex');
  }

  async volume(): Promise<string> {
    const v = await this.call('POST', '/volumes', { volume: { size: 1 } });
    assert.equal(v.status, 202);
    await this.until('volumes', v.body.volume.id, 'available');
    return v.body.volume.id as string;
  }
}

/** Files of the data directory's backends whose names start with `prefix`. */
async function backendFiles(dataDir: string, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for (const backend of await readdir(join(dataDir, 'volumes'))) {
    for (const f of await readdir(join(dataDir, 'volumes', backend))) if (f.startsWith(prefix)) out.push(f);
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
  'SIGKILL during a CBR incremental of a qcow2 disk removes its hidden snapshot and keeps the base',
  { timeout: 300_000, skip: qemu.available ? false : qemu.detail },
  async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'cinderbox-cbr-crash-'));
    let api = new Api(await startChild(dataDir, 'qcow2'));
    await api.login();
    const vol = await api.volume();
    assert.ok((await api.call('PUT', `/volumes/${vol}/cinderbox-data`, undefined, randomBytes(8 * MiB))).status < 300);
    await api.until('volumes', vol, 'available');
    const vault = await api.cbr('POST', '/vaults', {
      vault: {
        name: 'crash',
        billing: { consistent_level: 'crash_consistent', object_type: 'disk', protect_type: 'backup', size: 10 },
        resources: [{ id: vol, type: 'OS::Cinder::Volume' }],
      },
    });
    assert.equal(vault.status, 200, JSON.stringify(vault.body));
    const vaultId = vault.body.vault.id as string;
    const first = await api.checkpoint(vaultId);
    assert.equal(await api.checkpointDone(first), 'available');
    const base = await backendFiles(dataDir, '_snapshot-');
    assert.equal(base.length, 1, 'the full CBR backup keeps one hidden base');

    // Enough new data that the incremental is still reading when it is killed.
    const big = randomBytes(192 * MiB);
    assert.ok((await api.call('PUT', `/volumes/${vol}/cinderbox-data`, undefined, big)).status < 300);
    await api.until('volumes', vol, 'available');
    const doomed = await api.backupOf(await api.checkpoint(vaultId));
    // The read temporary exists from the freeze until the engine is done with it.
    await api.poll(async () => (await backendFiles(dataDir, '.tmp-backup-source-')).length > 0, 'incremental under way');
    assert.equal((await backendFiles(dataDir, '_snapshot-')).length, 2, 'the running backup took a hidden snapshot');
    await kill(api.c);

    api = new Api(await startChild(dataDir, 'qcow2'));
    await api.login();
    await api.backupStatus(doomed.id, 'error');
    await api.until('volumes', vol, 'available');
    assert.deepEqual(await backendFiles(dataDir, '_snapshot-'), base, 'only the previous base remains');

    const expected = shaOf([big], GiB);
    assert.equal(await api.sha(vol), expected);
    const next = await api.checkpoint(vaultId);
    assert.equal(await api.checkpointDone(next), 'available');
    const inc = await api.backupOf(next);
    assert.equal((await backendFiles(dataDir, '_snapshot-')).length, 1, 'one base again');
    const target = await api.volume();
    const r = await api.cbr('POST', `/backups/${inc.id}/restore`, { restore: { volume_id: target } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    await api.poll(async () => (await api.status('volumes', target)).status === 'available', 'restore done');
    await api.backupStatus(inc.id, 'available');
    assert.equal(await api.sha(target), expected);
    const verify = await api.call('POST', '/cinderbox-repo/verify', { full: false });
    assert.equal(verify.body.verify.ok, true, JSON.stringify(verify.body));
    api.c.proc.kill('SIGTERM');
    await new Promise((r2) => api.c.proc.once('exit', r2));
  },
);
