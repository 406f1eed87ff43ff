/**
 * Changed-block tracking of the raw driver on a reflink filesystem (a loop-mounted XFS image): N random blocks
 * written between two snapshots are exactly what changedExtents reports. Skipped, with the reason printed, where
 * no such mount can be made (not root, no free loop device, no mkfs.xfs). Without reflinks the answer is null.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pattern } from '../conformance.js';
import { mountXfsLoop, type XfsLoop } from '../xfs-loop.js';
import { createRawVolumeDriver } from './raw-driver.js';

const KiB = 1024;
const MiB = 1024 * KiB;

async function writeBlocks(path: string, writes: [number, Buffer][]): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    for (const [offset, data] of writes) await fh.write(data, 0, data.length, offset);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

describe('raw driver changed-block tracking on reflink (XFS loop mount)', () => {
  let loop: XfsLoop | null = null;
  let skipped = '';
  before(async () => {
    const r = await mountXfsLoop(2);
    if ('skipped' in r) {
      skipped = r.skipped;
      console.log(`# raw CBT on XFS skipped: ${skipped}`);
    } else loop = r;
  });
  after(async () => {
    await loop?.release();
  });

  it('reports exactly the 4 KiB blocks written between two snapshots', async (t) => {
    if (!loop) return t.skip(skipped);
    const driver = await createRawVolumeDriver({ name: 'raw', directory: join(loop.mountPoint, 'backend') });
    assert.equal(driver.capabilities.snapshotMethod, 'reflink');
    const vol = randomUUID();
    const size = 256 * MiB;
    await driver.createVolume(vol, size);
    await writeBlocks(driver.path('volume', vol), [[0, pattern(16 * MiB, 1)]]);
    const a = randomUUID();
    await driver.createSnapshot(vol, a);
    const blocks = new Set<number>();
    let seed = 99;
    while (blocks.size < 500) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      blocks.add(seed % (size / (4 * KiB)));
    }
    await writeBlocks(driver.path('volume', vol), [...blocks].map((b, i) => [b * 4 * KiB, pattern(4 * KiB, i + 2)] as [number, Buffer]));
    const b = randomUUID();
    await driver.createSnapshot(vol, b);
    const changed = await driver.changedExtents(vol, a, b);
    assert.ok(changed);
    const got = new Set<number>();
    for (const e of changed) for (let o = e.offset; o < e.offset + e.length; o += 4 * KiB) got.add(o / (4 * KiB));
    const missed = [...blocks].filter((x) => !got.has(x));
    const extra = [...got].filter((x) => !blocks.has(x));
    assert.deepEqual([missed.length, extra.length], [0, 0], `missed ${missed.length}, extra ${extra.length}`);
    assert.deepEqual(await driver.changedExtents(vol, b, null), [], 'nothing changed since b');
  });

  it('answers null (unknown) without reflinks', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cinderbox-raw-cbt-'));
    try {
      const driver = await createRawVolumeDriver({ name: 'raw', directory: dir, reflink: false });
      const vol = randomUUID();
      await driver.createVolume(vol, MiB);
      const s = randomUUID();
      await driver.createSnapshot(vol, s);
      assert.equal(await driver.changedExtents(vol, s, null), null);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
