/**
 * The rbd driver against a real Ceph pool: the shared conformance suite through librbd and through the rbd
 * tool's diff streams, then what only RBD has: manage references by image and snapshot name, changed extents
 * from librbd's diff, clones flattened when their parent goes, and Cinder's RBD connection info.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { VolumeDriver } from '../../../domain/ports/volume-driver.js';
import { pattern, runVolumeDriverConformance } from '../conformance.js';
import { loadLibrbd } from './librbd.js';
import { createRbdVolumeDriver, type RbdVolumeDriver } from './rbd-driver.js';
import { makeTestPool } from './test-support.js';

const KiB = 1024;
const MiB = 1024 * KiB;

const made = makeTestPool('drv');
const skip = 'skip' in made ? made.skip : false;

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

async function readBytes(driver: VolumeDriver, kind: 'volume' | 'snapshot', id: string, offset: number, length: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of driver.readRaw(kind, id, offset, offset + length - 1)) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

if ('skip' in made) {
  it('rbd driver', { skip }, () => {});
} else {
  const { pool, conf } = made;
  after(() => made.remove());
  // 1 MiB objects: memstore reports an object's data from its start, so allocation is only as fine as an object.
  const open = (dir: string) => createRbdVolumeDriver({ name: 'rbd', pool, conf, directory: dir, objectSize: MiB });
  // The tool-only run gets a pool of its own: the suite leaves foreign objects of fixed names behind.
  const toolPool = loadLibrbd().addon ? makeTestPool('drvtool') : null;
  if (toolPool && !('skip' in toolPool)) after(() => toolPool.remove());
  const openTool = (dir: string) =>
    createRbdVolumeDriver({ name: 'rbd', pool: toolPool && !('skip' in toolPool) ? toolPool.pool : pool, conf, directory: dir, objectSize: MiB, librbd: false });

  const conformanceOptions: Parameters<typeof runVolumeDriverConformance>[2] = {
    writeVolume: async (driver, id, offset, data) => {
      await driver.writeRaw(id, once(data), offset);
    },
    read: readBytes,
    allocatedOnHost: async (driver, kind, id) => (await driver.stat(kind, id))?.allocated ?? 0,
    placeForeignObject: async (driver, name, data) => {
      const at = `${(driver as RbdVolumeDriver).pool}/${name}`;
      await (driver as RbdVolumeDriver).cli.run(['create', '--size', `${data.length}B`, at]);
      await (driver as RbdVolumeDriver).cli.importDiff(at, (async function* () {
        const { diffHeader, writeRecord, END_RECORD } = await import('./rbd-cli.js');
        yield diffHeader();
        yield* writeRecord(0, data);
        yield END_RECORD;
      })());
    },
  };
  // Through librbd when the addon is built, then the rbd tool alone (what a machine without librbd-dev runs).
  runVolumeDriverConformance(loadLibrbd().addon ? 'rbd (librbd)' : `rbd (rbd tool: ${loadLibrbd().error ?? 'no librbd'})`, open, conformanceOptions);
  if (toolPool) runVolumeDriverConformance('rbd (rbd tool)', openTool, conformanceOptions);

  describe('rbd driver specifics', () => {
    let root: string;
    let driver: RbdVolumeDriver;
    before(async () => {
      root = await mkdtemp(join(tmpdir(), 'cinderbox-rbd-'));
      driver = await open(join(root, 'backend'));
    });
    after(async () => {
      await rm(root, { recursive: true, force: true });
    });
    const read = (kind: 'volume' | 'snapshot', id: string, offset: number, length: number) => readBytes(driver, kind, id, offset, length);

    it('names images and snapshots as Cinder does and answers with Cinder\'s RBD connection info', async () => {
      const vol = randomUUID();
      await driver.createVolume(vol, MiB);
      assert.equal(driver.objectName('volume', vol), `volume-${vol}`);
      assert.equal(driver.objectName('snapshot', vol), `snapshot-${vol}`);
      const info = driver.connectionInfo(vol);
      assert.equal(info.driver_volume_type, 'rbd');
      assert.equal(info.data.name, `${pool}/volume-${vol}`);
      assert.ok(Array.isArray(info.data.hosts) && (info.data.hosts as string[]).length > 0, 'monitor hosts from ceph mon dump');
      assert.equal((info.data.hosts as string[]).length, (info.data.ports as string[]).length);
      assert.equal(info.data.volume_id, vol);
      assert.equal(info.data.auth_enabled, false);
      assert.equal(info.data.discard, true);
      await driver.deleteVolume(vol);
    });

    it('reports the changed extents between two snapshots and up to the live image', async () => {
      const vol = randomUUID();
      const [s1, s2] = [randomUUID(), randomUUID()];
      await driver.createVolume(vol, 64 * MiB);
      await driver.writeRaw(vol, once(pattern(MiB, 1)), 0);
      await driver.createSnapshot(vol, s1);
      await driver.writeRaw(vol, once(pattern(64 * KiB, 2)), 40 * MiB);
      await driver.zeroRange(vol, 0, 4 * KiB);
      await driver.createSnapshot(vol, s2);
      const changed = await driver.changedExtents(vol, s1, s2);
      assert.ok(changed);
      const covers = (o: number, l: number) => changed.some((e) => e.offset <= o && e.offset + e.length >= o + l);
      assert.ok(covers(40 * MiB, 64 * KiB), `write missing from ${JSON.stringify(changed)}`);
      assert.ok(covers(0, 4 * KiB), `zeroed range missing from ${JSON.stringify(changed)}`);
      const total = changed.reduce((n, e) => n + e.length, 0);
      assert.ok(total <= 12 * MiB, `${total} bytes reported changed for 68 KiB`);
      assert.deepEqual(await driver.changedExtents(vol, s2, null), []);
      await driver.writeRaw(vol, once(pattern(4 * KiB, 3)), 60 * MiB);
      assert.ok((await driver.changedExtents(vol, s2, null))?.some((e) => e.offset <= 60 * MiB && e.offset + e.length > 60 * MiB));
      await assert.rejects(driver.changedExtents(vol, randomUUID(), s2));
      await driver.deleteVolume(vol);
    });

    it('flattens clones when their parent snapshot or volume goes, keeping their bytes', async () => {
      const vol = randomUUID();
      const snap = randomUUID();
      const fromSnap = randomUUID();
      const fromVol = randomUUID();
      await driver.createVolume(vol, 8 * MiB);
      await driver.writeRaw(vol, once(pattern(2 * MiB, 4)), MiB);
      await driver.createSnapshot(vol, snap);
      await driver.createVolumeFromSnapshot(snap, fromSnap, 8 * MiB);
      await driver.cloneVolume(vol, fromVol, 8 * MiB);
      const parentOf = async (id: string) =>
        (await driver.cli.json<{ parent?: { image: string } }>(['info', `${pool}/volume-${id}`])).parent?.image ?? null;
      assert.equal(await parentOf(fromSnap), `volume-${vol}`, 'a volume from a snapshot is a clone');
      assert.equal(await parentOf(fromVol), `volume-${vol}`, 'a volume from a volume is a clone');
      await driver.deleteSnapshot(vol, snap);
      assert.equal(await parentOf(fromSnap), null, 'deleting the snapshot flattens its clone');
      await driver.deleteVolume(vol);
      assert.equal(await parentOf(fromVol), null, 'deleting the volume flattens its clone');
      assert.deepEqual(await read('volume', fromSnap, MiB, 2 * MiB), pattern(2 * MiB, 4));
      assert.deepEqual(await read('volume', fromVol, MiB, 2 * MiB), pattern(2 * MiB, 4));
      // A clone of a volume removes the snapshot it hung from when it goes.
      const src = randomUUID();
      const cl = randomUUID();
      await driver.createVolume(src, MiB);
      await driver.cloneVolume(src, cl, MiB);
      await driver.deleteVolume(cl);
      assert.deepEqual(await driver.cli.json(['snap', 'ls', `${pool}/volume-${src}`]), []);
      for (const id of [fromSnap, fromVol, src]) await driver.deleteVolume(id);
    });

    it('writes past the end are refused after the fitting part; exports and imports round-trip', async () => {
      const vol = randomUUID();
      await driver.createVolume(vol, 2 * MiB);
      await assert.rejects(driver.writeRaw(vol, once(pattern(MiB + 10, 5)), MiB), (e: unknown) => (e as { code?: string }).code === 'EINVAL');
      assert.deepEqual(await read('volume', vol, MiB, MiB), pattern(MiB + 10, 5).subarray(0, MiB));
      const exported = await driver.exportRaw('volume', vol);
      const bytes = await readFile(exported.path);
      await exported.release();
      assert.equal(bytes.length, 2 * MiB);
      const target = await driver.importRaw(vol);
      await writeFile(target.path, pattern(64 * KiB, 6), { flag: 'r+' });
      await target.commit();
      await target.release();
      assert.deepEqual(await read('volume', vol, 0, 64 * KiB), pattern(64 * KiB, 6));
      assert.deepEqual(await read('volume', vol, MiB, MiB), Buffer.alloc(MiB), 'holes of the import become zeros');
      await driver.deleteVolume(vol);
    });
  });

  describe('rbd: manage references (Cinder RBD source-name)', () => {
    let root: string;
    let driver: RbdVolumeDriver;
    const image = (name: string, size: number) => driver.cli.run(['create', '--size', `${size}B`, `${pool}/${name}`]);
    const read = (kind: 'volume' | 'snapshot', id: string, offset: number, length: number) => readBytes(driver, kind, id, offset, length);
    before(async () => {
      root = await mkdtemp(join(tmpdir(), 'cinderbox-rbd-manage-'));
      driver = await open(join(root, 'backend'));
    });
    after(async () => {
      await rm(root, { recursive: true, force: true });
    });

    it('lists images as volumes and snapshots by snapshot name, without clone snapshots', async () => {
      const vol = randomUUID();
      const snap = randomUUID();
      await driver.createVolume(vol, 3 * MiB);
      await driver.createSnapshot(vol, snap);
      await driver.cloneVolume(vol, randomUUID(), 3 * MiB);
      const objects = await driver.listObjects();
      assert.deepEqual(objects.find((o) => o.name === `volume-${vol}`), { name: `volume-${vol}`, size: 3 * MiB, kind: 'volume' });
      assert.deepEqual(objects.find((o) => o.name === `snapshot-${snap}`), { name: `snapshot-${snap}`, size: 3 * MiB, kind: 'snapshot' });
      assert.ok(!objects.some((o) => o.name.endsWith('.clone_snap')));
    });

    it('inspects images, snapshots by name or image@snap, refuses bad and ambiguous names', async () => {
      const name = `foreign-${randomUUID()}`;
      await image(name, 5 * MiB);
      await driver.cli.run(['snap', 'create', `${pool}/${name}@mysnap`]);
      assert.deepEqual(await driver.inspectObject(name), { name, size: 5 * MiB });
      assert.deepEqual(await driver.inspectObject(`${name}@mysnap`), { name: `${name}@mysnap`, size: 5 * MiB });
      assert.equal(await driver.inspectObject('no-such-image'), null);
      assert.equal(await driver.inspectObject(`${name}@nosnap`), null);
      for (const bad of ['', 'a/b', '.hidden', 'x\u0001', `${name}@a@b`, '@snap']) {
        await assert.rejects(driver.inspectObject(bad), (e: unknown) => (e as { code?: string }).code === 'EINVAL', JSON.stringify(bad));
      }
      const other = `foreign-${randomUUID()}`;
      await image(other, MiB);
      await driver.cli.run(['snap', 'create', `${pool}/${other}@mysnap`]);
      await assert.rejects(driver.inspectObject('mysnap'), (e: unknown) => (e as { code?: string }).code === 'EINVAL', 'ambiguous');
      assert.throws(() => driver.validateManageRef({ 'source-name': 1 }), (e: unknown) => (e as { code?: string }).code === 'EINVAL');
      assert.equal(driver.validateManageRef({ 'source-name': name }), name);
    });

    it('adopts an image and a snapshot by renaming, idempotently, never overwriting', async () => {
      const name = `foreign-${randomUUID()}`;
      await image(name, 2 * MiB);
      await driver.cli.importDiff(`${pool}/${name}`, (async function* () {
        const { diffHeader, writeRecord, END_RECORD } = await import('./rbd-cli.js');
        yield diffHeader();
        yield* writeRecord(0, pattern(MiB, 7));
        yield END_RECORD;
      })());
      const id = randomUUID();
      await driver.adoptObject(name, 'volume', id);
      await driver.adoptObject(name, 'volume', id); // replay
      assert.equal(await driver.inspectObject(name), null);
      assert.deepEqual(await read('volume', id, 0, MiB), pattern(MiB, 7));
      const other = `foreign-${randomUUID()}`;
      await image(other, MiB);
      await assert.rejects(driver.adoptObject(other, 'volume', id), (e: unknown) => (e as { code?: string }).code === 'EEXIST');
      await assert.rejects(driver.adoptObject(`missing-${randomUUID()}`, 'volume', randomUUID()), (e: unknown) => (e as { code?: string }).code === 'ENOENT');
      // A snapshot of the adopted volume, given by its bare name.
      const snapName = `s-${randomUUID()}`;
      await driver.cli.run(['snap', 'create', `${pool}/volume-${id}@${snapName}`]);
      const sid = randomUUID();
      await driver.adoptObject(snapName, 'snapshot', sid);
      await driver.adoptObject(snapName, 'snapshot', sid);
      assert.deepEqual(await read('snapshot', sid, 0, MiB), pattern(MiB, 7));
      await assert.rejects(driver.adoptObject(other, 'snapshot', randomUUID()), (e: unknown) => (e as { code?: string }).code === 'EINVAL');
      await driver.deleteVolume(id);
    });
  });
}
