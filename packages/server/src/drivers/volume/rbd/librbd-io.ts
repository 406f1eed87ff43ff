/**
 * The RBD driver's byte paths through librbd (the rbd_io addon): image handles read and write byte ranges
 * directly, with one write in flight while the next is gathered, so a backup or restore is not held to one
 * round trip at a time. rbd-tool-io.ts is the same work through the `rbd` tool's diff streams.
 */
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import type { Extent, ProgressOptions } from '../../../domain/ports/volume-driver.js';
import { codedError, leaveOpen } from '../backend-directory.js';
import { IO_BYTES, type LibrbdPool } from './librbd.js';

/** writeRaw through librbd: the source's bytes gathered into IO_BYTES writes, one in flight while the next fills. */
export async function writeRawLib(lib: LibrbdPool, image: string, volumeId: string, size: number, source: AsyncIterable<Buffer>, offset: number): Promise<number> {
  const img = await lib.open(image, null, false);
  let pos = offset;
  let overflow = false;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let pendingAt = pos;
  let inFlight: Promise<void> = Promise.resolve();
  const flush = async () => {
    if (pendingBytes === 0) return;
    const data = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
    const at = pendingAt;
    pending = [];
    pendingBytes = 0;
    pendingAt = pos;
    await inFlight;
    inFlight = lib.addon.write(img, at, data);
    // Observed here; awaited at the next flush or at the end.
    inFlight.catch(() => {});
  };
  try {
    for await (const chunk of leaveOpen(source)) {
      const n = Math.min(Math.max(0, size - pos), chunk.length);
      if (n > 0) {
        // Copied: a source may reuse its buffer once the iterator moves on, and the write is still in flight.
        pending.push(Buffer.from(chunk.subarray(0, n)));
        pendingBytes += n;
        pos += n;
      }
      if (n < chunk.length) {
        overflow = true;
        break;
      }
      if (pendingBytes >= IO_BYTES) await flush();
    }
    await flush();
    await inFlight;
  } finally {
    await inFlight.catch(() => {});
    await lib.close(img);
  }
  if (overflow) throw codedError('EINVAL', `data runs past the end of volume ${volumeId} (${size} bytes)`);
  return pos - offset;
}

/** The allocated extents from the object map, then only those bytes, into `fh` (zero pieces left as holes). */
export async function exportLib(lib: LibrbdPool, image: string, snap: string | undefined, fh: FileHandle, opts: ProgressOptions): Promise<void> {
  const img = await lib.open(image, snap ?? null, true);
  try {
    const extents = await lib.allocated(img, false);
    for await (const piece of lib.readRanges(img, extents)) {
      opts.signal?.throwIfAborted();
      if (isZero(piece.data)) continue;
      for (let done = 0; done < piece.data.length; ) done += (await fh.write(piece.data, done, piece.data.length - done, piece.offset + done)).bytesWritten;
    }
  } finally {
    await lib.close(img);
  }
}

/** A restore's staged file into the image: its data extents written, the gaps zeroed (whole objects dropped). */
export async function commitLib(lib: LibrbdPool, image: string, path: string, extents: Extent[], end: number, opts: ProgressOptions): Promise<void> {
  const img = await lib.open(image, null, false);
  const file = await open(path, 'r');
  let inFlight: Promise<void> = Promise.resolve();
  // One write in flight while the next piece is read from the file.
  const send = async (p: Promise<void>) => {
    await inFlight;
    inFlight = p;
    inFlight.catch(() => {});
  };
  try {
    let cursor = 0;
    for (const e of extents) {
      const from = Math.min(e.offset, end);
      const to = Math.min(e.offset + e.length, end);
      if (from > cursor) await send(lib.addon.writeZeroes(img, cursor, from - cursor));
      for (let o = from; o < to; o += IO_BYTES) {
        opts.signal?.throwIfAborted();
        const buf = Buffer.allocUnsafe(Math.min(IO_BYTES, to - o));
        const { bytesRead } = await file.read(buf, 0, buf.length, o);
        await send(lib.addon.write(img, o, buf.subarray(0, bytesRead)));
      }
      cursor = Math.max(cursor, to);
    }
    if (end > cursor) await send(lib.addon.writeZeroes(img, cursor, end - cursor));
    await inFlight;
    await lib.addon.flush(img);
  } finally {
    await inFlight.catch(() => {});
    await file.close();
    await lib.close(img);
  }
}

/** librbd reads just the ranges (holes come back as zeros): an incremental reads what changed, nothing else. */
export async function* readRangesLib(lib: LibrbdPool, image: string, snap: string | undefined, wanted: { offset: number; end: number }[]): AsyncGenerator<{ offset: number; data: Buffer }> {
  const img = await lib.open(image, snap ?? null, true);
  try {
    yield* lib.readRanges(img, wanted.map((r) => ({ offset: r.offset, length: r.end - r.offset })));
  } finally {
    await lib.close(img);
  }
}

const ZEROS = Buffer.alloc(IO_BYTES);

function isZero(buf: Buffer): boolean {
  return buf.length <= ZEROS.length ? buf.equals(ZEROS.subarray(0, buf.length)) : buf.every((b) => b === 0);
}
