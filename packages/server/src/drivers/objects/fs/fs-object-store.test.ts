import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { objectStoreConformance } from '../conformance.js';
import { FsObjectStore } from './fs-object-store.js';

objectStoreConformance('fs', async () => {
  const root = await mkdtemp(join(tmpdir(), 'cbx-objstore-'));
  return { store: new FsObjectStore(root), cleanup: () => rm(root, { recursive: true, force: true }) };
});

test('fs store: temporaries of dead writers are swept, those of this process are kept', async () => {
  const root = await mkdtemp(join(tmpdir(), 'cbx-objstore-'));
  try {
    const store = new FsObjectStore(root);
    await mkdir(join(root, 'tmp'));
    // A pid that has certainly exited: a finished child process.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    const host = hostname().replace(/[^A-Za-z0-9-]/g, '_');
    await writeFile(join(root, 'tmp', `${host}.${dead}.0011223344556677.tmp`), 'partial');
    await writeFile(join(root, 'tmp', `${host}.${process.pid}.8899aabbccddeeff.tmp`), 'in use');
    assert.equal(await store.sweepTemporaries(), 1);
    assert.deepEqual(await readdir(join(root, 'tmp')), [`${host}.${process.pid}.8899aabbccddeeff.tmp`]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('fs store: the reserved tmp/ namespace is neither writable nor listed', async () => {
  const root = await mkdtemp(join(tmpdir(), 'cbx-objstore-'));
  try {
    const store = new FsObjectStore(root);
    await assert.rejects(store.put('tmp/x', Buffer.from('x')), { code: 'EINVAL' });
    await store.put('a', Buffer.from('a'));
    const keys: string[] = [];
    for await (const o of store.list('')) keys.push(o.key);
    assert.deepEqual(keys, ['a']);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('fs store: large page-aligned objects go past the page cache, the rest buffered, both byte-exact', async () => {
  // /var/tmp: a disk filesystem (O_DIRECT), where /tmp may be tmpfs.
  const root = await mkdtemp(join('/var/tmp', 'cbx-objstore-direct-'));
  try {
    const store = new FsObjectStore(root);
    // Laid out like the backup workers' slots: a large SharedArrayBuffer, views 4080 bytes in (glibc's mmap
    // chunks start 16 bytes into a page) with page-rounded room behind them.
    const sab = new SharedArrayBuffer(40 * 1024 * 1024);
    const length = 3 * 1024 * 1024 + 1234;
    const aligned = Buffer.from(sab, 4080, length);
    const content = randomBytes(length);
    content.copy(aligned);
    // Bytes past the object that an O_DIRECT write rounds up to: they must not end up in the object.
    Buffer.from(sab, 4080 + length, 4096).fill(0xee);
    let released = 0;
    await store.put('chunks/aa/one', aligned, { onDataReleased: () => released++ });
    assert.equal(released, 1);
    assert.deepEqual(await store.get('chunks/aa/one'), content);
    assert.equal((await store.head('chunks/aa/one'))?.size, length);
    const fsType = spawnSync('stat', ['-f', '-c', '%T', root], { encoding: 'utf8' }).stdout.trim();
    if (fsType === 'ext2/ext3' || fsType === 'xfs' || fsType === 'btrfs') assert.equal(store.counters.directWrites, 1);

    // 16 bytes off the page: the direct write is refused, the object is written buffered, the buffer remembered.
    const other = new SharedArrayBuffer(40 * 1024 * 1024);
    const off = Buffer.from(other, 4096, length);
    content.copy(off);
    await store.put('chunks/bb/two', off);
    await store.put('chunks/bb/three', off);
    assert.deepEqual(await store.get('chunks/bb/two'), content);
    assert.deepEqual(await store.get('chunks/bb/three'), content);
    assert.ok(store.counters.directWrites <= 1);
    assert.equal(store.counters.objectsWritten, 3);
    assert.deepEqual(await readdir(join(root, 'tmp')), []);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('fs store: getInto reads large objects past the page cache into aligned memory, byte-exact at every size edge', async () => {
  const root = await mkdtemp(join('/var/tmp', 'cbx-objstore-direct-'));
  try {
    const store = new FsObjectStore(root);
    const sab = new SharedArrayBuffer(16 * 1024 * 1024);
    // A restore slot: 4080 bytes into the SharedArrayBuffer (page-aligned memory there), page-rounded length.
    const span = 4 * 1024 * 1024 + 4096;
    const into = Buffer.from(sab, 4080, span);
    // Exactly whole pages, a partial last page, the whole span, larger than the span (only its size counts).
    const sizes = [4 * 1024 * 1024, 4 * 1024 * 1024 + 57, span, span + 1, 300 * 1024 + 1];
    for (const size of sizes) {
      const content = randomBytes(size);
      await store.put(`chunks/cc/${size}`, content);
      into.fill(0xee);
      const n = await store.getInto(`chunks/cc/${size}`, into);
      assert.equal(n, size, `size ${size}`);
      if (size <= span) assert.ok(into.subarray(0, size).equals(content), `content of ${size}`);
    }
    // A buffer whose tail page is not whole: the object that reaches into it is read buffered, still exact.
    const ragged = Buffer.from(sab, 4080, 4 * 1024 * 1024 + 100);
    const content = randomBytes(4 * 1024 * 1024 + 60);
    await store.put('chunks/cc/ragged', content);
    assert.equal(await store.getInto('chunks/cc/ragged', ragged), content.length);
    assert.ok(ragged.subarray(0, content.length).equals(content));
    const fsType = spawnSync('stat', ['-f', '-c', '%T', root], { encoding: 'utf8' }).stdout.trim();
    if (fsType === 'ext2/ext3' || fsType === 'xfs' || fsType === 'btrfs') assert.ok(store.counters.directReads >= 4);
    await assert.rejects(store.getInto('chunks/cc/missing', into), { code: 'ENOENT' });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
