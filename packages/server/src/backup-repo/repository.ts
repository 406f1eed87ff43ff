/**
 * The deduplicating backup repository (spec §3): fixed-size chunks aligned to volume offsets, content-addressed
 * and shared repository-wide, one complete manifest per backup written last as the commit point.
 *
 * Layout on the ObjectStore:
 *   config                               format, chunk size, id algorithm, encryption key check (written once)
 *   chunks/<2 hex>/<64 hex id>           chunk objects (format.ts), create-only
 *   backups/<container>/<id>.manifest    manifests (manifest.ts)
 *   locks/leases/<container>/<id>        leases of running backups (garbage collection keeps their chunks)
 *   tmp/                                 the fs adapter's temporaries, swept at open
 *
 * Usage:
 *   const repo = await BackupRepository.open({ store: new FsObjectStore(dir), key });
 *   const { locator, stats } = await repo.backup({ id, container, sourcePath, allocatedExtents });
 *   await repo.restore({ locator, targetPath, targetIsFresh: true });
 *   await repo.close();
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import type { ObjectStore } from '../domain/ports/object-store.js';
import type { Extent } from '../domain/ports/volume-driver.js';
import { Bounded, chunkMapOf } from './bounded.js';
import { defaultIdAlgorithm, ID_ALGORITHMS, type IdAlgorithm, idAlgorithmAvailable, isKeyed } from './chunk-ids.js';
import { CodecChooser } from './codec-chooser.js';
import {
  type BackupOptions,
  type BackupResult,
  type BackupStore,
  type GcOptions,
  type GcResult,
  type Progress,
  RepoError,
  type RestoreOptions,
  type RestoreResult,
  type VerifyOptions,
  type VerifyProblem,
  type VerifyResult,
} from '../domain/ports/backup-store.js';
import {
  CHUNK_KEY_RE,
  CODEC_LZ4,
  CODEC_ZSTD,
  chunkKey,
  deriveKeys,
  ID_BYTES,
  maxChunkObjectSize,
  type RepoKeys,
} from './format.js';
import {
  assertName,
  type BackupStats,
  decodeManifest,
  encodeManifest,
  leaseKey as leaseKeyOf,
  MANIFEST_KEY_RE,
  Manifest,
  type ManifestHeader,
  makeLocator,
  manifestKey,
  parseLocator,
} from './manifest.js';
import { ReadaheadHints } from './readahead-hints.js';
import { WorkerPool } from './worker-pool.js';
import type { ChunkCompressor } from './worker-protocol.js';

// The operations' options and results belong to the BackupStore port; re-exported for the repository's users.
export {
  type BackupOptions,
  type BackupResult,
  type GcOptions,
  type GcResult,
  type Progress,
  type RestoreOptions,
  type RestoreResult,
  type VerifyOptions,
  type VerifyProblem,
  type VerifyResult,
  verifyReport,
} from '../domain/ports/backup-store.js';

export const DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024;
/** A lease not refreshed for this long belongs to a crashed backup and no longer holds back GC. */
const LEASE_TTL_MS = 10 * 60 * 1000;
const LEASE_REFRESH_MS = 60 * 1000;
const ZSTD_LEVEL = 1;
/**
 * Chunks of a backup whose bytes the store already holds while it makes them durable (a sync costs tens of
 * milliseconds on a busy disk); they hold no shared buffer, so memory does not grow with this.
 */
const SYNCING_CHUNKS = 16;

function codecName(codec: number): 'raw' | 'zstd' | 'lz4' {
  return codec === CODEC_ZSTD ? 'zstd' : codec === CODEC_LZ4 ? 'lz4' : 'raw';
}

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

/**
 * How chunks are compressed. Each chunk object records its own codec, so a repository (and a backup) may mix them
 * and restore reads any mix. `auto` (the default) compresses with zstd level 1 the share of chunks the host's idle
 * CPU pays for and the rest with LZ4 (codec-chooser.ts): on a host with few cores LZ4 is the difference between a
 * CPU-bound and a disk-bound backup (on this project's 2-core reference machine zstd-1 compresses ~430 MiB/s per
 * core, LZ4 ~630, at a ~20 % larger stored size).
 */
export type Compression = 'auto' | 'zstd' | 'lz4' | 'none';
export const COMPRESSIONS: readonly Compression[] = ['auto', 'zstd', 'lz4', 'none'];

export interface OpenOptions {
  store: ObjectStore;
  /** Chunk compression of new backups (default `auto`). */
  compression?: Compression;
  /**
   * Path of the loaded sparse-io addon: its `alignedBuffer` lets the workers read and write volume data with
   * O_DIRECT, its `willNeed` hint readahead where they cannot. Without it, buffered I/O without hints.
   */
  sparseAddon?: string;
  /** Master key (≥ 16 bytes) from configuration; required for an encrypted repository, creates one if new. */
  key?: Buffer;
  /** Worker threads for hashing/compression; default: available cores (at least 1). */
  workers?: number;
  /** Chunk size of a NEW repository: a power of two from 1 to 8 MiB (default 4 MiB); ignored afterwards. */
  chunkSize?: number;
  /** Create the repository when it has no config (default true). */
  create?: boolean;
  /**
   * Chunk id algorithm of a NEW repository (default: BLAKE3 where its module loads, keyed when encrypted;
   * otherwise SHA-256 / HMAC-SHA256); ignored afterwards. Keyed algorithms go with a key.
   */
  idAlgorithm?: IdAlgorithm;
}

interface RepoConfig {
  format: 'cinderbox-backup-repo';
  version: 1;
  repoId: string;
  chunkSize: number;
  idAlgorithm: IdAlgorithm;
  codec: 'zstd-1';
  encryption: null | { algorithm: 'aes-256-gcm'; kdf: 'hkdf-sha256'; keyCheck: string };
  createdAt: string;
}

/** A backup running in this process: GC marks what it references and never deletes what it is about to reuse. */
interface ActiveBackup {
  startedAt: number;
  entries: Buffer;
  parent: Manifest | undefined;
  /** Ids this backup has put or is putting (recorded before the put starts). */
  ids: Set<string>;
}

export class BackupRepository implements BackupStore {
  private pool: WorkerPool | undefined;
  private readonly active = new Set<ActiveBackup>();
  /** Chunk deletions in progress (by GC), so a backup reusing one of them waits and then rewrites it. */
  private readonly deleting = new Map<string, Promise<unknown>>();
  private gcRunning = false;

  private constructor(
    readonly store: ObjectStore,
    private readonly config: RepoConfig,
    private readonly keys: RepoKeys | undefined,
    private readonly workerCount: number,
    private readonly compression: Compression,
    private readonly sparseAddon: string | undefined,
    /** The workers have aligned memory (the addon's alignedBuffer), so O_DIRECT descriptors are worth opening. */
    private readonly canDirect: boolean,
  ) {}

  /**
   * Opens (creating if needed) the repository on `store`: sweeps temporaries of crashed writers, reads the
   * config and checks the key. Throws RepoError WRONG_KEY when the key is missing, unexpected or different.
   */
  static async open(opts: OpenOptions): Promise<BackupRepository> {
    const { store } = opts;
    if (opts.key !== undefined && opts.key.length < 16) {
      throw new RepoError('INVALID_ARGUMENT', 'the repository key must be at least 16 bytes');
    }
    await store.sweepTemporaries();
    let raw = await store.get('config').catch((e: unknown) => {
      if ((e as { code?: unknown }).code === 'ENOENT') return null;
      throw e;
    });
    if (raw === null) {
      if (opts.create === false) throw new RepoError('BAD_CONFIG', `no backup repository at ${store.description}`);
      const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
      if (!Number.isInteger(Math.log2(chunkSize)) || chunkSize < 1 << 20 || chunkSize > 8 << 20) {
        throw new RepoError('INVALID_ARGUMENT', `chunk size must be a power of two from 1 to 8 MiB, not ${chunkSize}`);
      }
      if (opts.idAlgorithm !== undefined && isKeyed(opts.idAlgorithm) !== (opts.key !== undefined)) {
        throw new RepoError(
          'INVALID_ARGUMENT',
          `chunk id algorithm ${opts.idAlgorithm} is for ${opts.key ? 'unencrypted' : 'encrypted'} repositories`,
        );
      }
      const repoId = randomUUID();
      const config: RepoConfig = {
        format: 'cinderbox-backup-repo',
        version: 1,
        repoId,
        chunkSize,
        idAlgorithm: opts.idAlgorithm ?? defaultIdAlgorithm(opts.key !== undefined),
        codec: 'zstd-1',
        encryption: opts.key
          ? { algorithm: 'aes-256-gcm', kdf: 'hkdf-sha256', keyCheck: deriveKeys(opts.key, repoId).keyCheck }
          : null,
        createdAt: new Date().toISOString(),
      };
      // Create-only: if another process initialized the repository first, its config wins.
      await store.put('config', Buffer.from(`${JSON.stringify(config, null, 2)}\n`));
      await store.flush();
      raw = await store.get('config');
    }
    let config: RepoConfig;
    try {
      config = JSON.parse(raw.toString('utf8')) as RepoConfig;
    } catch (e) {
      throw new RepoError('BAD_CONFIG', `backup repository config at ${store.description} is not JSON`, { cause: e });
    }
    if (
      config.format !== 'cinderbox-backup-repo' ||
      config.version !== 1 ||
      !(config.chunkSize > 0) ||
      !ID_ALGORITHMS.includes(config.idAlgorithm) ||
      isKeyed(config.idAlgorithm) !== Boolean(config.encryption)
    ) {
      throw new RepoError('BAD_CONFIG', `unsupported backup repository config at ${store.description}`);
    }
    if (!idAlgorithmAvailable(config.idAlgorithm)) {
      throw new RepoError(
        'BAD_CONFIG',
        `backup repository ${store.description} names chunks with ${config.idAlgorithm}, whose module ` +
          '(@napi-rs/blake-hash) does not load on this platform',
      );
    }
    let keys: RepoKeys | undefined;
    if (config.encryption) {
      if (!opts.key) {
        throw new RepoError(
          'WRONG_KEY',
          `backup repository ${store.description} is encrypted and no key is configured`,
        );
      }
      keys = deriveKeys(opts.key, config.repoId);
      const want = Buffer.from(config.encryption.keyCheck, 'hex');
      const got = Buffer.from(keys.keyCheck, 'hex');
      if (want.length !== got.length || !timingSafeEqual(want, got)) {
        throw new RepoError(
          'WRONG_KEY',
          `the configured key does not match the key of backup repository ${store.description}`,
        );
      }
    } else if (opts.key) {
      throw new RepoError(
        'WRONG_KEY',
        `backup repository ${store.description} is not encrypted but a key is configured; refusing to mix`,
      );
    }
    const workers = Math.max(1, opts.workers ?? availableParallelism());
    const compression = opts.compression ?? 'auto';
    if (!COMPRESSIONS.includes(compression)) {
      throw new RepoError(
        'INVALID_ARGUMENT',
        `compression must be one of ${COMPRESSIONS.join(', ')}, not ${String(compression)}`,
      );
    }
    return new BackupRepository(
      store,
      config,
      keys,
      workers,
      compression,
      opts.sparseAddon,
      opts.sparseAddon !== undefined && addonHasAlignedBuffer(opts.sparseAddon),
    );
  }

  get chunkSize(): number {
    return this.config.chunkSize;
  }

  get encrypted(): boolean {
    return this.keys !== undefined;
  }

  get repoId(): string {
    return this.config.repoId;
  }

  makeLocator(container: string, id: string): string {
    return makeLocator(container, id);
  }

  private workersPool(): WorkerPool {
    // Chunks in flight per operation (and shared buffers per repository): enough to keep every worker busy
    // while earlier chunks are still being written and synced.
    this.pool ??= new WorkerPool(
      this.workerCount,
      {
        chunkSize: this.config.chunkSize,
        level: ZSTD_LEVEL,
        idAlgorithm: this.config.idAlgorithm,
        ...(this.sparseAddon ? { sparseAddon: this.sparseAddon } : {}),
        ...(this.keys ? { idKey: this.keys.idKey, encKey: this.keys.encKey } : {}),
      },
      maxChunkObjectSize(this.config.chunkSize),
      this.workerCount * 4 + 2,
    );
    return this.pool;
  }

  /**
   * Starts the worker threads and waits until they are ready, so the first backup does not pay their start-up
   * (noticeable under tsx, where each worker compiles its sources). Optional.
   */
  async warmUp(): Promise<void> {
    await this.workersPool().broadcast({ op: 'release', path: '' });
  }

  /** Stops the worker threads. Call when done; running operations fail. */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.close();
  }

  /**
   * Backs up `sourcePath` as a new manifest `<container>/<id>`. Reads only allocated (and, with a parent and
   * changedExtents, changed) chunks, in parallel worker threads with a bounded number in flight; writes new
   * chunks create-only and durably, then commits the manifest. On failure or abort no manifest exists; chunks
   * already written are orphans that GC reclaims after its grace period.
   */
  async backup(opts: BackupOptions): Promise<BackupResult> {
    const locator = makeLocator(opts.container, opts.id);
    const mKey = manifestKey(locator);
    if (await this.store.head(mKey)) throw new RepoError('EXISTS', `backup ${locator} already exists`);
    const fileSize = (await stat(opts.sourcePath)).size;
    const size = opts.size ?? fileSize;
    if (!Number.isSafeInteger(size) || size < 0) throw new RepoError('INVALID_ARGUMENT', `invalid size ${size}`);
    if (opts.changedExtents && opts.parent === undefined) {
      throw new RepoError('INVALID_ARGUMENT', 'changedExtents need a parent backup');
    }
    const parent = opts.parent === undefined ? undefined : await this.readManifest(opts.parent);
    const cs = this.config.chunkSize;
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
    const active: ActiveBackup = { startedAt: Date.now(), entries, parent, ids: new Set() };
    this.active.add(active);
    const leaseKey = leaseKeyOf(locator);
    await this.store.put(leaseKey, Buffer.from(JSON.stringify({ startedAt: active.startedAt, pid: process.pid })), {
      overwrite: true,
    });
    const leaseTimer = setInterval(() => void this.store.touch(leaseKey).catch(() => {}), LEASE_REFRESH_MS);
    leaseTimer.unref();

    const pool = this.workersPool();
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
      direct = opts.directIo === false ? undefined : await this.openDirect(opts.sourcePath, fsConstants.O_RDONLY);
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
            const compressor = this.compression === 'auto' ? chooser.choose() : this.compression;
            const task = { fd, directFd, offset, length, parentId, prefetch, compressor };
            const ctx = { sourcePath: opts.sourcePath, active, stats, release };
            await this.encodeAndStore(pool, buf, task, i, ctx);
          } finally {
            release();
          }
          progress(length);
        });
      }
      await inflight.drain();

      throwIfAborted(opts.signal);
      // Chunk names durable before the manifest that references them.
      await this.store.flush();
      const header: ManifestHeader = {
        format: 1,
        id: opts.id,
        container: opts.container,
        repoId: this.config.repoId,
        size,
        chunkSize: cs,
        idAlgorithm: this.config.idAlgorithm,
        encrypted: this.encrypted,
        parent: opts.parent ?? null,
        createdAt: new Date().toISOString(),
        stats,
        meta: opts.meta ?? {},
      };
      const { existed } = await this.store.put(mKey, encodeManifest(new Manifest(header, entries), this.keys));
      if (existed) throw new RepoError('EXISTS', `backup ${locator} already exists`);
      await this.store.flush();
      return { locator, header, stats, directIo: direct !== undefined };
    } finally {
      // After an error or abort, wait for the chunks in flight so nothing writes after we return.
      await inflight.drain().catch(() => {});
      clearInterval(leaseTimer);
      this.active.delete(active);
      await this.store.delete(leaseKey).catch(() => {});
      await direct?.close();
      await source?.close();
    }
  }

  /** `path` opened with O_DIRECT, or undefined where the workers cannot use it or the filesystem refuses it. */
  private async openDirect(path: string, flags: number): Promise<FileHandle | undefined> {
    if (!this.canDirect) return undefined;
    try {
      return await open(path, flags | fsConstants.O_DIRECT);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EINVAL') return undefined;
      throw e;
    }
  }

  /** One chunk of a backup: the worker reads and encodes it into shared buffer `buf`, then it is stored. */
  private async encodeAndStore(
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
    ctx: {
      sourcePath: string;
      active: ActiveBackup;
      stats: BackupStats;
      /** Gives `buf` back early, once the store holds the chunk's bytes. */
      release: () => void;
    },
  ): Promise<void> {
    const { fd, directFd, offset, length, parentId, prefetch, compressor } = task;
    const { sourcePath, active, stats } = ctx;
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
    if (reply.kind === 'zero') {
      stats.readBytes += reply.readBytes;
      stats.zeroChunks++;
      return;
    }
    if (reply.kind !== 'same' && reply.kind !== 'data') throw new Error(`unexpected worker reply ${reply.kind}`);
    stats.readBytes += reply.readBytes;
    stats.dataBytes += length;
    if (reply.kind === 'data') {
      active.ids.add(reply.id);
      const deleting = this.deleting.get(reply.id);
      if (deleting) await deleting;
      const object = pool.buffer(buf, reply.objectLength);
      const { existed } = await this.store.put(chunkKey(reply.id), object, {
        touchExisting: true,
        onDataReleased: ctx.release,
      });
      if (existed) stats.reusedChunks++;
      else {
        stats.newChunks++;
        stats.storedBytes += object.length;
        const codecs = (stats.codecs ??= { raw: 0, zstd: 0, lz4: 0 });
        codecs[codecName(reply.codec)]++;
      }
    } else {
      stats.reusedChunks++;
    }
    Buffer.from(reply.id, 'hex').copy(active.entries, i * ID_BYTES);
  }

  /**
   * Reads chunk `id` into shared buffer `buf`; returns its length. An object larger than any chunk object is
   * corrupt (and is not read whole).
   */
  private async readChunkInto(pool: WorkerPool, buf: number, id: string, locator: string, offset: number) {
    const into = pool.buffer(buf);
    let n: number;
    if (canReadInto(this.store)) {
      try {
        n = await this.store.getInto(chunkKey(id), into);
      } catch (e) {
        if ((e as { code?: unknown }).code === 'ENOENT') {
          throw new RepoError('CHUNK_MISSING', `chunk ${id} of backup ${locator} (offset ${offset}) is missing`, {
            chunkId: id,
          });
        }
        throw e;
      }
    } else {
      const object = await this.getChunk(id, locator, offset);
      n = object.length;
      if (n <= into.length) into.set(object);
    }
    if (n > into.length) {
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
  async restore(opts: RestoreOptions): Promise<RestoreResult> {
    const manifest = await this.readManifest(opts.locator);
    const { size } = manifest.header;
    const fh = await open(opts.targetPath, fsConstants.O_RDWR | fsConstants.O_CREAT, 0o600);
    let direct: FileHandle | undefined;
    const pool = this.workersPool();
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
      direct = opts.directIo === false ? undefined : await this.openDirect(opts.targetPath, fsConstants.O_RDWR);
      const directFd = direct?.fd;
      result.directIo = direct !== undefined;
      let zeroStart = -1;
      let zeroEnd = -1;
      const flushZeros = async () => {
        if (zeroStart < 0) return;
        const [s, e] = [zeroStart, zeroEnd];
        zeroStart = -1;
        result.zeroBytes += e - s;
        if (!opts.targetIsFresh) await this.zeroTarget(fh, s, e - s, opts.zeroRange);
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
          const buf = await pool.acquireBuffer();
          let reply: Awaited<ReturnType<WorkerPool['run']>>;
          try {
            const objectLength = await this.readChunkInto(pool, buf, id, opts.locator, offset);
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
      await fh.sync();
      return result;
    } finally {
      await inflight.drain().catch(() => {});
      // Nothing may still read the staging file when the caller releases it.
      await windowFlush;
      await direct?.close();
      await fh.close();
    }
  }

  private async zeroTarget(
    fh: FileHandle,
    offset: number,
    length: number,
    zeroRange: RestoreOptions['zeroRange'],
  ): Promise<void> {
    if (zeroRange) {
      await zeroRange(offset, length);
      return;
    }
    const zeros = Buffer.alloc(Math.min(length, this.config.chunkSize));
    for (let pos = offset; pos < offset + length; ) {
      const n = Math.min(zeros.length, offset + length - pos);
      const { bytesWritten } = await fh.write(zeros, 0, n, pos);
      pos += bytesWritten;
    }
  }

  private async getChunk(id: string, locator: string, offset: number): Promise<Buffer> {
    try {
      return await this.store.get(chunkKey(id));
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
  async verify(opts: VerifyOptions = {}): Promise<VerifyResult> {
    const problems: VerifyProblem[] = [];
    const locators: string[] = [];
    if (opts.locators) locators.push(...opts.locators);
    else for await (const l of this.listManifests()) locators.push(l);
    const refs = new Map<string, { locator: string; length: number }>();
    let manifests = 0;
    for (const locator of locators) {
      try {
        const m = await this.readManifest(locator);
        manifests++;
        for (let i = 0; i < m.count; i++) {
          const id = m.entryHex(i);
          if (id !== null && !refs.has(id)) refs.set(id, { locator, length: m.chunkLength(i) });
        }
      } catch (e) {
        problems.push({ kind: 'manifest', locator, message: (e as Error).message });
      }
    }
    const pool = this.workersPool();
    const inflight = new Bounded(pool.buffers);
    let bytes = 0;
    let checked = 0;
    const total = refs.size;
    for (const [id, ref] of refs) {
      throwIfAborted(opts.signal);
      await inflight.add(async () => {
        const buf = await pool.acquireBuffer();
        let reply: Awaited<ReturnType<WorkerPool['run']>>;
        try {
          let objectLength: number;
          try {
            objectLength = await this.readChunkInto(pool, buf, id, ref.locator, 0);
          } catch (e) {
            if (e instanceof RepoError && e.code === 'CHUNK_MISSING') {
              problems.push({ kind: 'missing', locator: ref.locator, chunkId: id, message: `chunk ${id} is missing` });
              return;
            }
            if (e instanceof RepoError && e.code === 'CHUNK_CORRUPT') {
              problems.push({ kind: 'corrupt', locator: ref.locator, chunkId: id, message: e.message });
              return;
            }
            throw e;
          } finally {
            checked++;
          }
          bytes += objectLength;
          reply = await pool.run({ op: 'check', slot: buf, objectLength, id, length: ref.length, full: opts.full === true });
        } finally {
          pool.releaseBuffer(buf);
        }
        if (reply.kind === 'error') {
          problems.push({ kind: 'corrupt', locator: ref.locator, chunkId: id, message: reply.message });
        }
        opts.onProgress?.({ bytesDone: checked, bytesTotal: total });
      });
    }
    await inflight.drain();
    return { ok: problems.length === 0, manifests, chunks: refs.size, bytes, problems };
  }

  /**
   * Mark and sweep: deletes chunks that no manifest, no running backup and no pin references, and whose mtime
   * is older than (start of the oldest running backup, or now) minus `graceMs`. Refuses to run (throws) when a
   * manifest cannot be read, since its chunks would otherwise be lost.
   */
  async gc(opts: GcOptions): Promise<GcResult> {
    if (!(opts.graceMs >= 0)) throw new RepoError('INVALID_ARGUMENT', 'graceMs must be >= 0');
    if (this.gcRunning) throw new RepoError('INVALID_ARGUMENT', 'garbage collection is already running');
    this.gcRunning = true;
    try {
      const start = Date.now();
      // Leases first: a backup that finishes after this point has its manifest listed below.
      let oldest = start;
      for (const a of this.active) oldest = Math.min(oldest, a.startedAt);
      for await (const lease of this.store.list('locks/leases/')) {
        if (start - lease.mtime.getTime() > LEASE_TTL_MS) {
          await this.store.delete(lease.key).catch(() => {});
          continue;
        }
        const info = await this.store
          .get(lease.key)
          .then((b) => JSON.parse(b.toString('utf8')) as { startedAt?: unknown })
          .catch(() => null);
        const startedAt = typeof info?.startedAt === 'number' ? info.startedAt : lease.mtime.getTime();
        oldest = Math.min(oldest, startedAt);
      }
      const cutoff = oldest - opts.graceMs;
      // Mark set of 8-byte id prefixes (16 hex): a collision only keeps an extra chunk, never loses one.
      const marks = new Set<string>();
      const mark = (idHex: string) => marks.add(idHex.slice(0, 16));
      const markEntries = (entries: Buffer) => {
        for (let off = 0; off < entries.length; off += ID_BYTES) {
          const e = entries.subarray(off, off + ID_BYTES);
          if (e.some((b) => b !== 0)) mark(e.toString('hex'));
        }
      };
      let manifests = 0;
      for await (const obj of this.store.list('backups/')) {
        if (!MANIFEST_KEY_RE.test(obj.key)) continue;
        const m = decodeManifest(await this.store.get(obj.key), this.keys, obj.key);
        manifests++;
        markEntries(m.entries);
      }
      for (const a of this.active) {
        markEntries(a.entries);
        if (a.parent) markEntries(a.parent.entries);
        for (const id of a.ids) mark(id);
      }
      for (const id of opts.pinned ?? []) mark(id.toLowerCase());
      const result: GcResult = { manifests, chunks: 0, deleted: 0, deletedBytes: 0, keptInGrace: 0 };
      for await (const obj of this.store.list('chunks/')) {
        const m = CHUNK_KEY_RE.exec(obj.key);
        if (!m) continue;
        result.chunks++;
        const id = m[2] as string;
        if (marks.has(id.slice(0, 16))) continue;
        if (obj.mtime.getTime() >= cutoff) {
          result.keptInGrace++;
          continue;
        }
        if (this.inUseByActiveBackup(id)) continue;
        if (opts.dryRun) {
          result.deleted++;
          result.deletedBytes += obj.size;
          continue;
        }
        // Registered synchronously with the check above, so a backup about to reuse the chunk waits for the
        // deletion and then writes the chunk again.
        const deletion = this.recheckAndDelete(obj.key, cutoff);
        this.deleting.set(id, deletion);
        try {
          if (await deletion) {
            result.deleted++;
            result.deletedBytes += obj.size;
          }
        } finally {
          this.deleting.delete(id);
        }
      }
      await this.store.flush();
      return result;
    } finally {
      this.gcRunning = false;
    }
  }

  private inUseByActiveBackup(id: string): boolean {
    for (const a of this.active) if (a.ids.has(id)) return true;
    return false;
  }

  /** A backup in another process may have touched the chunk since the listing: look again before deleting. */
  private async recheckAndDelete(key: string, cutoff: number): Promise<boolean> {
    const info = await this.store.head(key);
    if (!info || info.mtime.getTime() >= cutoff) return false;
    return this.store.delete(key);
  }

  /**
   * Reads and validates a manifest. The locator is untrusted input: it must be "<container>/<id>" of safe
   * names (so it stays inside the repository), the manifest must pass its checksum, match this repository's
   * chunk size and id algorithm, and name itself as that container/id.
   */
  async readManifest(locator: string): Promise<Manifest> {
    const key = manifestKey(locator);
    const { container, id } = parseLocator(locator);
    let bytes: Buffer;
    try {
      bytes = await this.store.get(key);
    } catch (e) {
      if ((e as { code?: unknown }).code === 'ENOENT') throw new RepoError('NOT_FOUND', `backup ${locator} not found`);
      throw e;
    }
    const m = decodeManifest(bytes, this.keys, locator);
    const h = m.header;
    if (h.chunkSize !== this.config.chunkSize || h.idAlgorithm !== this.config.idAlgorithm) {
      throw new RepoError('MANIFEST_CORRUPT', `manifest ${locator} belongs to a repository with another format`);
    }
    if (h.container !== container || h.id !== id) {
      throw new RepoError('MANIFEST_CORRUPT', `manifest ${locator} names itself ${h.container}/${h.id}`);
    }
    return m;
  }

  /** Locators of all manifests, or of one container's. */
  async *listManifests(container?: string): AsyncIterable<string> {
    const prefix = container === undefined ? 'backups/' : `backups/${assertName('container', container)}/`;
    for await (const obj of this.store.list(prefix)) {
      const m = MANIFEST_KEY_RE.exec(obj.key);
      if (m) yield `${m[1]}/${m[2]}`;
    }
  }

  /**
   * Drops the lease of a backup that will never finish (its process died mid-backup), so garbage collection
   * need not wait out the lease's lifetime. Returns false when there was none. Never call it for a backup
   * that is still running: GC could then sweep the chunks it has written but not yet committed.
   */
  async releaseLease(locator: string): Promise<boolean> {
    return this.store.delete(leaseKeyOf(locator));
  }

  /** Removes a backup's manifest (its chunks go at the next GC). Returns false when it did not exist. */
  async deleteManifest(locator: string): Promise<boolean> {
    const removed = await this.store.delete(manifestKey(locator));
    await this.store.flush();
    return removed;
  }

  /**
   * Copies a validated manifest under a new container/id (import of an exported backup record). The copy is a
   * complete backup on its own; chunks are shared. Throws EXISTS if the target exists.
   */
  async copyManifest(
    fromLocator: string,
    to: { id: string; container?: string },
  ): Promise<Omit<BackupResult, 'directIo'>> {
    const source = await this.readManifest(fromLocator);
    const container = to.container ?? source.header.container;
    const locator = makeLocator(container, to.id);
    const header: ManifestHeader = { ...source.header, id: to.id, container };
    const { existed } = await this.store.put(
      manifestKey(locator),
      encodeManifest(new Manifest(header, source.entries), this.keys),
    );
    if (existed) throw new RepoError('EXISTS', `backup ${locator} already exists`);
    await this.store.flush();
    return { locator, header, stats: header.stats };
  }
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new RepoError('ABORTED', 'operation aborted', { cause: signal.reason });
}

/** Whether the sparse-io addon at `path` can allocate aligned memory (builds before that function cannot). */
function addonHasAlignedBuffer(path: string): boolean {
  try {
    return typeof (createRequire(import.meta.url)(path) as { alignedBuffer?: unknown }).alignedBuffer === 'function';
  } catch {
    return false;
  }
}
