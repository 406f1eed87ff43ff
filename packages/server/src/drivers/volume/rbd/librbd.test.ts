/**
 * The librbd addon (native/rbd_io.c) and the driver's librbd path against a real Ceph pool: the same bytes and
 * extents as the `rbd` tool path sees, handles that fail cleanly once closed, arguments checked before they reach
 * librbd, and the pool's capacity as `ceph df` reports it. Skipped with the reason when the addon is not built or
 * no cluster is reachable.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Extent } from '../../../domain/ports/volume-driver.js';
import { CLOSE_GRACE_MS, LibrbdPool, loadLibrbdAddon, RW_CLOSE_GRACE_MS, type ImageHandle, type RbdAddon } from './librbd.js';
import { poolCapacity } from './ceph-cluster.js';
import { createRbdVolumeDriver, type RbdVolumeDriver } from './rbd-driver.js';
import { makeTestPool } from './test-support.js';

const MiB = 1024 * 1024;

describe('poolCapacity (ceph df --format json)', () => {
  it('reports stored plus max_avail as the total and max_avail as free', () => {
    const df = JSON.stringify({
      stats: { total_bytes: 100 * MiB, total_avail_bytes: 60 * MiB },
      pools: [
        { name: 'other', stats: { stored: 1, max_avail: 2 } },
        { name: 'volumes', stats: { stored: 10 * MiB, bytes_used: 20 * MiB, max_avail: 50 * MiB } },
      ],
    });
    assert.deepEqual(poolCapacity(df, 'volumes'), { total: 60 * MiB, free: 50 * MiB });
  });
  it('says unknown (null) for a missing pool, a cluster that reports no usage, or output that is not JSON', () => {
    const none = JSON.stringify({ stats: { total_bytes: 0 }, pools: [{ name: 'volumes', stats: { stored: 0, max_avail: 0 } }] });
    assert.equal(poolCapacity(none, 'volumes'), null);
    assert.equal(poolCapacity(JSON.stringify({ stats: { total_bytes: 5 }, pools: [] }), 'volumes'), null);
    assert.equal(poolCapacity('', 'volumes'), null);
    assert.equal(poolCapacity('{"pools":', 'volumes'), null);
  });
});

describe('LibrbdPool close discipline (an addon that records its calls)', () => {
  // What the fake stands for is librbd's tail: the thread that reported an open still touches the ImageState for a
  // moment, so a close must not follow the open closely (issue #17). Times are read back, not raced.
  function recorder() {
    const calls: { op: string; at: number; img?: ImageHandle }[] = [];
    let n = 0;
    const fake = {
      abiVersion: 2,
      librbdVersion: 'fake',
      connect: async () => ({}) as never,
      openPool: async () => ({}) as never,
      open: async () => {
        const img = { n: n++ } as unknown as ImageHandle;
        calls.push({ op: 'open', at: performance.now(), img });
        return img;
      },
      close: async (img: ImageHandle) => {
        calls.push({ op: 'close', at: performance.now(), img });
      },
    } as unknown as RbdAddon;
    return { calls, fake };
  }
  const conn = () => ({ conf: `/fake/${randomUUID()}.conf` });

  it('defers a read-only close until the grace has passed since the open, without holding the caller', async () => {
    const { calls, fake } = recorder();
    const p = await LibrbdPool.connect(fake, conn(), 'p');
    const img = await p.open('img', 'snap', true);
    await p.close(img);
    assert.deepEqual(calls.map((c) => c.op), ['open'], 'close returned before librbd was asked to close');
    for (let i = 0; i < 100 && calls.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(calls.map((c) => c.op), ['open', 'close']);
    assert.equal(calls[1]!.img, img);
    assert.ok(calls[1]!.at - calls[0]!.at >= CLOSE_GRACE_MS - 1, `closed ${calls[1]!.at - calls[0]!.at} ms after the open`);
  });

  it('awaits a read-write close, issued no sooner than its own grace', async () => {
    const { calls, fake } = recorder();
    const p = await LibrbdPool.connect(fake, conn(), 'p');
    const img = await p.open('img', null, false);
    await p.close(img);
    assert.deepEqual(calls.map((c) => c.op), ['open', 'close'], 'the caller waited for the close');
    assert.ok(calls[1]!.at - calls[0]!.at >= RW_CLOSE_GRACE_MS - 1, `closed ${calls[1]!.at - calls[0]!.at} ms after the open`);
  });

  it('hands a read-write close off with closeSoon: the caller goes on, the grace holds, settled() waits for it', async () => {
    const { calls, fake } = recorder();
    const p = await LibrbdPool.connect(fake, conn(), 'p');
    const img = await p.open('img', null, false);
    p.closeSoon(img);
    assert.deepEqual(calls.map((c) => c.op), ['open'], 'closeSoon returned before librbd was asked to close');
    await p.settled();
    assert.deepEqual(calls.map((c) => c.op), ['open', 'close'], 'settled() resolved only after the close');
    assert.equal(calls[1]!.img, img);
    assert.ok(calls[1]!.at - calls[0]!.at >= RW_CLOSE_GRACE_MS - 1, `closed ${calls[1]!.at - calls[0]!.at} ms after the open`);
  });

  it('closes at once a handle opened longer ago than the grace', async () => {
    const { calls, fake } = recorder();
    const p = await LibrbdPool.connect(fake, conn(), 'p');
    const img = await p.open('img', 'snap', true);
    await new Promise((r) => setTimeout(r, CLOSE_GRACE_MS + 10));
    await p.close(img);
    assert.deepEqual(calls.map((c) => c.op), ['open', 'close']);
  });
});

// These tests are the librbd path's: a run with CINDERBOX_RBD_ADDON=off still tests the addon itself.
if (process.env.CINDERBOX_RBD_ADDON === 'off') delete process.env.CINDERBOX_RBD_ADDON;
const { addon, error } = loadLibrbdAddon();
// CI builds the addon (install-test-deps installs librbd-dev): there its absence is a failure, not a skip.
if (!addon && process.env.CINDERBOX_TEST_RBD === 'require') throw new Error(`CINDERBOX_TEST_RBD=require but the librbd addon is not built: ${error}`);
const made = addon ? makeTestPool('lib') : { skip: `the librbd addon is not built: ${error}` };

if ('skip' in made) {
  it('librbd path', { skip: made.skip }, () => {});
} else {
  const { pool, conf } = made;
  describe('librbd path against a real pool', () => {
    let root: string;
    let lib: RbdVolumeDriver;
    let tool: RbdVolumeDriver;
    before(async () => {
      root = await mkdtemp(join(tmpdir(), 'cinderbox-librbd-'));
      lib = await createRbdVolumeDriver({ name: 'rbd', pool, conf, directory: join(root, 'lib'), objectSize: MiB });
      tool = await createRbdVolumeDriver({ name: 'rbd', pool, conf, directory: join(root, 'tool'), objectSize: MiB, librbd: false });
      assert.ok(await lib.lib(), `librbd connects: ${lib.librbdUnavailable}`);
      assert.equal(await tool.lib(), null);
    });
    after(async () => {
      await rm(root, { recursive: true, force: true });
      made.remove();
    });

    const readAll = async (d: RbdVolumeDriver, kind: 'volume' | 'snapshot', id: string, ranges: Extent[]) => {
      const parts: Buffer[] = [];
      for await (const p of d.readRawRanges(kind, id, ranges)) parts.push(p.data);
      return Buffer.concat(parts);
    };
    const covers = (outer: Extent[], inner: Extent[]) =>
      inner.every((e) => outer.some((o) => o.offset <= e.offset && e.offset + e.length <= o.offset + o.length));

    it('reads, writes, extents and changed extents agree with the rbd tool path', async () => {
      const vol = randomUUID();
      await lib.createVolume(vol, 64 * MiB);
      const a = randomBytes(3 * MiB + 5);
      const b = randomBytes(64 * 1024);
      await lib.writeRaw(vol, (async function* () {
        yield a.subarray(0, MiB);
        yield a.subarray(MiB);
      })(), 2 * MiB + 7);
      await tool.writeRaw(vol, (async function* () {
        yield b;
      })(), 40 * MiB);
      const s1 = randomUUID();
      await lib.createSnapshot(vol, s1);
      const c = randomBytes(4096);
      await lib.writeRaw(vol, (async function* () {
        yield c;
      })(), 50 * MiB);
      await lib.zeroRange(vol, 40 * MiB, 4096);
      const s2 = randomUUID();
      await tool.createSnapshot(vol, s2);

      const ranges = [{ offset: 2 * MiB, length: 4 * MiB }, { offset: 40 * MiB, length: 64 * 1024 }, { offset: 63 * MiB, length: MiB }];
      for (const [kind, id] of [['snapshot', s1], ['snapshot', s2], ['volume', vol]] as const) {
        assert.ok((await readAll(lib, kind, id, ranges)).equals(await readAll(tool, kind, id, ranges)), `${kind} ${id} reads the same through both paths`);
        const fine = await tool.allocatedExtents(kind, id);
        const coarse = await lib.allocatedExtents(kind, id);
        assert.ok(covers(coarse, fine), `librbd's object-granular extents cover the tool's for ${kind}`);
        for (const e of coarse) assert.equal(e.offset % MiB, 0, 'whole objects');
        assert.deepEqual(await lib.stat(kind, id), await tool.stat(kind, id), `stat of ${kind} ${id}`);
      }
      const s1Bytes = await readAll(lib, 'snapshot', s1, [{ offset: 2 * MiB + 7, length: a.length }, { offset: 40 * MiB, length: b.length }]);
      assert.ok(s1Bytes.equals(Buffer.concat([a, b])), 'the snapshot holds what both paths wrote');
      const zeroed = await readAll(lib, 'volume', vol, [{ offset: 40 * MiB, length: 4096 }]);
      assert.ok(zeroed.equals(Buffer.alloc(4096)), 'zeroRange through librbd reads back as zeros');

      const changedTool = await tool.changedExtents(vol, s1, s2);
      const changedLib = await lib.changedExtents(vol, s1, s2);
      assert.ok(changedTool && changedLib);
      assert.ok(covers(changedLib, changedTool), `librbd's changed extents ${JSON.stringify(changedLib)} cover the tool's ${JSON.stringify(changedTool)}`);
      assert.ok(covers(changedLib, [{ offset: 50 * MiB, length: 4096 }, { offset: 40 * MiB, length: 4096 }]));
      assert.ok(!covers(changedLib, [{ offset: 2 * MiB, length: 1 }]), 'unchanged data is not reported');
      await lib.deleteVolume(vol);
    });

    it('exports and imports through librbd round-trip the bytes, zeroing what the staged file leaves out', async () => {
      const vol = randomUUID();
      await lib.createVolume(vol, 16 * MiB);
      const data = randomBytes(2 * MiB);
      await lib.writeRaw(vol, (async function* () {
        yield data;
      })(), 5 * MiB);
      const exported = await lib.exportRaw('volume', vol);
      const back = randomUUID();
      await lib.createVolume(back, 16 * MiB);
      await lib.writeRaw(back, (async function* () {
        yield randomBytes(MiB);
      })(), 0);
      const target = await lib.importRaw(back);
      execFileSync('cp', ['--sparse=always', exported.path, target.path]);
      await target.commit();
      await target.release();
      await exported.release();
      const all = [{ offset: 0, length: 16 * MiB }];
      assert.ok((await readAll(lib, 'volume', back, all)).equals(await readAll(tool, 'volume', vol, all)), 'restored image equals the source, old data zeroed');
      await lib.deleteVolume(vol);
      await lib.deleteVolume(back);
    });

    it('rejects bad arguments before librbd sees them and fails on closed handles with EBADF', async () => {
      const p = await LibrbdPool.connect(addon!, { conf }, pool);
      const vol = randomUUID();
      await lib.createVolume(vol, MiB);
      const img = await p.open(`volume-${vol}`, null, false);
      assert.throws(() => addon!.read(img, -1, Buffer.alloc(1)), TypeError);
      assert.throws(() => addon!.read(img, 0, 'x' as unknown as Buffer), TypeError);
      assert.throws(() => addon!.open(p.pool, 'a\u0000b', null, true), TypeError);
      assert.throws(() => addon!.size({} as never), TypeError);
      await assert.rejects(p.open('no-such-image', null, true), { code: 'ENOENT' });
      await assert.rejects(addon!.snapCreate(img, 'twice').then(() => addon!.snapCreate(img, 'twice')), { code: 'EEXIST' });
      assert.deepEqual((await addon!.snapList(img)).map((s) => s.name), ['twice']);
      assert.equal(await addon!.read(img, MiB - 100, Buffer.alloc(100)), 100);
      // librbd refuses a read that runs past the end (the driver clips ranges to the size first).
      await assert.rejects(addon!.read(img, MiB - 10, Buffer.alloc(100)), { code: 'EINVAL' });
      await addon!.close(img);
      await assert.rejects(addon!.size(img), { code: 'EBADF' });
      await assert.rejects(addon!.close(img), { code: 'EBADF' });
      await lib.deleteVolume(vol);
    });

    it('abandons an open that misses its deadline with ETIMEDOUT, and closes the image once librbd opens it', async (t) => {
      const p = await LibrbdPool.connect(addon!, { conf }, pool);
      const vol = randomUUID();
      await lib.createVolume(vol, MiB);
      const image = `volume-${vol}`;
      // A read-write open registers a watch on the header (several OSD round trips), which rarely finishes in 1 ms;
      // on an idle machine and a memstore OSD it sometimes does, so an open that wins is closed (after the grace
      // librbd needs, see CLOSE_GRACE_MS) and the race run again.
      let timedOut = false;
      for (let attempt = 0; attempt < 50 && !timedOut; attempt++) {
        try {
          const won = await addon!.open(p.pool, image, null, false, 1);
          await new Promise((r) => setTimeout(r, RW_CLOSE_GRACE_MS * 2));
          await addon!.close(won, 60_000);
        } catch (e) {
          assert.equal((e as { code?: string }).code, 'ETIMEDOUT', String(e));
          timedOut = true;
        }
      }
      // The deadline starts once the open is under way, so a descheduled pool thread can let the open win every time.
      if (!timedOut) t.skip('every one of 50 read-write opens finished within its 1 ms deadline: the abandon path was not reached');
      // The late open is closed on its own: its watch goes away (`rbd status` lists the header's watchers).
      const watchers = () => (JSON.parse(execFileSync('rbd', ['--conf', conf, 'status', '--format', 'json', `${pool}/${image}`], { encoding: 'utf8' })) as { watchers: unknown[] }).watchers;
      let left = watchers();
      for (let i = 0; i < 60 && left.length > 0; i++) {
        await new Promise((r) => setTimeout(r, 500));
        left = watchers();
      }
      assert.deepEqual(left, [], 'the abandoned open was closed');
      // The handle path still works afterwards, and deadlines are checked like any other argument.
      const img = await addon!.open(p.pool, image, null, true, 60_000);
      assert.equal(await addon!.size(img), MiB);
      await addon!.close(img, 60_000);
      assert.throws(() => addon!.open(p.pool, image, null, true, -1), TypeError);
      await lib.deleteVolume(vol);
    });

    it('keeps a pool while librbd holds an image of it, and a cluster while it has a pool (EBUSY, not a use-after-free)', async () => {
      const vol = randomUUID();
      await lib.createVolume(vol, MiB);
      // A connection of this test's own: the shared one stays with the driver.
      const cluster = await addon!.connect(conf, null, null);
      const p = await addon!.openPool(cluster, pool);
      const img = await addon!.open(p, `volume-${vol}`, null, true, 60_000);
      await assert.rejects(addon!.closePool(p), { code: 'EBUSY' });
      await assert.rejects(addon!.shutdown(cluster), { code: 'EBUSY' });
      // Both still work: the refusals changed nothing.
      assert.equal(await addon!.size(img), MiB);
      await addon!.close(img, 60_000);
      await assert.rejects(addon!.shutdown(cluster), { code: 'EBUSY' });
      await addon!.closePool(p);
      await addon!.shutdown(cluster);
      await assert.rejects(addon!.shutdown(cluster), { code: 'EBADF' });
      await lib.deleteVolume(vol);
    });

    it('reports the pool capacity as ceph df does, or null when the cluster reports no usage', async () => {
      const df = execFileSync('ceph', ['--conf', conf, 'df', '--format', 'json'], { encoding: 'utf8' });
      const expected = poolCapacity(df, pool);
      const got = await lib.capacity();
      const viaTool = await tool.capacity();
      if (expected === null) {
        // This CI cluster runs no ceph-mgr, so the mon has no usage to report: unknown, not zero.
        assert.equal(got, null);
        assert.equal(viaTool, null);
      } else {
        assert.ok(got && viaTool);
        // Usage moves between the calls (other suites share the cluster): the same order of magnitude.
        assert.ok(Math.abs(got.total - expected.total) <= expected.total * 0.1, `total ${got.total} vs ${expected.total}`);
        assert.ok(got.free <= got.total);
      }
    });
  });
}
