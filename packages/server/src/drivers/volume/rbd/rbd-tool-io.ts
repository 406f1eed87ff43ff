/**
 * The RBD driver's byte paths through the `rbd` tool, for a backend without librbd: every byte crosses a pipe as
 * the tool's diff streams (export-diff to read, import-diff to write), because the tool has no byte-range read or
 * write of its own and its diff streams skip unallocated objects. librbd-io.ts is the same work through librbd.
 */
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import type { Extent, ProgressOptions } from '../../../domain/ports/volume-driver.js';
import { codedError, leaveOpen } from '../backend-directory.js';
import { diffHeader, type DiffRecord, END_RECORD, type RbdCli, writeRecord, zeroRecord } from './rbd-cli.js';

/** Bytes per import-diff data record. */
const RECORD_BYTES = 4 * 1024 * 1024;

/** The source's bytes written at `offset` as one import-diff stream; bytes past `size` refuse the write (EINVAL). */
export async function writeRawTool(cli: RbdCli, spec: string, volumeId: string, size: number, source: AsyncIterable<Buffer>, offset: number): Promise<number> {
  let pos = offset;
  let overflow = false;
  const records = async function* () {
    yield diffHeader();
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let pendingAt = pos;
    const flush = function* () {
      if (pendingBytes > 0) yield* writeRecord(pendingAt, Buffer.concat(pending, pendingBytes));
      pending = [];
      pendingBytes = 0;
      pendingAt = pos;
    };
    for await (const chunk of leaveOpen(source)) {
      const n = Math.min(Math.max(0, size - pos), chunk.length);
      if (n > 0) {
        pending.push(chunk.subarray(0, n));
        pendingBytes += n;
        pos += n;
      }
      if (n < chunk.length) {
        overflow = true;
        break;
      }
      if (pendingBytes >= RECORD_BYTES) yield* flush();
    }
    yield* flush();
    yield END_RECORD;
  };
  await cli.importDiff(spec, records());
  if (overflow) throw codedError('EINVAL', `data runs past the end of volume ${volumeId} (${size} bytes)`);
  return pos - offset;
}

/** The object's data records from `rbd export-diff` into `fh` at their offsets (only allocated data crosses the pipe). */
export async function exportTool(cli: RbdCli, spec: string, fh: FileHandle, opts: ProgressOptions): Promise<void> {
  for await (const rec of cli.exportDiff(spec)) {
    opts.signal?.throwIfAborted();
    if (rec.kind !== 'w') continue;
    for (let done = 0; done < rec.data.length; ) done += (await fh.write(rec.data, done, rec.data.length - done, rec.offset + done)).bytesWritten;
  }
}

/** A restore's staged file into the image as one import-diff stream: its data extents written, the gaps zeroed. */
export async function commitTool(cli: RbdCli, spec: string, path: string, extents: Extent[], end: number, opts: ProgressOptions): Promise<void> {
  const records = async function* () {
    yield diffHeader();
    const file = await open(path, 'r');
    try {
      let cursor = 0;
      for (const e of extents) {
        const from = Math.min(e.offset, end);
        const to = Math.min(e.offset + e.length, end);
        if (from > cursor) yield zeroRecord(cursor, from - cursor);
        for (let o = from; o < to; o += RECORD_BYTES) {
          opts.signal?.throwIfAborted();
          const buf = Buffer.alloc(Math.min(RECORD_BYTES, to - o));
          const { bytesRead } = await file.read(buf, 0, buf.length, o);
          yield* writeRecord(o, buf.subarray(0, bytesRead));
        }
        cursor = Math.max(cursor, to);
      }
      if (end > cursor) yield zeroRecord(cursor, end - cursor);
      yield END_RECORD;
    } finally {
      await file.close();
    }
  };
  await cli.importDiff(spec, records());
}

/** A 'z' record is a discard that librbd turns into written zeros where it cannot drop whole objects. */
export async function zeroRangeTool(cli: RbdCli, spec: string, offset: number, length: number): Promise<void> {
  await cli.importDiff(spec, toAsync([diffHeader(), zeroRecord(offset, length), END_RECORD]));
}

/**
 * The bytes of `wanted` (sorted, disjoint, within the object). Without `sinceSnap` one `rbd export-diff` of the
 * object serves every range (zeros filled in between). With it (a snapshot of the same image the caller knows
 * nothing changed from outside the ranges' changed parts), `rbd export-diff --from-snap --whole-object` streams
 * only the objects changed since then, and only what those whole objects leave uncovered (a chunk larger than an
 * object, an image without fast-diff) comes from a second, full pass.
 */
export async function* readRangesTool(
  cli: RbdCli,
  spec: string,
  wanted: { offset: number; end: number }[],
  sinceSnap: string | undefined,
): AsyncGenerator<{ offset: number; data: Buffer }> {
  if (sinceSnap === undefined) {
    yield* coverRanges(cli.exportDiff(spec), wanted, null);
    return;
  }
  // Whole objects: the fine-grained diff reports only the written bytes, which would leave the rest of each
  // backup chunk unknown (the engine stores whole chunks).
  const gaps: { offset: number; end: number }[] = [];
  yield* coverRanges(cli.exportDiff(spec, { fromSnap: sinceSnap, wholeObject: true }), wanted, gaps);
  if (gaps.length > 0) yield* coverRanges(cli.exportDiff(spec), gaps, null);
}

/**
 * The bytes of `wanted` (sorted, disjoint) from diff records in offset order: data records' bytes, zeroed records
 * as zeros. What no record covers is zeros when `gaps` is null (a diff from the image's creation: no record means
 * never written), else it is collected into `gaps` for the caller to read otherwise (a diff since a snapshot: no
 * record means unchanged, not zero).
 */
async function* coverRanges(
  records: AsyncIterable<DiffRecord>,
  wanted: { offset: number; end: number }[],
  gaps: { offset: number; end: number }[] | null,
): AsyncGenerator<{ offset: number; data: Buffer }> {
  let ri = 0;
  let cursor = wanted[0]!.offset;
  const zeros = function* (from: number, to: number) {
    for (let o = from; o < to; o += RECORD_BYTES) yield { offset: o, data: Buffer.alloc(Math.min(RECORD_BYTES, to - o)) };
  };
  const uncovered = function* (from: number, to: number) {
    if (to <= from) return;
    if (gaps === null) {
      yield* zeros(from, to);
      return;
    }
    const last = gaps[gaps.length - 1];
    if (last && last.end === from) last.end = to;
    else gaps.push({ offset: from, end: to });
  };
  const advance = () => {
    ri++;
    if (ri < wanted.length) cursor = wanted[ri]!.offset;
  };
  for await (const rec of records) {
    if (rec.kind === 's') continue;
    const recEnd = rec.offset + (rec.kind === 'w' ? rec.data.length : rec.length);
    while (ri < wanted.length) {
      const r = wanted[ri]!;
      if (r.end <= rec.offset) {
        yield* uncovered(cursor, r.end);
        advance();
        continue;
      }
      if (r.offset >= recEnd) break;
      const from = Math.max(cursor, rec.offset);
      yield* uncovered(cursor, from);
      const to = Math.min(r.end, recEnd);
      if (to > from) {
        if (rec.kind === 'w') yield { offset: from, data: rec.data.subarray(from - rec.offset, to - rec.offset) };
        else yield* zeros(from, to);
      }
      cursor = Math.max(cursor, to);
      if (cursor >= r.end) advance();
      else break;
    }
    if (ri >= wanted.length) break;
  }
  while (ri < wanted.length) {
    yield* uncovered(cursor, wanted[ri]!.end);
    advance();
  }
}

async function* toAsync(parts: Buffer[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield p;
}
