/**
 * Restore reads the chunk files of an fs repository on another device than the target inside the chunk workers,
 * and any other chunk (same device, or another store) on the main thread: every path must give the same bytes
 * and the same errors. (OpenOptions.workerFetch turns the first on.)
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ObjectStore } from '../domain/ports/object-store.js';
import { FsObjectStore } from '../drivers/objects/fs/fs-object-store.js';
import { isRepoError, type RepoError } from './errors.js';
import { BackupRepository } from './repository.js';
import { listKeys, MiB, randomBytes, textish } from './test-support/fixtures.js';

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

/** A store that counts the main thread's chunk reads. */
function counting(root: string): { store: FsObjectStore; gets: () => number } {
  const store = new FsObjectStore(root);
  let gets = 0;
  const getInto = store.getInto.bind(store);
  store.getInto = (key, into) => {
    gets++;
    return getInto(key, into);
  };
  return { store, gets: () => gets };
}

const work = await mkdtemp(join(tmpdir(), 'cbx-restore-fetch-'));
/** A tmpfs: another device than tmpdir() wherever both exist as usual. */
const shm = existsSync('/dev/shm') ? await mkdtemp('/dev/shm/cbx-restore-fetch-') : undefined;
const skip =
  shm === undefined || (await stat(shm)).dev === (await stat(work)).dev
    ? 'needs /dev/shm on another device than the temp directory'
    : false;
test.after(async () => {
  await rm(work, { recursive: true, force: true });
  if (shm) await rm(shm, { recursive: true, force: true });
});

test('restore byte-exact from another device (worker fetch), the same device and through the port only', { skip }, async () => {
  const src = join(work, 'src-a');
  // Compressed, stored-raw, zero and a short last chunk.
  const data = Buffer.concat([textish(2 * MiB, 1), randomBytes(MiB), Buffer.alloc(MiB), randomBytes(MiB / 2 + 1)]);
  await writeFile(src, data);
  const far = counting(join(shm as string, 'repo-a'));
  const repo = await BackupRepository.open({ store: far.store, workers: 2, chunkSize: MiB, workerFetch: true });
  const near = counting(join(work, 'repo-a'));
  const sameDev = await BackupRepository.open({ store: near.store, workers: 2, chunkSize: MiB, workerFetch: true });
  const remote = await BackupRepository.open({ store: remoteLike(far.store), workers: 2, create: false });
  try {
    const r = await repo.backup({ id: 'b', container: 'c', sourcePath: src });
    const out = join(work, 'out-a');
    await repo.restore({ locator: r.locator, targetPath: out, targetIsFresh: true });
    assert.ok((await readFile(out)).equals(data));
    assert.equal(far.gets(), 0, 'another device: the workers read the chunks');
    assert.equal(repo.restoreProfile.chunks, 4, 'the zero chunk is not fetched');
    assert.ok(repo.restoreProfile.fetchMs > 0, 'the workers report their fetch time');

    const r2 = await sameDev.backup({ id: 'b', container: 'c', sourcePath: src });
    await rm(out);
    await sameDev.restore({ locator: r2.locator, targetPath: out, targetIsFresh: true });
    assert.ok((await readFile(out)).equals(data));
    assert.equal(near.gets(), 4, 'same device: the main thread reads the chunks');

    await rm(out);
    await remote.restore({ locator: r.locator, targetPath: out, targetIsFresh: true });
    assert.ok((await readFile(out)).equals(data));

    const byDefault = await BackupRepository.open({ store: far.store, workers: 2, create: false });
    try {
      await rm(out);
      await byDefault.restore({ locator: r.locator, targetPath: out, targetIsFresh: true });
      assert.ok((await readFile(out)).equals(data));
      assert.equal(far.gets(), 4, 'without workerFetch the main thread reads the chunks');
    } finally {
      await byDefault.close();
    }
  } finally {
    await Promise.all([repo.close(), sameDev.close(), remote.close()]);
  }
});

test('worker fetch: a missing chunk is CHUNK_MISSING, an oversized or empty one CHUNK_CORRUPT, no wrong byte written', { skip }, async () => {
  const src = join(work, 'src-b');
  const data = Buffer.concat([textish(MiB, 2), randomBytes(MiB)]);
  await writeFile(src, data);
  const root = join(shm as string, 'repo-b');
  const { store, gets } = counting(root);
  const repo = await BackupRepository.open({ store, workers: 2, chunkSize: MiB, workerFetch: true });
  try {
    const r = await repo.backup({ id: 'b', container: 'c', sourcePath: src });
    const key = (await listKeys(store, 'chunks/'))[0] as string;
    const id = key.split('/')[2] as string;
    const file = join(root, ...key.split('/'));
    const good = await readFile(file);
    const out = join(work, 'out-b');
    for (const [bad, code] of [
      [Buffer.concat([good, randomBytes(MiB + 4096)]), 'CHUNK_CORRUPT'],
      [Buffer.alloc(0), 'CHUNK_CORRUPT'],
      [undefined, 'CHUNK_MISSING'],
    ] as const) {
      if (bad) await writeFile(file, bad);
      else await rm(file);
      await writeFile(out, '');
      await assert.rejects(
        repo.restore({ locator: r.locator, targetPath: out, targetIsFresh: true }),
        (e: unknown) => isRepoError(e, code) && (e as RepoError).chunkId === id,
        `${bad?.length ?? 'no'} bytes`,
      );
      const got = await readFile(out);
      for (let off = 0; off < got.length; off += MiB) {
        const part = got.subarray(off, off + MiB);
        assert.ok(part.every((b) => b === 0) || part.equals(data.subarray(off, off + part.length)));
      }
    }
    assert.equal(gets(), 0);
  } finally {
    await repo.close();
  }
});
