/**
 * Writing a backup: the workers read and encode the source's chunks, new chunk objects go to the store create-only
 * and durably (and into the chunk index in batches), and the manifest is written last as the commit point.
 */
import { constants as fsConstants } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import type { Extent } from '../domain/ports/volume-driver.js';
import { type BackupOptions, type BackupResult, RepoError } from '../domain/ports/backup-store.js';
import { Bounded, chunkMapOf } from './bounded.js';
import { CodecChooser } from './codec-chooser.js';
import { CODEC_LZ4, CODEC_ZSTD, chunkKey, ID_BYTES } from './format.js';
import { type BackupStats, encodeManifest, Manifest, type ManifestHeader, makeLocator, manifestKey } from './manifest.js';
import { type ActiveBackup, type RepoContext, throwIfAborted } from './repo-context.js';
import { readManifest } from './repo-manifests.js';
import { ReadaheadHints } from './readahead-hints.js';
import type { WorkerPool } from './worker-pool.js';
import type { ChunkCompressor } from './worker-protocol.js';

/**
 * Chunks of a backup whose bytes the store already holds while it makes them durable (a sync costs tens of
 * milliseconds on a busy disk); they hold no shared buffer, so memory does not grow with this.
 */
const SYNCING_CHUNKS = 16;

function codecName(codec: number): 'raw' | 'zstd' | 'lz4' {
  return codec === CODEC_ZSTD ? 'zstd' : codec === CODEC_LZ4 ? 'lz4' : 'raw';
}

/**
 * Where a repository's backups spent their time, summed over chunks since it was opened (benchmarks compare a
 * slow run with a fast one through these). Times of chunks in flight at once add up, so they exceed wall time.
 */
export interface BackupProfile {
  chunksRead: number;
  /** Workers waiting for source bytes: the shared thread pool's queue plus the disk. */
  readMs: number;
  /** Workers computing: zero check, hash, compression, sealing. */
  computeMs: number;
  /** From a chunk object being ready to the store having it durably (write, sync, publish). */
  storeMs: number;
}

/**
 * Backs up `sourcePath` as a new manifest `<container>/<id>`. Reads only allocated (and, with a parent and
 * changedExtents, changed) chunks, in parallel worker threads with a bounded number in flight; writes new
 * chunks create-only and durably, then commits the manifest. On failure or abort no manifest exists; chunks
 * already written are orphans that GC reclaims after its grace period.
 */
export async function writeBackup(
  ctx: RepoContext,
  profile: BackupProfile,
  opts: BackupOptions,
): Promise<BackupResult> {
  const locator = makeLocator(opts.container, opts.id);
  const mKey = manifestKey(locator);
  if (await ctx.store.head(mKey)) throw new RepoError('EXISTS', `backup ${locator} already exists`);
  const fileSize = (await stat(opts.sourcePath)).size;
  const size = opts.size ?? fileSize;
  if (!Number.isSafeInteger(size) || size < 0) throw new RepoError('INVALID_ARGUMENT', `invalid size ${size}`);
  if (opts.changedExtents && opts.parent === undefined) {
    throw new RepoError('INVALID_ARGUMENT', 'changedExtents need a parent backup');
  }
  const parent = opts.parent === undefined ? undefined : await readManifest(ctx, opts.parent);
  const cs = ctx.config.chunkSize;
  const count = Math.ceil(size / cs);
  const allocated = opts.allocatedExtents ? chunkMapOf(opts.allocatedExtents, count, cs) : undefined;
  const changed = opts.changedExtents ? chunkMapOf(opts.changedExtents, count, cs) : undefined;
  const entries = Buffer.alloc(count * ID_BYTES);
  const stats: BackupStats = {
    chunks: count,
    zeroChunks: 0,
    newChunks: 0,
    reusedChunks: 0,
    storedBytes: 0,
    logicalBytes: size,
    dataBytes: 0,
    readBytes: 0,
    codecs: { raw: 0, zstd: 0, lz4: 0 },
  };
  const active: ActiveBackup = {
    locator,
    startedAt: Date.now(),
    entries,
    parent,
    ids: new Set(),
    useIndex: false,
    pendingIndex: [],
  };
  return ctx.runBackup(active, async () => {
    const pool = ctx.workers();
    // A chunk holds a shared buffer until the store has its bytes, then only a place among those being synced.
    const inflight = new Bounded(pool.buffers + SYNCING_CHUNKS);
    const chooser = new CodecChooser();
    let done = 0;
    const progress = (n: number) => {
      done += n;
      opts.onProgress?.({ bytesDone: done, bytesTotal: size });
    };
    let source: FileHandle | undefined;
    let direct: FileHandle | undefined;
    try {
      source = await open(opts.sourcePath, 'r');
      const fd = source.fd;
      direct = opts.directIo === false ? undefined : await ctx.openDirect(opts.sourcePath, fsConstants.O_RDONLY);
      const directFd = direct?.fd;
      // Direct reads do not go through the page cache, so readahead hints would only fill it for nothing.
      const hints = direct
        ? undefined
        : new ReadaheadHints(count, cs, size, (j) => !(allocated?.[j] === 0) && !(changed?.[j] === 0));
      for (let i = 0; i < count; i++) {
        throwIfAborted(opts.signal);
        if (inflight.failed) break;
        const offset = i * cs;
        const length = Math.min(cs, size - offset);
        // The parent's entry stands for this chunk only if the chunk has the same extent in both volumes.
        const parentEntry =
          parent && i < parent.count && parent.chunkLength(i) === length ? parent.entry(i) : undefined;
        if (changed && changed[i] === 0 && parentEntry !== undefined) {
          if (parentEntry === null) stats.zeroChunks++;
          else {
            parentEntry.copy(entries, i * ID_BYTES);
            stats.reusedChunks++;
            stats.dataBytes += length;
          }
          progress(length);
          continue;
        }
        if (allocated && allocated[i] === 0) {
          stats.zeroChunks++;
          progress(length);
          continue;
        }
        const parentId = parentEntry ? parentEntry.toString('hex') : undefined;
        const prefetch = hints?.next(i);
        await inflight.add(async () => {
          const buf = await pool.acquireBuffer();
          let held = true;
          const release = () => {
            if (held) pool.releaseBuffer(buf);
            held = false;
          };
          try {
            const compressor = ctx.compression === 'auto' ? chooser.choose() : ctx.compression;
            const task = { fd, directFd, offset, length, parentId, prefetch, compressor };
            const chunk = { sourcePath: opts.sourcePath, active, stats, release };
            await encodeAndStore(ctx, profile, pool, buf, task, i, chunk);
          } finally {
            release();
          }
          progress(length);
        });
      }
      await inflight.drain();

      throwIfAborted(opts.signal);
      // Chunk names durable before the manifest that references them.
      await ctx.store.flush();
      await ctx.indexPending(active);
      const header: ManifestHeader = {
        format: 1,
        id: opts.id,
        container: opts.container,
        repoId: ctx.config.repoId,
        size,
        chunkSize: cs,
        idAlgorithm: ctx.config.idAlgorithm,
        encrypted: ctx.encrypted,
        parent: opts.parent ?? null,
        createdAt: new Date().toISOString(),
        stats,
        meta: opts.meta ?? {},
      };
      const { existed } = await ctx.store.put(mKey, encodeManifest(new Manifest(header, entries), ctx.keys));
      if (existed) throw new RepoError('EXISTS', `backup ${locator} already exists`);
      await ctx.store.flush();
      return { locator, header, stats, directIo: direct !== undefined };
    } finally {
      // After an error or abort, wait for the chunks in flight so nothing writes after we return.
      await inflight.drain().catch(() => {});
      await direct?.close();
      await source?.close();
    }
  });
}

/** One chunk of a backup: the worker reads and encodes it into shared buffer `buf`, then it is stored. */
async function encodeAndStore(
  ctx: RepoContext,
  profile: BackupProfile,
  pool: WorkerPool,
  buf: number,
  task: {
    fd: number;
    directFd: number | undefined;
    offset: number;
    length: number;
    parentId: string | undefined;
    prefetch: Extent[] | undefined;
    compressor: ChunkCompressor;
  },
  i: number,
  chunk: {
    sourcePath: string;
    active: ActiveBackup;
    stats: BackupStats;
    /** Gives `buf` back early, once the store holds the chunk's bytes. */
    release: () => void;
  },
): Promise<void> {
  const { fd, directFd, offset, length, parentId, prefetch, compressor } = task;
  const { sourcePath, active, stats } = chunk;
  const reply = await pool.run({
    op: 'encode',
    fd,
    offset,
    length,
    slot: buf,
    compressor,
    ...(directFd !== undefined ? { directFd } : {}),
    ...(parentId ? { parentId } : {}),
    ...(prefetch ? { prefetch } : {}),
  });
  if (reply.kind === 'error') {
    throw Object.assign(new Error(`reading ${sourcePath} at ${offset}: ${reply.message}`), { code: reply.code });
  }
  if (reply.kind === 'zero' || reply.kind === 'same' || reply.kind === 'data') {
    profile.chunksRead++;
    profile.readMs += reply.readMs ?? 0;
    profile.computeMs += reply.computeMs ?? 0;
  }
  if (reply.kind === 'zero') {
    stats.readBytes += reply.readBytes;
    stats.zeroChunks++;
    return;
  }
  if (reply.kind !== 'same' && reply.kind !== 'data') throw new Error(`unexpected worker reply ${reply.kind}`);
  stats.readBytes += reply.readBytes;
  stats.dataBytes += length;
  if (reply.kind === 'data') {
    const idBytes = Buffer.from(reply.id, 'hex');
    if (await ctx.indexHas(active, reply.id, idBytes)) {
      stats.reusedChunks++;
    } else {
      const object = pool.buffer(buf, reply.objectLength);
      const putStart = performance.now();
      const { existed } = await ctx.store.put(chunkKey(reply.id), object, {
        touchExisting: true,
        onDataReleased: chunk.release,
      });
      profile.storeMs += performance.now() - putStart;
      if (existed) stats.reusedChunks++;
      else {
        stats.newChunks++;
        stats.storedBytes += object.length;
        const codecs = (stats.codecs ??= { raw: 0, zstd: 0, lz4: 0 });
        codecs[codecName(reply.codec)]++;
      }
      await ctx.chunkPut(active, idBytes);
    }
  } else {
    stats.reusedChunks++;
  }
  Buffer.from(reply.id, 'hex').copy(active.entries, i * ID_BYTES);
}
