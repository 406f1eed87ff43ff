/**
 * The BlockSources adapter (domain/ports/block-source.ts): raw views of driver objects for the backup engine,
 * built on the VolumeDriver port. It is the only backup code that names files in a backend directory (its
 * temporaries), so services ask for a source by object and never hold a path they made.
 */
import { randomBytes } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlockSource, BlockSourceOptions, BlockSources } from '../../domain/ports/block-source.js';
import type { Extent, VolumeDriver } from '../../domain/ports/volume-driver.js';

export const blockSources: BlockSources = { open: openBlockSource };

/**
 * A raw view of a volume or snapshot for the backup engine. Raw objects are read in place. For other formats the
 * whole object is exported to a sparse temporary, except when the changed extents are known: then only the chunks
 * that the engine will read (changed and allocated) are written into the temporary and the rest stays a hole the
 * engine never looks at, so an incremental costs what changed, not the volume's size.
 */
async function openBlockSource(
  driver: VolumeDriver,
  kind: 'volume' | 'snapshot',
  id: string,
  opts: BlockSourceOptions,
): Promise<BlockSource> {
  const since = opts.changedSince && kind === 'snapshot' ? opts.changedSince : undefined;
  // Raw files are read in place; raw objects that are no files (RBD images) offer readRawRanges instead.
  const inPlace = driver.format === 'raw' && !driver.readRawRanges;
  // The questions at once: on a driver that answers each with a tool process (RBD without librbd) they are most
  // of an incremental's time. The size is only needed when the changes are known and read by range; a failure to
  // get it counts only then.
  const [allocatedExtents, changed, stat] = await Promise.all([
    driver.allocatedExtents(kind, id),
    since
      ? driver.changedExtents(since.volumeId, since.snapshotId, id).catch((err: unknown) => {
          // A base that vanished or a chain that no longer links them: compare the data instead (still correct).
          opts.logger?.warn({ err, snapshot: id, since: since.snapshotId }, 'changed-block tracking unavailable');
          return null;
        })
      : null,
    since && !inPlace ? driver.stat(kind, id).then((info) => ({ info }), (error: unknown) => ({ error })) : undefined,
  ]);
  if (changed === null || inPlace) {
    const exported = await driver.exportRaw(kind, id, opts.signal ? { signal: opts.signal } : {});
    return {
      path: exported.path,
      temporary: exported.path !== driver.path(kind, id),
      allocatedExtents,
      changedExtents: changed,
      release: () => exported.release(),
    };
  }
  if (stat && 'error' in stat) throw stat.error;
  const info = stat?.info;
  if (!info) throw Object.assign(new Error(`${kind} ${id} does not exist`), { code: 'ENOENT' });
  const runs = chunkRuns(intersectChunks(changed, allocatedExtents, opts.chunkSize, info.size), opts.chunkSize, info.size);
  // Named like the drivers' own temporaries, so their startup sweep removes it after a crash.
  const path = join(driver.directory, `.tmp-backup-source-${id}.${randomBytes(6).toString('hex')}`);
  const fh = await open(path, 'wx', 0o600);
  const copyRun = async (run: Extent) => {
    opts.signal?.throwIfAborted();
    let pos = run.offset;
    for await (const piece of driver.readRaw(kind, id, run.offset, run.offset + run.length - 1)) {
      const buf = piece as Buffer;
      await write(buf, pos);
      pos += buf.length;
    }
    if (pos !== run.offset + run.length) throw new Error(`short read of ${kind} ${id} at ${run.offset}: ${pos - run.offset} bytes`);
  };
  const write = async (buf: Buffer, pos: number) => {
    // All-zero pieces stay holes: the engine reads them back as zeros.
    if (!isZero(buf)) for (let done = 0; done < buf.length; ) done += (await fh.write(buf, done, buf.length - done, pos + done)).bytesWritten;
  };
  try {
    await fh.truncate(info.size);
    if (driver.readRawRanges) {
      // One look at the layout for every run.
      let expected = 0;
      for (const r of runs) expected += r.length;
      let got = 0;
      // The base of the changed extents lets a driver stream just what changed since it (RBD without librbd).
      for await (const piece of driver.readRawRanges(kind, id, runs, since ? { since } : {})) {
        opts.signal?.throwIfAborted();
        await write(piece.data, piece.offset);
        got += piece.data.length;
      }
      if (got !== expected) throw new Error(`short read of ${kind} ${id}: ${got} of ${expected} bytes`);
      await fh.close();
      return { path, temporary: true, allocatedExtents, changedExtents: changed, release: () => rm(path, { force: true }) };
    }
    // A few runs at once: each read starts with a map query, which would otherwise dominate.
    let next = 0;
    let failed = false;
    const lane = async () => {
      while (!failed && next < runs.length) await copyRun(runs[next++]!).catch((e: unknown) => {
        failed = true;
        throw e;
      });
    };
    // Settled, so no lane still writes when the file is closed and removed after a failure.
    const results = await Promise.allSettled(Array.from({ length: Math.min(READ_LANES, runs.length) }, lane));
    const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (rejected) throw rejected.reason;
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(path, { force: true });
    throw e;
  }
  await fh.close();
  return { path, temporary: true, allocatedExtents, changedExtents: changed, release: () => rm(path, { force: true }) };
}

const ZEROS = Buffer.alloc(1024 * 1024);
/** Changed runs materialised concurrently (positional writes into one file, so order does not matter). */
const READ_LANES = 4;

function isZero(buf: Buffer): boolean {
  for (let o = 0; o < buf.length; o += ZEROS.length) {
    const n = Math.min(ZEROS.length, buf.length - o);
    if (!buf.subarray(o, o + n).equals(ZEROS.subarray(0, n))) return false;
  }
  return true;
}

/** Indexes of the chunks that overlap both a changed and an allocated range (what the engine reads), sorted. */
function intersectChunks(changed: Extent[], allocated: Extent[], chunkSize: number, size: number): number[] {
  const count = Math.ceil(size / chunkSize);
  const mark = (extents: Extent[]) => {
    const m = new Uint8Array(count);
    for (const e of extents) {
      if (!(e.length > 0)) continue;
      const first = Math.max(0, Math.floor(e.offset / chunkSize));
      const last = Math.min(count - 1, Math.floor((e.offset + e.length - 1) / chunkSize));
      for (let i = first; i <= last; i++) m[i] = 1;
    }
    return m;
  };
  const c = mark(changed);
  const a = mark(allocated);
  const out: number[] = [];
  for (let i = 0; i < count; i++) if (c[i] && a[i]) out.push(i);
  return out;
}

/** Contiguous chunk indexes merged into byte ranges, clipped to the size. */
function chunkRuns(indexes: number[], chunkSize: number, size: number): Extent[] {
  const out: Extent[] = [];
  for (const i of indexes) {
    const offset = i * chunkSize;
    const end = Math.min(size, offset + chunkSize);
    const last = out[out.length - 1];
    if (last && last.offset + last.length === offset) last.length = end - last.offset;
    else out.push({ offset, length: end - offset });
  }
  return out;
}
