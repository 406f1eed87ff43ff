import assert from 'node:assert/strict';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { isRepoError } from './errors.js';
import { listKeys, MiB, randomBytes, repoFixture, sha256File, textish, writeSparse } from './test-support/fixtures.js';

test('random data round-trips byte-exact and every chunk is stored new', async () => {
  const fx = await repoFixture();
  try {
    const src = join(fx.dir, 'src');
    await writeFile(src, randomBytes(6 * MiB));
    const progress: number[] = [];
    const r = await fx.repo.backup({
      id: 'b1',
      container: 'c',
      sourcePath: src,
      onProgress: (p) => progress.push(p.bytesDone),
    });
    assert.equal(r.locator, 'c/b1');
    assert.equal(r.stats.chunks, 6);
    assert.equal(r.stats.newChunks, 6);
    assert.equal(r.stats.zeroChunks, 0);
    assert.ok(r.stats.storedBytes >= 6 * MiB, 'random data is stored raw, not expanded by a failed compression');
    assert.ok(r.stats.storedBytes < 6 * MiB + 6 * 100);
    assert.equal(progress.at(-1), 6 * MiB);
    const out = join(fx.dir, 'out');
    await fx.repo.restore({ locator: r.locator, targetPath: out, targetIsFresh: true });
    assert.equal(await sha256File(out), await sha256File(src));
    assert.equal((await listKeys(fx.store, 'chunks/')).length, 6);
  } finally {
    await fx.cleanup();
  }
});

test('a mostly-holes sparse file: holes are never read or stored, and the restored file stays sparse', async () => {
  const fx = await repoFixture();
  try {
    const src = join(fx.dir, 'sparse');
    const size = 32 * MiB;
    const parts = [
      { offset: 3 * MiB + 4096, data: textish(200_000, 1) },
      { offset: 20 * MiB, data: randomBytes(MiB) },
    ];
    await writeSparse(src, size, parts);
    const allocatedExtents = parts.map((p) => ({ offset: p.offset, length: p.data.length }));
    const r = await fx.repo.backup({ id: 'sparse', container: 'c', sourcePath: src, allocatedExtents });
    assert.equal(r.stats.chunks, 32);
    assert.equal(r.stats.zeroChunks, 30);
    assert.equal(r.stats.newChunks, 2);
    assert.equal(r.stats.readBytes, 2 * MiB, 'only the two chunks with data are read');
    assert.ok(r.stats.storedBytes < MiB + 200_000, 'the text chunk is compressed');
    const out = join(fx.dir, 'out');
    await fx.repo.restore({ locator: r.locator, targetPath: out, targetIsFresh: true });
    assert.equal(await sha256File(out), await sha256File(src));
    const st = await stat(out);
    assert.equal(st.size, size);
    assert.ok(st.blocks * 512 <= 3 * MiB, `restored file allocates ${st.blocks * 512} bytes`);
  } finally {
    await fx.cleanup();
  }
});

test('an all-zero volume stores nothing and restores as zeros', async () => {
  const fx = await repoFixture();
  try {
    const src = join(fx.dir, 'zero');
    await writeFile(src, Buffer.alloc(5 * MiB));
    const r = await fx.repo.backup({ id: 'z', container: 'c', sourcePath: src });
    assert.equal(r.stats.zeroChunks, 5);
    assert.equal(r.stats.newChunks + r.stats.reusedChunks, 0);
    assert.equal(r.stats.storedBytes, 0);
    assert.deepEqual(await listKeys(fx.store, 'chunks/'), []);
    const out = join(fx.dir, 'out');
    await fx.repo.restore({ locator: r.locator, targetPath: out, targetIsFresh: true });
    assert.equal(await sha256File(out), await sha256File(src));
  } finally {
    await fx.cleanup();
  }
});

test('a size that is not a multiple of the 4 MiB chunk size round-trips (default chunk size)', async () => {
  const fx = await repoFixture({ chunkSize: 4 * MiB });
  try {
    assert.equal(fx.repo.chunkSize, 4 * MiB);
    const src = join(fx.dir, 'odd');
    await writeFile(src, Buffer.concat([textish(5 * MiB, 2), randomBytes(4 * MiB + 12345)]));
    const r = await fx.repo.backup({ id: 'odd', container: 'c', sourcePath: src });
    assert.equal(r.stats.chunks, 3);
    assert.equal(r.stats.logicalBytes, 9 * MiB + 12345);
    const out = join(fx.dir, 'out');
    await fx.repo.restore({ locator: r.locator, targetPath: out, targetIsFresh: true });
    assert.equal((await stat(out)).size, 9 * MiB + 12345);
    assert.equal(await sha256File(out), await sha256File(src));
    assert.equal((await fx.repo.verify({ full: true })).ok, true);
  } finally {
    await fx.cleanup();
  }
});

test('incremental with changed extents reads only changed chunks; parent and child both restore alone', async () => {
  const fx = await repoFixture();
  try {
    const src = join(fx.dir, 'vol');
    await writeFile(src, Buffer.concat([textish(8 * MiB, 3), randomBytes(4 * MiB)]));
    const parentCopy = join(fx.dir, 'vol-at-parent');
    await writeFile(parentCopy, await readFile(src));
    const full = await fx.repo.backup({ id: 'full', container: 'c', sourcePath: src });
    // Change 4 KiB in chunk 2 and 100 bytes straddling chunks 9/10.
    const vol = await readFile(src);
    randomBytes(4096).copy(vol, 2 * MiB + 500);
    randomBytes(100).copy(vol, 10 * MiB - 50);
    await writeFile(src, vol);
    const changedExtents = [
      { offset: 2 * MiB + 500, length: 4096 },
      { offset: 10 * MiB - 50, length: 100 },
    ];
    const inc = await fx.repo.backup({
      id: 'inc',
      container: 'c',
      sourcePath: src,
      parent: full.locator,
      changedExtents,
    });
    assert.equal(inc.stats.readBytes, 3 * MiB, 'chunks 2, 9 and 10 only');
    assert.equal(inc.stats.newChunks, 3);
    assert.equal(inc.stats.reusedChunks, 9);
    assert.equal(inc.header.parent, 'c/full');
    const out = join(fx.dir, 'out-inc');
    await fx.repo.restore({ locator: inc.locator, targetPath: out, targetIsFresh: true });
    assert.equal(await sha256File(out), await sha256File(src));
    // Deleting the parent must not break the child: every manifest is complete.
    assert.equal(await fx.repo.deleteManifest(full.locator), true);
    await rm(out);
    await fx.repo.restore({ locator: inc.locator, targetPath: out, targetIsFresh: true });
    assert.equal(await sha256File(out), await sha256File(src));
  } finally {
    await fx.cleanup();
  }
});

test('incremental with a parent but without changed extents compares hashes and stores only what changed', async () => {
  const fx = await repoFixture();
  try {
    const src = join(fx.dir, 'vol');
    await writeFile(src, textish(6 * MiB, 4));
    const full = await fx.repo.backup({ id: 'full', container: 'c', sourcePath: src });
    const vol = await readFile(src);
    randomBytes(10).copy(vol, 4 * MiB + 7);
    await writeFile(src, vol);
    const inc = await fx.repo.backup({ id: 'inc', container: 'c', sourcePath: src, parent: full.locator });
    assert.equal(inc.stats.readBytes, 6 * MiB);
    assert.equal(inc.stats.newChunks, 1);
    assert.equal(inc.stats.reusedChunks, 5);
    const out = join(fx.dir, 'out');
    await fx.repo.restore({ locator: inc.locator, targetPath: out, targetIsFresh: true });
    assert.equal(await sha256File(out), await sha256File(src));
  } finally {
    await fx.cleanup();
  }
});

test('dedup across volumes and containers: a second backup of the same data stores nothing', async () => {
  const fx = await repoFixture();
  try {
    const a = join(fx.dir, 'a');
    const b = join(fx.dir, 'b');
    const data = Buffer.concat([textish(3 * MiB, 5), randomBytes(2 * MiB)]);
    await writeFile(a, data);
    await writeFile(b, data);
    const first = await fx.repo.backup({ id: 'a', container: 'one', sourcePath: a });
    const second = await fx.repo.backup({ id: 'b', container: 'two', sourcePath: b });
    assert.equal(first.stats.newChunks, 5);
    assert.equal(second.stats.newChunks, 0);
    assert.equal(second.stats.reusedChunks, 5);
    assert.equal(second.stats.storedBytes, 0);
    assert.equal((await listKeys(fx.store, 'chunks/')).length, 5);
    assert.deepEqual(await listKeys(fx.store, 'backups/'), ['backups/one/a.manifest', 'backups/two/b.manifest']);
  } finally {
    await fx.cleanup();
  }
});

test('restore into an existing file full of random bytes leaves exactly the backup (zeros included)', async () => {
  const fx = await repoFixture();
  try {
    const src = join(fx.dir, 'mostly-zero');
    await writeSparse(src, 12 * MiB, [{ offset: 5 * MiB + 100, data: textish(300_000, 6) }]);
    const r = await fx.repo.backup({
      id: 'mz',
      container: 'c',
      sourcePath: src,
      allocatedExtents: [{ offset: 5 * MiB, length: MiB }],
    });
    // Without a zeroRange callback: zeros are written.
    const target1 = join(fx.dir, 'existing1');
    await writeFile(target1, randomBytes(12 * MiB));
    const res = await fx.repo.restore({ locator: r.locator, targetPath: target1, targetIsFresh: false });
    assert.equal(res.zeroBytes, 11 * MiB);
    assert.equal(await sha256File(target1), await sha256File(src));
    // With a zeroRange callback: it is used for every zero run.
    const target2 = join(fx.dir, 'existing2');
    await writeFile(target2, randomBytes(12 * MiB));
    const calls: Array<[number, number]> = [];
    await fx.repo.restore({
      locator: r.locator,
      targetPath: target2,
      targetIsFresh: false,
      zeroRange: async (offset, length) => {
        calls.push([offset, length]);
        const { open } = await import('node:fs/promises');
        const fh = await open(target2, 'r+');
        await fh.write(Buffer.alloc(length), 0, length, offset);
        await fh.close();
      },
    });
    assert.deepEqual(calls, [
      [0, 5 * MiB],
      [6 * MiB, 6 * MiB],
    ]);
    assert.equal(await sha256File(target2), await sha256File(src));
    // An existing target smaller than the backup is refused rather than silently truncated.
    const small = join(fx.dir, 'small');
    await writeFile(small, randomBytes(MiB));
    await assert.rejects(
      fx.repo.restore({ locator: r.locator, targetPath: small, targetIsFresh: false }),
      (e: unknown) => isRepoError(e, 'INVALID_ARGUMENT'),
    );
  } finally {
    await fx.cleanup();
  }
});

test('encrypted repository: round trip, no plaintext at rest, wrong or missing key refused clearly', async () => {
  const key = randomBytes(32);
  const fx = await repoFixture({ key });
  try {
    assert.equal(fx.repo.encrypted, true);
    const src = join(fx.dir, 'secret');
    const marker = Buffer.from('TOP-SECRET-MARKER-'.repeat(1000));
    await writeFile(src, Buffer.concat([marker, Buffer.alloc(MiB), textish(MiB, 7)]));
    const r = await fx.repo.backup({ id: 's', container: 'c', sourcePath: src });
    const out = join(fx.dir, 'out');
    await fx.repo.restore({ locator: r.locator, targetPath: out, targetIsFresh: true });
    assert.equal(await sha256File(out), await sha256File(src));
    assert.equal((await fx.repo.verify({ full: true })).ok, true);
    for (const k of await listKeys(fx.store, 'chunks/')) {
      const bytes = await fx.store.get(k);
      assert.equal(bytes.includes('TOP-SECRET'), false);
      assert.equal(bytes.includes('volume'), false);
    }
    // Keyed ids: the same plaintext in an unencrypted repo gets another id.
    const plain = await repoFixture();
    try {
      await plain.repo.backup({ id: 's', container: 'c', sourcePath: src });
      const idsPlain = await listKeys(plain.store, 'chunks/');
      const idsEnc = await listKeys(fx.store, 'chunks/');
      assert.equal(idsPlain.length, idsEnc.length);
      assert.equal(
        idsPlain.some((k) => idsEnc.includes(k)),
        false,
      );
      await assert.rejects(plain.reopen({ key }), (e: unknown) => isRepoError(e, 'WRONG_KEY'));
    } finally {
      await plain.cleanup();
    }
    await assert.rejects(fx.reopen({ key: randomBytes(32) }), (e: unknown) => {
      assert.ok(isRepoError(e, 'WRONG_KEY'));
      assert.match((e as Error).message, /does not match/);
      return true;
    });
    await assert.rejects(fx.reopen({ key: undefined }), (e: unknown) => {
      assert.ok(isRepoError(e, 'WRONG_KEY'));
      assert.match((e as Error).message, /encrypted and no key/);
      return true;
    });
    const again = await fx.reopen({ key });
    await rm(out);
    await again.restore({ locator: r.locator, targetPath: out, targetIsFresh: true });
    assert.equal(await sha256File(out), await sha256File(src));
  } finally {
    await fx.cleanup();
  }
});

test('copyManifest makes an independent backup; untrusted locators and tampered manifests are refused', async () => {
  const fx = await repoFixture();
  try {
    const src = join(fx.dir, 'src');
    await writeFile(src, textish(3 * MiB, 8));
    const r = await fx.repo.backup({ id: 'orig', container: 'c', sourcePath: src, meta: { volume_id: 'v1' } });
    const copy = await fx.repo.copyManifest(r.locator, { id: 'imported', container: 'other' });
    assert.equal(copy.locator, 'other/imported');
    assert.deepEqual(copy.header.meta, { volume_id: 'v1' });
    await fx.repo.deleteManifest(r.locator);
    const out = join(fx.dir, 'out');
    await fx.repo.restore({ locator: copy.locator, targetPath: out, targetIsFresh: true });
    assert.equal(await sha256File(out), await sha256File(src));
    await assert.rejects(fx.repo.copyManifest(copy.locator, { id: 'imported', container: 'other' }), (e: unknown) =>
      isRepoError(e, 'EXISTS'),
    );
    for (const bad of ['../c/orig', 'c/../../etc/passwd', 'c', 'c/b/x', '/c/b', 'c/.hidden', '', 'c/b\0']) {
      await assert.rejects(fx.repo.readManifest(bad), (e: unknown) => isRepoError(e, 'INVALID_ARGUMENT'), bad);
    }
    for (const bad of ['..', 'a/b', '.x', 'a b', '']) {
      await assert.rejects(fx.repo.backup({ id: 'x', container: bad, sourcePath: src }), (e: unknown) =>
        isRepoError(e, 'INVALID_ARGUMENT'),
      );
    }
    await assert.rejects(fx.repo.readManifest('c/nope'), (e: unknown) => isRepoError(e, 'NOT_FOUND'));
    // A flipped byte anywhere in the manifest fails its checksum.
    const file = join(fx.repoDir, 'backups', 'other', 'imported.manifest');
    const bytes = await readFile(file);
    const tampered = Buffer.from(bytes);
    tampered[20] = (tampered[20] ?? 0) ^ 1;
    await writeFile(file, tampered);
    await assert.rejects(fx.repo.readManifest(copy.locator), (e: unknown) => isRepoError(e, 'MANIFEST_CORRUPT'));
    // A valid manifest moved under another name is refused too.
    await writeFile(join(fx.repoDir, 'backups', 'other', 'renamed.manifest'), bytes);
    await assert.rejects(fx.repo.readManifest('other/renamed'), (e: unknown) => isRepoError(e, 'MANIFEST_CORRUPT'));
    assert.deepEqual((await readdir(join(fx.repoDir, 'backups'))).sort(), ['c', 'other']);
  } finally {
    await fx.cleanup();
  }
});

test('a restore through windows hands every part on once, in order, after its bytes are written, one at a time', async () => {
  const fx = await repoFixture();
  try {
    const src = join(fx.dir, 'windows');
    const size = 11 * MiB;
    // Data, a hole and data again, so windows start in zero runs and in data.
    await writeSparse(src, size, [
      { offset: 0, data: randomBytes(3 * MiB) },
      { offset: 6 * MiB, data: randomBytes(5 * MiB) },
    ]);
    const r = await fx.repo.backup({ id: 'w', container: 'c', sourcePath: src });
    const out = join(fx.dir, 'out');
    const want = await readFile(src);
    const flushed: Array<[number, number]> = [];
    let running = 0;
    await fx.repo.restore({
      locator: r.locator,
      targetPath: out,
      targetIsFresh: true,
      window: {
        bytes: 2 * MiB,
        async flush(offset, length) {
          running++;
          assert.equal(running, 1, 'one hand-over at a time');
          // Everything in the window is written by the time it is handed on.
          const got = (await readFile(out)).subarray(offset, offset + length);
          assert.ok(got.equals(want.subarray(offset, offset + length)), `window at ${offset}`);
          await new Promise((res) => setImmediate(res));
          flushed.push([offset, length]);
          running--;
        },
      },
    });
    let at = 0;
    for (const [offset, length] of flushed) {
      assert.equal(offset, at, 'windows follow each other');
      assert.ok(length > 0);
      at += length;
    }
    assert.equal(at, size, 'the windows cover the volume');
    assert.ok(flushed.length >= 5, `${flushed.length} windows of at least 2 MiB`);
  } finally {
    await fx.cleanup();
  }
});
