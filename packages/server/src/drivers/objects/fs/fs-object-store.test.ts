import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
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
