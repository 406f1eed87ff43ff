/**
 * SIGKILL during deletes: a snapshot delete, a cascading volume delete and a backup delete, each killed while its
 * qemu-img commit (the qcow2 merge that makes these deletes slow) runs. After each restart the delete resumes
 * and finishes: the resource is gone, its files are gone, the volume that stays keeps its bytes, and the
 * repository holds no manifest for the deleted backup (its chunks are reclaimed by gc; verify stays clean).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { probeQemuImg } from '../../drivers/volume/qcow2/qemu.js';
import { type Child, CrashApi, startChild } from './crash-support.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
// Data above the merged layer. The child's qemu-img commits at COMMIT_RATE (see slowCommits), so the merge of
// BIG lasts ~8 s whatever the disk's speed: the kill lands inside it on a fast idle machine as on a loaded one.
const BIG = 128 * MiB;
const COMMIT_RATE = 16 * MiB;
const qemu = probeQemuImg();

/** The processes `pid` started (qemu-img, for these deletes), from /proc. */
async function childrenOf(pid: number): Promise<{ pid: number; cmdline: string }[]> {
  const out: { pid: number; cmdline: string }[] = [];
  const stats = await Promise.all(
    (await readdir('/proc'))
      .filter((name) => /^\d+$/.test(name))
      .map(async (name) => ({ name, stat: await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '') })),
  );
  for (const { name, stat } of stats) {
    // Field 4 (ppid) follows the parenthesised command name, which may itself hold spaces.
    if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== pid) continue;
    const cmdline = (await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '')).replaceAll('\0', ' ');
    out.push({ pid: Number(name), cmdline });
  }
  return out;
}

/**
 * SIGKILL for the server and the qemu-img it runs, as a machine crash or a service manager's control-group kill
 * does: an orphaned qemu-img would otherwise go on holding its image's lock.
 */
async function crash(c: Child): Promise<void> {
  const kids = await childrenOf(c.proc.pid!);
  const exited = new Promise((r) => c.proc.once('exit', r));
  c.proc.kill('SIGKILL');
  for (const k of kids) {
    try {
      process.kill(k.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await exited;
}

/**
 * A PATH whose `qemu-img` runs commits with qemu's own rate limit (`-r`) and everything else unchanged. Without
 * it the commit raced the test's look at /proc: on a quick disk it could finish between two looks.
 */
async function slowCommits(dir: string): Promise<NodeJS.ProcessEnv> {
  const real = execFileSync('sh', ['-c', 'command -v qemu-img'], { encoding: 'utf8' }).trim();
  await mkdir(dir, { recursive: true });
  const wrapper = join(dir, 'qemu-img');
  await writeFile(
    wrapper,
    `#!/bin/sh\nif [ "$1" = commit ]; then shift; exec ${real} commit -r ${COMMIT_RATE} "$@"; fi\nexec ${real} "$@"\n`,
  );
  await chmod(wrapper, 0o755);
  return { PATH: `${dir}:${process.env.PATH ?? ''}` };
}

class Api extends CrashApi {
  async sha(volumeId: string): Promise<string> {
    const res = await fetch(`${this.c.url}${this.base}/volumes/${volumeId}/cinderbox-data`, { headers: { 'X-Auth-Token': this.token } });
    assert.equal(res.status, 200);
    const h = createHash('sha256');
    for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) h.update(part);
    return h.digest('hex');
  }

  async volumeWithSnapshot(name: string): Promise<{ vol: string; snap: string; data: Buffer }> {
    const v = await this.call('POST', '/volumes', { volume: { size: 1, name } });
    assert.equal(v.status, 202, JSON.stringify(v.body));
    const vol = v.body.volume.id as string;
    await this.until('volumes', vol, 'available');
    assert.ok((await this.call('PUT', `/volumes/${vol}/cinderbox-data`, undefined, randomBytes(4 * MiB))).status < 300);
    const s = await this.call('POST', '/snapshots', { snapshot: { volume_id: vol, name } });
    assert.equal(s.status, 202, JSON.stringify(s.body));
    const snap = s.body.snapshot.id as string;
    await this.poll(async () => (await this.call('GET', `/snapshots/${snap}`)).body.snapshot.status === 'available', 'snapshot available');
    // Written after the snapshot: the layer a delete has to merge.
    const data = randomBytes(BIG);
    assert.ok((await this.call('PUT', `/volumes/${vol}/cinderbox-data`, undefined, data)).status < 300);
    await this.until('volumes', vol, 'available');
    return { vol, snap, data };
  }

  /** Waits until the server runs a qemu-img commit (or `gone` says the delete already finished: a test failure). */
  async commitRunning(gone: () => Promise<boolean>): Promise<void> {
    const end = Date.now() + 60_000;
    for (let i = 0; ; i++) {
      if ((await childrenOf(this.c.proc.pid!)).some((k) => k.cmdline.includes('qemu-img') && k.cmdline.includes(' commit '))) return;
      // Asked now and then only: the commit lasts a fraction of a second, the look at /proc must be quick.
      if (i % 50 === 49 && (await gone())) throw new Error('the delete finished before it could be interrupted (its qemu-img commit was not slowed)');
      if (Date.now() > end) throw new Error('timed out: qemu-img commit under way');
      await new Promise((r) => setImmediate(r));
    }
  }
}

function shaOf(data: Buffer, size: number): string {
  const h = createHash('sha256').update(data);
  const zeros = Buffer.alloc(4 * MiB);
  for (let n = data.length; n < size; n += zeros.length) h.update(zeros.subarray(0, Math.min(zeros.length, size - n)));
  return h.digest('hex');
}

let dataDir = '';
after(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  if (dataDir) await rm(`${dataDir}-bin`, { recursive: true, force: true });
});

test(
  'deletes interrupted by SIGKILL (snapshot, volume with cascade, backup) resume after the restart and finish',
  { timeout: 600_000, skip: qemu.available ? false : qemu.detail },
  async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'cinderbox-delete-crash-'));
    const backendDir = join(dataDir, 'volumes', 'qcow2');
    const files = () => readdir(backendDir);
    const env = await slowCommits(`${dataDir}-bin`);
    let api = new Api(await startChild(dataDir, 'qcow2', env));
    // A failed assertion must not leave the server running (the test process would wait for it forever).
    const stop = () => {
      if (api.c.proc.exitCode === null && api.c.proc.signalCode === null) api.c.proc.kill('SIGKILL');
    };
    try {
      await api.login();
      const restart = async () => {
        await crash(api.c);
        api = new Api(await startChild(dataDir, 'qcow2', env));
        await api.login();
      };
      const snapshotGone = async (id: string) => (await api.call('GET', `/snapshots/${id}`)).status === 404;

      // 1. A snapshot delete: the snapshot and its file go, the volume keeps the bytes written after it.
      const s = await api.volumeWithSnapshot('keeps-its-bytes');
      assert.equal((await api.call('DELETE', `/snapshots/${s.snap}`)).status, 202);
      await api.commitRunning(() => snapshotGone(s.snap));
      await restart();
      await api.poll(() => snapshotGone(s.snap), 'snapshot deleted after the restart');
      assert.ok(!(await files()).some((f) => f.includes(s.snap)), (await files()).join(' '));
      await api.until('volumes', s.vol, 'available');
      assert.equal(await api.sha(s.vol), shaOf(s.data, GiB));

      // 2. A volume deleted with its snapshot (cascade): both rows and every file of the volume go.
      const v = await api.volumeWithSnapshot('goes-with-cascade');
      const volumeGone = async () => (await api.call('GET', `/volumes/${v.vol}`)).status === 404;
      assert.equal((await api.call('DELETE', `/volumes/${v.vol}?cascade=true`)).status, 202);
      await api.commitRunning(volumeGone);
      await restart();
      await api.poll(volumeGone, 'volume deleted after the restart');
      assert.ok(await snapshotGone(v.snap));
      assert.ok(!(await files()).some((f) => f.includes(v.vol) || f.includes(v.snap)), (await files()).join(' '));

      // 3. A backup delete: its hidden base on the volume is merged away (the slow part), its manifest goes.
      const b = await api.call('POST', '/volumes', { volume: { size: 1, name: 'backed-up' } });
      const bvol = b.body.volume.id as string;
      await api.until('volumes', bvol, 'available');
      assert.ok((await api.call('PUT', `/volumes/${bvol}/cinderbox-data`, undefined, randomBytes(4 * MiB))).status < 300);
      const layersBefore = (await files()).filter((f) => f.startsWith('_snapshot-'));
      const bk = await api.call('POST', '/backups', { backup: { volume_id: bvol } });
      assert.equal(bk.status, 202, JSON.stringify(bk.body));
      const backup = bk.body.backup.id as string;
      await api.until('backups', backup, 'available');
      await api.until('volumes', bvol, 'available');
      assert.equal((await files()).filter((f) => f.startsWith('_snapshot-')).length, layersBefore.length + 1, 'the backup keeps a hidden base');
      const later = randomBytes(BIG);
      assert.ok((await api.call('PUT', `/volumes/${bvol}/cinderbox-data`, undefined, later)).status < 300);
      const backupGone = async () => (await api.call('GET', `/backups/${backup}`)).status === 404;
      assert.equal((await api.call('DELETE', `/backups/${backup}`)).status, 202);
      await api.commitRunning(backupGone);
      await restart();
      await api.poll(backupGone, 'backup deleted after the restart');
      assert.deepEqual((await files()).filter((f) => f.startsWith('_snapshot-')), layersBefore, 'the hidden base is gone');
      const manifests = await readdir(join(dataDir, 'repo', 'backups'), { recursive: true });
      assert.ok(!manifests.some((m) => m.includes(backup)), manifests.join(' '));
      await api.until('volumes', bvol, 'available');
      assert.equal(await api.sha(bvol), shaOf(later, GiB));
      const gc = await api.call('POST', '/cinderbox-repo/gc', { grace_seconds: 0 });
      assert.equal(gc.status, 200, JSON.stringify(gc.body));
      assert.ok(gc.body.gc.deleted > 0, `the deleted backup's chunks are reclaimed: ${JSON.stringify(gc.body)}`);
      const verify = await api.call('POST', '/cinderbox-repo/verify', { full: true });
      assert.equal(verify.body.verify.ok, true, JSON.stringify(verify.body));

      // Nothing was left behind for an admin to reset, and the quota follows the records.
      const usage = await api.call('GET', `/os-quota-sets/${api.base.split('/')[2]}?usage=true`);
      assert.equal(usage.body.quota_set.snapshots.in_use, 0);
      assert.equal(usage.body.quota_set.backups.in_use, 0);
      assert.equal(usage.body.quota_set.volumes.in_use, 2);
      api.c.proc.kill('SIGTERM');
      await new Promise((r) => api.c.proc.once('exit', r));
    } finally {
      stop();
    }
  },
);
