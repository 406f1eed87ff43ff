/**
 * Restore reads chunk objects of a local (fs) store inside the chunk workers, and those of any other store on the
 * main thread: both paths must give the same bytes and the same errors.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ObjectStore } from '../domain/ports/object-store.js';
import { isRepoError, type RepoError } from './errors.js';
import { BackupRepository } from './repository.js';
import { listKeys, MiB, randomBytes, repoFixture, textish } from './test-support/fixtures.js';

/** The fs store seen through the ObjectStore port only (no localPath, no getInto), as an S3 store is. */
function remoteLike(store: ObjectStore): ObjectStore {
  return {
    description: `remote-like ${store.description}`,
    put: (k, d, o) => store.put(k, d, o),
    get: (k) => store.get(k),
    getStream: (k) => store.getStream(k),
    head: (k) => store.head(k),
    list: (p) => store.list(p),
    delete: (k) => store.delete(k),
    touch: (k) => store.touch(k),
    flush: () => store.flush(),
    sweepTemporaries: () => store.sweepTemporaries(),
  };
}

test('restore from a local store (worker fetch) and through the port only (main-thread fetch) are byte-exact', async () => {
  const fx = await repoFixture();
  try {
    const src = join(fx.dir, 'src');
    // Compressed, stored-raw, zero and a short last chunk.
    const data = Buffer.concat([textish(2 * MiB, 1), randomBytes(MiB), Buffer.alloc(MiB), randomBytes(MiB / 2 + 1)]);
    await writeFile(src, data);
    const r = await fx.repo.backup({ id: 'b', container: 'c', sourcePath: src });
    const local = join(fx.dir, 'local');
    await fx.repo.restore({ locator: r.locator, targetPath: local, targetIsFresh: true });
    assert.ok((await readFile(local)).equals(data));
    assert.equal(fx.repo.restoreProfile.chunks, 4, 'the zero chunk is not fetched');
    assert.ok(fx.repo.restoreProfile.fetchMs > 0, 'the workers report their fetch time');
    const other = await BackupRepository.open({ store: remoteLike(fx.store), workers: 2, create: false });
    try {
      const remote = join(fx.dir, 'remote');
      await other.restore({ locator: r.locator, targetPath: remote, targetIsFresh: true });
      assert.ok((await readFile(remote)).equals(data));
    } finally {
      await other.close();
    }
  } finally {
    await fx.cleanup();
  }
});

test('a chunk object larger than any chunk object, or emptied, fails a worker-fetched restore as CHUNK_CORRUPT', async () => {
  const fx = await repoFixture();
  try {
    const src = join(fx.dir, 'src');
    const data = Buffer.concat([textish(MiB, 2), randomBytes(MiB)]);
    await writeFile(src, data);
    const r = await fx.repo.backup({ id: 'b', container: 'c', sourcePath: src });
    const key = (await listKeys(fx.store, 'chunks/'))[0] as string;
    const id = key.split('/')[2] as string;
    const file = join(fx.repoDir, ...key.split('/'));
    const good = await readFile(file);
    for (const bad of [Buffer.concat([good, randomBytes(MiB + 4096)]), Buffer.alloc(0)]) {
      await writeFile(file, bad);
      const out = join(fx.dir, 'out');
      await writeFile(out, '');
      await assert.rejects(
        fx.repo.restore({ locator: r.locator, targetPath: out, targetIsFresh: true }),
        (e: unknown) => isRepoError(e, 'CHUNK_CORRUPT') && (e as RepoError).chunkId === id,
        `${bad.length} bytes`,
      );
      const got = await readFile(out);
      for (let off = 0; off < got.length; off += MiB) {
        const part = got.subarray(off, off + MiB);
        assert.ok(part.every((b) => b === 0) || part.equals(data.subarray(off, off + part.length)));
      }
    }
  } finally {
    await fx.cleanup();
  }
});
