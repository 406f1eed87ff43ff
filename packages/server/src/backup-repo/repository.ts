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
 *
 * The class is the repository's public face (the BackupStore port); each job lives in its own module and takes
 * the repository's RepoContext (repo-context.ts): opening in repo-open.ts, backup in backup-writer.ts, restore
 * and verify in restore-reader.ts, garbage collection in repo-gc.ts, manifests in repo-manifests.ts, copies in
 * repo-copy.ts.
 */
import {
  type BackupOptions,
  type BackupResult,
  type BackupStore,
  type CopyToOptions,
  type CopyToResult,
  type GcOptions,
  type GcResult,
  type RestoreOptions,
  type RestoreResult,
  type VerifyOptions,
  type VerifyResult,
} from '../domain/ports/backup-store.js';
import type { ObjectStore } from '../domain/ports/object-store.js';
import { type BackupProfile, writeBackup } from './backup-writer.js';
import { ChunkIndex } from './chunk-index.js';
import { makeLocator, type Manifest } from './manifest.js';
import { RepoContext } from './repo-context.js';
import { copyBackup, copyManifest } from './repo-copy.js';
import { collectGarbage } from './repo-gc.js';
import { deleteManifest, listManifests, readManifest, releaseLease, retain } from './repo-manifests.js';
import { type OpenOptions, openRepo } from './repo-open.js';
import { restoreBackup, type RestoreProfile, verifyRepo } from './restore-reader.js';

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

  readonly store: ObjectStore;

  private constructor(private readonly ctx: RepoContext) {
    this.store = ctx.store;
  }

  /**
   * Opens (creating if needed) the repository on `store`: sweeps temporaries of crashed writers, reads the
   * config and checks the key. Throws RepoError WRONG_KEY when the key is missing, unexpected or different.
   */
  static async open(opts: OpenOptions): Promise<BackupRepository> {
    const opened = await openRepo(opts);
    const { indexDir, store } = opts;
    const index = indexDir === undefined ? undefined : ChunkIndex.open(indexDir, opened.config.repoId, store.description);
    return new BackupRepository(new RepoContext(opts.store, opened, index));
  }

  get chunkSize(): number {
    return this.ctx.config.chunkSize;
  }

  get encrypted(): boolean {
    return this.ctx.encrypted;
  }

  get repoId(): string {
    return this.ctx.config.repoId;
  }

  makeLocator(container: string, id: string): string {
    return makeLocator(container, id);
  }

  /**
   * Starts the worker threads and waits until they are ready, so the first backup does not pay their start-up
   * (noticeable under tsx, where each worker compiles its sources). Optional.
   */
  async warmUp(): Promise<void> {
    await this.ctx.workers().broadcast({ op: 'release', path: '' });
  }

  /** Stops the worker threads. Call when done; running operations fail. */
  async close(): Promise<void> {
    await this.ctx.close();
  }

  /**
   * Backs up `sourcePath` as a new manifest `<container>/<id>`. Reads only allocated (and, with a parent and
   * changedExtents, changed) chunks, in parallel worker threads with a bounded number in flight; writes new
   * chunks create-only and durably, then commits the manifest. On failure or abort no manifest exists; chunks
   * already written are orphans that GC reclaims after its grace period.
   */
  async backup(opts: BackupOptions): Promise<BackupResult> {
    return writeBackup(this.ctx, this.profile, opts);
  }

  /**
   * Restores a backup into `targetPath`. Chunks are fetched with several in flight, each verified against its
   * id before it is written; the target is fsynced once at the end. A missing or corrupt chunk fails the
   * restore with RepoError CHUNK_MISSING / CHUNK_CORRUPT naming the chunk id; wrong bytes are never written.
   */
  async restore(opts: RestoreOptions): Promise<RestoreResult> {
    return restoreBackup(this.ctx, this.restoreProfile, opts);
  }

  /**
   * Checks manifests (checksum, structure) and every chunk they reference: presence and CRC, or with `full` the
   * complete decrypt + decompress + id check. Never throws for integrity problems: they are listed in `problems`.
   * Orphan chunks (from crashed backups) are not problems.
   */
  async verify(opts: VerifyOptions = {}): Promise<VerifyResult> {
    return verifyRepo(this.ctx, opts);
  }

  /**
   * Mark and sweep of unreferenced chunks older than the grace period (repo-gc.ts). Refuses to run (throws) when a
   * manifest cannot be read, since its chunks would otherwise be lost.
   */
  async gc(opts: GcOptions): Promise<GcResult> {
    return collectGarbage(this.ctx, opts);
  }

  /** Reads and validates a manifest; the locator is untrusted input (repo-manifests.ts). */
  async readManifest(locator: string): Promise<Manifest> {
    return readManifest(this.ctx, locator);
  }

  /** Locators of all manifests, or of one container's. */
  listManifests(container?: string): AsyncIterable<string> {
    return listManifests(this.ctx, container);
  }

  /**
   * Drops the lease of a backup that will never finish (its process died mid-backup), so garbage collection
   * need not wait out the lease's lifetime. Returns false when there was none. Never call it for a backup
   * that is still running: GC could then sweep the chunks it has written but not yet committed.
   */
  async releaseLease(locator: string): Promise<boolean> {
    return releaseLease(this.ctx, locator);
  }

  /** Removes a backup's manifest (its chunks go at the next GC). Returns false when it did not exist. */
  async deleteManifest(locator: string): Promise<boolean> {
    return deleteManifest(this.ctx, locator);
  }

  /** Puts a backup's chunks and manifest under retention until `until` (an immutable target; repo-manifests.ts). */
  async retain(locator: string, until: Date): Promise<{ objects: number }> {
    return retain(this.ctx, locator, until);
  }

  /**
   * Copies a validated manifest under a new container/id (import of an exported backup record). The copy is a
   * complete backup on its own; chunks are shared. Throws EXISTS if the target exists.
   */
  async copyManifest(
    fromLocator: string,
    to: { id: string; container?: string },
  ): Promise<Omit<BackupResult, 'directIo'>> {
    return copyManifest(this.ctx, fromLocator, to);
  }

  /**
   * Replication to another repository: raw chunk objects between unencrypted repositories of one format, restore
   * and backup otherwise (repo-copy.ts).
   */
  async copyTo(dest: BackupStore, fromLocator: string, to: CopyToOptions): Promise<CopyToResult> {
    return copyBackup(this.ctx, this, dest, dest instanceof BackupRepository ? dest.ctx : undefined, fromLocator, to);
  }
}
