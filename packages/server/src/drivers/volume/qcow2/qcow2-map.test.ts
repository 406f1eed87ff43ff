/**
 * The native qcow2 map against its oracle, `qemu-img map --output=json`: chains built with qemu-img and qemu-io
 * (random writes, zero writes, discards, compressed clusters, several cluster sizes, v2 and v3 images, raw bases,
 * grown overlays, depth 1/3/50) must give the same extents, layer depths and host offsets.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mergeExtents } from '../extent-diff.js';
import { readHeader } from './qcow2-format.js';
import { chainMap, layerAllocation, type MapLayer, readGeometry, Unsupported } from './qcow2-map.js';
import { map, type MapEntry, probeQemuImg, qemuImg, qemuIo, topOnly } from './qemu.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const qemu = probeQemuImg();
const skip = qemu.available ? false : `qemu-img unavailable: ${qemu.detail}`;

/** Deterministic pseudo-random numbers, so a failure can be replayed. */
function rng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

/**
 * The comparable form of a map: neighbours merged when they mean the same. The zero flag of data extents is left
 * out: qemu adds it where the host file has a hole inside a data cluster (its metadata-preallocation heuristic),
 * which says nothing about the qcow2 tables.
 */
function normalize(entries: MapEntry[]): object[] {
  const out: { start: number; length: number; depth: number; kind: string; offset?: number }[] = [];
  for (const e of entries) {
    const kind = e.data ? 'data' : `${e.present ? 'present' : 'absent'}-${e.zero ? 'zero' : 'nonzero'}`;
    const last = out.at(-1);
    if (
      last &&
      last.start + last.length === e.start &&
      last.depth === e.depth &&
      last.kind === kind &&
      (kind !== 'data' || (last.offset === undefined) === (e.offset === undefined)) &&
      (kind !== 'data' || last.offset === undefined || last.offset + last.length === e.offset)
    ) {
      last.length += e.length;
      continue;
    }
    const n: (typeof out)[number] = { start: e.start, length: e.length, depth: e.depth, kind };
    if (kind === 'data' && e.offset !== undefined) n.offset = e.offset;
    out.push(n);
  }
  return out;
}

describe('native qcow2 map agrees with qemu-img map', { skip }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cinderbox-qcow2-map-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const resolve = (ref: string, format: string | null): MapLayer => ({ path: join(dir, ref), format: format === 'raw' ? 'raw' : 'qcow2' });
  const rawMap = async (path: string) => map(topOnly(path, 'raw'));

  async function create(name: string, size: number, opts: { backing?: string; backingFormat?: string; o?: string } = {}) {
    const args = ['create', '-q', '-f', 'qcow2'];
    if (opts.o) args.push('-o', opts.o);
    // -u: the size is given, so qemu-img need not open the backing chain (deep chains build in linear time).
    if (opts.backing) args.push('-u', '-b', opts.backing, '-F', opts.backingFormat ?? 'qcow2');
    await qemuImg([...args, join(dir, name), String(size)]);
  }

  /**
   * Random writes, zero writes and discards through one qemu-io process; `alone` opens the layer without its
   * backing chain (the tables come out the same, and deep chains build in linear time).
   */
  async function scribble(name: string, size: number, seed: number, count: number, opts: { compressed?: number; alone?: boolean } = {}) {
    const r = rng(seed);
    const cmds: string[] = [];
    for (let i = 0; i < count; i++) {
      const len = (1 + r(64)) * 4 * KiB;
      const off = Math.min(r(size / 512) * 512, size - len);
      const op = r(10);
      if (op < 6) cmds.push('-c', `write -q -P ${1 + r(250)} ${off} ${len}`);
      else if (op < 8) cmds.push('-c', `write -q -z ${off} ${len}`);
      else if (op < 9) cmds.push('-c', `write -q -z -u ${off} ${len}`);
      else cmds.push('-c', `discard -q ${off} ${len}`);
    }
    for (let i = 0; i < (opts.compressed ?? 0); i++) {
      const cluster = 64 * KiB;
      cmds.push('-c', `write -q -c -P ${7 + i} ${r(size / cluster) * cluster} ${cluster}`);
    }
    await qemuIo(opts.alone ? [...cmds, topOnly(join(dir, name))] : ['-f', 'qcow2', ...cmds, join(dir, name)]);
  }

  /** Compares the chain's map, and each layer's own allocation for the top `layers` layers. */
  async function check(top: string, layers = Infinity): Promise<void> {
    const path = join(dir, top);
    const native = await chainMap(path, resolve, rawMap);
    const oracle = await map(path, 'qcow2');
    assert.deepEqual(normalize(native.entries), normalize(oracle), `map of ${top}`);
    const dataNative = mergeExtents(native.entries.filter((e) => e.data).map((e) => ({ offset: e.start, length: e.length })));
    const dataOracle = mergeExtents(oracle.filter((e) => e.data).map((e) => ({ offset: e.start, length: e.length })));
    assert.deepEqual(dataNative, dataOracle, `data extents of ${top}`);
    for (const layer of native.layers.filter((l) => l.format === 'qcow2').slice(0, layers)) {
      const own = await layerAllocation(layer.path);
      const expected = mergeExtents((await map(topOnly(layer.path))).filter((e) => e.present).map((e) => ({ offset: e.start, length: e.length })));
      assert.deepEqual(own.extents, expected, `allocation of layer ${layer.path}`);
    }
  }

  it('v3, 64 KiB clusters, depth 1 and 3, with zero writes, discards and compressed clusters', async () => {
    const size = 64 * MiB;
    await create('a0', size);
    await scribble('a0', size, 1, 200, { compressed: 3 });
    await check('a0');
    await create('a1', size, { backing: 'a0' });
    await scribble('a1', size, 2, 150);
    await create('a2', size, { backing: 'a1' });
    await scribble('a2', size, 3, 150, { compressed: 2 });
    await check('a2');
    await check('a1');
  });

  it('a base written with qemu-img convert -c (every data cluster compressed) under overlays', async () => {
    const raw = join(dir, 'c.raw');
    await truncate(raw, 0).catch(() => {});
    const buf = Buffer.alloc(8 * MiB);
    for (let i = 0; i < buf.length; i += 3 * 64 * KiB) buf.fill(i % 251, i, i + 100 * KiB);
    await writeFile(raw, buf);
    await qemuImg(['convert', '-q', '-c', '-f', 'raw', '-O', 'qcow2', raw, join(dir, 'c0')]);
    await create('c1', 8 * MiB, { backing: 'c0' });
    await scribble('c1', 8 * MiB, 4, 40);
    await check('c1');
  });

  it('v2 (compat=0.10) images, depth 3', async () => {
    const size = 32 * MiB;
    await create('v0', size, { o: 'compat=0.10' });
    await scribble('v0', size, 5, 100, { compressed: 1 });
    await create('v1', size, { backing: 'v0', o: 'compat=0.10' });
    await scribble('v1', size, 6, 100);
    await create('v2', size, { backing: 'v1', o: 'compat=0.10' });
    await scribble('v2', size, 7, 100);
    await check('v2');
    // Version 2 headers carry extensions too (the backing format here).
    const g = await readGeometry(join(dir, 'v2'));
    assert.deepEqual([g.version, g.backingFile, g.backingFormat], [2, 'v1', 'qcow2']);
    assert.equal((await readHeader(join(dir, 'v2')))?.backingFormat, 'qcow2');
  });

  it('different cluster sizes per layer (512 B, 4 KiB, 2 MiB, 64 KiB) and an unaligned virtual size', async () => {
    const size = 48 * MiB + 3 * 512;
    await create('s0', size, { o: 'cluster_size=512' });
    await scribble('s0', size - 3 * 512, 8, 60);
    await create('s1', size, { backing: 's0', o: 'cluster_size=4096' });
    await scribble('s1', size - 3 * 512, 9, 60);
    await create('s2', size, { backing: 's1', o: 'cluster_size=2M' });
    await scribble('s2', size - 3 * 512, 10, 20);
    await create('s3', size, { backing: 's2' });
    await scribble('s3', size - 3 * 512, 11, 40);
    await check('s3');
  });

  it('depth 50', async () => {
    const size = 128 * MiB;
    await create('d0', size);
    await scribble('d0', size, 12, 50);
    for (let i = 1; i < 50; i++) {
      await create(`d${i}`, size, { backing: `d${i - 1}` });
      await scribble(`d${i}`, size, 100 + i, 8, { alone: i > 3 });
    }
    await check('d49', 3);
    await check('d20', 0);
  });

  it('an overlay grown past its backing, and a raw base with holes', async () => {
    await create('g0', 4 * MiB);
    await scribble('g0', 4 * MiB, 13, 20);
    await create('g1', 4 * MiB, { backing: 'g0' });
    await qemuImg(['resize', '-q', join(dir, 'g1'), String(12 * MiB)]);
    await scribble('g1', 12 * MiB, 14, 20);
    await check('g1');

    const raw = join(dir, 'r.raw');
    const fh = await (await import('node:fs/promises')).open(raw, 'w');
    await fh.truncate(6 * MiB + 1000);
    await fh.write(Buffer.alloc(300 * KiB, 9), 0, 300 * KiB, MiB);
    await fh.write(Buffer.alloc(64 * KiB, 3), 0, 64 * KiB, 5 * MiB);
    await fh.close();
    await create('r1', 8 * MiB, { backing: 'r.raw', backingFormat: 'raw' });
    await scribble('r1', 8 * MiB, 15, 10);
    await check('r1');
  });

  it('refuses images it cannot read exactly (subclusters, encryption), so callers ask qemu-img', async () => {
    await create('x0', 4 * MiB, { o: 'extended_l2=on' });
    await assert.rejects(chainMap(join(dir, 'x0'), resolve, rawMap), Unsupported);
    await assert.rejects(layerAllocation(join(dir, 'x0')), Unsupported);
    // qemu-img times a PBKDF round for LUKS and on a loaded machine can fail to ("Unable to get accurate CPU
    // usage"): that is qemu's benchmark, not what this test checks, so the create is tried again.
    for (let attempt = 1; ; attempt++) {
      try {
        await qemuImg([
          'create', '-q', '--object', 'secret,id=s0,data=secret123', '-f', 'qcow2',
          '-o', 'encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10', join(dir, 'e0'), '4M',
        ]);
        break;
      } catch (err) {
        if (attempt >= 5 || !/accurate CPU usage/.test(String(err))) throw err;
      }
    }
    await assert.rejects(layerAllocation(join(dir, 'e0')), Unsupported);
    await writeFile(join(dir, 'junk'), 'not an image');
    await assert.rejects(layerAllocation(join(dir, 'junk')), Unsupported);
  });
});
