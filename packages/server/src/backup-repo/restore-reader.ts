/**
 * Reading backups back: restore into a target file and verify of the repository. Both fetch chunk objects into the
 * worker pool's shared buffers and let the workers authenticate, decompress and re-hash them against their ids.
 */
import { constants as fsConstants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import type { ObjectStore } from '../domain/ports/object-store.js';
import {
  RepoError,
  type RestoreOptions,
  type RestoreResult,
  type VerifyOptions,
  type VerifyProblem,
  type VerifyResult,
} from '../domain/ports/backup-store.js';
import { Bounded } from './bounded.js';
import { chunkKey, ID_BYTES } from './format.js';
import type { Manifest } from './manifest.js';
import { MarkSet } from './mark-set.js';
import { type RepoContext, throwIfAborted } from './repo-context.js';
import { listManifests, readManifest } from './repo-manifests.js';
import type { WorkerPool } from './worker-pool.js';

/**
 * An ObjectStore that can read an object into a caller's buffer (the fs adapter does), so restore and verify
 * reuse shared buffers instead of allocating one per chunk. Returns the object's size; when that exceeds the
 * buffer, the buffer's content is unspecified.
 */
interface ReadIntoStore {
  getInto(key: string, into: Uint8Array): Promise<number>;
}

function canReadInto(store: ObjectStore): store is ObjectStore & ReadIntoStore {
  return typeof (store as Partial<ReadIntoStore>).getInto === 'function';
}

/** Where restores spent their time, summed over chunks (in flight at once, so they exceed wall time). */
export interface RestoreProfile {
  chunks: number;
  /** Waiting for a free shared buffer (all in use by earlier chunks). */
  slotMs: number;
  /** Fetching the chunk object from the store. */
  fetchMs: number;
  /** Queued in a worker behind earlier chunks. */
  queueMs: number;
  /** Authenticate, decompress, re-hash. */
  computeMs: number;
  /** Writing the plaintext into the target. */
  writeMs: number;
  /** The final sync of the target. */
  syncMs: number;
}

/**
 * Reads chunk `id` into shared buffer `buf`; returns its length. An object larger than any chunk object is
 * corrupt (and is not read whole).
 */
async function readChunkInto(
  ctx: RepoContext,
  pool: WorkerPool,
  buf: number,
  id: string,
  locator: string,
  offset: number,
): Promise<number> {
  // Page-rounded, so the fs store can read the largest chunk object (a stored-raw one) with O_DIRECT.
  const into = pool.paddedBuffer(buf);
  let n: number;
  if (canReadInto(ctx.store)) {
    try {
      n = await ctx.store.getInto(chunkKey(id), into);
    } catch (e) {
      if ((e as { code?: unknown }).code === 'ENOENT') {
        throw new RepoError('CHUNK_MISSING', `chunk ${id} of backup ${locator} (offset ${offset}) is missing`, {
          chunkId: id,
        });
      }
      throw e;
    }
  } else {
    const object = await getChunk(ctx, id, locator, offset);
    n = object.length;
    if (n <= into.length) into.set(object);
  }
  if (n > pool.bufferSize) {
    throw new RepoError('CHUNK_CORRUPT', `chunk ${id} is corrupt: ${n} bytes is larger than any chunk object`, {
      chunkId: id,
    });
  }
  return n;
}

/**
 * Restores a backup into `targetPath`. Chunks are fetched with several in flight, each verified against its
 * id before it is written; the target is fsynced once at the end. A missing or corrupt chunk fails the
 * restore with RepoError CHUNK_MISSING / CHUNK_CORRUPT naming the chunk id; wrong bytes are never written.
 */
export async function restoreBackup(
  ctx: RepoContext,
  profile: RestoreProfile,
  opts: RestoreOptions,
): Promise<RestoreResult> {
  const manifest = await readManifest(ctx, opts.locator);
  const { size } = manifest.header;
  const fh = await open(opts.targetPath, fsConstants.O_RDWR | fsConstants.O_CREAT, 0o600);
  let direct: FileHandle | undefined;
  const pool = ctx.workers();
  const inflight = new Bounded(pool.buffers);
  const result: RestoreResult = { dataBytes: 0, zeroBytes: 0, chunks: manifest.count, directIo: false };
  let done = 0;
  const progress = (n: number) => {
    done += n;
    opts.onProgress?.({ bytesDone: done, bytesTotal: size });
  };
  let windowFlush: Promise<void> = Promise.resolve();
  let windowError: unknown;
  try {
    const current = (await fh.stat()).size;
    if (opts.targetIsFresh) {
      if (current < size) await fh.truncate(size);
    } else if (current < size) {
      throw new RepoError(
        'INVALID_ARGUMENT',
        `restore target ${opts.targetPath} (${current} bytes) is smaller than backup ${opts.locator} (${size} bytes)`,
      );
    }
    direct = opts.directIo === false ? undefined : await ctx.openDirect(opts.targetPath, fsConstants.O_RDWR);
    const directFd = direct?.fd;
    result.directIo = direct !== undefined;
    let zeroStart = -1;
    let zeroEnd = -1;
    const flushZeros = async () => {
      if (zeroStart < 0) return;
      const [s, e] = [zeroStart, zeroEnd];
      zeroStart = -1;
      result.zeroBytes += e - s;
      if (!opts.targetIsFresh) await zeroTarget(ctx, fh, s, e - s, opts.zeroRange);
      progress(e - s);
    };
    let windowStart = 0;
    /**
     * Hands [windowStart, end) on once every write below `end` is done. The hand-over runs while the next window
     * is written (one at a time, in order), so a staging target holds at most two windows.
     */
    const flushWindow = async (end: number) => {
      if (!opts.window || end <= windowStart) return;
      await flushZeros();
      await inflight.drain();
      await windowFlush;
      if (windowError !== undefined) throw windowError;
      const [from, length] = [windowStart, end - windowStart];
      windowFlush = opts.window.flush(from, length).catch((e: unknown) => {
        windowError = e;
      });
      windowStart = end;
    };
    for (let i = 0; i < manifest.count; i++) {
      throwIfAborted(opts.signal);
      if (inflight.failed) break;
      const offset = i * manifest.header.chunkSize;
      const length = manifest.chunkLength(i);
      const id = manifest.entryHex(i);
      if (windowError !== undefined) throw windowError;
      if (opts.window && offset - windowStart >= opts.window.bytes) await flushWindow(offset);
      if (id === null) {
        if (zeroStart < 0) zeroStart = offset;
        zeroEnd = offset + length;
        continue;
      }
      await flushZeros();
      await inflight.add(async () => {
        const rp = profile;
        const t0 = performance.now();
        const buf = await pool.acquireBuffer();
        const t1 = performance.now();
        rp.slotMs += t1 - t0;
        let reply: Awaited<ReturnType<WorkerPool['run']>>;
        try {
          const objectLength = await readChunkInto(ctx, pool, buf, id, opts.locator, offset);
          rp.fetchMs += performance.now() - t1;
          reply = await pool.run({
            op: 'restore',
            slot: buf,
            objectLength,
            id,
            length,
            fd: fh.fd,
            offset,
            ...(directFd !== undefined ? { directFd } : {}),
          });
        } finally {
          pool.releaseBuffer(buf);
        }
        if (reply.kind === 'error') {
          const message = `restore of ${opts.locator} failed at offset ${offset}: ${reply.message}`;
          if (reply.code === 'CHUNK_CORRUPT') throw new RepoError('CHUNK_CORRUPT', message, { chunkId: id });
          throw Object.assign(new Error(message), { code: reply.code });
        }
        if (reply.kind === 'ok') {
          rp.chunks++;
          rp.queueMs += reply.waitMs ?? 0;
          rp.computeMs += reply.computeMs ?? 0;
          rp.writeMs += reply.writeMs ?? 0;
        }
        result.dataBytes += length;
        progress(length);
      });
    }
    await flushZeros();
    await inflight.drain();
    throwIfAborted(opts.signal);
    await flushWindow(size);
    await windowFlush;
    if (windowError !== undefined) throw windowError;
    // Also the disk's cache flush for the direct writes: durable when this returns.
    const syncStart = performance.now();
    await fh.sync();
    profile.syncMs += performance.now() - syncStart;
    return result;
  } finally {
    await inflight.drain().catch(() => {});
    // Nothing may still read the staging file when the caller releases it.
    await windowFlush;
    await direct?.close();
    await fh.close();
  }
}

async function zeroTarget(
  ctx: RepoContext,
  fh: FileHandle,
  offset: number,
  length: number,
  zeroRange: RestoreOptions['zeroRange'],
): Promise<void> {
  if (zeroRange) {
    await zeroRange(offset, length);
    return;
  }
  const zeros = Buffer.alloc(Math.min(length, ctx.config.chunkSize));
  for (let pos = offset; pos < offset + length; ) {
    const n = Math.min(zeros.length, offset + length - pos);
    const { bytesWritten } = await fh.write(zeros, 0, n, pos);
    pos += bytesWritten;
  }
}

export async function getChunk(ctx: RepoContext, id: string, locator: string, offset: number): Promise<Buffer> {
  try {
    return await ctx.store.get(chunkKey(id));
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') {
      throw new RepoError('CHUNK_MISSING', `chunk ${id} of backup ${locator} (offset ${offset}) is missing`, {
        chunkId: id,
      });
    }
    throw e;
  }
}

/**
 * Checks manifests (checksum, structure) and every chunk they reference: presence and CRC, or with `full` the
 * complete decrypt + decompress + id check. Never throws for integrity problems: they are listed in `problems`.
 * Orphan chunks (from crashed backups) are not problems.
 */
export async function verifyRepo(ctx: RepoContext, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const problems: VerifyProblem[] = [];
  const locators: string[] = [];
  if (opts.locators) locators.push(...opts.locators);
  else for await (const l of listManifests(ctx)) locators.push(l);
  // Memory stays small on a large store: distinct chunks are told apart by 8 bytes of id (mark-set.ts),
  // manifests are read one at a time, twice (to count, then to check), never all held at once.
  const distinct = new MarkSet();
  const readable: string[] = [];
  for (const locator of locators) {
    try {
      const m = await readManifest(ctx, locator);
      readable.push(locator);
      for (let i = 0; i < m.count; i++) {
        if (m.entry(i) !== null) distinct.addAt(m.entries, i * ID_BYTES);
      }
    } catch (e) {
      problems.push({ kind: 'manifest', locator, message: (e as Error).message });
    }
  }
  const total = distinct.seal();
  const pool = ctx.workers();
  const inflight = new Bounded(pool.buffers);
  let bytes = 0;
  let checked = 0;
  let manifests = 0;
  for (const locator of readable) {
    let m: Manifest;
    try {
      m = await readManifest(ctx, locator);
      manifests++;
    } catch (e) {
      problems.push({ kind: 'manifest', locator, message: (e as Error).message });
      continue;
    }
    for (let i = 0; i < m.count; i++) {
      throwIfAborted(opts.signal);
      if (inflight.failed) break;
      const id = m.entryHex(i);
      if (id === null) continue;
      if (!distinct.firstSightHex(id)) continue;
      const length = m.chunkLength(i);
      await inflight.add(async () => {
        const buf = await pool.acquireBuffer();
        let reply: Awaited<ReturnType<WorkerPool['run']>>;
        try {
          let objectLength: number;
          try {
            objectLength = await readChunkInto(ctx, pool, buf, id, locator, 0);
          } catch (e) {
            if (e instanceof RepoError && e.code === 'CHUNK_MISSING') {
              // The index must not go on answering for it: the next backup that has it writes it again.
              ctx.index?.remove(Buffer.from(id, 'hex'));
              problems.push({ kind: 'missing', locator, chunkId: id, message: `chunk ${id} is missing` });
              return;
            }
            if (e instanceof RepoError && e.code === 'CHUNK_CORRUPT') {
              problems.push({ kind: 'corrupt', locator, chunkId: id, message: e.message });
              return;
            }
            throw e;
          } finally {
            checked++;
          }
          bytes += objectLength;
          reply = await pool.run({ op: 'check', slot: buf, objectLength, id, length, full: opts.full === true });
        } finally {
          pool.releaseBuffer(buf);
        }
        if (reply.kind === 'error') {
          problems.push({ kind: 'corrupt', locator, chunkId: id, message: reply.message });
        }
        opts.onProgress?.({ bytesDone: checked, bytesTotal: total });
      });
    }
  }
  await inflight.drain();
  return { ok: problems.length === 0, manifests, chunks: total, bytes, problems };
}
