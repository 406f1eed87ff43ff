import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { listKeys, MiB, randomBytes, repoFixture, sha256File, textish } from './test-support/fixtures.js';

async function twoRepos(destOpts: Parameters<typeof repoFixture>[0] = {}) {
  const a = await repoFixture();
  const b = await repoFixture(destOpts).catch(async (e: unknown) => {
    await a.cleanup();
    throw e;
  });
  return { a, b, cleanup: async () => (await a.cleanup(), await b.cleanup()) };
}

for (const kind of ['same format (raw objects)', 'encrypted destination (re-encoded)'] as const) {
  const raw = kind.startsWith('same');
  test(`copyTo, ${kind}: the copy restores byte-exact without the source, and a second copy writes only new chunks`, async () => {
    const { a, b, cleanup } = await twoRepos(raw ? {} : { key: Buffer.alloc(32, 7) });
    try {
      const src = join(a.dir, 'vol');
      const v1 = Buffer.concat([randomBytes(3 * MiB), textish(2 * MiB, 3)]);
      await writeFile(src, v1);
      const b1 = await a.repo.backup({ id: 'b1', container: 'c', sourcePath: src });
      const c1 = await a.repo.copyTo(b.repo, b1.locator, { container: 'r', id: 'c1', scratchDir: b.dir });
      assert.equal(c1.raw, raw);
      assert.equal(c1.stats.newChunks, 5);
      assert.equal((await listKeys(b.store, 'chunks/')).length, 5);

      // One chunk changes: the next copy puts one chunk into the destination.
      randomBytes(MiB).copy(v1, 2 * MiB);
      await writeFile(src, v1);
      const b2 = await a.repo.backup({ id: 'b2', container: 'c', sourcePath: src, parent: b1.locator });
      assert.equal(b2.stats.newChunks, 1);
      const c2 = await a.repo.copyTo(b.repo, b2.locator, { container: 'r', id: 'c2', parent: c1.locator, scratchDir: b.dir });
      assert.equal(c2.stats.newChunks, 1);
      assert.equal(c2.stats.reusedChunks, 4);
      assert.equal((await listKeys(b.store, 'chunks/')).length, 6);

      // The source repository is gone; the copies are complete backups on their own.
      await rm(a.repoDir, { recursive: true, force: true });
      const out = join(b.dir, 'out');
      await b.repo.restore({ locator: c2.locator, targetPath: out, targetIsFresh: true });
      assert.equal(await sha256File(out), await sha256File(src));
      assert.equal((await b.repo.verify({ full: true })).ok, true);
      await assert.rejects(
        a.repo.copyTo(b.repo, b2.locator, { container: 'r', id: 'c3', scratchDir: b.dir }),
        (e: Error) => /not found|ENOENT/.test(e.message),
      );
      assert.deepEqual(await listKeys(b.store, 'backups/'), ['backups/r/c1.manifest', 'backups/r/c2.manifest']);
    } finally {
      await cleanup();
    }
  });
}

test('copyTo refuses an existing destination backup and a copy into the same repository', async () => {
  const { a, b, cleanup } = await twoRepos();
  try {
    const src = join(a.dir, 'vol');
    await writeFile(src, randomBytes(MiB));
    const b1 = await a.repo.backup({ id: 'b1', container: 'c', sourcePath: src });
    await a.repo.copyTo(b.repo, b1.locator, { container: 'r', id: 'c1', scratchDir: b.dir });
    await assert.rejects(a.repo.copyTo(b.repo, b1.locator, { container: 'r', id: 'c1', scratchDir: b.dir }), { code: 'EXISTS' });
    await assert.rejects(a.repo.copyTo(a.repo, b1.locator, { container: 'r', id: 'c2', scratchDir: a.dir }), { code: 'INVALID_ARGUMENT' });
  } finally {
    await cleanup();
  }
});
