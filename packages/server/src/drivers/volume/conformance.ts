/**
 * The VolumeDriver conformance suite: behaviour every volume driver must show, registered as node:test tests.
 * A driver's test file calls runVolumeDriverConformance() once per configuration. Each test gets a fresh
 * directory under os.tmpdir() that is removed afterwards.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, open, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { VolumeDriver } from '../../domain/ports/volume-driver.js';

export interface ConformanceOptions {
  /**
   * Writes bytes into a volume as a consumer of volumeConnection() would. The default writes at the offset of
   * the file at devicePath, which is right for raw volumes; drivers with other formats supply their own.
   */
  writeVolume?: (driver: VolumeDriver, volumeId: string, offset: number, data: Buffer) => Promise<void>;
  /** Reads a volume's or snapshot's virtual bytes. The default reads driver.path(kind, id) as a raw file. */
  read?: (
    driver: VolumeDriver,
    kind: 'volume' | 'snapshot',
    id: string,
    offset: number,
    length: number,
  ) => Promise<Buffer>;
  /**
   * Leaves in the driver's directory what a crash (SIGKILL) in the middle of createSnapshot would leave, so the
   * sweepTemporaries test has something to sweep. Without it that test only checks that sweeping keeps objects.
   */
  simulateInterruptedSnapshot?: (driver: VolumeDriver, volumeId: string, snapshotId: string) => Promise<void>;
  /** Where the per-test directories go (default os.tmpdir()), e.g. a reflink-capable mount. */
  tmpRoot?: string;
  /**
   * Host bytes an object occupies, for the sparseness checks. The default counts the blocks of driver.path();
   * drivers whose objects span several files (overlay chains) count the whole chain.
   */
  allocatedOnHost?: (driver: VolumeDriver, kind: 'volume' | 'snapshot', id: string) => Promise<number>;
  /**
   * Puts an object the driver did not make into the backend under `name` (default: a file in the driver's
   * directory), for the listing test. Drivers whose objects live elsewhere (RBD images) supply their own.
   */
  placeForeignObject?: (driver: VolumeDriver, name: string, data: Buffer) => Promise<void>;
}

const KiB = 1024;
const MiB = 1024 * KiB;

async function rawWrite(driver: VolumeDriver, volumeId: string, offset: number, data: Buffer): Promise<void> {
  const fh = await open(driver.volumeConnection(volumeId).devicePath, 'r+');
  try {
    let done = 0;
    while (done < data.length) done += (await fh.write(data, done, data.length - done, offset + done)).bytesWritten;
  } finally {
    await fh.close();
  }
}

async function rawRead(
  driver: VolumeDriver,
  kind: 'volume' | 'snapshot',
  id: string,
  offset: number,
  length: number,
): Promise<Buffer> {
  const fh = await open(driver.path(kind, id), 'r');
  try {
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await fh.read(buf, done, length - done, offset + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return buf.subarray(0, done);
  } finally {
    await fh.close();
  }
}

/** Deterministic non-zero bytes, different per seed, so a misplaced or stale block is caught. */
export function pattern(length: number, seed: number): Buffer {
  const buf = Buffer.alloc(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    buf[i] = (x & 0xff) | 1;
  }
  return buf;
}

export function runVolumeDriverConformance(
  name: string,
  makeDriver: (dir: string) => Promise<VolumeDriver>,
  options: ConformanceOptions = {},
): void {
  const write = options.writeVolume ?? rawWrite;
  const read = options.read ?? rawRead;

  describe(`VolumeDriver conformance: ${name}`, () => {
    let root: string;
    let driver: VolumeDriver;

    beforeEach(async () => {
      root = await mkdtemp(join(options.tmpRoot ?? tmpdir(), 'cinderbox-driver-'));
      driver = await makeDriver(join(root, 'backend'));
    });
    afterEach(async () => {
      await rm(root, { recursive: true, force: true });
    });

    const listing = async () => (await readdir(driver.directory)).sort();
    const expectBytes = async (
      kind: 'volume' | 'snapshot',
      id: string,
      offset: number,
      expected: Buffer,
      what: string,
    ) => {
      const got = await read(driver, kind, id, offset, expected.length);
      assert.ok(got.equals(expected), `${what}: bytes at ${offset} (+${expected.length}) of ${kind} ${id} differ`);
    };
    const expectZeros = (kind: 'volume' | 'snapshot', id: string, offset: number, length: number, what: string) =>
      expectBytes(kind, id, offset, Buffer.alloc(length), what);
    const allocatedOnHost = async (kind: 'volume' | 'snapshot', id: string) =>
      options.allocatedOnHost
        ? options.allocatedOnHost(driver, kind, id)
        : (await stat(driver.path(kind, id))).blocks * 512;

    it('creates a zero-filled volume of the requested size and refuses to create it twice', async () => {
      const id = randomUUID();
      await driver.createVolume(id, 8 * MiB);
      const info = await driver.stat('volume', id);
      assert.equal(info?.size, 8 * MiB);
      assert.ok((info?.allocated ?? Infinity) < MiB, `a new volume should be sparse, allocated ${info?.allocated}`);
      await expectZeros('volume', id, 0, 64 * KiB, 'new volume');
      await expectZeros('volume', id, 8 * MiB - 64 * KiB, 64 * KiB, 'new volume end');
      await assert.rejects(driver.createVolume(id, 8 * MiB));
      const conn = driver.volumeConnection(id);
      assert.equal(conn.devicePath, driver.path('volume', id));
      assert.equal(conn.format, driver.format);
      assert.equal(await driver.stat('volume', randomUUID()), null);
      assert.equal(await driver.stat('snapshot', randomUUID()), null);
    });

    it('rejects ids that could escape the directory', async () => {
      const vol = randomUUID();
      await driver.createVolume(vol, MiB);
      const before = await listing();
      for (const bad of ['../x', 'a/b', '..', '', '.tmp-x', `${vol}/../../y`]) {
        await assert.rejects(async () => driver.createVolume(bad, MiB), `createVolume(${JSON.stringify(bad)})`);
        await assert.rejects(async () => driver.createSnapshot(vol, bad), `createSnapshot(${JSON.stringify(bad)})`);
        await assert.rejects(async () => driver.deleteVolume(bad), `deleteVolume(${JSON.stringify(bad)})`);
        assert.throws(() => driver.path('volume', bad), `path(${JSON.stringify(bad)})`);
      }
      assert.deepEqual(await listing(), before);
    });

    it('snapshot keeps the bytes from when it was taken', async () => {
      const vol = randomUUID();
      const snap = randomUUID();
      await driver.createVolume(vol, 16 * MiB);
      const a0 = pattern(64 * KiB, 1);
      const a1 = pattern(3 * MiB + 123, 2);
      await write(driver, vol, 0, a0);
      await write(driver, vol, 5 * MiB + 7, a1);
      await driver.createSnapshot(vol, snap);
      const b0 = pattern(64 * KiB, 3);
      await write(driver, vol, 0, b0);
      await write(driver, vol, 15 * MiB, pattern(MiB, 4));
      await expectBytes('snapshot', snap, 0, a0, 'snapshot after overwrite');
      await expectBytes('snapshot', snap, 5 * MiB + 7, a1, 'snapshot middle');
      await expectZeros('snapshot', snap, 15 * MiB, MiB, 'snapshot tail');
      await expectBytes('volume', vol, 0, b0, 'volume after overwrite');
      assert.equal((await driver.stat('snapshot', snap))?.size, 16 * MiB);
      await assert.rejects(driver.createSnapshot(vol, snap), 'a snapshot id cannot be reused');
      await expectBytes('snapshot', snap, 0, a0, 'snapshot after refused re-create');
    });

    it('clone is an independent copy grown to the requested size', async () => {
      const src = randomUUID();
      const dst = randomUUID();
      await driver.createVolume(src, 4 * MiB);
      const data = pattern(2 * MiB, 5);
      await write(driver, src, MiB, data);
      await driver.cloneVolume(src, dst, 6 * MiB);
      assert.equal((await driver.stat('volume', dst))?.size, 6 * MiB);
      await expectBytes('volume', dst, MiB, data, 'clone');
      await expectZeros('volume', dst, 0, MiB, 'clone head');
      await expectZeros('volume', dst, 3 * MiB, 3 * MiB, 'clone tail');
      await write(driver, dst, MiB, pattern(4 * KiB, 6));
      await write(driver, src, 2 * MiB, pattern(4 * KiB, 7));
      await expectBytes('volume', src, MiB, data.subarray(0, 4 * KiB), 'source after writing the clone');
      await expectBytes('volume', dst, 2 * MiB, data.subarray(MiB, MiB + 4 * KiB), 'clone after writing the source');
      assert.equal((await driver.stat('volume', src))?.size, 4 * MiB);
    });

    it('creates a volume from a snapshot, larger than the source', async () => {
      const vol = randomUUID();
      const snap = randomUUID();
      const fromSnap = randomUUID();
      await driver.createVolume(vol, 2 * MiB);
      const data = pattern(2 * MiB, 8);
      await write(driver, vol, 0, data);
      await driver.createSnapshot(vol, snap);
      await write(driver, vol, 0, pattern(2 * MiB, 9));
      await driver.createVolumeFromSnapshot(snap, fromSnap, 10 * MiB);
      assert.equal((await driver.stat('volume', fromSnap))?.size, 10 * MiB);
      await expectBytes('volume', fromSnap, 0, data, 'volume from snapshot');
      await expectZeros('volume', fromSnap, 2 * MiB, 8 * MiB, 'grown space');
      await write(driver, fromSnap, 0, pattern(4 * KiB, 10));
      await expectBytes('snapshot', snap, 0, data, 'snapshot after writing the new volume');
    });

    it('extends a volume, keeping its data and reading zeros in the new space', async () => {
      const vol = randomUUID();
      await driver.createVolume(vol, MiB);
      const data = pattern(MiB, 11);
      await write(driver, vol, 0, data);
      await driver.extendVolume(vol, 5 * MiB);
      assert.equal((await driver.stat('volume', vol))?.size, 5 * MiB);
      await expectBytes('volume', vol, 0, data, 'extended volume');
      await expectZeros('volume', vol, MiB, 4 * MiB, 'new space');
    });

    it('reverts a volume to a snapshot and keeps the snapshot', async () => {
      const vol = randomUUID();
      const snap = randomUUID();
      await driver.createVolume(vol, 4 * MiB);
      const data = pattern(MiB, 12);
      await write(driver, vol, MiB, data);
      await driver.createSnapshot(vol, snap);
      await write(driver, vol, 0, pattern(4 * MiB, 13));
      await driver.revertToSnapshot(vol, snap);
      await expectZeros('volume', vol, 0, MiB, 'reverted head');
      await expectBytes('volume', vol, MiB, data, 'reverted data');
      await expectZeros('volume', vol, 2 * MiB, 2 * MiB, 'reverted tail');
      await expectBytes('snapshot', snap, MiB, data, 'snapshot after revert');
      assert.equal((await driver.stat('volume', vol))?.size, 4 * MiB);
      // The volume stays usable and independent of the snapshot after a revert.
      await write(driver, vol, MiB, pattern(4 * KiB, 14));
      await expectBytes('snapshot', snap, MiB, data, 'snapshot after writing the reverted volume');
    });

    it('deletes volumes and snapshots idempotently', async () => {
      const vol = randomUUID();
      const snap = randomUUID();
      await driver.createVolume(vol, MiB);
      await driver.createSnapshot(vol, snap);
      await driver.deleteSnapshot(vol, snap);
      assert.equal(await driver.stat('snapshot', snap), null);
      await driver.deleteSnapshot(vol, snap);
      assert.notEqual(await driver.stat('volume', vol), null, 'deleting a snapshot keeps its volume');
      await driver.deleteVolume(vol);
      assert.equal(await driver.stat('volume', vol), null);
      await driver.deleteVolume(vol);
      await driver.deleteVolume(randomUUID());
      await driver.deleteSnapshot(randomUUID(), randomUUID());
      assert.deepEqual(await listing(), []);
    });

    it('keeps snapshots and clones of a mostly-hole volume sparse', async () => {
      const vol = randomUUID();
      await driver.createVolume(vol, 256 * MiB);
      for (const [i, offset] of [0, 100 * MiB + 4 * KiB, 256 * MiB - 4 * KiB].entries()) {
        await write(driver, vol, offset, pattern(4 * KiB, 20 + i));
      }
      const snap = randomUUID();
      const clone = randomUUID();
      await driver.createSnapshot(vol, snap);
      await driver.cloneVolume(vol, clone, 256 * MiB);
      for (const [kind, id] of [
        ['snapshot', snap],
        ['volume', clone],
      ] as const) {
        const allocated = await allocatedOnHost(kind, id);
        assert.ok(allocated < 2 * MiB, `${kind} of a mostly-hole volume allocates ${allocated} bytes`);
        await expectBytes(kind, id, 100 * MiB + 4 * KiB, pattern(4 * KiB, 21), `${kind} data`);
      }
      // Zeros written explicitly occupy space in the volume, but a copy must not need more than the source.
      await write(driver, vol, 50 * MiB, Buffer.alloc(4 * MiB));
      const snap2 = randomUUID();
      await driver.createSnapshot(vol, snap2);
      const volAllocated = await allocatedOnHost('volume', vol);
      const snapAllocated = await allocatedOnHost('snapshot', snap2);
      assert.ok(
        snapAllocated <= volAllocated + 64 * KiB,
        `snapshot allocates ${snapAllocated} > volume's ${volAllocated}`,
      );
    });

    it('reports allocated extents covering the data and not the holes', async () => {
      const vol = randomUUID();
      await driver.createVolume(vol, 128 * MiB);
      const writes = [
        [0, 4 * KiB],
        [10 * MiB, MiB],
        [127 * MiB, MiB],
      ] as const;
      for (const [i, [offset, length]] of writes.entries()) await write(driver, vol, offset, pattern(length, 30 + i));
      const snap = randomUUID();
      await driver.createSnapshot(vol, snap);
      for (const [kind, id] of [
        ['volume', vol],
        ['snapshot', snap],
      ] as const) {
        const extents = await driver.allocatedExtents(kind, id);
        let end = -1;
        for (const e of extents) {
          assert.ok(e.length > 0 && e.offset > end, `${kind} extents must be sorted and non-overlapping`);
          end = e.offset + e.length - 1;
        }
        for (const [offset, length] of writes) {
          const covered = extents.some((e) => e.offset <= offset && e.offset + e.length >= offset + length);
          assert.ok(covered, `${kind}: written range ${offset}+${length} not covered by ${JSON.stringify(extents)}`);
        }
        const total = extents.reduce((n, e) => n + e.length, 0);
        assert.ok(total < 16 * MiB, `${kind}: ${total} bytes reported allocated for ~2 MiB of data`);
        assert.ok(end < 128 * MiB, `${kind}: extents past the end`);
      }
      const empty = randomUUID();
      await driver.createVolume(empty, 64 * MiB);
      assert.deepEqual(await driver.allocatedExtents('volume', empty), []);
    });

    it('zeroes a range without touching its neighbours or the size', async () => {
      const vol = randomUUID();
      await driver.createVolume(vol, 4 * MiB);
      const data = pattern(2 * MiB, 40);
      await write(driver, vol, MiB, data);
      await driver.zeroRange(vol, MiB + 64 * KiB, 512 * KiB);
      await expectBytes('volume', vol, MiB, data.subarray(0, 64 * KiB), 'before the zeroed range');
      await expectZeros('volume', vol, MiB + 64 * KiB, 512 * KiB, 'zeroed range');
      await expectBytes('volume', vol, MiB + 576 * KiB, data.subarray(576 * KiB), 'after the zeroed range');
      // Unaligned ranges too.
      await driver.zeroRange(vol, 2 * MiB + 100, 1000);
      await expectZeros('volume', vol, 2 * MiB + 100, 1000, 'unaligned zeroed range');
      await expectBytes('volume', vol, 2 * MiB, data.subarray(MiB, MiB + 100), 'before the unaligned range');
      await expectBytes(
        'volume',
        vol,
        2 * MiB + 1100,
        data.subarray(MiB + 1100, MiB + 8192),
        'after the unaligned range',
      );
      await driver.zeroRange(vol, 3 * MiB, 4 * MiB);
      assert.equal((await driver.stat('volume', vol))?.size, 4 * MiB, 'zeroing past the end must not grow the volume');
    });

    it('takes 10 concurrent snapshots of one volume, each with the right bytes', async () => {
      const vol = randomUUID();
      await driver.createVolume(vol, 32 * MiB);
      const chunks = Array.from({ length: 8 }, (_, i) => pattern(256 * KiB, 50 + i));
      for (const [i, chunk] of chunks.entries()) await write(driver, vol, i * 4 * MiB + i * 4 * KiB, chunk);
      const snaps = Array.from({ length: 10 }, () => randomUUID());
      await Promise.all(snaps.map((s) => driver.createSnapshot(vol, s)));
      for (const s of snaps) {
        assert.equal((await driver.stat('snapshot', s))?.size, 32 * MiB);
        for (const [i, chunk] of chunks.entries())
          await expectBytes('snapshot', s, i * 4 * MiB + i * 4 * KiB, chunk, 'concurrent snapshot');
      }
      // And concurrent clones of those snapshots.
      const vols = snaps.slice(0, 5).map(() => randomUUID());
      await Promise.all(vols.map((v, i) => driver.createVolumeFromSnapshot(snaps[i] ?? '', v, 32 * MiB)));
      for (const v of vols)
        await expectBytes('volume', v, 7 * 4 * MiB + 7 * 4 * KiB, chunks[7] ?? Buffer.alloc(0), 'concurrent clone');
    });

    it('reports progress that ends at 1', async () => {
      const vol = randomUUID();
      await driver.createVolume(vol, 16 * MiB);
      await write(driver, vol, 0, pattern(8 * MiB, 60));
      const seen: number[] = [];
      await driver.createSnapshot(vol, randomUUID(), { onProgress: (f) => seen.push(f) });
      assert.ok(seen.length > 0, 'no progress reported');
      assert.equal(seen.at(-1), 1);
      for (let i = 0; i < seen.length; i++) {
        const f = seen[i] ?? Number.NaN;
        assert.ok(f >= 0 && f <= 1 && f >= (seen[i - 1] ?? 0), `bad progress sequence ${JSON.stringify(seen)}`);
      }
    });

    it('leaves no snapshot and no temporaries after an aborted copy', async () => {
      const vol = randomUUID();
      await driver.createVolume(vol, 64 * MiB);
      for (let i = 0; i < 8; i++) await write(driver, vol, i * 8 * MiB, pattern(2 * MiB, 70 + i));
      const before = await listing();

      const preAborted = AbortSignal.abort();
      const snap1 = randomUUID();
      await assert.rejects(driver.createSnapshot(vol, snap1, { signal: preAborted }));
      assert.equal(await driver.stat('snapshot', snap1), null);
      await assert.rejects(driver.cloneVolume(vol, randomUUID(), 64 * MiB, { signal: preAborted }));
      assert.deepEqual(await listing(), before, 'a pre-aborted copy changed the directory');

      // Aborting from the first progress report: the copy either stops cleanly or (if it was already done) completes.
      const controller = new AbortController();
      const snap2 = randomUUID();
      const outcome = await driver
        .createSnapshot(vol, snap2, { signal: controller.signal, onProgress: () => controller.abort() })
        .then(
          () => 'completed',
          (e: unknown) => e,
        );
      if (outcome === 'completed') {
        for (let i = 0; i < 8; i++)
          await expectBytes('snapshot', snap2, i * 8 * MiB, pattern(2 * MiB, 70 + i), 'completed snapshot');
        await driver.deleteSnapshot(vol, snap2);
      } else {
        assert.equal(await driver.stat('snapshot', snap2), null, 'an aborted snapshot must not exist');
      }
      assert.deepEqual(await listing(), before, 'an aborted copy left files behind');

      const snap3 = randomUUID();
      await assert.rejects(driver.revertToSnapshot(vol, snap3), 'revert to a missing snapshot');
      await driver.createSnapshot(vol, snap3);
      await write(driver, vol, 0, pattern(4 * KiB, 80));
      await assert.rejects(driver.revertToSnapshot(vol, snap3, { signal: AbortSignal.abort() }));
      await expectBytes('volume', vol, 0, pattern(4 * KiB, 80), 'an aborted revert must leave the volume as it was');
    });

    it('fails cleanly on missing sources', async () => {
      const vol = randomUUID();
      await driver.createVolume(vol, MiB);
      const before = await listing();
      await assert.rejects(driver.createSnapshot(randomUUID(), randomUUID()));
      await assert.rejects(driver.cloneVolume(randomUUID(), randomUUID(), MiB));
      await assert.rejects(driver.createVolumeFromSnapshot(randomUUID(), randomUUID(), MiB));
      await assert.rejects(driver.revertToSnapshot(vol, randomUUID()));
      await assert.rejects(driver.extendVolume(randomUUID(), 2 * MiB));
      assert.deepEqual(await listing(), before);
    });

    it('lists backend files, including foreign ones, but not temporaries', async () => {
      const vol = randomUUID();
      const snap = randomUUID();
      await driver.createVolume(vol, 3 * MiB);
      await driver.createSnapshot(vol, snap);
      const foreign = pattern(12345, 90);
      if (options.placeForeignObject) await options.placeForeignObject(driver, 'imported-disk.img', foreign);
      else await writeFile(join(driver.directory, 'imported-disk.img'), foreign);
      const objects = await driver.listObjects();
      const names = objects.map((o) => o.name);
      assert.ok(
        names.some((n) => n.includes(vol)),
        `volume missing from ${JSON.stringify(names)}`,
      );
      assert.ok(
        names.some((n) => n.includes(snap)),
        `snapshot missing from ${JSON.stringify(names)}`,
      );
      const found = objects.find((o) => o.name === 'imported-disk.img');
      assert.deepEqual(found && { name: found.name, size: found.size }, { name: 'imported-disk.img', size: 12345 });
    });

    it('sweeps temporaries and keeps volumes and snapshots', async () => {
      const vol = randomUUID();
      const snap = randomUUID();
      await driver.createVolume(vol, 4 * MiB);
      const data = pattern(MiB, 100);
      await write(driver, vol, 0, data);
      await driver.createSnapshot(vol, snap);
      const before = await listing();
      const objectsBefore = await driver.listObjects();
      const interrupted = randomUUID();
      if (options.simulateInterruptedSnapshot) {
        await options.simulateInterruptedSnapshot(driver, vol, interrupted);
        assert.notDeepEqual(await listing(), before, 'the simulated crash left nothing');
        assert.deepEqual(await driver.listObjects(), objectsBefore, 'listObjects shows temporaries');
        assert.equal(await driver.stat('snapshot', interrupted), null, 'a partial snapshot is visible');
      }
      await driver.sweepTemporaries();
      assert.deepEqual(await listing(), before);
      await driver.sweepTemporaries();
      await expectBytes('volume', vol, 0, data, 'volume after sweeping');
      await expectBytes('snapshot', snap, 0, data, 'snapshot after sweeping');
      // The interrupted snapshot can be taken again.
      await driver.createSnapshot(vol, interrupted);
      await expectBytes('snapshot', interrupted, 0, data, 'snapshot retaken after a crash');
    });
  });
}
