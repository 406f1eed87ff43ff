/**
 * The qcow2 driver: the shared conformance suites (reads through qemu-img dd, writes through qemu-io), and what
 * only overlay chains have: O(1) snapshots at depth, chain merging on snapshot delete, exact changed-block tracking,
 * raw reads and writes through the driver, and recovery of an interrupted snapshot.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { link, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pattern, runVolumeDriverConformance } from '../conformance.js';
import { runManageConformance } from '../manage-conformance.js';
import { createQcow2VolumeDriver, type Qcow2VolumeDriver } from './qcow2-driver.js';
import { copyMapped } from './qcow2-export.js';
import { readHeader } from './qcow2-format.js';
import { probeQemuImg, qemuImg, qemuIo } from './qemu.js';
import { chainAllocated, qemuRead, qemuWrite, qemuWriteMany } from './test-support.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const qemu = probeQemuImg();
const skip = qemu.available ? false : `qcow2 driver unavailable: ${qemu.detail}`;

if (skip) {
  it('qcow2 driver', { skip }, () => {});
} else {
  runVolumeDriverConformance('qcow2', (dir) => createQcow2VolumeDriver({ name: 'qcow2', directory: dir }), {
    writeVolume: qemuWrite,
    read: qemuRead,
    allocatedOnHost: chainAllocated,
    simulateInterruptedSnapshot: async (driver, volumeId) => {
      // A crash before the link leaves only the new overlay's temporary.
      await writeFile(join(driver.directory, `.tmp-volume-${volumeId}.deadbeef0000`), 'partial');
    },
  });
  runManageConformance('qcow2', (dir) => createQcow2VolumeDriver({ name: 'qcow2', directory: dir }), {
    read: async (driver, kind, id) => qemuRead(driver, kind, id, 0, (await driver.stat(kind, id))?.size ?? 0),
  });
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describe('qcow2 driver specifics', { skip }, () => {
  let root: string;
  let driver: Qcow2VolumeDriver;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'cinderbox-qcow2-'));
    driver = await createQcow2VolumeDriver({ name: 'qcow2', directory: join(root, 'backend') });
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const read = (kind: 'volume' | 'snapshot', id: string, offset: number, length: number) =>
    qemuRead(driver, kind, id, offset, length);

  it('managing a snapshot layer that is still in its chain renames it and keeps the chain (unmanage then manage)', async () => {
    const vol = randomUUID();
    const old = randomUUID();
    const adopted = randomUUID();
    await driver.createVolume(vol, 4 * MiB);
    await qemuWrite(driver, vol, 0, pattern(64 * KiB, 7));
    await driver.createSnapshot(vol, old);
    await qemuWrite(driver, vol, 0, pattern(64 * KiB, 8));
    // Unmanage leaves `_snapshot-<old>` as a layer; manage adopts it under the new id.
    await driver.adoptObject(`_snapshot-${old}`, 'snapshot', adopted);
    await driver.adoptObject(`_snapshot-${old}`, 'snapshot', adopted); // a replay is harmless
    assert.equal((await readHeader(driver.path('volume', vol)))?.backingFile, `_snapshot-${adopted}`);
    assert.deepEqual(await read('snapshot', adopted, 0, 64 * KiB), pattern(64 * KiB, 7));
    assert.deepEqual(await read('volume', vol, 0, 64 * KiB), pattern(64 * KiB, 8));
    await driver.deleteSnapshot(vol, adopted);
    assert.deepEqual(await read('volume', vol, 0, 64 * KiB), pattern(64 * KiB, 8));
    await driver.deleteVolume(vol);
  });

  it('keeps the active path and writes a relative backing reference', async () => {
    const vol = randomUUID();
    const snap = randomUUID();
    await driver.createVolume(vol, 4 * MiB);
    const before = await stat(driver.path('volume', vol));
    await driver.createSnapshot(vol, snap);
    const frozen = await stat(driver.path('snapshot', snap));
    assert.equal(frozen.ino, before.ino, 'the snapshot is the former active file');
    const h = await readHeader(driver.path('volume', vol));
    assert.deepEqual([h?.backingFile, h?.backingFormat, h?.size], [`_snapshot-${snap}`, 'qcow2', 4 * MiB]);
    const info = JSON.parse(await qemuImg(['info', '--output=json', '--backing-chain', driver.path('volume', vol)]));
    assert.equal(info.length, 2, 'qemu-img resolves the chain from the active path');
    const check = JSON.parse(await qemuImg(['check', '--output=json', driver.path('volume', vol)]).catch((e) => e.stderr));
    assert.equal(check.corruptions ?? 0, 0);
  });

  it('concurrent creates on one volume are taken in one batch, each with the bytes of its point in time', async () => {
    const vol = randomUUID();
    const other = randomUUID();
    await driver.createVolume(vol, 8 * MiB);
    await driver.createVolume(other, 8 * MiB);
    await qemuWrite(driver, vol, 0, pattern(64 * KiB, 1));
    const first = Array.from({ length: 4 }, () => randomUUID());
    await Promise.all(first.map((s) => driver.createSnapshot(vol, s)));
    await qemuWrite(driver, vol, 0, pattern(64 * KiB, 2));
    await qemuWrite(driver, other, 0, pattern(64 * KiB, 3));
    // A second wave races a queue of creates on another volume (they share the directory flush).
    const second = Array.from({ length: 4 }, () => randomUUID());
    const others = Array.from({ length: 3 }, () => randomUUID());
    await Promise.all([...second.map((s) => driver.createSnapshot(vol, s)), ...others.map((s) => driver.createSnapshot(other, s))]);
    await qemuWrite(driver, vol, 0, pattern(64 * KiB, 4));
    for (const s of first) assert.deepEqual(await read('snapshot', s, 0, 64 * KiB), pattern(64 * KiB, 1), `snapshot ${s} of the first wave`);
    for (const s of second) assert.deepEqual(await read('snapshot', s, 0, 64 * KiB), pattern(64 * KiB, 2), `snapshot ${s} of the second wave`);
    for (const s of others) assert.deepEqual(await read('snapshot', s, 0, 64 * KiB), pattern(64 * KiB, 3));
    assert.deepEqual(await read('volume', vol, 0, 64 * KiB), pattern(64 * KiB, 4));
    const info = JSON.parse(await qemuImg(['info', '--output=json', '--backing-chain', driver.path('volume', vol)]));
    assert.equal(info.length, 9, 'eight snapshot layers under the active one');
    // Deleting from the middle of a batch merges as for any snapshot.
    await driver.deleteSnapshot(vol, first[2]!);
    await driver.deleteSnapshot(vol, second[0]!);
    assert.deepEqual(await read('snapshot', first[3]!, 0, 64 * KiB), pattern(64 * KiB, 1));
    assert.deepEqual(await read('snapshot', second[1]!, 0, 64 * KiB), pattern(64 * KiB, 2));
    assert.deepEqual(await read('volume', vol, 0, 64 * KiB), pattern(64 * KiB, 4));
    const check = JSON.parse(await qemuImg(['check', '--output=json', driver.path('volume', vol)]).catch((e) => e.stderr));
    assert.equal(check.corruptions ?? 0, 0);
  });

  it('a batch refuses only its own bad requests: a taken name or an aborted create leaves the others whole', async () => {
    const vol = randomUUID();
    await driver.createVolume(vol, 4 * MiB);
    await qemuWrite(driver, vol, 0, pattern(64 * KiB, 5));
    const [a, taken, b] = [randomUUID(), randomUUID(), randomUUID()];
    await writeFile(driver.path('snapshot', taken), 'someone else');
    const results = await Promise.allSettled([driver.createSnapshot(vol, a), driver.createSnapshot(vol, taken), driver.createSnapshot(vol, b)]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.equal((results[1] as PromiseRejectedResult).reason.code, 'EEXIST');
    // Queued behind another create of the same batch, then aborted before the batch's turn.
    const queued = new AbortController();
    const late = randomUUID();
    const blocker = driver.createSnapshot(vol, randomUUID());
    const cancelled = assert.rejects(driver.createSnapshot(vol, late, { signal: queued.signal }), { name: 'AbortError' });
    queued.abort();
    await blocker;
    await cancelled;
    assert.equal(await stat(driver.path('snapshot', late)).catch(() => null), null, 'an aborted create leaves no layer');
    for (const s of [a, b]) assert.deepEqual(await read('snapshot', s, 0, 64 * KiB), pattern(64 * KiB, 5));
    assert.equal(await readFile(driver.path('snapshot', taken), 'utf8'), 'someone else');
    assert.deepEqual((await readdir(driver.directory)).filter((n) => n.startsWith('.tmp-')), [], 'no temporaries left');
  });

  it('takes a snapshot in constant time at any depth and size', async () => {
    const small = randomUUID();
    const big = randomUUID();
    await driver.createVolume(small, MiB);
    await driver.createVolume(big, 100 * 1024 * MiB);
    const time = async (vol: string) => {
      const t0 = performance.now();
      await driver.createSnapshot(vol, randomUUID());
      return performance.now() - t0;
    };
    const first = await time(big);
    for (let i = 0; i < 200; i++) await driver.createSnapshot(small, randomUUID());
    const deep: number[] = [];
    for (let i = 0; i < 5; i++) deep.push(await time(small));
    deep.sort((a, b) => a - b);
    assert.ok(first < 200, `snapshot of a 100 GiB volume took ${first.toFixed(1)} ms`);
    assert.ok((deep[2] ?? 0) < 100, `snapshot at depth 200 took ${deep[2]?.toFixed(1)} ms (median)`);
    await qemuWrite(driver, small, 0, pattern(4 * KiB, 1));
    assert.ok((await read('volume', small, 0, 4 * KiB)).equals(pattern(4 * KiB, 1)));
  });

  it('merges a deleted snapshot into its neighbour: newest, older, middle and only snapshot', async () => {
    const vol = randomUUID();
    await driver.createVolume(vol, 2 * MiB);
    const snaps: string[] = [];
    const expected: Buffer[] = [];
    const image = Buffer.alloc(2 * MiB);
    for (let i = 0; i < 5; i++) {
      // Each generation rewrites one block and leaves the others as they were.
      const block = pattern(64 * KiB, 10 + i);
      block.copy(image, i * 128 * KiB);
      pattern(4 * KiB, 50 + i).copy(image, 1 * MiB);
      await qemuWrite(driver, vol, i * 128 * KiB, block);
      await qemuWrite(driver, vol, MiB, pattern(4 * KiB, 50 + i));
      const s = randomUUID();
      await driver.createSnapshot(vol, s);
      snaps.push(s);
      expected.push(Buffer.from(image));
    }
    await qemuWrite(driver, vol, 1536 * KiB, pattern(64 * KiB, 99));
    pattern(64 * KiB, 99).copy(image, 1536 * KiB);
    const verify = async (alive: number[], what: string) => {
      for (const i of alive) {
        const got = await read('snapshot', snaps[i]!, 0, 2 * MiB);
        assert.ok(got.equals(expected[i]!), `${what}: snapshot ${i} changed`);
      }
      assert.ok((await read('volume', vol, 0, 2 * MiB)).equals(image), `${what}: volume changed`);
    };
    await driver.deleteSnapshot(vol, snaps[4]!); // newest: merges the active layer
    await verify([0, 1, 2, 3], 'after deleting the newest');
    await driver.deleteSnapshot(vol, snaps[0]!); // oldest
    await verify([1, 2, 3], 'after deleting the oldest');
    await driver.deleteSnapshot(vol, snaps[2]!); // middle
    await verify([1, 3], 'after deleting a middle one');
    await driver.deleteSnapshot(vol, snaps[2]!); // idempotent
    await driver.deleteSnapshot(vol, snaps[1]!);
    await verify([3], 'after deleting down to one');
    await driver.deleteSnapshot(vol, snaps[3]!); // the only snapshot
    await verify([], 'after deleting the only snapshot');
    const files = (await readdir(driver.directory)).filter((n) => n.includes(vol) || snaps.some((s) => n.includes(s)));
    assert.deepEqual(files, [`volume-${vol}`]);
    assert.equal((await readHeader(driver.path('volume', vol)))?.backingFile, null);
  });

  it('reports exactly the clusters written between two snapshots', async () => {
    const vol = randomUUID();
    const size = 256 * MiB;
    await driver.createVolume(vol, size);
    await qemuWrite(driver, vol, 0, pattern(8 * MiB, 1)); // data before the first snapshot does not count
    const a = randomUUID();
    await driver.createSnapshot(vol, a);
    const clusters = new Set<number>();
    let seed = 12345;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    while (clusters.size < 100) clusters.add(rnd() % (size / (64 * KiB)));
    const list = [...clusters];
    await qemuWriteMany(driver, vol, list.slice(0, 50).map((c, i) => [c * 64 * KiB + 512, pattern(4 * KiB, i)]));
    const mid = randomUUID();
    await driver.createSnapshot(vol, mid); // a layer in between must be counted too
    await qemuWriteMany(driver, vol, list.slice(50).map((c, i) => [c * 64 * KiB, pattern(64 * KiB, 100 + i)]));
    const b = randomUUID();
    await driver.createSnapshot(vol, b);
    await qemuWrite(driver, vol, 200 * MiB, pattern(4 * KiB, 7)); // after `b`: not part of a..b
    const changed = await driver.changedExtents(vol, a, b);
    assert.ok(changed);
    const got = new Set<number>();
    for (const e of changed) {
      assert.equal(e.offset % (64 * KiB), 0);
      for (let o = e.offset; o < e.offset + e.length; o += 64 * KiB) got.add(o / (64 * KiB));
    }
    assert.deepEqual([...got].sort((x, y) => x - y), [...clusters].sort((x, y) => x - y));
    const toNow = await driver.changedExtents(vol, b, null);
    assert.deepEqual(toNow, [{ offset: 200 * MiB, length: 64 * KiB }]);
    assert.equal(await driver.changedExtents(vol, b, a), null, 'a newer `from` than `to` is unknown');
    // Zeroing is a change too.
    await driver.zeroRange(vol, 100 * MiB, 64 * KiB);
    assert.deepEqual(await driver.changedExtents(vol, b, null), [
      { offset: 100 * MiB, length: 64 * KiB },
      { offset: 200 * MiB, length: 64 * KiB },
    ]);
  });

  it('reads and writes raw bytes through the driver', async () => {
    const vol = randomUUID();
    await driver.createVolume(vol, 4 * MiB);
    await qemuWrite(driver, vol, MiB, pattern(MiB, 3));
    const snap = randomUUID();
    await driver.createSnapshot(vol, snap);
    const body = pattern(1000, 4);
    const written = await driver.writeRaw(vol, Readable.from([body.subarray(0, 300), body.subarray(300)]));
    assert.equal(written, 1000);
    const all = await readAll(driver.readRaw('volume', vol, 0, 4 * MiB - 1));
    assert.equal(all.length, 4 * MiB);
    assert.ok(all.subarray(0, 1000).equals(body));
    assert.ok(all.subarray(1000, MiB).equals(Buffer.alloc(MiB - 1000)));
    assert.ok(all.subarray(MiB, 2 * MiB).equals(pattern(MiB, 3)));
    assert.ok(all.equals(await read('volume', vol, 0, 4 * MiB)), 'readRaw agrees with qemu-img');
    const part = await readAll(driver.readRaw('snapshot', snap, MiB + 5, MiB + 104));
    assert.ok(part.equals(pattern(MiB, 3).subarray(5, 105)));
    // Zeros written over data replace it, and writing past the end is refused after the fitting part.
    await driver.writeRaw(vol, Readable.from([Buffer.alloc(2 * KiB)]), MiB);
    assert.ok((await read('volume', vol, MiB, 2 * KiB)).equals(Buffer.alloc(2 * KiB)));
    await assert.rejects(driver.writeRaw(vol, Readable.from([pattern(2 * MiB, 5)]), 3 * MiB), { code: 'EINVAL' });
    assert.ok((await read('volume', vol, 3 * MiB, MiB)).equals(pattern(MiB, 5)));
    assert.ok((await read('snapshot', snap, 0, 1000)).equals(Buffer.alloc(1000)), 'the snapshot kept its bytes');
  });

  it('exports and imports raw files for path-based readers and writers', async () => {
    const vol = randomUUID();
    await driver.createVolume(vol, 2 * MiB);
    await qemuWrite(driver, vol, 64 * KiB, pattern(64 * KiB, 6));
    const exported = await driver.exportRaw('volume', vol);
    const { readFile } = await import('node:fs/promises');
    const bytes = await readFile(exported.path);
    assert.equal(bytes.length, 2 * MiB);
    assert.ok(bytes.subarray(64 * KiB, 128 * KiB).equals(pattern(64 * KiB, 6)));
    await exported.release();
    const target = randomUUID();
    await driver.createVolume(target, 2 * MiB);
    await qemuWrite(driver, target, 0, pattern(4 * KiB, 8)); // overwritten by the import's zeros
    const imp = await driver.importRaw(target);
    await writeFile(imp.path, bytes);
    await imp.commit();
    await imp.release();
    assert.ok((await read('volume', target, 0, 2 * MiB)).equals(bytes));
    assert.deepEqual((await readdir(driver.directory)).filter((n) => n.startsWith('.tmp-')), []);
  });

  it('stages uploads and restores one bounded window at a time, byte-exact across window edges', async () => {
    const small = await createQcow2VolumeDriver({ name: 'qcow2', directory: join(root, 'staging'), stagingBytes: MiB });
    const vol = randomUUID();
    await small.createVolume(vol, 8 * MiB);
    await qemuWrite(small, vol, 0, pattern(8 * MiB, 21));
    // 3.5 MiB + 700 bytes from an offset that is no window multiple: four windows, the last one padded.
    const body = pattern(3.5 * MiB + 700, 22);
    const pieces = [body.subarray(0, 1000), body.subarray(1000, 2 * MiB + 3), body.subarray(2 * MiB + 3)];
    assert.equal(await small.writeRaw(vol, Readable.from(pieces), MiB + 512), body.length);
    const want = pattern(8 * MiB, 21);
    body.copy(want, MiB + 512);
    assert.ok((await qemuRead(small, 'volume', vol, 0, 8 * MiB)).equals(want), 'volume after the windowed upload');

    const imp = await small.importRaw(vol);
    assert.equal(imp.window?.bytes, MiB);
    const restored = pattern(8 * MiB, 23);
    const { open } = await import('node:fs/promises');
    const fh = await open(imp.path, 'r+');
    try {
      for (let at = 0; at < 6 * MiB; at += MiB) {
        await fh.write(restored, at, MiB, at);
        await imp.window!.flush(at, MiB);
        // What was handed on is punched out: the temporary holds about one window, not the volume.
        assert.ok((await fh.stat()).blocks * 512 <= 2 * MiB, `temporary after window ${at / MiB}`);
      }
      await fh.write(restored, 6 * MiB, 2 * MiB, 6 * MiB);
    } finally {
      await fh.close();
    }
    await imp.commit();
    await imp.release();
    assert.ok((await qemuRead(small, 'volume', vol, 0, 8 * MiB)).equals(restored), 'volume after the windowed restore');
    assert.deepEqual((await readdir(small.directory)).filter((n) => n.startsWith('.tmp-')), []);
  });

  it('exports natively what qemu-img convert exports, and falls back to qemu-img where it must', async () => {
    const { readFile } = await import('node:fs/promises');
    const oracle = async (path: string) => {
      const out = join(root, `oracle-${randomUUID()}`);
      await qemuImg(['convert', '-U', '-f', 'qcow2', '-O', 'raw', path, out]);
      try {
        return await readFile(out);
      } finally {
        await rm(out, { force: true });
      }
    };
    const sameExport = async (kind: 'volume' | 'snapshot', id: string, what: string) => {
      const exported = await driver.exportRaw(kind, id);
      try {
        const got = await readFile(exported.path);
        assert.ok(got.equals(await oracle(driver.path(kind, id))), `${what}: export differs from qemu-img convert`);
        const allocated = (await stat(exported.path)).blocks * 512;
        const data = (await driver.allocatedExtents(kind, id)).reduce((n, e) => n + e.length, 0);
        assert.ok(allocated <= data + 64 * KiB, `${what}: export not sparse (${allocated} bytes for ${data} of data)`);
        return got;
      } finally {
        await exported.release();
      }
    };
    // A raw base with holes under overlays with data, zero writes, partial clusters and a grown size.
    await mkdir(join(driver.directory, 'import'), { recursive: true });
    const base = Buffer.alloc(3 * MiB);
    pattern(200 * KiB, 30).copy(base, 100 * KiB);
    pattern(64 * KiB, 31).copy(base, 2 * MiB);
    await writeFile(join(driver.directory, 'import', 'exp.raw'), base);
    const vol = randomUUID();
    await driver.adoptObject('import/exp.raw', 'volume', vol);
    const s1 = randomUUID();
    await driver.createSnapshot(vol, s1);
    await qemuWriteMany(driver, vol, [
      [150 * KiB, pattern(10 * KiB, 32)],
      [MiB + 512, pattern(100 * KiB, 33)],
    ]);
    await driver.zeroRange(vol, 2 * MiB, 32 * KiB);
    await driver.extendVolume(vol, 5 * MiB);
    const s2 = randomUUID();
    await driver.createSnapshot(vol, s2);
    await qemuWrite(driver, vol, 4 * MiB + 4 * KiB, pattern(70 * KiB, 34));
    await sameExport('snapshot', s1, 'raw-based snapshot');
    await sameExport('snapshot', s2, 'grown snapshot');
    const now = await sameExport('volume', vol, 'volume');
    assert.ok(now.subarray(4 * MiB + 4 * KiB, 4 * MiB + 74 * KiB).equals(pattern(70 * KiB, 34)));
    assert.ok(now.subarray(2 * MiB, 2 * MiB + 32 * KiB).equals(Buffer.alloc(32 * KiB)));

    // Compressed clusters have no host offset to read at: the export goes through qemu-img.
    const raw = join(root, 'comp.raw');
    await writeFile(raw, Buffer.concat([pattern(256 * KiB, 35), Buffer.alloc(768 * KiB)]));
    await qemuImg(['convert', '-q', '-c', '-f', 'raw', '-O', 'qcow2', raw, join(driver.directory, 'import', 'comp.qcow2')]);
    const comp = randomUUID();
    await driver.adoptObject('import/comp.qcow2', 'volume', comp);
    await driver.createSnapshot(comp, randomUUID());
    await qemuWrite(driver, comp, 512 * KiB, pattern(4 * KiB, 36));
    const c = await sameExport('volume', comp, 'compressed base');
    assert.ok(c.subarray(0, 256 * KiB).equals(pattern(256 * KiB, 35)));
    assert.deepEqual(await driver.allocatedExtents('volume', comp), [
      { offset: 0, length: 256 * KiB },
      { offset: 512 * KiB, length: 64 * KiB },
    ]);
    const part = await readAll(driver.readRaw('volume', comp, 100, 299));
    assert.ok(part.equals(pattern(256 * KiB, 35).subarray(100, 300)));

    // Subclusters (extended L2) are read through qemu-img map and convert.
    await qemuImg(['create', '-q', '-f', 'qcow2', '-o', 'extended_l2=on', join(driver.directory, 'import', 'xl2.qcow2'), '2M']);
    await qemuIo(['-f', 'qcow2', '-c', 'write -q -P 9 4096 8192', join(driver.directory, 'import', 'xl2.qcow2')]);
    const xl2 = randomUUID();
    await driver.adoptObject('import/xl2.qcow2', 'volume', xl2);
    const xs = randomUUID();
    await driver.createSnapshot(xl2, xs);
    await qemuWrite(driver, xl2, MiB, pattern(4 * KiB, 37));
    assert.deepEqual(await driver.allocatedExtents('volume', xl2), [
      { offset: 4096, length: 8192 },
      { offset: MiB, length: 64 * KiB },
    ]);
    assert.deepEqual(await driver.changedExtents(xl2, xs, null), [{ offset: MiB, length: 64 * KiB }]);
    await sameExport('volume', xl2, 'extended L2 base');
  });

  it('reads a consistent chain while a snapshot delete commits and renames layers under it', async () => {
    const vol = randomUUID();
    await driver.createVolume(vol, 2 * MiB);
    const snaps: string[] = [];
    for (let i = 0; i < 4; i++) {
      await qemuWrite(driver, vol, i * 256 * KiB, pattern(128 * KiB, 40 + i));
      await qemuWrite(driver, vol, MiB, pattern(64 * KiB, 50 + i)); // every layer rewrites this cluster
      const s = randomUUID();
      await driver.createSnapshot(vol, s);
      snaps.push(s);
    }
    const expected = await read('volume', vol, 0, 2 * MiB);
    // The map is taken, then the layers move (commit into the snapshot, rename over the child's name) before the
    // bytes are copied: the copy must still read the layers the map describes.
    const m = await driver.chainMap(driver.path('volume', vol), true);
    try {
      await driver.deleteSnapshot(vol, snaps[2]!);
      await driver.deleteSnapshot(vol, snaps[1]!);
      await driver.deleteSnapshot(vol, snaps[3]!);
      const out = join(root, `consistent-${randomUUID()}`);
      await copyMapped(m, out);
      const { readFile } = await import('node:fs/promises');
      assert.ok((await readFile(out)).equals(expected), 'the copy read the layers of its map');
      await rm(out);
    } finally {
      m.close?.();
    }
    // Reads racing the deletes all see the volume's bytes.
    const more = Array.from({ length: 3 }, () => randomUUID());
    for (const s of more) await driver.createSnapshot(vol, s);
    const changed = await driver.changedExtents(vol, snaps[0]!, null);
    const reads = Array.from({ length: 6 }, () => readAll(driver.readRaw('volume', vol, 0, 2 * MiB - 1)));
    const cbt = Array.from({ length: 6 }, () => driver.changedExtents(vol, snaps[0]!, null));
    await Promise.all(more.map((s) => driver.deleteSnapshot(vol, s)));
    for (const got of await Promise.all(reads)) assert.ok(got.equals(expected));
    for (const got of await Promise.all(cbt)) assert.deepEqual(got, changed);
  });

  it('finishes a snapshot interrupted between the link and the rename, or deletes it', async () => {
    const vol = randomUUID();
    await driver.createVolume(vol, 2 * MiB);
    await qemuWrite(driver, vol, 0, pattern(64 * KiB, 9));
    const { link } = await import('node:fs/promises');
    const s1 = randomUUID();
    await link(driver.path('volume', vol), driver.path('snapshot', s1)); // the crash left both names on one inode
    await driver.createSnapshot(vol, s1); // a replay completes it
    await qemuWrite(driver, vol, 0, pattern(64 * KiB, 10));
    assert.ok((await read('snapshot', s1, 0, 64 * KiB)).equals(pattern(64 * KiB, 9)));
    const s2 = randomUUID();
    await link(driver.path('volume', vol), driver.path('snapshot', s2));
    await driver.deleteSnapshot(vol, s2); // or the failed task removes it, keeping the volume
    assert.ok((await read('volume', vol, 0, 64 * KiB)).equals(pattern(64 * KiB, 10)));
    assert.equal(await driver.stat('snapshot', s2), null);
  });

  it('serializes concurrent snapshots and deletes of one volume', async () => {
    const vol = randomUUID();
    await driver.createVolume(vol, MiB);
    await qemuWrite(driver, vol, 0, pattern(64 * KiB, 11));
    const snaps = Array.from({ length: 40 }, () => randomUUID());
    await Promise.all(snaps.map((s) => driver.createSnapshot(vol, s)));
    await Promise.all(snaps.filter((_, i) => i % 2 === 0).map((s) => driver.deleteSnapshot(vol, s)));
    for (const s of snaps.filter((_, i) => i % 2 === 1)) {
      assert.ok((await read('snapshot', s, 0, 64 * KiB)).equals(pattern(64 * KiB, 11)));
    }
    assert.equal((await driver.chain(driver.path('volume', vol))).length, 21);
  });

  it('a raw image whose adoption a crash stopped after its link to the hidden base is still inspected and adopted', async () => {
    await mkdir(join(driver.directory, 'import'), { recursive: true });
    await writeFile(join(driver.directory, 'import', 'half.raw'), pattern(MiB, 21));
    const vol = randomUUID();
    // The state adoptObject leaves between link(source, .base-<id>) and the overlay's publication.
    await link(join(driver.directory, 'import', 'half.raw'), join(driver.directory, `.base-${vol}`));
    assert.deepEqual(await driver.inspectObject('import/half.raw'), { name: 'import/half.raw', size: MiB });
    await driver.adoptObject('import/half.raw', 'volume', vol);
    assert.ok((await read('volume', vol, 0, MiB)).equals(pattern(MiB, 21)));
    assert.equal((await stat(join(driver.directory, `.base-${vol}`))).nlink, 1);
    await driver.deleteVolume(vol);
  });

  it('adopts raw images as a hidden base layer and qcow2 images as they are', async () => {
    await mkdir(join(driver.directory, 'import'), { recursive: true });
    await writeFile(join(driver.directory, 'import', 'disk.raw'), pattern(MiB, 12));
    const vol = randomUUID();
    await driver.adoptObject('import/disk.raw', 'volume', vol);
    assert.equal(driver.volumeConnection(vol).format, 'qcow2');
    assert.equal((await readHeader(driver.path('volume', vol)))?.backingFormat, 'raw');
    assert.ok((await read('volume', vol, 0, MiB)).equals(pattern(MiB, 12)));
    const snap = randomUUID();
    await driver.createSnapshot(vol, snap);
    await qemuWrite(driver, vol, 0, pattern(4 * KiB, 13));
    assert.deepEqual(await driver.changedExtents(vol, snap, null), [{ offset: 0, length: 64 * KiB }]);
    await driver.deleteSnapshot(vol, snap);
    assert.ok((await read('volume', vol, 0, 4 * KiB)).equals(pattern(4 * KiB, 13)));
    await driver.deleteVolume(vol);
    assert.deepEqual((await readdir(driver.directory)).filter((n) => n.includes(vol)), []);

    const img = join(driver.directory, 'import', 'disk.qcow2');
    await qemuImg(['create', '-q', '-f', 'qcow2', img, '3M']);
    const vol2 = randomUUID();
    assert.deepEqual(await driver.inspectObject('import/disk.qcow2'), { name: 'import/disk.qcow2', size: 3 * MiB });
    await driver.adoptObject('import/disk.qcow2', 'volume', vol2);
    assert.equal((await driver.stat('volume', vol2))?.size, 3 * MiB);
    await qemuImg(['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', driver.path('volume', vol2), join(driver.directory, 'import', 'bad.qcow2')]);
    await assert.rejects(driver.adoptObject('import/bad.qcow2', 'volume', randomUUID()), { code: 'EINVAL' });
  });
});
