/**
 * A raw export of a qcow2 chain written from its map: every data extent is copied by pread at its host offset in
 * the layer file that holds it and pwrite at its virtual offset; zero and unallocated extents stay holes, and so
 * do all-zero blocks inside data (as `qemu-img convert` leaves them). Valid only when every data extent has a
 * plain host offset (no compressed or encrypted clusters): the caller checks `exportable` and otherwise converts
 * with qemu-img. Layers are read through the descriptors the map kept open (see ChainMap.fds); memory is one
 * copy buffer.
 */
import { read } from 'node:fs';
import { open } from 'node:fs/promises';
import type { ProgressOptions } from '../../../domain/ports/volume-driver.js';
import type { ChainMap } from './qcow2-map.js';

const BUFFER = 4 * 1024 * 1024;
const ZERO_BLOCK = 4096;
const ZEROS = Buffer.alloc(ZERO_BLOCK);

/** Reads up to `length` bytes at `position` into `buf` at `offset`; resolves with the count (0 at the end). */
export type Reader = (buf: Buffer, offset: number, length: number, position: number) => Promise<number>;

/** A reader on a raw descriptor (the caller owns and closes it). */
export function fdReader(fd: number): Reader {
  return (buf, offset, length, position) =>
    new Promise((resolve, reject) => read(fd, buf, offset, length, position, (e, n) => (e ? reject(e) : resolve(n))));
}

/**
 * A reader for the layer at `depth`: the descriptor the map kept open when there is one, else the path opened
 * now; `done` closes what was opened here.
 */
export async function layerReader(m: ChainMap, depth: number): Promise<{ read: Reader; done(): Promise<void> }> {
  const fd = m.fds?.[depth];
  if (fd !== undefined) return { read: fdReader(fd), done: async () => {} };
  const layer = m.layers[depth];
  if (!layer) throw Object.assign(new Error(`map depth ${depth} outside the chain`), { code: 'EIO' });
  const fh = await open(layer.path, 'r');
  return { read: async (b, o, l, p) => (await fh.read(b, o, l, p)).bytesRead, done: () => fh.close() };
}

/** Whether `copyMapped` can export this map (every data extent has a host offset). */
export function exportable(m: ChainMap): boolean {
  return m.entries.every((e) => !e.data || e.offset !== undefined);
}

/** Writes the chain's virtual bytes into `target`, a new file (must not exist). */
export async function copyMapped(m: ChainMap, target: string, opts: ProgressOptions = {}): Promise<{ bytesCopied: number }> {
  if (!exportable(m)) throw new Error('map has data without a host offset');
  const byDepth = new Map<number, { start: number; length: number; offset: number }[]>();
  let total = 0;
  for (const e of m.entries) {
    if (!e.data || e.offset === undefined) continue;
    let list = byDepth.get(e.depth);
    if (!list) byDepth.set(e.depth, (list = []));
    list.push({ start: e.start, length: e.length, offset: e.offset });
    total += e.length;
  }
  const out = await open(target, 'wx', 0o600);
  let copied = 0;
  let reported = 0;
  try {
    await out.truncate(m.size);
    const buf = Buffer.allocUnsafe(Math.min(BUFFER, Math.max(ZERO_BLOCK, total)));
    for (const [depth, extents] of [...byDepth].sort((a, b) => a[0] - b[0])) {
      // Host order reads each layer file front to back.
      extents.sort((a, b) => a.offset - b.offset);
      const src = await layerReader(m, depth);
      try {
        for (const e of extents) {
          for (let done = 0; done < e.length; ) {
            opts.signal?.throwIfAborted();
            const want = Math.min(buf.length, e.length - done);
            let got = 0;
            while (got < want) {
              const bytesRead = await src.read(buf, got, want - got, e.offset + done + got);
              if (bytesRead === 0) break; // past the end of a layer file (a raw base): zeros
              got += bytesRead;
            }
            if (got < want) buf.fill(0, got, want);
            await writeNonZero(out, buf.subarray(0, want), e.start + done);
            done += want;
            copied += want;
            if (opts.onProgress && copied - reported >= 256 * 1024 * 1024) {
              reported = copied;
              opts.onProgress(copied / total);
            }
          }
        }
      } finally {
        await src.done();
      }
    }
  } finally {
    await out.close();
  }
  return { bytesCopied: copied };
}

/** Writes the non-zero 4 KiB blocks of `data` at `position`, coalescing neighbours into one write. */
async function writeNonZero(out: Awaited<ReturnType<typeof open>>, data: Buffer, position: number): Promise<void> {
  let runStart = -1;
  for (let at = 0; at < data.length; at += ZERO_BLOCK) {
    const end = Math.min(at + ZERO_BLOCK, data.length);
    const zero = data.compare(ZEROS, 0, end - at, at, end) === 0;
    if (!zero && runStart < 0) runStart = at;
    if (zero && runStart >= 0) {
      await writeAll(out, data.subarray(runStart, at), position + runStart);
      runStart = -1;
    }
  }
  if (runStart >= 0) await writeAll(out, data.subarray(runStart), position + runStart);
}

async function writeAll(out: Awaited<ReturnType<typeof open>>, data: Buffer, position: number): Promise<void> {
  for (let done = 0; done < data.length; ) done += (await out.write(data, done, data.length - done, position + done)).bytesWritten;
}
