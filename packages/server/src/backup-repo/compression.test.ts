import assert from 'node:assert/strict';
import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import { isRepoError, type RepoError } from './errors.js';
import { CHUNK_HEADER, CODEC_LZ4, CODEC_ZSTD, chunkKey, parseChunkObject } from './format.js';
import type { Compression } from './repo-open.js';
import { listKeys, MiB, randomBytes, repoFixture, sha256File, textish } from './test-support/fixtures.js';

const lz4 = createRequire(import.meta.url)('lz4/build/Release/lz4.node') as {
  compress(input: Buffer, output: Buffer): number;
};

/** 1 MiB chunks: text, text, random, zero, text. */
function mixedVolume(seed: number): Buffer {
  return Buffer.concat([textish(2 * MiB, seed), randomBytes(MiB), Buffer.alloc(MiB), textish(MiB, seed + 1)]);
}

const chunkFile = (repoDir: string, key: string) => join(repoDir, ...key.split('/'));

for (const [compression, key] of [
  ['zstd', undefined],
  ['lz4', undefined],
  ['lz4', cryptoRandomBytes(32)],
  ['none', undefined],
  ['auto', undefined],
] as Array<[Compression, Buffer | undefined]>) {
  test(`compression ${compression}${key ? ' (encrypted)' : ''}: byte-exact round trip, codecs as configured, full verify clean`, async () => {
    const fx = await repoFixture({ compression, ...(key ? { key } : {}) });
    try {
      const src = join(fx.dir, 'src');
      await writeFile(src, mixedVolume(3));
      const r = await fx.repo.backup({ id: 'b', container: 'c', sourcePath: src });
      const codecs = r.stats.codecs;
      assert.ok(codecs);
      assert.equal(r.stats.newChunks, 4);
      assert.equal(codecs.raw + codecs.zstd + codecs.lz4, 4, 'every new chunk is counted once');
      if (compression === 'zstd') assert.deepEqual(codecs, { raw: 1, zstd: 3, lz4: 0 });
      if (compression === 'lz4') assert.deepEqual(codecs, { raw: 1, zstd: 0, lz4: 3 });
      if (compression === 'none') assert.deepEqual(codecs, { raw: 4, zstd: 0, lz4: 0 });
      if (compression === 'auto') assert.equal(codecs.raw, 1, 'random data is stored raw whichever codec is tried');
      if (compression === 'none') assert.ok(r.stats.storedBytes >= 4 * MiB);
      else assert.ok(r.stats.storedBytes < 2 * MiB, `text compresses (stored ${r.stats.storedBytes})`);
      // What the stats say is what is on disk.
      const onDisk = { raw: 0, zstd: 0, lz4: 0 };
      for (const k of await listKeys(fx.store, 'chunks/')) {
        const c = parseChunkObject(await readFile(chunkFile(fx.repoDir, k))).codec;
        onDisk[c === CODEC_ZSTD ? 'zstd' : c === CODEC_LZ4 ? 'lz4' : 'raw']++;
      }
      assert.deepEqual(onDisk, codecs);
      const out = join(fx.dir, 'out');
      await fx.repo.restore({ locator: r.locator, targetPath: out, targetIsFresh: true });
      assert.equal(await sha256File(out), await sha256File(src));
      assert.deepEqual((await fx.repo.verify({ full: true })).problems, []);
    } finally {
      await fx.cleanup();
    }
  });
}

test('backups written with different compressions share chunks and all restore; the codec never changes a chunk id', async () => {
  const fx = await repoFixture({ compression: 'zstd' });
  try {
    const src = join(fx.dir, 'src');
    await writeFile(src, mixedVolume(5));
    const original = await sha256File(src);
    const first = await fx.repo.backup({ id: 'z', container: 'c', sourcePath: src });
    const lz4Repo = await fx.reopen({ compression: 'lz4' });
    const again = await lz4Repo.backup({ id: 'l', container: 'c', sourcePath: src });
    assert.equal(again.stats.newChunks, 0, 'same plaintext, same ids: nothing stored twice');
    assert.equal(again.stats.reusedChunks, 4);
    // New data under LZ4 beside the zstd chunks; the incremental's manifest mixes both codecs.
    const bytes = await readFile(src);
    textish(MiB, 99).copy(bytes, 4 * MiB);
    await writeFile(src, bytes);
    const inc = await lz4Repo.backup({ id: 'i', container: 'c', sourcePath: src, parent: first.locator });
    assert.deepEqual(inc.stats.codecs, { raw: 0, zstd: 0, lz4: 1 });
    for (const [repo, locator, want] of [
      [fx.repo, inc.locator, await sha256File(src)],
      [lz4Repo, first.locator, original],
    ] as const) {
      const out = join(fx.dir, `out-${locator.replace('/', '-')}`);
      await repo.restore({ locator, targetPath: out, targetIsFresh: true });
      assert.equal(await sha256File(out), want);
    }
    assert.deepEqual((await lz4Repo.verify({ full: true })).problems, []);
  } finally {
    await fx.cleanup();
  }
});

test('a malformed LZ4 payload with a valid CRC fails full verify and restore naming the chunk, never writing wrong bytes', async () => {
  const fx = await repoFixture({ compression: 'lz4' });
  try {
    const src = join(fx.dir, 'src');
    await writeFile(src, textish(MiB, 8));
    const r = await fx.repo.backup({ id: 'b', container: 'c', sourcePath: src });
    const [k] = await listKeys(fx.store, 'chunks/');
    assert.ok(k);
    const id = k.split('/')[2] as string;
    const file = chunkFile(fx.repoDir, k);
    for (const payload of [
      // A block that would inflate to 2 MiB: past the chunk size, refused without allocating it.
      (() => {
        const big = Buffer.alloc(4 * MiB);
        return big.subarray(0, lz4.compress(Buffer.alloc(2 * MiB, 0x61), big));
      })(),
      // Garbage: the match offset points before the start of the output.
      Buffer.from([0x1f, 0x61, 0xff, 0xff, 0x00, 0x00]),
    ]) {
      await writeFile(file, lz4Object(payload, MiB));
      const v = await fx.repo.verify({ full: true });
      assert.equal(v.problems.length, 1);
      assert.equal(v.problems[0]?.kind, 'corrupt');
      assert.equal(v.problems[0]?.chunkId, id);
      assert.equal((await fx.repo.verify({ full: false })).problems.length, 0, 'the CRC alone cannot tell');
      await assert.rejects(
        fx.repo.restore({ locator: r.locator, targetPath: join(fx.dir, `out-${payload.length}`), targetIsFresh: true }),
        (e: unknown) => isRepoError(e, 'CHUNK_CORRUPT') && (e as RepoError).chunkId === id,
      );
    }
    assert.equal(chunkKey(id), k);
  } finally {
    await fx.cleanup();
  }
});

test('an unknown compression is refused when the repository is opened', async () => {
  const fx = await repoFixture();
  try {
    await assert.rejects(fx.reopen({ compression: 'brotli' as Compression }), (e: unknown) =>
      isRepoError(e, 'INVALID_ARGUMENT'),
    );
  } finally {
    await fx.cleanup();
  }
});

/** A well-formed (CRC-valid, unencrypted) chunk object around an arbitrary LZ4 payload. */
function lz4Object(payload: Buffer, rawLength: number): Buffer {
  const out = Buffer.alloc(CHUNK_HEADER + payload.length + 4);
  out.write('CBXC', 0, 'latin1');
  out[4] = 1;
  out[5] = CODEC_LZ4;
  out.writeUInt32BE(rawLength, 8);
  out.writeUInt32BE(payload.length, 12);
  payload.copy(out, CHUNK_HEADER);
  out.writeUInt32BE(crc32(out.subarray(0, CHUNK_HEADER + payload.length)) >>> 0, CHUNK_HEADER + payload.length);
  return out;
}
