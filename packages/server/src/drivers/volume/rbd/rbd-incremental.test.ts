/**
 * Incremental backups of an RBD volume on the `rbd` tool path (no librbd), against a real Ceph pool, through the
 * real BlockSources adapter and backup repository: the changed chunks are read with `rbd export-diff --from-snap
 * --whole-object`, and the chain full → after writes → after zeroing restores byte-exact against a model of the
 * volume kept by the test. With objects as large as the backup chunks no full export of the snapshot may run;
 * with objects smaller than a chunk the rest of each chunk comes from a full pass and must still be exact.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BackupRepository } from '../../../backup-repo/index.js';
import { FsObjectStore } from '../../objects/fs/index.js';
import { blockSources } from '../block-source.js';
import { createRbdVolumeDriver, type RbdVolumeDriver } from './rbd-driver.js';
import { makeTestPool } from './test-support.js';

const MiB = 1024 * 1024;
const SIZE = 24 * MiB;
const CHUNK = 4 * MiB;

const made = makeTestPool('inc');
const skip = 'skip' in made ? made.skip : false;

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

/** Counts the tool's export-diff streams by kind (the real calls go through unchanged). */
function countExports(driver: RbdVolumeDriver): { full: number; since: number } {
  const n = { full: 0, since: 0 };
  const real = driver.cli.exportDiff.bind(driver.cli);
  driver.cli.exportDiff = (spec, opts = {}) => {
    if (opts.fromSnap) n.since++;
    else n.full++;
    return real(spec, opts);
  };
  return n;
}

describe('rbd tool path: incremental backups restore byte-exact', { skip }, () => {
  if ('skip' in made) return;
  after(() => made.remove());

  for (const objectMiB of [4, 1]) {
    it(`${objectMiB} MiB objects, ${CHUNK / MiB} MiB chunks: after writes and after zeroing`, async () => {
      const root = await mkdtemp(join(tmpdir(), 'cinderbox-rbdinc-'));
      const driver = await createRbdVolumeDriver({
        name: 'rbd',
        pool: made.pool,
        conf: made.conf,
        directory: join(root, 'tmp'),
        objectSize: objectMiB * MiB,
        librbd: false,
      });
      assert.equal(await driver.lib(), null, 'the tool path');
      const repo = await BackupRepository.open({ store: new FsObjectStore(join(root, 'repo')), chunkSize: CHUNK });
      const vol = randomUUID();
      const model = Buffer.alloc(SIZE);
      const write = async (offset: number, data: Buffer) => {
        await driver.writeRaw(vol, once(data), offset);
        data.copy(model, offset);
      };
      const zero = async (offset: number, length: number) => {
        await driver.zeroRange(vol, offset, length);
        model.fill(0, offset, offset + length);
      };
      const backup = async (id: string, snap: string, parent?: { locator: string; snap: string }) => {
        const source = await blockSources.open(driver, 'snapshot', snap, {
          chunkSize: CHUNK,
          ...(parent ? { changedSince: { volumeId: vol, snapshotId: parent.snap } } : {}),
        });
        try {
          if (parent) assert.notEqual(source.changedExtents, null, 'changed extents from rbd diff');
          const r = await repo.backup({
            id,
            container: 'c',
            sourcePath: source.path,
            size: SIZE,
            allocatedExtents: source.allocatedExtents,
            ...(parent ? { parent: parent.locator, changedExtents: source.changedExtents! } : {}),
          });
          return { locator: r.locator, snap, stats: r.stats };
        } finally {
          await source.release();
        }
      };
      const restoreEquals = async (locator: string, what: string) => {
        const target = join(root, `restore-${randomUUID()}`);
        await repo.restore({ locator, targetPath: target, targetIsFresh: true, directIo: false });
        const got = await readFile(target);
        assert.equal(got.length, SIZE);
        // Compared per MiB so a failure names where the bytes differ.
        for (let o = 0; o < SIZE; o += MiB) {
          assert.ok(got.subarray(o, o + MiB).equals(model.subarray(o, o + MiB)), `${what}: restored bytes differ in MiB ${o / MiB}`);
        }
        await rm(target, { force: true });
      };
      try {
        await driver.createVolume(vol, SIZE);
        await write(0, randomBytes(16 * MiB));
        await write(20 * MiB, randomBytes(MiB));
        const s0 = randomUUID();
        await driver.createSnapshot(vol, s0);
        const full = await backup('full', s0);
        await restoreEquals(full.locator, 'full');

        // Writes: a small one inside an object, one across an object and a chunk boundary, one into a hole.
        await write(5 * MiB + 300, randomBytes(100 * 1024));
        await write(12 * MiB - 512 * 1024, randomBytes(MiB));
        await write(17 * MiB + 4096, randomBytes(64 * 1024));
        const s1 = randomUUID();
        await driver.createSnapshot(vol, s1);
        const exports = countExports(driver);
        const inc1 = await backup('inc1', s1, full);
        assert.equal(exports.since, 1, 'one export-diff --from-snap');
        if (objectMiB * MiB >= CHUNK) assert.equal(exports.full, 0, 'no full export when whole objects cover the chunks');
        assert.ok(inc1.stats.reusedChunks > 0, 'unchanged chunks come from the parent');
        await restoreEquals(inc1.locator, 'after writes');

        // Zeroing ('z' records): part of an object, a whole chunk, and the written hole again.
        await zero(2 * MiB + 4096, 3 * MiB);
        await zero(8 * MiB, 4 * MiB);
        await zero(17 * MiB, MiB);
        const s2 = randomUUID();
        await driver.createSnapshot(vol, s2);
        exports.since = 0;
        exports.full = 0;
        const inc2 = await backup('inc2', s2, inc1);
        assert.equal(exports.since, 1);
        if (objectMiB * MiB >= CHUNK) assert.equal(exports.full, 0);
        await restoreEquals(inc2.locator, 'after zeroing');
      } finally {
        await repo.close();
        await driver.deleteVolume(vol).catch(() => {});
        await rm(root, { recursive: true, force: true });
      }
    });
  }
});
