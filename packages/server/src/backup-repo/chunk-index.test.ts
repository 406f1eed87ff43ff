/**
 * The node-local chunk index on the filesystem store: chunks the store holds are not offered to it again, the
 * index is rebuilt from the store when missing or stale (another node's gc, another copy of the store), and it can
 * never make a backup reference a chunk the store lacks.
 */
import assert from 'node:assert/strict';
import { cp, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { PutOptions, PutResult } from '../domain/ports/object-store.js';
import { FsObjectStore } from '../drivers/objects/fs/fs-object-store.js';
import { ChunkIndex } from './chunk-index.js';
import { GC_EPOCH_KEY } from './gc-epoch.js';
import { BackupRepository } from './repository.js';
import { listKeys, MiB, randomBytes, repoFixture, sha256File, textish } from './test-support/fixtures.js';

/** A filesystem store that counts chunk puts (this test is about what the repository asks the store). */
class CountingStore extends FsObjectStore {
  chunkPuts = 0;
  override async put(key: string, data: Uint8Array, opts?: PutOptions): Promise<PutResult> {
    if (key.startsWith('chunks/')) this.chunkPuts++;
    return super.put(key, data, opts);
  }
}

async function indexed(dir: string, storeDir: string, indexDir = join(dir, 'index')) {
  const store = new CountingStore(storeDir);
  const repo = await BackupRepository.open({ store, workers: 2, chunkSize: MiB, indexDir });
  return { store, repo };
}

test('with a chunk index, a backup of chunks the store already holds offers none of them to the store', async () => {
  const fx = await repoFixture();
  const { store, repo } = await indexed(fx.dir, fx.repoDir);
  try {
    const src = join(fx.dir, 'src');
    await writeFile(src, Buffer.concat([textish(2 * MiB, 1), randomBytes(2 * MiB)]));
    const first = await repo.backup({ id: 'a', container: 'c', sourcePath: src });
    assert.equal(first.stats.newChunks, 4);
    assert.equal(store.chunkPuts, 4);
    // Another container, no parent: without the index every chunk would be put (and found existing).
    const second = await repo.backup({ id: 'b', container: 'other', sourcePath: src });
    assert.equal(store.chunkPuts, 4, 'no chunk put for chunks the index knows');
    assert.equal(second.stats.reusedChunks, 4);
    const out = join(fx.dir, 'out');
    await repo.restore({ locator: second.locator, targetPath: out, targetIsFresh: true });
    assert.equal(await sha256File(out), await sha256File(src));
  } finally {
    await repo.close();
    await fx.cleanup();
  }
});

test('a missing index file is rebuilt from the store listing at the next backup', async () => {
  const fx = await repoFixture();
  const indexDir = join(fx.dir, 'index');
  let { store, repo } = await indexed(fx.dir, fx.repoDir, indexDir);
  try {
    const src = join(fx.dir, 'src');
    await writeFile(src, randomBytes(3 * MiB));
    await repo.backup({ id: 'a', container: 'c', sourcePath: src });
    await repo.close();
    await rm(indexDir, { recursive: true, force: true });
    ({ store, repo } = await indexed(fx.dir, fx.repoDir, indexDir));
    await repo.backup({ id: 'b', container: 'c', sourcePath: src });
    assert.equal(store.chunkPuts, 0, 'the rebuilt index knows the chunks');
  } finally {
    await repo.close();
    await fx.cleanup();
  }
});

test('another node’s gc deletes a chunk this node’s index lists: the epoch changes, the index is rebuilt, the chunk written again', async () => {
  const fx = await repoFixture();
  const a = await indexed(fx.dir, fx.repoDir, join(fx.dir, 'index-a'));
  const b = await indexed(fx.dir, fx.repoDir, join(fx.dir, 'index-b'));
  try {
    const src = join(fx.dir, 'src');
    await writeFile(src, randomBytes(2 * MiB));
    const first = await a.repo.backup({ id: 'one', container: 'c', sourcePath: src });
    // Node B deletes the only manifest and collects: the chunks are gone, node A's index still lists them.
    await b.repo.deleteManifest(first.locator);
    assert.equal((await b.repo.gc({ graceMs: 0 })).deleted, 2);
    const again = await a.repo.backup({ id: 'two', container: 'c', sourcePath: src });
    assert.equal(again.stats.newChunks, 2, 'written again, not taken from the stale index');
    const v = await a.repo.verify({ full: true });
    assert.deepEqual(v.problems, []);
  } finally {
    await a.repo.close();
    await b.repo.close();
    await fx.cleanup();
  }
});

test('an index built for one copy of a repository is not used for another copy', async () => {
  const fx = await repoFixture();
  const indexDir = join(fx.dir, 'index');
  const a = await indexed(fx.dir, fx.repoDir, indexDir);
  const copyDir = join(fx.dir, 'copy');
  let copy: Awaited<ReturnType<typeof indexed>> | undefined;
  try {
    const src = join(fx.dir, 'src');
    await writeFile(src, randomBytes(2 * MiB));
    await a.repo.backup({ id: 'one', container: 'c', sourcePath: src });
    // The copy has the same repository id and gc epoch, but lost a chunk.
    await cp(fx.repoDir, copyDir, { recursive: true });
    const [victim] = await listKeys(a.store, 'chunks/');
    await unlink(join(copyDir, ...(victim as string).split('/')));
    copy = await indexed(fx.dir, copyDir, indexDir);
    const r = await copy.repo.backup({ id: 'two', container: 'c', sourcePath: src });
    assert.equal(r.stats.newChunks, 1);
    assert.deepEqual((await copy.repo.verify({ locators: [r.locator] })).problems, []);
  } finally {
    await a.repo.close();
    await copy?.repo.close();
    await fx.cleanup();
  }
});

test('gc keeps the index exact and defers deletions while another process’s backup holds a lease', async () => {
  const fx = await repoFixture();
  const indexDir = join(fx.dir, 'index');
  const { store, repo } = await indexed(fx.dir, fx.repoDir, indexDir);
  try {
    const src = join(fx.dir, 'src');
    await writeFile(src, randomBytes(3 * MiB));
    const r = await repo.backup({ id: 'one', container: 'c', sourcePath: src });
    await repo.deleteManifest(r.locator);
    // A lease as another node's running backup writes it.
    await store.put('locks/leases/c/elsewhere', Buffer.from(JSON.stringify({ startedAt: Date.now() + 1000 })));
    const held = await repo.gc({ graceMs: 0 });
    assert.equal(held.deleted, 0);
    assert.equal(held.keptInGrace, 3);
    assert.notEqual(await store.head(GC_EPOCH_KEY), null, 'gc published its epoch');
    await store.delete('locks/leases/c/elsewhere');
    const gc = await repo.gc({ graceMs: 0 });
    assert.equal(gc.deleted, 3);
    await repo.close();
    // The index this repository kept: empty like the store.
    const config = JSON.parse((await store.get('config')).toString('utf8')) as { repoId: string };
    const index = ChunkIndex.open(indexDir, config.repoId, store.description);
    try {
      assert.equal(index.count(), 0);
    } finally {
      index.close();
    }
    const reopened = await indexed(fx.dir, fx.repoDir, indexDir);
    try {
      const again = await reopened.repo.backup({ id: 'two', container: 'c', sourcePath: src });
      assert.equal(again.stats.newChunks, 3);
      assert.equal(reopened.store.chunkPuts, 3);
    } finally {
      await reopened.repo.close();
    }
  } finally {
    await repo.close();
    await fx.cleanup();
  }
});

/** A filesystem store whose chunk listing waits until `release()`: gc paused between its mark and sweep phases. */
class PausedListingStore extends FsObjectStore {
  private gate: Promise<void> | undefined;
  release: () => void = () => {};
  listing = false;
  pause(): void {
    this.gate = new Promise((r) => {
      this.release = r;
    });
  }
  override async *list(prefix: string) {
    if (prefix === 'chunks/' && this.gate) {
      this.listing = true;
      await this.gate;
    }
    yield* super.list(prefix);
  }
}

test('a backup that takes old unreferenced chunks from the index and commits while gc is between mark and sweep: gc keeps them', async () => {
  const fx = await repoFixture();
  const store = new PausedListingStore(fx.repoDir);
  const repo = await BackupRepository.open({ store, workers: 2, chunkSize: MiB, indexDir: join(fx.dir, 'index') });
  try {
    const src = join(fx.dir, 'src');
    await writeFile(src, randomBytes(3 * MiB));
    const old = await repo.backup({ id: 'old', container: 'c', sourcePath: src });
    await repo.deleteManifest(old.locator);
    store.pause();
    const gc = repo.gc({ graceMs: 0 });
    while (!store.listing) await new Promise((r) => setTimeout(r, 5));
    // gc has listed the manifests (none) and waits to sweep: the backup reuses all three chunks and commits.
    const r = await repo.backup({ id: 'new', container: 'c', sourcePath: src });
    assert.equal(r.stats.reusedChunks, 3);
    store.release();
    assert.equal((await gc).deleted, 0);
    const out = join(fx.dir, 'out');
    await repo.restore({ locator: r.locator, targetPath: out, targetIsFresh: true });
    assert.equal(await sha256File(out), await sha256File(src));
  } finally {
    await repo.close();
    await fx.cleanup();
  }
});

test('a damaged index file is dropped and rebuilt from the store', async () => {
  const fx = await repoFixture();
  const indexDir = join(fx.dir, 'index');
  let { store, repo } = await indexed(fx.dir, fx.repoDir, indexDir);
  try {
    const src = join(fx.dir, 'src');
    await writeFile(src, randomBytes(2 * MiB));
    await repo.backup({ id: 'a', container: 'c', sourcePath: src });
    await repo.close();
    const { readdir } = await import('node:fs/promises');
    for (const f of await readdir(indexDir)) await writeFile(join(indexDir, f), 'not a database, not at all '.repeat(200));
    ({ store, repo } = await indexed(fx.dir, fx.repoDir, indexDir));
    const r = await repo.backup({ id: 'b', container: 'c', sourcePath: src });
    assert.equal(r.stats.reusedChunks, 2);
    assert.equal(store.chunkPuts, 0, 'rebuilt from the listing');
  } finally {
    await repo.close();
    await fx.cleanup();
  }
});
