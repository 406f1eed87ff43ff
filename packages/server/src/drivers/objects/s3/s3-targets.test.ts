/**
 * Backup targets on the real radosgw, through the HTTP API: `serve` refuses a target it cannot use and names it;
 * a Cinder backup whose container names a target and a CBR vault's backups go there (and their restore, verify
 * and delete follow the record), exports name the target's driver, and the endpoint going away fails the backup
 * with a reason naming the target and a Cinder-shaped 503 on the API, never a 500. Skips without an S3 server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type BackupTargetSpec } from '../../../config/backup-targets.js';
import { assertFault, BackupApi, type Who } from '../../../api/block-storage/test-support/backup-api.js';
import { checkpoint, createVault, cbr, waitVolume } from '../../../api/cbr/test-support/cbr.js';
import { startTestServer, type TestServer, waitFor } from '../../../test-support/harness.js';
import type { S3ObjectStore, S3ObjectStoreOptions } from './s3-object-store.js';
import { startTcpRelay, type TcpRelay } from './tcp-relay.js';
import { emptyAndClose, freshS3Store, s3Unavailable, skipOrFailWithoutS3, TEST_BUCKET, testS3Options } from './test-env.js';

/** A target spec as `--backup-target` parses it, with the test's credentials (the server also takes the AWS chain). */
function s3Target(name: string, opts: Partial<S3ObjectStoreOptions>): BackupTargetSpec {
  const s3 = testS3Options({ maxAttempts: 1, connectTimeoutMs: 2000, ...opts });
  return { name, kind: 's3', url: `s3://${s3.bucket}/${s3.prefix ?? ''}?endpoint=${s3.endpoint ?? ''}`, s3 };
}

async function keysOf(store: S3ObjectStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.list(prefix)) keys.push(o.key);
  return keys;
}

if (s3Unavailable) {
  test('backup targets on S3', skipOrFailWithoutS3);
} else {
  test('serve refuses to start with an unreachable target or wrong credentials, naming the target', async () => {
    const seed = await freshS3Store();
    try {
      await assert.rejects(
        startTestServer({ backupTargets: [s3Target('nowhere', { prefix: seed.prefix, endpoint: 'http://127.0.0.1:9' })] }),
        (e: Error) => {
          assert.match(e.message, /backup target "nowhere"/);
          assert.match(e.message, /unavailable/);
          return true;
        },
      );
      await assert.rejects(
        startTestServer({
          backupTargets: [
            s3Target('badkey', { prefix: seed.prefix, credentials: { accessKeyId: 'cbx-wrong', secretAccessKey: 'wrong-secret' } }),
          ],
        }),
        (e: Error) => {
          assert.match(e.message, /backup target "badkey"/);
          assert.match(e.message, /refused the credentials/);
          return true;
        },
      );
      await assert.rejects(
        startTestServer({ backupTargets: [s3Target('nobucket', { bucket: `${TEST_BUCKET}-absent` })] }),
        /backup target "nobucket".*no such bucket/,
      );
    } finally {
      await emptyAndClose(seed);
    }
  });

  describe('a server with an S3 target next to the data directory repository', () => {
    let t: TestServer;
    let api: BackupApi;
    let admin: Who;
    let relay: TcpRelay;
    let seed: S3ObjectStore;
    let volume = '';
    let sha = '';
    let offsite: BackupTargetSpec;

    before(async () => {
      seed = await freshS3Store();
      // The server reaches radosgw through a relay this test can cut.
      const upstream = new URL(testS3Options().endpoint ?? '');
      relay = await startTcpRelay(upstream.hostname, Number(upstream.port));
      offsite = s3Target('offsite', { prefix: seed.prefix, endpoint: relay.endpoint, maxAttempts: 2 });
      t = await startTestServer({
        backends: [{ name: 'raw', driver: 'raw', pool: 'raw' }],
        backupTargets: [offsite],
        defaultBackupTarget: 'default',
      });
      api = new BackupApi(t);
      admin = { token: t.adminToken, projectId: t.adminProjectId };
      volume = await api.volume(admin);
      await api.fill(admin, volume);
      sha = await api.sha(admin, volume);
    });
    after(async () => {
      await relay?.start().catch(() => {});
      await t?.close();
      await relay?.close();
      if (seed) await emptyAndClose(seed);
    });

    test('a container naming the target puts the backup in the bucket; it restores byte-exact, exports as the S3 driver, verifies and deletes there', async () => {
      const id = await api.backup(admin, { volume_id: volume, container: 'offsite', name: 'to-s3' });
      const b = await api.backupStatus(admin, id, 'available');
      assert.equal(b.container, 'offsite');
      assert.deepEqual(await keysOf(seed, 'backups/'), [`backups/offsite/${id}.manifest`]);
      assert.ok((await keysOf(seed, 'chunks/')).length > 0);

      // Any other container stays Cinder's free-form namespace on the default target.
      const local = await api.backup(admin, { volume_id: volume, container: 'nightly' });
      await api.backupStatus(admin, local, 'available');
      await t.server.services.backups.repo.readManifest(`nightly/${local}`);
      assert.equal((await keysOf(seed, 'backups/')).length, 1);

      const exp = async (bid: string) =>
        (await t.request('GET', `/v3/${admin.projectId}/backups/${bid}/export_record`, { token: admin.token })).body['backup-record'];
      const rec = await exp(id);
      assert.equal(rec.backup_service, 'cinder.backup.drivers.s3');
      assert.equal(JSON.parse(JSON.parse(Buffer.from(rec.backup_url, 'base64').toString()).service_metadata).backup_target, 'offsite');
      assert.equal((await exp(local)).backup_service, 'cinder.backup.drivers.posix');

      // A record of a target this server does not have is a clear 400.
      const foreign = JSON.parse(Buffer.from(rec.backup_url, 'base64').toString());
      foreign.id = '6f1c1d8e-3c44-4a57-9d2e-0d7b8f1e2a10';
      foreign.service_metadata = JSON.stringify({ ...JSON.parse(foreign.service_metadata), backup_target: 'elsewhere' });
      const imp = await t.request('POST', `/v3/${admin.projectId}/backups/import_record`, {
        token: admin.token,
        body: { 'backup-record': { backup_service: 'cinder.backup.drivers.s3', backup_url: Buffer.from(JSON.stringify(foreign)).toString('base64') } },
      });
      assertFault(imp, 400, /backup target "elsewhere", which is not configured/);

      const restored = await api.restore(admin, id);
      assert.equal(await api.sha(admin, restored), sha);

      const verify = await t.request('POST', `/v3/${admin.projectId}/cinderbox-repo/verify`, {
        token: admin.token,
        body: { full: true, target: 'offsite' },
      });
      assert.equal(verify.status, 200, verify.text);
      assert.equal(verify.body.verify.ok, true, verify.text);
      assert.equal(verify.body.verify.manifests, 1);
      assert.equal(verify.body.verify.target, 'offsite');
      assertFault(
        await t.request('POST', `/v3/${admin.projectId}/cinderbox-repo/gc`, { token: admin.token, body: { target: 'nope' } }),
        400,
        /Backup target "nope" is not configured/,
      );

      assert.equal((await t.request('DELETE', `/v3/${admin.projectId}/backups/${id}`, { token: admin.token })).status, 202);
      await api.gone(admin, `/backups/${id}`);
      assert.deepEqual(await keysOf(seed, 'backups/'), []);

      // Targets are places, not services: one cinder-backup service still.
      const svc = await t.request('GET', `/v3/${admin.projectId}/os-services?binary=cinder-backup`, { token: admin.token });
      assert.equal(svc.status, 200, svc.text);
      assert.equal(svc.body.services.length, 1, svc.text);
    });

    test('a CBR vault with backup_target keeps its backups on that target and restores from it', async () => {
      const me = { token: t.adminToken, projectId: t.adminProjectId };
      const bad = await cbr(t, me, 'POST', '/vaults', {
        vault: {
          name: 'v-bad',
          billing: { consistent_level: 'crash_consistent', object_type: 'disk', protect_type: 'backup', size: 10 },
          resources: [],
          backup_target: 'nope',
        },
      });
      assert.equal(bad.status, 400, bad.text);
      assert.match(bad.body.error_msg, /backup_target "nope" is not a configured backup target/);

      const r = await cbr(t, me, 'POST', '/vaults', {
        vault: {
          name: 'v-s3',
          billing: { consistent_level: 'crash_consistent', object_type: 'disk', protect_type: 'backup', size: 10 },
          resources: [{ id: volume, type: 'OS::Cinder::Volume' }],
          backup_target: 'offsite',
        },
      });
      assert.equal(r.status, 200, r.text);
      const vault = r.body.vault;
      assert.equal(vault.backup_target, 'offsite');
      assert.equal((await createVault(t, me, 'v-local', [])).backup_target, 'default');
      const { done } = await checkpoint(t, me, vault.id);
      assert.equal(done.status, 'available', JSON.stringify(done));
      const manifests = await keysOf(seed, `backups/cbr-${vault.id}/`);
      assert.equal(manifests.length, 1);
      const backupId = manifests[0]!.split('/')[2]!.replace(/\.manifest$/, '');
      await api.write(admin, volume, [[0, Buffer.alloc(4096, 0x11)]]);
      const rs = await cbr(t, me, 'POST', `/backups/${backupId}/restore`, { restore: {} });
      assert.equal(rs.status, 202, rs.text);
      await waitFor(async () => (await cbr(t, me, 'GET', `/backups/${backupId}`)).body.backup?.status === 'available', 'restore done');
      await waitVolume(t, me, volume, 'available');
      assert.equal(await api.sha(admin, volume), sha);
    });

    test('the endpoint gone: the backup fails naming the target, the API answers a Cinder-shaped 503; once back, backups work', async () => {
      relay.stop();
      const v = await t.request('POST', `/v3/${admin.projectId}/cinderbox-repo/verify`, {
        token: admin.token,
        body: { target: 'offsite' },
      });
      assertFault(v, 503, /backup target "offsite"/);

      const id = await api.backup(admin, { volume_id: volume, container: 'offsite' });
      const failed = await api.backupStatus(admin, id, 'error');
      assert.match(failed.fail_reason, /backup target "offsite"/);
      await api.volumeStatus(admin, volume, 'available');

      await relay.start();
      const again = await api.backup(admin, { volume_id: volume, container: 'offsite' });
      await api.backupStatus(admin, again, 'available');
      const verify = await t.request('POST', `/v3/${admin.projectId}/cinderbox-repo/verify`, {
        token: admin.token,
        body: { target: 'offsite' },
      });
      assert.equal(verify.body.verify.ok, true, verify.text);
      // Nothing of the failed backup was committed: the CBR backup's manifest and the new one only.
      assert.equal(verify.body.verify.manifests, 2);
    });

    test('credentials the target refuses while the server runs: a Cinder-shaped 503 naming the target, never a 500', async () => {
      // The client holds the credentials object it was configured with: changing it revokes them for the server.
      if (offsite.kind !== 's3' || !offsite.s3.credentials) throw new Error('the test target has static credentials');
      const creds = offsite.s3.credentials as { secretAccessKey: string };
      const good = creds.secretAccessKey;
      creds.secretAccessKey = 'not-the-secret';
      try {
        const v = await t.request('POST', `/v3/${admin.projectId}/cinderbox-repo/verify`, { token: admin.token, body: { target: 'offsite' } });
        assertFault(v, 503, /backup target "offsite": S3 target refused the credentials/);
        const id = await api.backup(admin, { volume_id: volume, container: 'offsite' });
        const failed = await api.backupStatus(admin, id, 'error');
        assert.match(failed.fail_reason, /backup target "offsite".*credentials/);
      } finally {
        creds.secretAccessKey = good;
      }
      await api.volumeStatus(admin, volume, 'available');
    });
  });
}
