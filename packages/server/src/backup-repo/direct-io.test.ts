import assert from 'node:assert/strict';
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { chunkWorkerAddon } from '../backup-repo-open.js';
import { MiB, randomBytes, repoFixture, sha256File, textish, writeSparse } from './test-support/fixtures.js';

const addon = chunkWorkerAddon();
const skip = addon.sparseAddon ? false : 'the sparse-io addon is not built (npm run setup builds it)';

/** Compressible, random (stored raw) and hole chunks, and a tail that is not a whole number of 4 KiB blocks. */
async function mixedSource(path: string): Promise<number> {
  const size = 7 * MiB + 1234;
  await writeSparse(path, size, [
    { offset: 0, data: textish(2 * MiB, 3) },
    { offset: 2 * MiB, data: randomBytes(MiB) },
    { offset: 5 * MiB, data: textish(MiB, 4) },
    { offset: 7 * MiB, data: randomBytes(1234) },
  ]);
  return size;
}

test('direct I/O: backup and restore bypass the page cache and round-trip byte-exact', { skip }, async () => {
  const fx = await repoFixture(addon);
  try {
    const src = join(fx.dir, 'src');
    const size = await mixedSource(src);
    const r = await fx.repo.backup({ id: 'd', container: 'c', sourcePath: src });
    assert.equal(r.directIo, true);
    assert.equal(r.stats.logicalBytes, size);
    assert.equal(r.stats.zeroChunks, 3);
    assert.ok(r.stats.codecs && r.stats.codecs.raw >= 1 && r.stats.codecs.raw < r.stats.newChunks);

    const fresh = join(fx.dir, 'fresh');
    const restored = await fx.repo.restore({ locator: r.locator, targetPath: fresh, targetIsFresh: true });
    assert.equal(restored.directIo, true);
    assert.equal(await sha256File(fresh), await sha256File(src));

    // An existing target full of other bytes, larger than the backup: zeros must overwrite, the tail stays.
    const existing = join(fx.dir, 'existing');
    const old = randomBytes(size + MiB);
    await writeFile(existing, old);
    await fx.repo.restore({ locator: r.locator, targetPath: existing, targetIsFresh: false });
    const fh = await open(existing, 'r');
    try {
      const got = Buffer.alloc(size + MiB);
      await fh.read(got, 0, got.length, 0);
      const want = Buffer.alloc(size);
      const sfh = await open(src, 'r');
      await sfh.read(want, 0, size, 0);
      await sfh.close();
      assert.ok(got.subarray(0, size).equals(want), 'the backup range holds exactly the backup');
      assert.ok(got.subarray(size).equals(old.subarray(size)), 'bytes past the backup are untouched');
    } finally {
      await fh.close();
    }
    assert.equal((await fx.repo.verify({ full: true })).ok, true);
  } finally {
    await fx.cleanup();
  }
});

test('direct I/O off (directIo: false, or no addon): buffered reads and writes give the same bytes', async () => {
  for (const opts of [addon, {}]) {
    const fx = await repoFixture(opts);
    try {
      const src = join(fx.dir, 'src');
      await mixedSource(src);
      const r = await fx.repo.backup({ id: 'b', container: 'c', sourcePath: src, directIo: false });
      assert.equal(r.directIo, false);
      const out = join(fx.dir, 'out');
      const restored = await fx.repo.restore({
        locator: r.locator,
        targetPath: out,
        targetIsFresh: true,
        directIo: false,
      });
      assert.equal(restored.directIo, false);
      assert.equal(await sha256File(out), await sha256File(src));
      if (!opts.sparseAddon) {
        // Without aligned memory the repository never opens O_DIRECT descriptors, even when asked.
        const again = await fx.repo.backup({ id: 'b2', container: 'c', sourcePath: src });
        assert.equal(again.directIo, false);
        assert.equal(again.stats.newChunks, 0, 'the same chunks, already stored');
      }
    } finally {
      await fx.cleanup();
    }
  }
});
