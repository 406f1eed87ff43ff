/**
 * What a repository's operations share (backup-writer, restore-reader, repo-gc, repo-copy, repo-manifests): the
 * opened store and config, the worker pool, the node-local chunk index, and the bookkeeping through which backups
 * in this process and its gc keep each other safe. One per BackupRepository; its operations take it explicitly.
 */
import { randomUUID } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import type { ObjectStore } from '../domain/ports/object-store.js';
import { RepoError } from '../domain/ports/backup-store.js';
import type { ChunkIndex } from './chunk-index.js';
import { CHUNK_KEY_RE, maxChunkObjectSize, type RepoKeys } from './format.js';
import { foreignGcRunning, type GcEpoch, readGcEpoch } from './gc-epoch.js';
import { leaseKey as leaseKeyOf, type Manifest } from './manifest.js';
import type { Compression, OpenedRepo, RepoConfig } from './repo-open.js';
import { WorkerPool } from './worker-pool.js';

/** A lease not refreshed for this long belongs to a crashed backup and no longer holds back GC. */
export const LEASE_TTL_MS = 10 * 60 * 1000;
export const LEASE_REFRESH_MS = 60 * 1000;
/** New chunks a backup collects before it makes their names durable and records them in the chunk index. */
export const INDEX_BATCH = 1024;
const ZSTD_LEVEL = 1;

/** A backup running in this process: GC marks what it references and never deletes what it is about to reuse. */
export interface ActiveBackup {
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

export class RepoContext {
  readonly config: RepoConfig;
  readonly keys: RepoKeys | undefined;
  readonly compression: Compression;
  readonly active = new Set<ActiveBackup>();
  /** Chunk deletions in progress (by GC), so a backup reusing one of them waits and then rewrites it. */
  readonly deleting = new Map<string, Promise<unknown>>();
  gcRunning = false;
  /**
   * Backups that ended while a gc ran: that gc may have listed the manifests before theirs was written, and the
   * chunks they took from the index were not touched, so it keeps treating their ids as in use until it ends.
   */
  readonly endedDuringGc = new Set<ActiveBackup>();
  /** Tells this repository object's own gc epochs from other processes' (gc-epoch.ts). */
  readonly instanceId = randomUUID();
  indexRebuild: Promise<void> | undefined;
  private pool: WorkerPool | undefined;
  private readonly workerCount: number;
  private readonly sparseAddon: string | undefined;
  private readonly canDirect: boolean;

  constructor(
    readonly store: ObjectStore,
    opened: OpenedRepo,
    readonly index: ChunkIndex | undefined,
  ) {
    this.config = opened.config;
    this.keys = opened.keys;
    this.compression = opened.compression;
    this.workerCount = opened.workers;
    this.sparseAddon = opened.sparseAddon;
    this.canDirect = opened.canDirect;
  }

  get encrypted(): boolean {
    return this.keys !== undefined;
  }

  workers(): WorkerPool {
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

  /** Stops the worker threads (running operations fail) and closes the chunk index. */
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

  /** `path` opened with O_DIRECT, or undefined where the workers cannot use it or the filesystem refuses it. */
  async openDirect(path: string, flags: number): Promise<FileHandle | undefined> {
    if (!this.canDirect) return undefined;
    try {
      return await open(path, flags | fsConstants.O_DIRECT);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EINVAL') return undefined;
      throw e;
    }
  }

  inUseByActiveBackup(id: string): boolean {
    for (const a of this.active) if (a.ids.has(id)) return true;
    for (const a of this.endedDuringGc) if (a.ids.has(id)) return true;
    return false;
  }

  /**
   * Whether the chunk index may answer for a backup starting now (its lease is already written): not while a gc of
   * another process may be deleting chunks; rebuilt from a listing of the store first when it does not match the
   * store's gc epoch (a gc elsewhere, another copy of the bucket, a new node, a crash mid-rebuild).
   */
  async prepareIndex(): Promise<boolean> {
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

  /**
   * Runs `work` as a backup of this process (the receiving side of a raw copy is one too): this process's gc sees
   * it while it runs and until that gc ends, other processes' gc see its lease, refreshed while it runs. `work`
   * must have nothing in flight when it settles.
   */
  async runBackup<T>(active: ActiveBackup, work: () => Promise<T>): Promise<T> {
    this.active.add(active);
    const leaseKey = leaseKeyOf(active.locator);
    let leaseTimer: NodeJS.Timeout | undefined;
    try {
      await this.store.put(leaseKey, Buffer.from(JSON.stringify({ startedAt: active.startedAt, pid: process.pid })), {
        overwrite: true,
      });
      leaseTimer = setInterval(() => void this.store.touch(leaseKey).catch(() => {}), LEASE_REFRESH_MS);
      leaseTimer.unref();
      // After the lease: a gc starting from now on sees it (and defers), one that started before is seen here.
      active.useIndex = await this.prepareIndex();
      return await work();
    } finally {
      clearInterval(leaseTimer);
      // The chunks of a failed backup that did get written are in the store too (orphans until gc).
      await this.indexPending(active).catch(() => {});
      this.active.delete(active);
      if (this.gcRunning) this.endedDuringGc.add(active);
      await this.store.delete(leaseKey).catch(() => {});
    }
  }

  /**
   * Registers chunk `id` as used by `active` and tells whether the chunk index vouches that the store holds it
   * (then it is not put). A deletion of it by this process's gc is waited for first: the chunk is then written again.
   */
  async indexHas(active: ActiveBackup, id: string, idBytes: Buffer): Promise<boolean> {
    active.ids.add(id);
    const deleting = this.deleting.get(id);
    if (deleting) await deleting;
    // Synchronous with the registration above: an in-process gc either saw the id as in use, or removed it from
    // the index before deleting it (and then we wrote it again, after waiting for the deletion).
    return active.useIndex && this.index?.has(idBytes) === true;
  }

  /** A chunk `active` put: recorded in the chunk index in batches, once their names are durable. */
  async chunkPut(active: ActiveBackup, idBytes: Buffer): Promise<void> {
    if (!this.index) return;
    active.pendingIndex.push(idBytes);
    if (active.pendingIndex.length >= INDEX_BATCH) await this.indexPending(active);
  }

  /** Makes the names of the chunks put so far durable, then records them in the chunk index. */
  async indexPending(active: ActiveBackup): Promise<void> {
    if (!this.index || active.pendingIndex.length === 0) return;
    const ids = active.pendingIndex.splice(0);
    await this.store.flush();
    this.index.add(ids);
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new RepoError('ABORTED', 'operation aborted', { cause: signal.reason });
}
