/**
 * A snapshot batch flushes its overlays only after renaming them into place, so a power cut can leave an overlay
 * (the active layer, or a snapshot a later create of the batch froze) without its bytes. These tests stop a batch
 * where a power cut would hit it, tear the overlays as a lost page cache would, and check that the next start
 * rewrites them from their claims: the volume and every snapshot read their exact bytes and the chain checks clean.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, open, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pattern } from '../conformance.js';
import { createQcow2VolumeDriver, type Qcow2VolumeDriver } from './qcow2-driver.js';
import { readHeader } from './qcow2-format.js';
import { probeQemuImg, qemuImg } from './qemu.js';
import { qemuRead, qemuWrite } from './test-support.js';

const MiB = 1024 * 1024;
const SIZE = 64 * MiB;
const qemu = probeQemuImg();
const skip = qemu.available ? false : `qcow2 driver unavailable: ${qemu.detail}`;

type Tear = 'length lost' | 'header zeroed' | 'refcounts zeroed';

/** What a power cut can leave of a freshly written, never flushed overlay. */
async function tear(path: string, how: Tear): Promise<void> {
  if (how === 'length lost') return truncate(path, 0);
  const fh = await open(path, 'r+');
  try {
    if (how === 'header zeroed') await fh.write(Buffer.alloc(4096), 0, 4096, 0);
    else {
      await fh.write(Buffer.alloc(8), 0, 8, 64 * 1024);
      await fh.write(Buffer.alloc(64 * 1024), 0, 64 * 1024, 128 * 1024);
    }
  } finally {
    await fh.close();
  }
}

const claimsIn = async (dir: string) => (await readdir(dir)).filter((n) => n.startsWith('.overlay+'));

describe('qcow2 snapshot overlays torn by a power cut', { skip }, () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'cinderbox-qcow2-torn-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const data = Buffer.concat([pattern(MiB, 41), pattern(MiB, 42)]);
  const write = async (driver: Qcow2VolumeDriver, vol: string) => {
    await qemuWrite(driver, vol, 0, data.subarray(0, MiB));
    await qemuWrite(driver, vol, SIZE - MiB, data.subarray(MiB));
  };
  const readsData = async (driver: Qcow2VolumeDriver, kind: 'volume' | 'snapshot', id: string) => {
    assert.ok((await qemuRead(driver, kind, id, 0, MiB)).equals(data.subarray(0, MiB)), `${kind} ${id}: first MiB`);
    assert.ok((await qemuRead(driver, kind, id, SIZE - MiB, MiB)).equals(data.subarray(MiB)), `${kind} ${id}: last MiB`);
    assert.ok((await qemuRead(driver, kind, id, 8 * MiB, MiB)).equals(Buffer.alloc(MiB)), `${kind} ${id}: a hole`);
  };

  for (const how of ['length lost', 'header zeroed', 'refcounts zeroed'] as const) {
    it(`rewrites every overlay of a batch cut before its flushes (${how}) from its claim`, async () => {
      const dir = join(root, how.replace(' ', '-'));
      let stall: () => void = () => {};
      let stalled: () => void = () => {};
      const reached = new Promise<void>((r) => (stalled = r));
      const first = await createQcow2VolumeDriver({
        name: 'qcow2',
        directory: dir,
        beforeSnapshotFlush: () => {
          stalled();
          return new Promise<void>((r) => (stall = r));
        },
      });
      const vol = randomUUID();
      await first.createVolume(vol, SIZE);
      await write(first, vol);
      const snaps = [randomUUID(), randomUUID(), randomUUID()];
      const creating = Promise.all(snaps.map((s) => first.createSnapshot(vol, s)));
      await reached;

      // Renamed into place, not flushed: the active layer is the third overlay, snapshots 2 and 3 the first two.
      const claims = await claimsIn(dir);
      assert.equal(claims.length, 3, claims.join(' '));
      const overlays = [first.path('volume', vol), first.path('snapshot', snaps[1]!), first.path('snapshot', snaps[2]!)];
      for (const p of overlays) await tear(p, how);
      if (how !== 'refcounts zeroed') assert.equal(await readHeader(first.path('volume', vol)).catch(() => null), null);

      const next = await createQcow2VolumeDriver({ name: 'qcow2', directory: dir });
      await next.sweepTemporaries();
      assert.deepEqual(await claimsIn(dir), [], 'the claims are gone');
      await readsData(next, 'volume', vol);
      for (const s of snaps) await readsData(next, 'snapshot', s);
      const active = next.path('volume', vol);
      const check = JSON.parse(await qemuImg(['check', '--output=json', active]).catch((e: { stderr: string }) => e.stderr));
      assert.equal(check.corruptions ?? 0, 0, 'the active layer checks clean');
      const chain = JSON.parse(await qemuImg(['info', '-U', '--output=json', '--backing-chain', active])) as { filename: string }[];
      assert.equal(chain.length, 4, 'one line: the active layer over the three snapshots');
      assert.equal(new Set(chain.map((l) => l.filename)).size, 4);

      // The stalled process is gone in a real power cut; here its batch finishes against files it no longer owns.
      stall();
      await creating;
      // The snapshots of a batch cut this way fail and are deleted, in any order; the volume keeps its bytes.
      for (const s of [snaps[1]!, snaps[0]!, snaps[2]!]) await next.deleteSnapshot(vol, s);
      await readsData(next, 'volume', vol);
      assert.deepEqual((await readdir(dir)).filter((n) => n.startsWith('_snapshot-')), []);
      await next.deleteVolume(vol);
    });
  }

  it('drops claims that name whole layers: a completed batch or one cut before its rename', async () => {
    const dir = join(root, 'stale');
    const driver = await createQcow2VolumeDriver({ name: 'qcow2', directory: dir });
    const vol = randomUUID();
    await driver.createVolume(vol, SIZE);
    await write(driver, vol);
    const [s1, s2] = [randomUUID(), randomUUID()];
    await driver.createSnapshot(vol, s1);
    assert.deepEqual(await claimsIn(dir), [], 'a completed batch removes its claims');
    // A claim whose removal a crash undid (its backing has its whole child), one for a create cut before its
    // rename (the active layer is still the old, whole one), and one whose location never came to exist.
    await writeFile(join(dir, `.overlay+${SIZE}+_snapshot-${s1}+volume-${vol}`), '');
    await writeFile(join(dir, `.overlay+${SIZE}+_snapshot-${s2}+volume-${vol}+_snapshot-${randomUUID()}`), '');
    await writeFile(join(dir, 'not-a-claim+1'), '');
    const before = await readHeader(driver.path('volume', vol));
    assert.deepEqual(await driver.repairTornOverlays(), []);
    assert.deepEqual(await claimsIn(dir), []);
    assert.deepEqual(await readHeader(driver.path('volume', vol)), before);
    await readsData(driver, 'volume', vol);
    await readsData(driver, 'snapshot', s1);
  });

  it('leaves a torn layer no fitting claim describes as it is', async () => {
    const dir = join(root, 'unclaimed');
    const driver = await createQcow2VolumeDriver({ name: 'qcow2', directory: dir });
    const vol = randomUUID();
    await driver.createVolume(vol, SIZE);
    const s1 = randomUUID();
    await driver.createSnapshot(vol, s1);
    // The claim's size disagrees with the header that survived: not this layer's claim.
    await tear(driver.path('volume', vol), 'refcounts zeroed');
    await writeFile(join(dir, `.overlay+${SIZE * 2}+_snapshot-${s1}+volume-${vol}`), '');
    assert.deepEqual(await driver.repairTornOverlays(), []);
    // The right claim repairs it.
    await writeFile(join(dir, `.overlay+${SIZE}+_snapshot-${s1}+volume-${vol}`), '');
    assert.deepEqual(await driver.repairTornOverlays(), [`volume-${vol}`]);
    const check = JSON.parse(await qemuImg(['check', '--output=json', driver.path('volume', vol)]).catch((e: { stderr: string }) => e.stderr));
    assert.equal(check.corruptions ?? 0, 0);
  });
});
