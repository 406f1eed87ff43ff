/**
 * Hidden driver snapshots for backups (Cinder backups and CBR): a point-in-time image of a volume that exists only
 * as a driver object, never as a `snapshots` row, so no API lists it, counts it against quotas or refuses a volume
 * delete because of it. Whoever creates one records its id in the database first (the backup row), so that the
 * failure path and crash recovery always know what to remove.
 *
 * A backup reads such a snapshot through `openBackupSource`, which also asks the driver what changed since an
 * earlier hidden snapshot (changed-block tracking) and then materialises only those chunks.
 */
import { randomBytes } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { HiddenSnapshotLookup } from '../../domain/ports/block-storage-store.js';
import type { Scope } from '../../domain/ports/metadata-store.js';
import type { Extent, VolumeDriver } from '../../domain/ports/volume-driver.js';

/**
 * The names among `names` (backend object names of `driver`) that are hidden snapshots: backup bases and the
 * snapshots CBR backups read. Listings of unmanaged objects leave them out, so nobody manages them away.
 */
export async function hiddenSnapshotNames(
  lookup: HiddenSnapshotLookup,
  scope: Scope,
  driver: VolumeDriver,
  names: string[],
): Promise<Set<string>> {
  const byId = new Map<string, string>();
  for (const name of names) {
    const m = /^_snapshot-(.+)$/.exec(name);
    if (m && driver.objectName('snapshot', m[1]!) === name) byId.set(m[1]!, name);
  }
  const out = new Set<string>();
  for (const id of await lookup.claimed(scope, [...byId.keys()])) out.add(byId.get(id)!);
  return out;
}

/** Freezes the volume's current bytes under `snapshotId`; O(1) on drivers with cheap snapshots. */
export async function freezeHidden(
  driver: VolumeDriver,
  volumeId: string,
  snapshotId: string,
  signal?: AbortSignal,
): Promise<void> {
  await driver.createSnapshot(volumeId, snapshotId, signal ? { signal } : {});
}

/**
 * Removes a hidden snapshot (and the leftovers of an interrupted create); no error when it does not exist, so
 * cleanup paths may call it whether or not the create ever ran.
 */
export async function dropHidden(driver: VolumeDriver, volumeId: string, snapshotId: string): Promise<void> {
  await driver.deleteSnapshot(volumeId, snapshotId);
}

/** What the backup engine reads: a raw file, its allocated ranges and, when known, the changed ranges. */
export interface BackupSource {
  path: string;
  /**
   * True when `path` is a temporary this call just wrote (an export): it is in the page cache, so the engine
   * reads it buffered; false when it is the driver's own file, read past the page cache.
   */
  temporary: boolean;
  allocatedExtents: Extent[];
  /** Ranges changed since `changedSince` (null: unknown or not asked; read everything allocated). */
  changedExtents: Extent[] | null;
  release(): Promise<void>;
}

export interface BackupSourceOptions {
  /** An earlier hidden snapshot of the same volume (the parent backup's base) to compute changes against. */
  changedSince?: { volumeId: string; snapshotId: string } | null;
  /** The repository's chunk size: changed ranges are read in whole chunks. */
  chunkSize: number;
  signal?: AbortSignal;
  logger?: Logger;
}

/**
 * A raw view of a volume or snapshot for the backup engine. Raw objects are read in place. For other formats the
 * whole object is exported to a sparse temporary, except when the changed extents are known: then only the chunks
 * that the engine will read (changed and allocated) are written into the temporary and the rest stays a hole the
 * engine never looks at, so an incremental costs what changed, not the volume's size.
 */
export async function openBackupSource(
  driver: VolumeDriver,
  kind: 'volume' | 'snapshot',
  id: string,
  opts: BackupSourceOptions,
): Promise<BackupSource> {
  const allocatedExtents = await driver.allocatedExtents(kind, id);
  let changed: Extent[] | null = null;
  const since = opts.changedSince;
  if (since && kind === 'snapshot') {
    try {
      changed = await driver.changedExtents(since.volumeId, since.snapshotId, id);
    } catch (err) {
      // A base that vanished or a chain that no longer links them: compare the data instead (still correct).
      opts.logger?.warn({ err, snapshot: id, since: since.snapshotId }, 'changed-block tracking unavailable');
      changed = null;
    }
  }
  if (changed === null || driver.format === 'raw') {
    const exported = await driver.exportRaw(kind, id, opts.signal ? { signal: opts.signal } : {});
    return {
      path: exported.path,
      temporary: exported.path !== driver.path(kind, id),
      allocatedExtents,
      changedExtents: changed,
      release: () => exported.release(),
    };
  }
  const info = await driver.stat(kind, id);
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
      for await (const piece of driver.readRawRanges(kind, id, runs)) {
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
