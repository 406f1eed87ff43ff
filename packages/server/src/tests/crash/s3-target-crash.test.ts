/**
 * SIGKILL of the server in the middle of a backup to an S3 backup target (the real radosgw): after the restart
 * the backup is `error` with a reason, the target verifies clean (gc takes the orphaned chunks), and the earlier
 * backup still restores byte-exact. The child takes its target from CINDERBOX_BACKUP_TARGETS and its
 * credentials from the standard AWS chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), as an operator's would.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { volumeDigest } from '../../api/block-storage/test-support/backup-api.js';
import { emptyAndClose, freshS3Store, s3Unavailable, skipOrFailWithoutS3, testS3Options } from '../../drivers/objects/s3/test-env.js';
import { CrashApi, kill, startChild, stopChild } from './crash-support.js';

const MiB = 1024 * 1024;
/** Enough for the kill to land mid-backup, small enough for radosgw's memstore OSD (RAM). */
const DATA_MIB = 192;

class Api extends CrashApi {
  async volume(): Promise<string> {
    const r = await this.call('POST', '/volumes', { volume: { size: 1 } });
    assert.equal(r.status, 202);
    await this.until('volumes', r.body.volume.id, 'available');
    return r.body.volume.id;
  }

  async device(id: string): Promise<string> {
    const r = await this.call('POST', `/volumes/${id}/action`, { 'os-initialize_connection': { connector: {} } });
    return r.body.connection_info.data.device_path;
  }
}

async function write(path: string, chunks: number, offset = 0): Promise<void> {
  const fh = await open(path, 'r+');
  const chunk = randomBytes(4 * MiB);
  for (let i = 0; i < chunks; i++) {
    chunk.writeUInt32BE(i, 0);
    await fh.write(chunk, 0, chunk.length, offset + i * 4 * MiB);
  }
  await fh.sync();
  await fh.close();
}

if (s3Unavailable) {
  test('SIGKILL during a backup to an S3 target', skipOrFailWithoutS3);
} else {
  test('SIGKILL during a backup to an S3 target: the backup ends in error, the target verifies clean, earlier backups restore byte-exact', { timeout: 300_000 }, async () => {
    const seed = await freshS3Store();
    const s3 = testS3Options({ prefix: seed.prefix });
    const dataDir = await mkdtemp(join(tmpdir(), 'cinderbox-s3-crash-'));
    const env = process.env;
    const saved = { ...env };
    Object.assign(env, {
      CINDERBOX_BACKUP_TARGETS: `offsite=s3://${s3.bucket}/${seed.prefix.replace(/\/$/, '')}?endpoint=${s3.endpoint}&region=${s3.region}`,
      CINDERBOX_DEFAULT_BACKUP_TARGET: 'offsite',
      AWS_ACCESS_KEY_ID: s3.credentials?.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials?.secretAccessKey,
    });
    let api: Api | undefined;
    try {
      api = new Api(await startChild(dataDir, 'raw'));
      await api.login();

      const small = await api.volume();
      const smallDev = await api.device(small);
      await write(smallDev, 1, 10 * MiB);
      const smallSha = await volumeDigest(smallDev);
      const early = await api.call('POST', '/backups', { backup: { volume_id: small, name: 'early' } });
      assert.equal(early.status, 202);
      await api.until('backups', early.body.backup.id, 'available');

      const big = await api.volume();
      const bigDev = await api.device(big);
      await write(bigDev, DATA_MIB / 4);
      const doomed = await api.call('POST', '/backups', { backup: { volume_id: big, name: 'doomed' } });
      assert.equal(doomed.status, 202);
      const doomedId = doomed.body.backup.id as string;
      await api.poll(async () => {
        const p = (await api!.call('GET', `/backups/${doomedId}/cinderbox-progress`)).body.progress;
        return p.operation === 'backup' && p.bytes_done > 0 && p.fraction < 0.6;
      }, 'backup under way');
      await kill(api.c);

      api = new Api(await startChild(dataDir, 'raw'));
      await api.login();
      const failed = await api.poll(async () => {
        const b = await api!.status('backups', doomedId);
        return b.status !== 'creating' ? b : null;
      }, 'backup final state');
      assert.equal(failed.status, 'error');
      assert.match(failed.fail_reason, /interrupted/);
      assert.equal((await api.status('volumes', big)).status, 'available');

      const verify = await api.call('POST', '/cinderbox-repo/verify', { full: true, target: 'offsite' });
      assert.equal(verify.status, 200, JSON.stringify(verify.body));
      assert.equal(verify.body.verify.ok, true, JSON.stringify(verify.body));
      assert.equal(verify.body.verify.manifests, 1, 'the killed backup committed no manifest');
      const gc = await api.call('POST', '/cinderbox-repo/gc', { grace_seconds: 0, target: 'offsite' });
      assert.equal(gc.status, 200, JSON.stringify(gc.body));
      assert.ok(gc.body.gc.deleted > 0, `orphaned chunks reclaimed: ${JSON.stringify(gc.body)}`);

      const res = await api.call('POST', `/backups/${early.body.backup.id}/restore`, { restore: {} });
      assert.equal(res.status, 202);
      await api.until('volumes', res.body.restore.volume_id, 'available');
      assert.equal(await volumeDigest(await api.device(res.body.restore.volume_id)), smallSha);
      await stopChild(api.c);
    } finally {
      if (api) await kill(api.c);
      for (const k of ['CINDERBOX_BACKUP_TARGETS', 'CINDERBOX_DEFAULT_BACKUP_TARGET', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
        if (saved[k] === undefined) delete env[k];
        else env[k] = saved[k];
      }
      await emptyAndClose(seed);
      await rm(dataDir, { recursive: true, force: true });
    }
  });
}
