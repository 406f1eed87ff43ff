/**
 * Immutable backups on the real radosgw (S3 Object Lock): `serve` refuses `lock_days` on a bucket without Object
 * Lock; a backup on a locked target has its manifest and chunks under retention until its `locked_until` (shared
 * chunks extended by a later backup), a direct delete of a locked object version fails with AccessDenied, the API
 * refuses to delete it, and gc skips locked chunks and counts them. GOVERNANCE mode so that the test can remove what
 * it made (memstore is RAM); the refusals are the same as in COMPLIANCE. Skips with the reason without S3.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectRetentionCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { type BackupTargetSpec, parseBackupTarget } from '../../../config/backup-targets.js';
import { assertFault, BackupApi, type Who } from '../../../api/block-storage/test-support/backup-api.js';
import { cbr, checkpoint } from '../../../api/cbr/test-support/cbr.js';
import { randomBytes } from '../../../backup-repo/test-support/fixtures.js';
import { startTestServer, type TestServer } from '../../../test-support/harness.js';
import { openBackupRepository } from '../../../wiring.js';
import { lockStep } from '../../../domain/immutability.js';
import { countRequests } from './request-counter.js';
import { S3ObjectStore } from './s3-object-store.js';
import { emptyAndClose, freshS3Store, s3Unavailable, skipOrFailWithoutS3, TEST_BUCKET, testS3Options } from './test-env.js';

const LOCK_BUCKET = `${TEST_BUCKET}-lock`;
const KEY = Buffer.from('0123456789abcdef0123456789abcdef');
const DAY_MS = 86_400_000;

/** `--backup-target NAME=s3://…?lock_days=1&lock_mode=governance` with the test's credentials. */
function lockedTarget(name: string, bucket: string, prefix: string): BackupTargetSpec {
  const o = testS3Options();
  const spec = parseBackupTarget(`${name}=s3://${bucket}/${prefix}?endpoint=${o.endpoint}&region=${o.region}&lock_days=1&lock_mode=governance`);
  if (spec.kind !== 's3') throw new Error('expected an s3 target');
  spec.s3 = { ...spec.s3, credentials: o.credentials!, maxAttempts: 1 };
  return spec;
}

/** Every version and delete marker removed (bypassing GOVERNANCE retention), then the bucket. */
async function dropLockBucket(client: S3Client): Promise<void> {
  for (;;) {
    const page = await client.send(new ListObjectVersionsCommand({ Bucket: LOCK_BUCKET }));
    const all = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])];
    if (all.length === 0) break;
    for (const v of all)
      await client.send(new DeleteObjectCommand({ Bucket: LOCK_BUCKET, Key: v.Key, VersionId: v.VersionId, BypassGovernanceRetention: true }));
  }
  await client.send(new DeleteBucketCommand({ Bucket: LOCK_BUCKET }));
}

if (s3Unavailable) {
  test('immutable backups on S3', skipOrFailWithoutS3);
} else {
  describe('immutable backups on an S3 Object Lock bucket', () => {
    let client: S3Client;
    let prefixN = 0;
    const prefix = () => `imm-${process.pid}-${prefixN++}`;

    before(async () => {
      const admin = new S3ObjectStore(testS3Options({ bucket: LOCK_BUCKET }));
      client = admin.client;
      await client.send(new CreateBucketCommand({ Bucket: LOCK_BUCKET, ObjectLockEnabledForBucket: true }));
    });
    after(async () => {
      if (client) {
        await dropLockBucket(client);
        client.destroy();
      }
    });

    test('serve refuses lock_days on a bucket without Object Lock, naming the target', async () => {
      const plain = await freshS3Store();
      try {
        await assert.rejects(startTestServer({ backupTargets: [lockedTarget('unlockable', TEST_BUCKET, plain.prefix.slice(0, -1))] }), (e: Error) => {
          assert.match(e.message, /backup target "unlockable"/);
          assert.match(e.message, /has no Object Lock/);
          return true;
        });
      } finally {
        await emptyAndClose(plain);
      }
    });

    test('a backup is locked on S3 until locked_until: retention on manifest and chunks, extended by a later backup; a versioned delete is AccessDenied; the APIs refuse', async () => {
      const p = prefix();
      const t: TestServer = await startTestServer({
        backends: [{ name: 'raw', driver: 'raw', pool: 'raw' }],
        backupTargets: [lockedTarget('immut', LOCK_BUCKET, p)],
        defaultBackupTarget: 'default',
      });
      try {
        const api = new BackupApi(t);
        const admin: Who = { token: t.adminToken, projectId: t.adminProjectId };
        const volume = await api.volume(admin);
        await api.write(admin, volume, [[0, randomBytes(8192)]]);
        const first = await api.backup(admin, { volume_id: volume, container: 'immut' });
        const b1 = await api.backupStatus(admin, first, 'available');
        const until1 = Date.parse(b1.locked_until);
        assert.ok(until1 > Date.now() + DAY_MS - 120_000, b1.locked_until);

        const manifest = `${p}/backups/immut/${first}.manifest`;
        const head = await client.send(new HeadObjectCommand({ Bucket: LOCK_BUCKET, Key: manifest }));
        assert.equal(head.ObjectLockMode, 'GOVERNANCE');
        assert.equal(head.ObjectLockRetainUntilDate!.getTime(), until1);
        const chunks = (await client.send(new ListObjectVersionsCommand({ Bucket: LOCK_BUCKET, Prefix: `${p}/chunks/` }))).Versions ?? [];
        assert.equal(chunks.length, 1, 'one non-zero chunk');
        const chunk = chunks[0]!.Key!;
        const retention = async (key: string) =>
          (await client.send(new GetObjectRetentionCommand({ Bucket: LOCK_BUCKET, Key: key }))).Retention!.RetainUntilDate!.getTime();
        assert.equal(await retention(chunk), until1);

        // Removing the locked version itself (not hiding it behind a delete marker) is refused by radosgw.
        await assert.rejects(
          client.send(new DeleteObjectCommand({ Bucket: LOCK_BUCKET, Key: manifest, VersionId: head.VersionId })),
          (e: Error & { $metadata?: { httpStatusCode?: number } }) => {
            assert.equal(e.name, 'AccessDenied');
            assert.equal(e.$metadata?.httpStatusCode, 403);
            return true;
          },
        );

        // The same data again: the shared chunk is not rewritten, its retention is extended to the new backup's.
        const second = await api.backup(admin, { volume_id: volume, container: 'immut' });
        const b2 = await api.backupStatus(admin, second, 'available');
        const until2 = Date.parse(b2.locked_until);
        // Lock ends are rounded to a step (6 h for one day): a backup minutes later usually shares the first's.
        assert.ok(until2 >= until1);
        assert.equal(await retention(chunk), until2);
        const versions = (await client.send(new ListObjectVersionsCommand({ Bucket: LOCK_BUCKET, Prefix: chunk }))).Versions ?? [];
        assert.equal(versions.length, 1, 'the chunk was not written again');

        assertFault(await t.request('DELETE', `/v3/${admin.projectId}/backups/${first}`, { token: admin.token }), 400, /is immutable until/);
        assertFault(
          await t.request('POST', `/v3/${admin.projectId}/backups/${first}/action`, { token: admin.token, body: { 'os-force_delete': {} } }),
          400,
          /is immutable until/,
        );

        // A CBR vault on the locked target: its backups take the target's lock even without a vault lock_days.
        const me = { token: t.adminToken, projectId: t.adminProjectId };
        const r = await cbr(t, me, 'POST', '/vaults', {
          vault: {
            name: 'v-immut',
            billing: { consistent_level: 'crash_consistent', object_type: 'disk', protect_type: 'backup', size: 10 },
            resources: [{ id: volume, type: 'OS::Cinder::Volume' }],
            backup_target: 'immut',
          },
        });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.body.vault.lock_days, null);
        const { done } = await checkpoint(t, me, r.body.vault.id);
        assert.equal(done.status, 'available', JSON.stringify(done));
        const backup = (await cbr(t, me, 'GET', `/backups?vault_id=${r.body.vault.id}`)).body.backups[0];
        assert.ok(backup.extend_info.locked_until);
        const cm = `${p}/backups/cbr-${r.body.vault.id}/${backup.id}.manifest`;
        assert.equal((await client.send(new HeadObjectCommand({ Bucket: LOCK_BUCKET, Key: cm }))).ObjectLockMode, 'GOVERNANCE');
        const del = await cbr(t, me, 'DELETE', `/backups/${backup.id}`);
        assert.equal(del.status, 400, del.text);
        assert.equal(del.body.error_code, 'BackupService.6201');
      } finally {
        await t.close();
      }
    });

    test('a locked incremental extends only its new chunks while its parent is held to its date; every chunk it needs stays held to it', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'cbx-s3-imm-'));
      const store = new S3ObjectStore(testS3Options({ bucket: LOCK_BUCKET, prefix: prefix(), objectLock: { mode: 'GOVERNANCE' } }));
      const counts = countRequests(store.client);
      const repo = await openBackupRepository({ dataDir: dir, backupKey: KEY }, { create: true, store });
      const CH = 4 * 1024 * 1024;
      const held = async (key: string) =>
        (await client.send(new GetObjectRetentionCommand({ Bucket: LOCK_BUCKET, Key: store.objectName(key) }))).Retention!.RetainUntilDate!.getTime();
      const chunksHeld = async (locator: string, until: Date) => {
        for (const id of (await repo.readManifest(locator)).ids()) assert.ok((await held(`chunks/${id.slice(0, 2)}/${id}`)) >= until.getTime(), id);
        assert.equal(await held(`backups/${locator}.manifest`), until.getTime());
      };
      try {
        const src = join(dir, 'vol');
        const vol = randomBytes(8 * CH);
        await writeFile(src, vol);
        const full = await repo.backup({ id: 'full', container: 'c', sourcePath: src });
        // A 10-day lock: ends are rounded to 60 h steps, so the next backups (same step) share this end.
        const until = new Date(Math.ceil((Date.now() + 10 * DAY_MS) / lockStep(10 * DAY_MS)) * lockStep(10 * DAY_MS));
        counts.reset();
        assert.equal((await repo.retain(full.locator, until)).objects, 9, 'eight chunks and the manifest');
        assert.equal(counts.of('PutObjectRetention'), 9);

        // One chunk changed, same lock end: only it and the manifest are locked.
        randomBytes(CH).copy(vol, 3 * CH);
        await writeFile(src, vol);
        const inc = await repo.backup({ id: 'inc', container: 'c', sourcePath: src, parent: full.locator });
        counts.reset();
        assert.equal((await repo.retain(inc.locator, until)).objects, 2, 'the new chunk and the manifest');
        assert.equal(counts.of('PutObjectRetention'), 2);
        await chunksHeld(inc.locator, until);

        // The next step's end, past what the parent is held to: every chunk is extended (none may fall short).
        const later = new Date(until.getTime() + lockStep(10 * DAY_MS));
        const inc2 = await repo.backup({ id: 'inc2', container: 'c', sourcePath: src, parent: inc.locator });
        counts.reset();
        assert.equal((await repo.retain(inc2.locator, later)).objects, 9);
        assert.equal(counts.of('PutObjectRetention'), 9);
        await chunksHeld(inc2.locator, later);
      } finally {
        await repo.close();
        store.destroy();
        await rm(dir, { recursive: true, force: true });
      }
    });

    test('gc skips chunks under retention and counts them; the store refuses to delete a locked object', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'cbx-s3-imm-'));
      const store = new S3ObjectStore(testS3Options({ bucket: LOCK_BUCKET, prefix: prefix(), objectLock: { mode: 'GOVERNANCE' } }));
      const repo = await openBackupRepository({ dataDir: dir, backupKey: KEY }, { create: true, store });
      try {
        await store.probe();
        const src = join(dir, 'vol');
        await writeFile(src, randomBytes(3 * 4 * 1024 * 1024));
        const b = await repo.backup({ id: 'locked', container: 'c', sourcePath: src });
        const { objects } = await repo.retain(b.locator, new Date(Date.now() + DAY_MS));
        assert.equal(objects, 4, 'three chunks and the manifest');
        await assert.rejects(store.delete(`backups/${b.locator}.manifest`), { code: 'ELOCKED' });

        // The manifest gone (as when its retention ended first): its chunks are garbage, but locked.
        const name = store.objectName(`backups/${b.locator}.manifest`);
        const versions = (await client.send(new ListObjectVersionsCommand({ Bucket: LOCK_BUCKET, Prefix: name }))).Versions ?? [];
        for (const v of versions)
          await client.send(new DeleteObjectCommand({ Bucket: LOCK_BUCKET, Key: name, VersionId: v.VersionId, BypassGovernanceRetention: true }));
        const gc = await repo.gc({ graceMs: 0 });
        assert.equal(gc.manifests, 0);
        assert.equal(gc.chunks, 3);
        assert.equal(gc.deleted, 0);
        assert.equal(gc.locked, 3);
      } finally {
        await repo.close();
        store.destroy();
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
}
