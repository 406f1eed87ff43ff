/**
 * The chunk index and garbage collection on S3 (radosgw): a backup of chunks the bucket holds sends no request per
 * chunk, and gc running while a backup reuses old unreferenced chunks neither deletes one the backup references
 * nor leaves the backup unrestorable. Skips with the reason without an S3 server (test-env.ts).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BackupRepository } from '../../../backup-repo/repository.js';
import { MiB, randomBytes, sha256File } from '../../../backup-repo/test-support/fixtures.js';
import type { GcResult } from '../../../domain/ports/backup-store.js';
import { openBackupRepository } from '../../../wiring.js';
import { countRequests } from './request-counter.js';
import type { S3ObjectStore } from './s3-object-store.js';
import { emptyAndClose, freshS3Store, s3Unavailable, skipOrFailWithoutS3 } from './test-env.js';

async function fixture() {
  const dir = await mkdtemp(join(tmpdir(), 'cbx-s3-index-'));
  const store: S3ObjectStore = await freshS3Store();
  const chunkRequests: string[] = [];
  const counts = countRequests(store.client, (command, input) => {
    if (input.Key?.startsWith(`${store.prefix}chunks/`)) chunkRequests.push(`${command} ${input.Key.slice(store.prefix.length)}`);
  });
  // Through the composition root: the index lives under the data directory.
  const repo: BackupRepository = await openBackupRepository({ dataDir: dir, backupKey: null }, { create: true, store });
  return {
    dir,
    store,
    repo,
    counts,
    chunkRequests,
    cleanup: async () => {
      await repo.close();
      await emptyAndClose(store);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

if (s3Unavailable) {
  test('chunk index and gc on S3', skipOrFailWithoutS3);
} else {
  test('chunk index on S3: a backup of chunks the bucket holds sends no request for any of them', async () => {
    const fx = await fixture();
    try {
      const src = join(fx.dir, 'vol');
      await writeFile(src, randomBytes(12 * MiB));
      const first = await fx.repo.backup({ id: 'a', container: 'c', sourcePath: src });
      assert.equal(first.stats.newChunks, 3);
      fx.chunkRequests.length = 0;
      const second = await fx.repo.backup({ id: 'b', container: 'other', sourcePath: src });
      assert.equal(second.stats.reusedChunks, 3);
      assert.deepEqual(fx.chunkRequests, [], 'no PUT, HEAD or copy of a chunk');
      const out = join(fx.dir, 'out');
      await fx.repo.restore({ locator: second.locator, targetPath: out, targetIsFresh: true });
      assert.equal(await sha256File(out), await sha256File(src));
    } finally {
      await fx.cleanup();
    }
  });

  test('gc on S3 during a backup that reuses old unreferenced chunks: after both, the backup restores byte-exact and verify is clean', async () => {
    const fx = await fixture();
    try {
      const a = randomBytes(4 * MiB);
      const b = randomBytes(4 * MiB);
      const old = join(fx.dir, 'old');
      await writeFile(old, Buffer.concat([a, b]));
      const oldBackup = await fx.repo.backup({ id: 'old', container: 'c', sourcePath: old });
      // Chunks a and b are now referenced by nothing, and older than anything that starts from here.
      assert.equal(await fx.repo.deleteManifest(oldBackup.locator), true);
      const oldChunks: string[] = [];
      for await (const o of fx.store.list('chunks/')) oldChunks.push(o.key);
      assert.equal(oldChunks.length, 2);

      // The new volume starts with a (taken from the index, no request) and ends with b.
      const src = join(fx.dir, 'vol');
      await writeFile(src, Buffer.concat([a, randomBytes(24 * MiB), b]));
      fx.chunkRequests.length = 0;
      let gcRun: Promise<GcResult> | undefined;
      const r = await fx.repo.backup({
        id: 'new',
        container: 'c',
        sourcePath: src,
        onProgress: (p) => {
          if (gcRun === undefined && p.bytesDone >= 4 * MiB) gcRun = fx.repo.gc({ graceMs: 0 });
        },
      });
      assert.ok(gcRun, 'gc ran during the backup');
      const gc = await gcRun;
      assert.ok(gc.deleted <= 1, `gc deleted ${gc.deleted}: at most b, and only before the backup reached it (${fx.chunkRequests.join(', ')}; old ${oldChunks.join(', ')})`);
      const aKey = oldChunks.find((k) => !fx.chunkRequests.some((req) => req.endsWith(k)));
      assert.ok(aKey, `one old chunk was taken from the index without a request (${fx.chunkRequests.join(', ')})`);
      assert.notEqual(await fx.store.head(aKey), null, 'the reused chunk survived gc');

      const out = join(fx.dir, 'out');
      await fx.repo.restore({ locator: r.locator, targetPath: out, targetIsFresh: true });
      assert.equal(await sha256File(out), await sha256File(src));
      const v = await fx.repo.verify({ full: true });
      assert.deepEqual(v.problems, []);
      assert.equal(v.manifests, 1);
      // A second gc after both: nothing the backup references goes.
      assert.equal((await fx.repo.gc({ graceMs: 0 })).deleted, 0);
      assert.deepEqual((await fx.repo.verify({})).problems, []);
    } finally {
      await fx.cleanup();
    }
  });

  test('verify and gc on S3 page through listings (page size 2)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cbx-s3-pages-'));
    const store = await freshS3Store({ listPageSize: 2 });
    const repo = await openBackupRepository({ dataDir: dir, backupKey: null }, { create: true, store });
    try {
      const src = join(dir, 'vol');
      await writeFile(src, randomBytes(20 * MiB));
      const keep = await repo.backup({ id: 'keep', container: 'c', sourcePath: src });
      const kept = await sha256File(src);
      await writeFile(src, randomBytes(12 * MiB));
      const drop = await repo.backup({ id: 'drop', container: 'c', sourcePath: src });
      await repo.deleteManifest(drop.locator);
      const gc = await repo.gc({ graceMs: 0 });
      assert.equal(gc.chunks, 8);
      assert.equal(gc.deleted, 3);
      const v = await repo.verify({ full: true });
      assert.deepEqual(v.problems, []);
      assert.equal(v.chunks, 5);
      assert.equal(v.manifests, 1);
      const out = join(dir, 'out');
      await repo.restore({ locator: keep.locator, targetPath: out, targetIsFresh: true });
      assert.equal(await sha256File(out), kept);
    } finally {
      await repo.close();
      await emptyAndClose(store);
      await rm(dir, { recursive: true, force: true });
    }
  });
}
