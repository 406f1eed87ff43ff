import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { backupRepoDir, openBackupRepository } from '../backup-repo-open.js';
import { CODEC_LZ4, CODEC_RAW, parseChunkObject } from '../backup-repo/format.js';
import { backupCompressionFromEnv, loadConfig } from './config.js';

test('CINDERBOX_BACKUP_COMPRESSION: auto by default, one of auto/zstd/lz4/none, anything else refused naming the setting', () => {
  assert.equal(loadConfig({}, {}).backupCompression, 'auto');
  for (const c of ['auto', 'zstd', 'lz4', 'none']) assert.equal(backupCompressionFromEnv({ CINDERBOX_BACKUP_COMPRESSION: c }), c);
  for (const bad of ['gzip', 'ZSTD', 'zstd-1', ' lz4']) {
    assert.throws(
      () => loadConfig({}, { CINDERBOX_BACKUP_COMPRESSION: bad }),
      (e: Error) => e.message.startsWith('CINDERBOX_BACKUP_COMPRESSION must be one of auto, zstd, lz4, none'),
    );
  }
});

test('the configured compression reaches the server repository: chunks are stored with that codec', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'cinderbox-compression-'));
  try {
    const src = join(dataDir, 'src');
    await writeFile(src, Buffer.alloc(3 << 20, 'volume backup text '));
    for (const [compression, codec] of [
      ['none', CODEC_RAW],
      ['lz4', CODEC_LZ4],
    ] as const) {
      const config = loadConfig({ dataDir }, { CINDERBOX_BACKUP_COMPRESSION: compression });
      const repo = await openBackupRepository(config, { create: true });
      try {
        const r = await repo.backup({ id: compression, container: 'c', sourcePath: src });
        assert.equal(r.stats.newChunks, 1, compression);
        const chunks: string[] = [];
        for (const d of await readdir(join(backupRepoDir(config), 'chunks'))) {
          for (const f of await readdir(join(backupRepoDir(config), 'chunks', d))) chunks.push(join(backupRepoDir(config), 'chunks', d, f));
        }
        const codecs = await Promise.all(chunks.map(async (f) => parseChunkObject(await readFile(f)).codec));
        assert.ok(codecs.includes(codec), `${compression}: ${codecs.join(',')}`);
      } finally {
        await repo.close();
      }
      await rm(backupRepoDir(config), { recursive: true, force: true });
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
