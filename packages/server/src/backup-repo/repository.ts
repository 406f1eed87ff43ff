/**
 * The deduplicating backup repository (spec §3): fixed-size chunks aligned to volume offsets, content-addressed
 * and shared repository-wide, one complete manifest per backup written last as the commit point.
 *
 * Layout on the ObjectStore:
 *   config                               format, chunk size, id algorithm, encryption key check (written once)
 *   chunks/<2 hex>/<64 hex id>           chunk objects (format.ts), create-only
 *   backups/<container>/<id>.manifest    manifests (manifest.ts)
 *   locks/leases/<container>/<id>        leases of running backups (garbage collection keeps their chunks)
 *   locks/gc-epoch                       changes whenever gc may delete chunks (gc-epoch.ts; node-local indexes follow it)
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
import { type FileHandle, open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import type { ObjectStore } from '../domain/ports/object-store.js';
import type { Extent } from '../domain/ports/volume-driver.js';
import { Bounded, chunkMapOf } from './bounded.js';
import { ChunkIndex } from './chunk-index.js';
import { defaultIdAlgorithm, ID_ALGORITHMS, type IdAlgorithm, idAlgorithmAvailable, isKeyed } from './chunk-ids.js';
import { CodecChooser } from './codec-chooser.js';
import {
  type BackupOptions,
  type BackupResult,
  type BackupStore,
  type CopyToOptions,
  type CopyToResult,
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
  parseChunkObject,
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
import { MarkSet } from './mark-set.js';
import { foreignGcRunning, type GcEpoch, readGcEpoch, refreshGcEpoch, writeGcEpoch } from './gc-epoch.js';
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
/** New chunks a backup collects before it makes their names durable and records them in the chunk index. */
const INDEX_BATCH = 1024;

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
  /**
   * Directory of the node-local chunk index (chunk-index.ts), e.g. `<data dir>/repo-index`: with it, a backup
   * learns which chunks the store already holds without a request per chunk. Without it, every chunk a backup
   * cannot take from its parent is offered to the store create-only (and touched when it exists).
   */
  indexDir?: string;
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
  locator: string;
  startedAt: number;
  entries: Buffer;
  parent: Manifest | undefined;
  /** Ids this backup has put, is putting or took from the chunk index (recorded before either). */
  ids: Set<string>;
  /** The chunk index may answer for this backup (no foreign gc was running when it started). */
  useIndex: boolean;
  /** Chunks put by this backup not yet in the chunk index (added once their names are durable). */
  pendingIndex: Buffer[];
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

export class BackupRepository implements BackupStore {
  readonly profile: BackupProfile = { chunksRead: 0, readMs: 0, computeMs: 0, storeMs: 0 };
  readonly restoreProfile: RestoreProfile = {
    chunks: 0,
    slotMs: 0,
    fetchMs: 0,
    queueMs: 0,
    computeMs: 0,
    writeMs: 0,
    syncMs: 0,
  };
  private pool: WorkerPool | undefined;
  private readonly active = new Set<ActiveBackup>();
  /** Chunk deletions in progress (by GC), so a backup reusing one of them waits and then rewrites it. */
  private readonly deleting = new Map<string, Promise<unknown>>();
  private gcRunning = false;
  /**
   * Backups that ended while a gc ran: that gc may have listed the manifests before theirs was written, and the
   * chunks they took from the index were not touched, so it keeps treating their ids as in use until it ends.
   */
  private readonly endedDuringGc = new Set<ActiveBackup>();
  /** Tells this repository object's own gc epochs from other processes' (gc-epoch.ts). */
  private readonly instanceId = randomUUID();
  private indexRebuild: Promise<void> | undefined;

  private constructor(
    readonly store: ObjectStore,
    private readonly config: RepoConfig,
    private readonly keys: RepoKeys | undefined,
    private readonly workerCount: number,
    private readonly compression: Compression,
    private readonly sparseAddon: string | undefined,
    /** The workers have aligned memory (the addon's alignedBuffer), so O_DIRECT descriptors are worth opening. */
    private readonly canDirect: boolean,
    private readonly index: ChunkIndex | undefined,
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
      opts.indexDir === undefined ? undefined : ChunkIndex.open(opts.indexDir, config.repoId, store.description),
    );
  }

  /**
   * Whether the chunk index may answer for a backup starting now (its lease is already written): not while a gc of
   * another process may be deleting chunks; rebuilt from a listing of the store first when it does not match the
   * store's gc epoch (a gc elsewhere, another copy of the bucket, a new node, a crash mid-rebuild).
   */
  private async prepareIndex(): Promise<boolean> {
    const index = this.index;
    if (!index) return false;
    await this.indexRebuild;
    const state = await readGcEpoch(this.store);
    if (foreignGcRunning(state, this.instanceId)) return false;
    if (index.epoch === state.epoch) return true;
    if (state.running && state.owner === this.instanceId) return false;
    this.indexRebuild ??= this.rebuildIndex(index, state).finally(() => {
      this.indexRebuild = undefined;
    });
    await this.indexRebuild;
    return index.epoch === state.epoch;
  }

  /** Refills the index from the store's chunk listing (paged on S3; one row per chunk in the index file). */
  private async rebuildIndex(index: ChunkIndex, state: GcEpoch): Promise<void> {
    index.clear();
    index.nextGeneration();
    let batch: Buffer[] = [];
    for await (const obj of this.store.list('chunks/')) {
      const m = CHUNK_KEY_RE.exec(obj.key);
      if (!m) continue;
      batch.push(Buffer.from(m[2] as string, 'hex'));
      if (batch.length >= INDEX_BATCH) {
        index.add(batch);
        batch = [];
      }
    }
    index.add(batch);
    index.setEpoch(state.epoch);
  }

  /** Makes the names of the chunks put so far durable, then records them in the chunk index. */
  private async indexPending(active: ActiveBackup): Promise<void> {
    if (!this.index || active.pendingIndex.length === 0) return;
    const ids = active.pendingIndex.splice(0);
    await this.store.flush();
    this.index.add(ids);
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
    try {
      await pool?.close();
    } finally {
      await this.indexRebuild?.catch(() => {});
      this.index?.close();
    }
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
    const active: ActiveBackup = {
      locator,
      startedAt: Date.now(),
      entries,
      parent,
      ids: new Set(),
      useIndex: false,
      pendingIndex: [],
    };
    this.active.add(active);
    const leaseKey = leaseKeyOf(locator);
    let leaseTimer: NodeJS.Timeout | undefined;
    try {
      await this.store.put(leaseKey, Buffer.from(JSON.stringify({ startedAt: active.startedAt, pid: process.pid })), {
        overwrite: true,
      });
      leaseTimer = setInterval(() => void this.store.touch(leaseKey).catch(() => {}), LEASE_REFRESH_MS);
      leaseTimer.unref();
      // After the lease: a gc starting from now on sees it (and defers), one that started before is seen here.
      active.useIndex = await this.prepareIndex();
    } catch (e) {
      clearInterval(leaseTimer);
      this.active.delete(active);
      await this.store.delete(leaseKey).catch(() => {});
      throw e;
    }

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
      await this.indexPending(active);
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
      // The chunks of a failed backup that did get written are in the store too (orphans until gc).
      await this.indexPending(active).catch(() => {});
      this.active.delete(active);
      if (this.gcRunning) this.endedDuringGc.add(active);
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
    if (reply.kind === 'zero' || reply.kind === 'same' || reply.kind === 'data') {
      this.profile.chunksRead++;
      this.profile.readMs += reply.readMs ?? 0;
      this.profile.computeMs += reply.computeMs ?? 0;
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
      const idBytes = Buffer.from(reply.id, 'hex');
      // Synchronous with the registration above: an in-process gc either saw the id as in use, or removed it from
      // the index before deleting it (and then we wrote it again, after waiting for the deletion).
      if (active.useIndex && this.index?.has(idBytes)) {
        stats.reusedChunks++;
      } else {
        const object = pool.buffer(buf, reply.objectLength);
        const putStart = performance.now();
        const { existed } = await this.store.put(chunkKey(reply.id), object, {
          touchExisting: true,
          onDataReleased: ctx.release,
        });
        this.profile.storeMs += performance.now() - putStart;
        if (existed) stats.reusedChunks++;
        else {
          stats.newChunks++;
          stats.storedBytes += object.length;
          const codecs = (stats.codecs ??= { raw: 0, zstd: 0, lz4: 0 });
          codecs[codecName(reply.codec)]++;
        }
        if (this.index) {
          active.pendingIndex.push(idBytes);
          if (active.pendingIndex.length >= INDEX_BATCH) await this.indexPending(active);
        }
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
    // Page-rounded, so the fs store can read the largest chunk object (a stored-raw one) with O_DIRECT.
    const into = pool.paddedBuffer(buf);
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
          const rp = this.restoreProfile;
          const t0 = performance.now();
          const buf = await pool.acquireBuffer();
          const t1 = performance.now();
          rp.slotMs += t1 - t0;
          let reply: Awaited<ReturnType<WorkerPool['run']>>;
          try {
            const objectLength = await this.readChunkInto(pool, buf, id, opts.locator, offset);
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
      this.restoreProfile.syncMs += performance.now() - syncStart;
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
    // Memory stays small on a large store: distinct chunks are told apart by 8 bytes of id (mark-set.ts),
    // manifests are read one at a time, twice (to count, then to check), never all held at once.
    const distinct = new MarkSet();
    const readable: string[] = [];
    for (const locator of locators) {
      try {
        const m = await this.readManifest(locator);
        readable.push(locator);
        for (let i = 0; i < m.count; i++) {
          if (m.entry(i) !== null) distinct.addAt(m.entries, i * ID_BYTES);
        }
      } catch (e) {
        problems.push({ kind: 'manifest', locator, message: (e as Error).message });
      }
    }
    const total = distinct.seal();
    const pool = this.workersPool();
    const inflight = new Bounded(pool.buffers);
    let bytes = 0;
    let checked = 0;
    let manifests = 0;
    for (const locator of readable) {
      let m: Manifest;
      try {
        m = await this.readManifest(locator);
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
              objectLength = await this.readChunkInto(pool, buf, id, locator, 0);
            } catch (e) {
              if (e instanceof RepoError && e.code === 'CHUNK_MISSING') {
                // The index must not go on answering for it: the next backup that has it writes it again.
                this.index?.remove(Buffer.from(id, 'hex'));
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

  /**
   * Mark and sweep: deletes chunks that no manifest, no running backup and no pin references, and whose mtime
   * is older than (start of the oldest running backup, or now) minus `graceMs`. Refuses to run (throws) when a
   * manifest cannot be read, since its chunks would otherwise be lost.
   *
   * While a backup of another process holds a live lease, nothing is deleted (such chunks count as kept in grace):
   * that backup may be taking chunks from its node's index without touching them. The store's gc epoch is
   * renewed before the leases are read and again at the end, so other nodes' indexes are rebuilt (gc-epoch.ts).
   * This repository's own chunk index is kept exact: refreshed from the listing, deleted chunks removed first.
   * Memory: the mark set (8 bytes per referenced chunk, mark-set.ts) and one listing page at a time.
   */
  async gc(opts: GcOptions): Promise<GcResult> {
    if (!(opts.graceMs >= 0)) throw new RepoError('INVALID_ARGUMENT', 'graceMs must be >= 0');
    if (this.gcRunning) throw new RepoError('INVALID_ARGUMENT', 'garbage collection is already running');
    this.gcRunning = true;
    const index = this.index;
    let epoch: GcEpoch | undefined;
    let epochTimer: NodeJS.Timeout | undefined;
    try {
      await this.indexRebuild;
      const before = await readGcEpoch(this.store);
      // An index that did not match the store before this gc cannot be made exact by it: start it over.
      const indexWasCurrent = index !== undefined && index.epoch === before.epoch && !foreignGcRunning(before, this.instanceId);
      if (!opts.dryRun) {
        epoch = await writeGcEpoch(this.store, true, this.instanceId);
        const running = epoch;
        epochTimer = setInterval(() => void refreshGcEpoch(this.store, running).catch(() => {}), LEASE_REFRESH_MS);
        epochTimer.unref();
        if (index) {
          if (!indexWasCurrent) index.clear();
          index.setEpoch(epoch.epoch);
        }
      }
      const indexGen = !opts.dryRun && index ? index.nextGeneration() : undefined;
      const start = Date.now();
      // Leases first: a backup that finishes after this point has its manifest listed below.
      let oldest = start;
      for (const a of this.active) oldest = Math.min(oldest, a.startedAt);
      const ours = new Set([...this.active].map((a) => leaseKeyOf(a.locator)));
      let foreignLeases = 0;
      for await (const lease of this.store.list('locks/leases/')) {
        if (start - lease.mtime.getTime() > LEASE_TTL_MS) {
          await this.store.delete(lease.key).catch(() => {});
          continue;
        }
        if (!ours.has(lease.key)) foreignLeases++;
        const info = await this.store
          .get(lease.key)
          .then((b) => JSON.parse(b.toString('utf8')) as { startedAt?: unknown })
          .catch(() => null);
        const startedAt = typeof info?.startedAt === 'number' ? info.startedAt : lease.mtime.getTime();
        oldest = Math.min(oldest, startedAt);
      }
      const cutoff = oldest - opts.graceMs;
      // Mark set of 8-byte id prefixes: a collision only keeps an extra chunk, never loses one.
      const marks = new MarkSet();
      const mark = (idHex: string) => marks.addHex(idHex);
      const markEntries = (entries: Buffer) => {
        for (let off = 0; off < entries.length; off += ID_BYTES) {
          if (entries.readBigUInt64BE(off) === 0n && entries.subarray(off, off + ID_BYTES).every((b) => b === 0)) continue;
          marks.addAt(entries, off);
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
      for (const id of opts.pinned ?? []) {
        if (/^[0-9a-fA-F]{16}/.test(id)) mark(id.toLowerCase());
      }
      marks.seal();
      const result: GcResult = { manifests, chunks: 0, deleted: 0, deletedBytes: 0, keptInGrace: 0, locked: 0 };
      let kept: Buffer[] = [];
      const keep = (id: string) => {
        if (indexGen === undefined || !index) return;
        kept.push(Buffer.from(id, 'hex'));
        if (kept.length >= INDEX_BATCH) {
          index.add(kept);
          kept = [];
        }
      };
      for await (const obj of this.store.list('chunks/')) {
        const m = CHUNK_KEY_RE.exec(obj.key);
        if (!m) continue;
        result.chunks++;
        const id = m[2] as string;
        if (marks.hasHex(id)) {
          keep(id);
          continue;
        }
        if (obj.mtime.getTime() >= cutoff || foreignLeases > 0) {
          result.keptInGrace++;
          keep(id);
          continue;
        }
        if (this.inUseByActiveBackup(id)) {
          keep(id);
          continue;
        }
        if (opts.dryRun) {
          result.deleted++;
          result.deletedBytes += obj.size;
          continue;
        }
        // Registered synchronously with the check above, so a backup about to reuse the chunk waits for the
        // deletion and then writes the chunk again; out of the index before it leaves the store.
        index?.remove(Buffer.from(id, 'hex'));
        const deletion = this.recheckAndDelete(obj.key, cutoff);
        this.deleting.set(id, deletion.then((r) => r === true));
        try {
          const outcome = await deletion;
          if (outcome === true) {
            result.deleted++;
            result.deletedBytes += obj.size;
          } else {
            if (outcome === 'locked') result.locked!++;
            keep(id);
          }
        } finally {
          this.deleting.delete(id);
        }
      }
      await this.store.flush();
      if (index && indexGen !== undefined) {
        index.add(kept);
        // Entries neither listed again nor added by a backup since the refresh began: chunks gone from the store.
        index.sweepBefore(indexGen);
      }
      return result;
    } finally {
      clearInterval(epochTimer);
      if (epoch) {
        // Deletions may have happened: a new epoch tells other nodes' indexes so, even after a failure.
        try {
          const done = await writeGcEpoch(this.store, false, this.instanceId);
          index?.setEpoch(done.epoch);
        } catch {
          // The store keeps showing this gc as running until its TTL; our index stays exact meanwhile.
        }
      }
      this.endedDuringGc.clear();
      this.gcRunning = false;
    }
  }

  private inUseByActiveBackup(id: string): boolean {
    for (const a of this.active) if (a.ids.has(id)) return true;
    for (const a of this.endedDuringGc) if (a.ids.has(id)) return true;
    return false;
  }

  /**
   * A backup in another process may have touched the chunk since the listing: look again before deleting. A
   * chunk under Object Lock retention is left alone ('locked'): S3 would refuse the DELETE anyway.
   */
  private async recheckAndDelete(key: string, cutoff: number): Promise<boolean | 'locked'> {
    const info = await this.store.head(key);
    if (!info || info.mtime.getTime() >= cutoff) return false;
    if (info.retainUntil && info.retainUntil.getTime() > Date.now()) return 'locked';
    try {
      return await this.store.delete(key);
    } catch (e) {
      // Locked between the HEAD and the DELETE (a backup of another node retained it).
      if ((e as { code?: unknown }).code === 'ELOCKED') return 'locked';
      throw e;
    }
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
   * Puts a backup's chunks and manifest under retention until `until` (an immutable target). The manifest is locked
   * last, once every chunk it names is held at least that long, so a locked manifest vouches for its chunks: an
   * incremental whose parent's manifest is held to `until` or later skips the chunks it shares with the parent (a
   * HEAD and a GET instead of a PutObjectRetention per chunk). lockedUntilFor rounds lock ends so that backups
   * made within one step share theirs, which makes that the usual case. Nothing is ever shortened: S3 refuses that
   * under Object Lock (COMPLIANCE always; GOVERNANCE without bypass).
   */
  async retain(locator: string, until: Date): Promise<{ objects: number }> {
    const store = this.store;
    if (!store.retain) return { objects: 0 };
    const m = await this.readManifest(locator);
    let shared: Set<string> | undefined;
    const parent = m.header.parent;
    if (parent) {
      try {
        const held = (await store.head(manifestKey(parent)))?.retainUntil;
        if (held && held.getTime() >= until.getTime()) shared = new Set((await this.readManifest(parent)).ids());
      } catch {
        // The parent is gone or unreadable: it vouches for nothing, every chunk is extended.
        shared = undefined;
      }
    }
    // Chunks first: a manifest locked while a chunk it names could still be deleted would promise too much.
    const inflight = new Bounded(RETAIN_CONCURRENCY);
    let objects = 0;
    for (const id of m.ids()) {
      if (shared?.has(id)) continue;
      await inflight.add(async () => {
        await store.retain!(chunkKey(id), until);
        objects++;
      });
      if (inflight.failed) break;
    }
    await inflight.drain();
    await store.retain(manifestKey(locator), until);
    return { objects: objects + 1 };
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

  /**
   * Replication to another repository. Chunk objects of an unencrypted repository carry nothing of it but the
   * chunk id, so between two unencrypted repositories of one chunk size and id algorithm they are copied as they
   * are; otherwise (a key, which binds every object to its repository, or another chunking) the backup is
   * restored into a sparse temporary and backed up into `dest`, whose own dedup then stores only what it lacks.
   */
  async copyTo(dest: BackupStore, fromLocator: string, to: CopyToOptions): Promise<CopyToResult> {
    if (dest === this) throw new RepoError('INVALID_ARGUMENT', 'a backup is copied to another repository, not its own');
    const source = await this.readManifest(fromLocator);
    const sameFormat =
      dest instanceof BackupRepository &&
      !this.encrypted &&
      !dest.encrypted &&
      dest.config.chunkSize === this.config.chunkSize &&
      dest.config.idAlgorithm === this.config.idAlgorithm;
    if (sameFormat) return { ...(await dest.receiveRaw(this, source, fromLocator, to)), raw: true };
    const scratch = join(to.scratchDir, `replica-${randomUUID()}.raw`);
    try {
      await this.restore({
        locator: fromLocator,
        targetPath: scratch,
        targetIsFresh: true,
        directIo: false,
        ...(to.signal ? { signal: to.signal } : {}),
        ...(to.onProgress ? { onProgress: (p) => to.onProgress!({ bytesDone: p.bytesDone / 2, bytesTotal: p.bytesTotal }) } : {}),
      });
      const r = await dest.backup({
        id: to.id,
        container: to.container,
        sourcePath: scratch,
        size: source.header.size,
        directIo: false,
        ...(to.parent !== undefined ? { parent: to.parent } : {}),
        meta: to.meta ?? source.header.meta,
        ...(to.signal ? { signal: to.signal } : {}),
        ...(to.onProgress
          ? { onProgress: (p) => to.onProgress!({ bytesDone: (p.bytesTotal + p.bytesDone) / 2, bytesTotal: p.bytesTotal }) }
          : {}),
      });
      return { locator: r.locator, header: r.header, stats: r.stats, raw: false };
    } finally {
      await rm(scratch, { force: true });
    }
  }

  /**
   * The receiving side of a raw copy: registered as a running backup with a lease, like `backup`, so a gc here
   * neither deletes a chunk it put nor one it took from the chunk index before the manifest names them.
   */
  private async receiveRaw(
    from: BackupRepository,
    source: Manifest,
    fromLocator: string,
    to: CopyToOptions,
  ): Promise<Omit<CopyToResult, 'raw'>> {
    const locator = makeLocator(to.container, to.id);
    const mKey = manifestKey(locator);
    if (await this.store.head(mKey)) throw new RepoError('EXISTS', `backup ${locator} already exists`);
    const parent = to.parent === undefined ? undefined : await this.readManifest(to.parent);
    const active: ActiveBackup = {
      locator,
      startedAt: Date.now(),
      entries: source.entries,
      parent,
      ids: new Set(),
      useIndex: false,
      pendingIndex: [],
    };
    const stats: BackupStats = {
      ...source.header.stats,
      newChunks: 0,
      reusedChunks: 0,
      storedBytes: 0,
      codecs: { raw: 0, zstd: 0, lz4: 0 },
    };
    this.active.add(active);
    const leaseKey = leaseKeyOf(locator);
    let leaseTimer: NodeJS.Timeout | undefined;
    const inflight = new Bounded(8);
    try {
      await this.store.put(leaseKey, Buffer.from(JSON.stringify({ startedAt: active.startedAt, pid: process.pid })), {
        overwrite: true,
      });
      leaseTimer = setInterval(() => void this.store.touch(leaseKey).catch(() => {}), LEASE_REFRESH_MS);
      leaseTimer.unref();
      active.useIndex = await this.prepareIndex();
      const ids = [...source.ids()];
      let done = 0;
      for (const id of ids) {
        throwIfAborted(to.signal);
        if (inflight.failed) break;
        await inflight.add(async () => {
          active.ids.add(id);
          const deleting = this.deleting.get(id);
          if (deleting) await deleting;
          const idBytes = Buffer.from(id, 'hex');
          if (active.useIndex && this.index?.has(idBytes)) {
            stats.reusedChunks++;
          } else {
            const object = await from.getChunk(id, fromLocator, -1);
            try {
              parseChunkObject(object, id);
            } catch (e) {
              throw new RepoError('CHUNK_CORRUPT', `chunk ${id} of backup ${fromLocator} is corrupt: ${(e as Error).message}`, {
                chunkId: id,
              });
            }
            const { existed } = await this.store.put(chunkKey(id), object, { touchExisting: true });
            if (existed) stats.reusedChunks++;
            else {
              stats.newChunks++;
              stats.storedBytes += object.length;
              stats.codecs!.raw++;
            }
            if (this.index) {
              active.pendingIndex.push(idBytes);
              if (active.pendingIndex.length >= INDEX_BATCH) await this.indexPending(active);
            }
          }
          done++;
          to.onProgress?.({ bytesDone: done, bytesTotal: ids.length });
        });
      }
      await inflight.drain();
      throwIfAborted(to.signal);
      await this.store.flush();
      await this.indexPending(active);
      // Stored codecs are the source's; the count says only how many objects came over.
      const header: ManifestHeader = {
        ...source.header,
        id: to.id,
        container: to.container,
        repoId: this.config.repoId,
        encrypted: false,
        parent: to.parent ?? null,
        createdAt: new Date().toISOString(),
        stats,
        meta: to.meta ?? source.header.meta,
      };
      const { existed } = await this.store.put(mKey, encodeManifest(new Manifest(header, source.entries), this.keys));
      if (existed) throw new RepoError('EXISTS', `backup ${locator} already exists`);
      await this.store.flush();
      return { locator, header, stats };
    } finally {
      await inflight.drain().catch(() => {});
      clearInterval(leaseTimer);
      await this.indexPending(active).catch(() => {});
      this.active.delete(active);
      if (this.gcRunning) this.endedDuringGc.add(active);
      await this.store.delete(leaseKey).catch(() => {});
    }
  }
}

/** PutObjectRetention requests in flight while a backup is made immutable. */
const RETAIN_CONCURRENCY = 16;

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
