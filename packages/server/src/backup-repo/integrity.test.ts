import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import type { ObjectStore, PutOptions, PutResult } from '../domain/ports/object-store.js';
import { FsObjectStore } from '../drivers/objects/fs/fs-object-store.js';
import { isRepoError, type RepoError } from './errors.js';
import { BackupRepository } from './repository.js';
import { listKeys, MiB, randomBytes, repoFixture, sha256File, textish } from './test-support/fixtures.js';

const chunkFile = (repoDir: string, key: string) => join(repoDir, ...key.split('/'));

test('a flipped byte in a chunk: verify and restore fail naming the chunk id', async () => {
  const fx = await repoFixture();
  try {
    const src = join(fx.dir, 'src');
    await writeFile(src, Buffer.concat([textish(2 * MiB, 1), randomBytes(MiB)]));
    const r = await fx.repo.backup({ id: 'b', container: 'c', sourcePath: src });
    const keys = await listKeys(fx.store, 'chunks/');
    const victim = keys[1] as string;
    const victimId = victim.split('/')[2] as string;
    const file = chunkFile(fx.repoDir, victim);
    const bytes = await readFile(file);
    bytes[100] = (bytes[100] ?? 0) ^ 0x40;
    await writeFile(file, bytes);
    for (const full of [false, true]) {
      const v = await fx.repo.verify({ full });
      assert.equal(v.ok, false);
      assert.equal(v.problems.length, 1);
      assert.equal(v.problems[0]?.kind, 'corrupt');
      assert.equal(v.problems[0]?.chunkId, victimId);
      assert.equal(v.problems[0]?.locator, 'c/b');
    }
    await assert.rejects(
      fx.repo.restore({ locator: r.locator, targetPath: join(fx.dir, 'out'), targetIsFresh: true }),
      (e: unknown) => {
        assert.ok(isRepoError(e, 'CHUNK_CORRUPT'));
        assert.equal((e as RepoError).chunkId, victimId);
        assert.match((e as Error).message, new RegExp(victimId));
        return true;
      },
    );
  } finally {
    await fx.cleanup();
  }
});

test('two chunk files swapped: plain verify (CRC only) reports both, as do full verify and restore', async () => {
  const fx = await repoFixture();
  try {
    const src = join(fx.dir, 'src');
    await writeFile(src, textish(2 * MiB, 2));
    const r = await fx.repo.backup({ id: 'b', container: 'c', sourcePath: src });
    const [k0, k1] = (await listKeys(fx.store, 'chunks/')) as [string, string];
    const [b0, b1] = [await readFile(chunkFile(fx.repoDir, k0)), await readFile(chunkFile(fx.repoDir, k1))];
    await writeFile(chunkFile(fx.repoDir, k0), b1);
    await writeFile(chunkFile(fx.repoDir, k1), b0);
    const ids = [k0, k1].map((k) => k.split('/')[2]).sort();
    for (const full of [false, true]) {
      const v = await fx.repo.verify({ full });
      assert.equal(v.ok, false, `full=${full}`);
      assert.deepEqual(v.problems.map((p) => [p.kind, p.chunkId]).sort(), ids.map((id) => ['corrupt', id]), `full=${full}`);
      if (!full) assert.match(v.problems[0]?.message ?? '', /another chunk stored under this key/);
    }
    await assert.rejects(
      fx.repo.restore({ locator: r.locator, targetPath: join(fx.dir, 'out'), targetIsFresh: true }),
      (e: unknown) => isRepoError(e, 'CHUNK_CORRUPT') && ids.includes((e as RepoError).chunkId ?? ''),
    );
  } finally {
    await fx.cleanup();
  }
});

test('version-1 chunk objects (CRC not bound to the id) written before still verify and restore', async () => {
  const fx = await repoFixture();
  try {
    const src = join(fx.dir, 'src');
    const data = textish(2 * MiB, 3);
    await writeFile(src, data);
    const r = await fx.repo.backup({ id: 'b', container: 'c', sourcePath: src });
    for (const k of await listKeys(fx.store, 'chunks/')) {
      const bytes = await readFile(chunkFile(fx.repoDir, k));
      bytes[4] = 1;
      bytes.writeUInt32BE(crc32(bytes.subarray(0, bytes.length - 4)) >>> 0, bytes.length - 4);
      await writeFile(chunkFile(fx.repoDir, k), bytes);
    }
    assert.equal((await fx.repo.verify({ full: false })).ok, true);
    assert.equal((await fx.repo.verify({ full: true })).ok, true);
    const out = join(fx.dir, 'out');
    await fx.repo.restore({ locator: r.locator, targetPath: out, targetIsFresh: true });
    assert.ok((await readFile(out)).equals(data));
  } finally {
    await fx.cleanup();
  }
});

test('a missing chunk: verify lists it, restore fails with CHUNK_MISSING and the id', async () => {
  const fx = await repoFixture();
  try {
    const src = join(fx.dir, 'src');
    await writeFile(src, randomBytes(3 * MiB));
    const r = await fx.repo.backup({ id: 'b', container: 'c', sourcePath: src });
    const victim = (await listKeys(fx.store, 'chunks/'))[2] as string;
    await fx.store.delete(victim);
    const id = victim.split('/')[2];
    const v = await fx.repo.verify();
    assert.deepEqual(
      v.problems.map((p) => [p.kind, p.chunkId]),
      [['missing', id]],
    );
    await assert.rejects(
      fx.repo.restore({ locator: r.locator, targetPath: join(fx.dir, 'out'), targetIsFresh: true }),
      (e: unknown) => isRepoError(e, 'CHUNK_MISSING') && (e as RepoError).chunkId === id,
    );
  } finally {
    await fx.cleanup();
  }
});

test('gc deletes unreferenced chunks only after the grace period, never pinned or referenced ones', async () => {
  const fx = await repoFixture();
  try {
    const a = join(fx.dir, 'a');
    const b = join(fx.dir, 'b');
    const shared = textish(MiB, 3);
    await writeFile(a, Buffer.concat([shared, randomBytes(2 * MiB)]));
    await writeFile(b, Buffer.concat([shared, randomBytes(MiB)]));
    const ra = await fx.repo.backup({ id: 'a', container: 'c', sourcePath: a });
    const rb = await fx.repo.backup({ id: 'b', container: 'c', sourcePath: b });
    assert.equal((await listKeys(fx.store, 'chunks/')).length, 4, 'the shared chunk is stored once');
    const aOnly = (await fx.repo.readManifest(ra.locator)).entryHex(2) as string;
    await fx.repo.deleteManifest(ra.locator);
    // Within the grace period nothing goes.
    const young = await fx.repo.gc({ graceMs: 3600_000 });
    assert.equal(young.deleted, 0);
    assert.equal(young.keptInGrace, 2);
    // Age every chunk by two hours.
    const old = new Date(Date.now() - 2 * 3600_000);
    for (const k of await listKeys(fx.store, 'chunks/')) await utimes(chunkFile(fx.repoDir, k), old, old);
    const dry = await fx.repo.gc({ graceMs: 3600_000, dryRun: true });
    assert.equal(dry.deleted, 2);
    assert.equal((await listKeys(fx.store, 'chunks/')).length, 4);
    const pinnedRun = await fx.repo.gc({ graceMs: 3600_000, pinned: [aOnly] });
    assert.equal(pinnedRun.deleted, 1);
    assert.equal((await fx.store.head(`chunks/${aOnly.slice(0, 2)}/${aOnly}`)) !== null, true);
    const last = await fx.repo.gc({ graceMs: 3600_000 });
    assert.equal(last.deleted, 1);
    assert.equal(last.manifests, 1);
    assert.equal((await listKeys(fx.store, 'chunks/')).length, 2);
    const out = join(fx.dir, 'out');
    await fx.repo.restore({ locator: rb.locator, targetPath: out, targetIsFresh: true });
    assert.equal(await sha256File(out), await sha256File(b));
    assert.equal((await fx.repo.verify({ full: true })).ok, true);
  } finally {
    await fx.cleanup();
  }
});

test('gc with no grace during a running backup keeps every chunk that backup wrote or reuses', async () => {
  const fx = await repoFixture();
  try {
    const parentSrc = join(fx.dir, 'p');
    await writeFile(parentSrc, textish(4 * MiB, 4));
    const parent = await fx.repo.backup({ id: 'p', container: 'c', sourcePath: parentSrc });
    const old = new Date(Date.now() - 2 * 3600_000);
    for (const k of await listKeys(fx.store, 'chunks/')) await utimes(chunkFile(fx.repoDir, k), old, old);
    const src = join(fx.dir, 'src');
    await writeFile(src, Buffer.concat([await readFile(parentSrc), randomBytes(8 * MiB)]));
    let gcRun: Promise<unknown> | undefined;
    const running = fx.repo.backup({
      id: 'running',
      container: 'c',
      sourcePath: src,
      parent: parent.locator,
      changedExtents: [{ offset: 4 * MiB, length: 8 * MiB }],
      onProgress: (p) => {
        if (gcRun === undefined && p.bytesDone > 5 * MiB) {
          // Deleting the parent manifest mid-backup: its chunks are reused by the running backup.
          gcRun = fx.repo.deleteManifest(parent.locator).then(() => fx.repo.gc({ graceMs: 0 }));
        }
      },
    });
    const r = await running;
    const gcResult = (await gcRun) as { deleted: number };
    assert.equal(gcResult.deleted, 0);
    const out = join(fx.dir, 'out');
    await fx.repo.restore({ locator: r.locator, targetPath: out, targetIsFresh: true });
    assert.equal(await sha256File(out), await sha256File(src));
    assert.equal((await fx.repo.verify()).ok, true);
  } finally {
    await fx.cleanup();
  }
});

test('temporaries of crashed writers are swept when the repository is opened', async () => {
  const fx = await repoFixture();
  try {
    const tmp = join(fx.repoDir, 'tmp');
    await mkdir(tmp, { recursive: true });
    const host = hostname().replace(/[^A-Za-z0-9-]/g, '_');
    await writeFile(join(tmp, `${host}.999999999.0123456789abcdef.tmp`), 'torn chunk');
    await fx.reopen();
    assert.deepEqual(await readdir(tmp), []);
  } finally {
    await fx.cleanup();
  }
});

/** Fails every put after `allowed` chunk puts with ENOSPC, like a full disk. */
class FullDiskStore implements ObjectStore {
  readonly description = 'full-disk fake';
  private chunkPuts = 0;
  full = true;
  constructor(
    private readonly inner: ObjectStore,
    private readonly allowed: number,
  ) {}
  async put(key: string, data: Uint8Array, opts?: PutOptions): Promise<PutResult> {
    if (key.startsWith('chunks/') && this.full && ++this.chunkPuts > this.allowed) {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    }
    return this.inner.put(key, data, opts);
  }
  get = (k: string) => this.inner.get(k);
  getStream = (k: string) => this.inner.getStream(k);
  head = (k: string) => this.inner.head(k);
  list = (p: string) => this.inner.list(p);
  delete = (k: string) => this.inner.delete(k);
  touch = (k: string) => this.inner.touch(k);
  flush = () => this.inner.flush();
  sweepTemporaries = () => this.inner.sweepTemporaries();
}

test('a full disk mid-backup fails the backup and leaves the repository consistent', async () => {
  const fx = await repoFixture();
  try {
    const src = join(fx.dir, 'src');
    await writeFile(src, randomBytes(10 * MiB));
    const ok = await fx.repo.backup({ id: 'before', container: 'c', sourcePath: join(fx.dir, 'src'), size: MiB });
    const fake = new FullDiskStore(fx.store, 3);
    const repo = await BackupRepository.open({ store: fake, workers: 2 });
    try {
      await assert.rejects(repo.backup({ id: 'full', container: 'c', sourcePath: src }), { code: 'ENOSPC' });
      assert.equal(await fx.store.head('backups/c/full.manifest'), null);
      assert.equal(await fx.store.head('locks/leases/c/full'), null, 'the lease is released');
      const v = await repo.verify({ full: true });
      assert.equal(v.ok, true);
      assert.equal(v.manifests, 1);
      assert.deepEqual(await readdir(join(fx.repoDir, 'tmp')), []);
      // Space freed: the same backup id now succeeds.
      fake.full = false;
      const again = await repo.backup({ id: 'full', container: 'c', sourcePath: src });
      const out = join(fx.dir, 'out');
      await repo.restore({ locator: again.locator, targetPath: out, targetIsFresh: true });
      assert.equal(await sha256File(out), await sha256File(src));
      assert.equal((await repo.verify({ locators: [ok.locator] })).ok, true);
    } finally {
      await repo.close();
    }
  } finally {
    await fx.cleanup();
  }
});

test('an aborted backup leaves no manifest and throws ABORTED', async () => {
  const fx = await repoFixture();
  try {
    const src = join(fx.dir, 'src');
    await writeFile(src, randomBytes(12 * MiB));
    const ac = new AbortController();
    await assert.rejects(
      fx.repo.backup({
        id: 'x',
        container: 'c',
        sourcePath: src,
        signal: ac.signal,
        onProgress: (p) => {
          if (p.bytesDone >= 2 * MiB) ac.abort();
        },
      }),
      (e: unknown) => isRepoError(e, 'ABORTED'),
    );
    assert.equal(await fx.store.head('backups/c/x.manifest'), null);
    assert.equal((await fx.repo.verify()).ok, true);
  } finally {
    await fx.cleanup();
  }
});

test('SIGKILL mid-backup: no manifest, verify clean, temporaries swept, orphans reclaimed by gc', async () => {
  const fx = await repoFixture();
  try {
    const src = join(fx.dir, 'src');
    await writeFile(src, randomBytes(48 * MiB));
    const repoModule = fileURLToPath(new URL('./repository.ts', import.meta.url));
    const storeModule = fileURLToPath(new URL('../drivers/objects/fs/fs-object-store.ts', import.meta.url));
    const script = join(fx.dir, 'child.mts');
    await writeFile(
      script,
      `import { BackupRepository } from ${JSON.stringify(repoModule)};
import { FsObjectStore } from ${JSON.stringify(storeModule)};
const repo = await BackupRepository.open({ store: new FsObjectStore(${JSON.stringify(fx.repoDir)}), workers: 2 });
await repo.backup({ id: 'killed', container: 'c', sourcePath: ${JSON.stringify(src)},
  onProgress: (p) => { if (p.bytesDone >= 3 * ${MiB}) process.stdout.write('go\\n'); } });
process.stdout.write('finished\\n');
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        if (d.toString().includes('go')) {
          child.kill('SIGKILL');
          resolve();
        }
        if (d.toString().includes('finished')) reject(new Error('the child finished before it was killed'));
      });
      child.on('exit', () => resolve());
    });
    await new Promise((r) => child.once('exit', r).once('close', r));
    // A temporary as a crash in the middle of a chunk write would leave it.
    const host = hostname().replace(/[^A-Za-z0-9-]/g, '_');
    await mkdir(join(fx.repoDir, 'tmp'), { recursive: true });
    await writeFile(join(fx.repoDir, 'tmp', `${host}.${child.pid}.00000000000000aa.tmp`), 'torn');
    const after = await fx.reopen();
    assert.deepEqual(await readdir(join(fx.repoDir, 'tmp')), []);
    assert.equal(await fx.store.head('backups/c/killed.manifest'), null);
    const v = await after.verify({ full: true });
    assert.equal(v.ok, true);
    assert.equal(v.manifests, 0);
    const orphans = (await listKeys(fx.store, 'chunks/')).length;
    assert.ok(orphans >= 3, `${orphans} orphan chunks`);
    // The killed backup's lease is still there and fresh: it holds back GC until it expires.
    assert.notEqual(await fx.store.head('locks/leases/c/killed'), null);
    assert.equal((await after.gc({ graceMs: 0 })).deleted, 0);
    // The owner knows the backup died (its task failed): it releases the lease, and GC may sweep.
    assert.equal(await after.releaseLease('c/killed'), true);
    assert.equal(await after.releaseLease('c/killed'), false);
    await assert.rejects(after.releaseLease('../killed'), /invalid locator|container/);
    const gc = await after.gc({ graceMs: 0 });
    assert.equal(gc.deleted, orphans);
    assert.deepEqual(await listKeys(fx.store, 'chunks/'), []);
  } finally {
    await fx.cleanup();
  }
});

test('FsObjectStore put keeps a reused chunk alive: touched so a concurrent sweep sees it as new', async () => {
  const fx = await repoFixture();
  try {
    const store = new FsObjectStore(fx.repoDir);
    await store.put('chunks/aa/x', Buffer.from('x'));
    const old = new Date(Date.now() - 3600_000);
    await utimes(chunkFile(fx.repoDir, 'chunks/aa/x'), old, old);
    assert.deepEqual(await store.put('chunks/aa/x', Buffer.from('x'), { touchExisting: true }), { existed: true });
    assert.ok(((await store.head('chunks/aa/x'))?.mtime.getTime() ?? 0) > Date.now() - 60_000);
  } finally {
    await fx.cleanup();
  }
});

test('damage anywhere in a stored-raw or compressed chunk fails the restore, and no wrong byte reaches the target', async () => {
  const fx = await repoFixture();
  try {
    const src = join(fx.dir, 'src');
    const data = Buffer.concat([textish(MiB, 4), randomBytes(MiB)]);
    await writeFile(src, data);
    const r = await fx.repo.backup({ id: 'b', container: 'c', sourcePath: src });
    const keys = await listKeys(fx.store, 'chunks/');
    assert.equal(keys.length, 2);
    const objects = await Promise.all(keys.map((k) => readFile(chunkFile(fx.repoDir, k))));
    // Codec byte 5: 0 raw, else compressed. Both kinds must be covered.
    assert.deepEqual(objects.map((o) => (o[5] === 0 ? 'raw' : 'compressed')).sort(), ['compressed', 'raw']);
    const out = join(fx.dir, 'out');
    for (const [i, key] of keys.entries()) {
      const good = objects[i] as Buffer;
      const id = key.split('/')[2] as string;
      // Codec, raw length, payload length, first/middle/last payload byte (the CRC trailer is the last 4).
      for (const at of [5, 9, 13, 16, good.length >> 1, good.length - 5]) {
        const bad = Buffer.from(good);
        bad[at] = (bad[at] ?? 0) ^ 0x01;
        await writeFile(chunkFile(fx.repoDir, key), bad);
        await writeFile(out, '');
        await assert.rejects(
          fx.repo.restore({ locator: r.locator, targetPath: out, targetIsFresh: true }),
          (e: unknown) => isRepoError(e, 'CHUNK_CORRUPT') && (e as RepoError).chunkId === id,
          `${key} byte ${at}`,
        );
        const got = await readFile(out);
        for (let off = 0; off < got.length; off += MiB) {
          const part = got.subarray(off, off + MiB);
          assert.ok(
            part.every((b) => b === 0) || part.equals(data.subarray(off, off + part.length)),
            `${key} byte ${at}: wrong bytes at ${off}`,
          );
        }
      }
      // Only the CRC trailer damaged: the plaintext still hashes to its id, so restore (which checks that, not the
      // CRC) is byte-exact; plain verify, which reads only the CRC, reports the object.
      const crcOnly = Buffer.from(good);
      crcOnly[good.length - 1] = (crcOnly[good.length - 1] ?? 0) ^ 0x01;
      await writeFile(chunkFile(fx.repoDir, key), crcOnly);
      await writeFile(out, '');
      await fx.repo.restore({ locator: r.locator, targetPath: out, targetIsFresh: true });
      assert.ok((await readFile(out)).equals(data));
      assert.deepEqual((await fx.repo.verify({ full: false })).problems.map((p) => p.chunkId), [id]);
      await writeFile(chunkFile(fx.repoDir, key), good);
    }
  } finally {
    await fx.cleanup();
  }
});
