/**
 * bench/rbd/stress-snap-clone.ts — the conformance scenario that once hung the librbd path (ten concurrent snapshots
 * of one volume, each read back, then five concurrent clones of them, each read), in a loop, through the librbd
 * driver on a throwaway pool. An iteration that takes longer than --stall-s prints the process id and keeps the
 * process alive so a debugger can be attached (`gdb -p PID -batch -ex 'thread apply all bt'`). SIGINT or SIGTERM
 * stops after the running iteration and still removes the pool.
 *
 *   node --import tsx bench/rbd/stress-snap-clone.ts [--iterations 50] [--stall-s 120]
 *
 * Issue #17 was found with it: the addon built with -fsanitize=address, freed memory filled
 * (LD_PRELOAD=$(gcc -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0:max_free_fill_size=4096:free_fill_byte=190,
 * CINDERBOX_RBD_ADDON=<that rbd_io.node>, LD_PRELOAD dropped from process.env before the ceph tools run), a close
 * too soon after its open ended the first iteration with std::system_error (EINVAL) from a lock on freed memory.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pattern } from '../../packages/server/src/drivers/volume/conformance.js';
import { shutdownLibrbd } from '../../packages/server/src/drivers/volume/rbd/librbd.js';
import { createRbdVolumeDriver } from '../../packages/server/src/drivers/volume/rbd/rbd-driver.js';
import { makeTestPool } from '../../packages/server/src/drivers/volume/rbd/test-support.js';

const { values: args } = parseArgs({ options: { iterations: { type: 'string', default: '50' }, 'stall-s': { type: 'string', default: '120' } } });
const KiB = 1024;
const MiB = 1024 * KiB;
const made = makeTestPool('stress');
if ('skip' in made) throw new Error(made.skip);
const dir = await mkdtemp(join(tmpdir(), 'cinderbox-rbd-stress-'));
const driver = await createRbdVolumeDriver({ name: 'rbd', pool: made.pool, conf: made.conf, directory: dir, objectSize: MiB });
if (!(await driver.lib())) throw new Error(`librbd path not in use: ${driver.librbdUnavailable}`);

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}
async function read(kind: 'volume' | 'snapshot', id: string, offset: number, length: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of driver.readRaw(kind, id, offset, offset + length - 1)) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

let phase = '';
async function iteration(): Promise<void> {
  const vol = randomUUID();
  phase = 'create+write';
  await driver.createVolume(vol, 32 * MiB);
  const chunks = Array.from({ length: 8 }, (_, i) => pattern(256 * KiB, 50 + i));
  for (const [i, chunk] of chunks.entries()) await driver.writeRaw(vol, once(chunk), i * 4 * MiB + i * 4 * KiB);
  const snaps = Array.from({ length: 10 }, () => randomUUID());
  phase = '10 concurrent snapshots';
  await Promise.all(snaps.map((s) => driver.createSnapshot(vol, s)));
  phase = 'snapshot reads';
  for (const s of snaps) {
    if ((await driver.stat('snapshot', s))?.size !== 32 * MiB) throw new Error('snapshot size');
    for (const [i, chunk] of chunks.entries()) if (!(await read('snapshot', s, i * 4 * MiB + i * 4 * KiB, chunk.length)).equals(chunk)) throw new Error('snapshot bytes');
  }
  phase = '5 concurrent clones';
  const vols = snaps.slice(0, 5).map(() => randomUUID());
  await Promise.all(vols.map((v, i) => driver.createVolumeFromSnapshot(snaps[i]!, v, 32 * MiB)));
  phase = 'clone reads';
  for (const v of vols) if (!(await read('volume', v, 7 * 4 * MiB + 7 * 4 * KiB, chunks[7]!.length)).equals(chunks[7]!)) throw new Error('clone bytes');
  phase = 'cleanup';
  for (const v of vols) await driver.deleteVolume(v);
  await driver.deleteVolume(vol);
}

const stallMs = Number(args['stall-s']) * 1000;
let ok = 0;
let stop = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    console.log(`${sig}: stopping after this iteration`);
    stop = true;
  });
}
try {
  for (let i = 0; i < Number(args.iterations) && !stop; i++) {
    const t0 = Date.now();
    const watchdog = setInterval(() => {
      if (Date.now() - t0 > stallMs) {
        console.log(`STALL iteration ${i} in "${phase}" after ${Math.round((Date.now() - t0) / 1000)} s; pid ${process.pid}`);
      }
    }, stallMs / 4);
    try {
      await iteration();
    } finally {
      clearInterval(watchdog);
    }
    ok++;
    console.log(`iteration ${i} ok in ${Date.now() - t0} ms (load ${loadavg()[0]!.toFixed(2)})`);
  }
} finally {
  console.log(`${ok} iterations passed`);
  await shutdownLibrbd();
  made.remove();
  await rm(dir, { recursive: true, force: true });
}
