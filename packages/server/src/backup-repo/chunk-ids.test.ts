import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { chunkIdFunction, defaultIdAlgorithm, ID_ALGORITHMS } from './chunk-ids.js';
import { isRepoError } from './errors.js';
import { listKeys, MiB, randomBytes, repoFixture, sha256File, textish } from './test-support/fixtures.js';

const KEY = Buffer.alloc(32, 7);

test('chunk ids: each algorithm gives its published digest, keyed ones depend on the key', () => {
  const abc = Buffer.from('abc');
  assert.equal(
    chunkIdFunction('blake3', undefined)(abc).toString('hex'),
    '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85',
  );
  assert.deepEqual(chunkIdFunction('sha256', undefined)(abc), createHash('sha256').update(abc).digest());
  assert.deepEqual(chunkIdFunction('hmac-sha256', KEY)(abc), createHmac('sha256', KEY).update(abc).digest());
  const keyed = chunkIdFunction('blake3-keyed', KEY)(abc);
  assert.equal(keyed.length, 32);
  assert.notDeepEqual(keyed, chunkIdFunction('blake3', undefined)(abc));
  assert.notDeepEqual(keyed, chunkIdFunction('blake3-keyed', Buffer.alloc(32, 8))(abc));
  assert.deepEqual(keyed, chunkIdFunction('blake3-keyed', KEY)(abc), 'deterministic');
  assert.throws(() => chunkIdFunction('blake3-keyed', undefined), /32-byte key/);
  assert.deepEqual(ID_ALGORITHMS, ['sha256', 'hmac-sha256', 'blake3', 'blake3-keyed']);
  assert.equal(defaultIdAlgorithm(false), 'blake3');
  assert.equal(defaultIdAlgorithm(true), 'blake3-keyed');
});

test('a repository keeps the id algorithm it was created with: SHA-256 repositories still back up and restore', async () => {
  const fx = await repoFixture({ idAlgorithm: 'sha256' });
  try {
    const src = join(fx.dir, 'src');
    const data = Buffer.concat([textish(MiB, 1), randomBytes(MiB)]);
    await writeFile(src, data);
    const r = await fx.repo.backup({ id: 'old', container: 'c', sourcePath: src });
    assert.equal(r.header.idAlgorithm, 'sha256');
    const ids = (await listKeys(fx.store, 'chunks/')).map((k) => k.split('/')[2]);
    const want = [data.subarray(0, MiB), data.subarray(MiB)].map((c) => createHash('sha256').update(c).digest('hex'));
    assert.deepEqual(ids.sort(), want.sort(), 'chunks are named by the SHA-256 of their plaintext');
    // Reopened without saying anything, the repository still uses SHA-256 (the config decides, not the default).
    await fx.repo.close();
    const again = await fx.reopen();
    const r2 = await again.backup({ id: 'new', container: 'c', sourcePath: src });
    assert.equal(r2.stats.newChunks, 0, 'same ids, so nothing new is stored');
    const out = join(fx.dir, 'out');
    await again.restore({ locator: r2.locator, targetPath: out, targetIsFresh: true });
    assert.equal(await sha256File(out), await sha256File(src));
    assert.equal((await again.verify({ full: true })).ok, true);
  } finally {
    await fx.cleanup();
  }
});

test('new repositories use BLAKE3; a keyed algorithm without a key, or an unknown one in the config, is refused', async () => {
  const fx = await repoFixture();
  try {
    const config = JSON.parse(await readFile(join(fx.repoDir, 'config'), 'utf8'));
    assert.equal(config.idAlgorithm, 'blake3');
    await fx.repo.close();
    await writeFile(join(fx.repoDir, 'config'), JSON.stringify({ ...config, idAlgorithm: 'md5' }));
    await assert.rejects(fx.reopen(), (e: unknown) => isRepoError(e, 'BAD_CONFIG'));
  } finally {
    await fx.cleanup();
  }
  await assert.rejects(
    repoFixture({ idAlgorithm: 'blake3-keyed' }),
    (e: unknown) => isRepoError(e, 'INVALID_ARGUMENT') && /encrypted/.test((e as Error).message),
  );
});
