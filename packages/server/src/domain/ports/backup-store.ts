/**
 * The backup store as services see it: the deduplicating repository's operations (backup, restore, verify, GC,
 * manifests), their options and results, and its errors. `backup-repo/`'s BackupRepository implements it; only
 * the composition root opens one. Services hold a `BackupStore`, never the class.
 */
import type { Extent } from './volume-driver.js';

/** How chunk ids are computed (fixed per repository). */
export type IdAlgorithm = 'sha256' | 'hmac-sha256' | 'blake3' | 'blake3-keyed';

/** Chunk counts and sizes of one backup (Cinder's object_count, CBR's sizes). */
export interface BackupStats {
  /** Chunk indexes of the volume (ceil(size / chunkSize)). */
  chunks: number;
  /** All-zero chunks and holes: not stored. */
  zeroChunks: number;
  /** Chunks this backup added to the repository. */
  newChunks: number;
  /** Non-zero chunks that already existed (dedup, unchanged since the parent). */
  reusedChunks: number;
  /** Sum of the stored (compressed, encrypted) sizes of the new chunks. */
  storedBytes: number;
  /** Volume size. */
  logicalBytes: number;
  /** Bytes of non-zero chunks (what a restore writes). */
  dataBytes: number;
  /** Bytes actually read from the source (less than the size with holes or changed-block tracking). */
  readBytes: number;
  /** How the new chunks were stored (absent in manifests written before LZ4 support). */
  codecs?: { raw: number; zstd: number; lz4: number };
}

export interface ManifestHeader {
  format: 1;
  id: string;
  container: string;
  repoId: string;
  size: number;
  chunkSize: number;
  idAlgorithm: IdAlgorithm;
  encrypted: boolean;
  /** Locator of the parent backup (for the API's incremental rules only; restore never needs it). */
  parent: string | null;
  createdAt: string;
  stats: BackupStats;
  /** Free-form values from the caller (volume id, snapshot id…). */
  meta: Record<string, string | number | boolean | null>;
}

/** A validated manifest: one complete chunk map of a backup. */
export interface BackupManifest {
  readonly header: ManifestHeader;
  /** Chunk indexes (ceil(size / chunkSize)). */
  readonly count: number;
}

export interface Progress {
  bytesDone: number;
  bytesTotal: number;
}

export interface BackupOptions {
  /** Backup id (a safe name: letters, digits, '.', '_', '-'). */
  id: string;
  /** Namespace of the manifest (Cinder's container); chunks are shared across containers. */
  container: string;
  /** Volume or snapshot file to read. */
  sourcePath: string;
  /** Bytes to back up; default the file size. Past the end of the file the volume reads as zeros. */
  size?: number;
  /** Ranges that may hold data (SEEK_DATA); chunks outside all of them are holes: zero, never read. */
  allocatedExtents?: Extent[];
  /**
   * Changed-block tracking: ranges changed since `parent`'s snapshot. Only chunks overlapping them are read;
   * all other entries are copied from the parent manifest. Requires `parent`.
   */
  changedExtents?: Extent[];
  /** Locator of the parent backup. Without `changedExtents` its entries still let unchanged chunks skip compression. */
  parent?: string;
  /** Free-form values kept in the manifest header (volume id, snapshot id…). */
  meta?: Record<string, string | number | boolean | null>;
  /**
   * Read the source past the page cache (O_DIRECT) where the filesystem allows (default true). Turn it off for
   * a source just written through the page cache (an export temporary): reading it direct would first wait
   * for all of it to reach the disk.
   */
  directIo?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

export interface BackupResult {
  locator: string;
  header: ManifestHeader;
  stats: BackupStats;
  /** The source was read through an O_DIRECT descriptor (chunk by chunk the workers may still fall back). */
  directIo: boolean;
}

export interface RestoreOptions {
  locator: string;
  targetPath: string;
  /**
   * True when the target is new (absent, or sparse and all zero): zero chunks are skipped so it stays sparse and
   * it is grown to the backup size. False for an existing volume: zero chunks are zeroed with `zeroRange` (or by
   * writing zeros), so no old bytes survive; it must be at least the backup size.
   */
  targetIsFresh: boolean;
  /** Makes [offset, offset+length) of the target read as zeros (e.g. punch a hole). */
  zeroRange?: (offset: number, length: number) => Promise<void>;
  /**
   * Write the target past the page cache (O_DIRECT) where the filesystem allows (default true): the data reaches
   * the disk while the restore runs instead of piling up for the final fsync. Turn it off for a temporary that
   * is read back right away (a conversion input).
   */
  directIo?: boolean;
  /**
   * A target that is a staging file in front of the real volume: every `bytes` of offsets, once everything below
   * is written, `flush(offset, length)` moves that part on (and may free it in the staging file), so the staging
   * file never holds more than about two windows (a hand-over may run while the next window is written, one at a
   * time and in order). Called for the last part too.
   */
  window?: { bytes: number; flush(offset: number, length: number): Promise<void> };
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

export interface RestoreResult {
  /** Bytes of chunk data written. */
  dataBytes: number;
  /** Bytes skipped (fresh target) or zeroed (existing target). */
  zeroBytes: number;
  chunks: number;
  /** The target was written through an O_DIRECT descriptor (chunk by chunk the workers may still fall back). */
  directIo: boolean;
}

export interface VerifyOptions {
  /** Decrypt, decompress and re-hash every chunk (default: presence + CRC of the stored bytes). */
  full?: boolean;
  /** Only these backups (default: every manifest in the repository). */
  locators?: string[];
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

export interface VerifyProblem {
  kind: 'manifest' | 'missing' | 'corrupt';
  /** The (first) backup concerned. */
  locator: string;
  chunkId?: string;
  message: string;
}

export interface VerifyResult {
  ok: boolean;
  manifests: number;
  /** Distinct chunks checked. */
  chunks: number;
  /** Stored bytes read. */
  bytes: number;
  problems: VerifyProblem[];
}

/** A verify result as the admin API and the CLI show it (snake_case, one shape for online and offline runs). */
export function verifyReport(r: VerifyResult) {
  return {
    ok: r.ok,
    manifests: r.manifests,
    chunks: r.chunks,
    bytes: r.bytes,
    problems: r.problems.map((p) => ({
      kind: p.kind,
      locator: p.locator,
      chunk_id: p.chunkId ?? null,
      message: p.message,
    })),
  };
}

/** A gc result as the admin API shows it (the synchronous route and the background job give the same body). */
export function gcReport(r: GcResult, dryRun: boolean, target: string) {
  return {
    manifests: r.manifests,
    chunks: r.chunks,
    deleted: r.deleted,
    deleted_bytes: r.deletedBytes,
    kept_in_grace: r.keptInGrace,
    // Unreferenced chunks still under Object Lock retention (immutable backups): never sent a DELETE.
    kept_locked: r.locked ?? 0,
    dry_run: dryRun,
    target,
  };
}

export interface GcOptions {
  /** Unreferenced chunks younger than this (by mtime, relative to the oldest running backup) are kept. */
  graceMs: number;
  /** Extra chunk ids (hex) to keep. */
  pinned?: Iterable<string>;
  /** Count what would be deleted without deleting. */
  dryRun?: boolean;
}

export interface GcResult {
  manifests: number;
  /** Chunk objects seen. */
  chunks: number;
  deleted: number;
  deletedBytes: number;
  /** Unreferenced chunks kept because they are younger than the cutoff. */
  keptInGrace: number;
  /** Unreferenced chunks kept because their Object Lock retention has not ended (never sent a DELETE). */
  locked?: number;
}

/**
 * Errors of the backup repository. Each carries a stable `code` so the backups service can map it to the API
 * (e.g. INVALID_ARGUMENT → 400, NOT_FOUND → 404, the integrity codes → backup status 'error' with the message).
 */
export type RepoErrorCode =
  /** A container, backup id, locator or option is malformed (including path tricks). */
  | 'INVALID_ARGUMENT'
  /** The manifest (backup) does not exist. */
  | 'NOT_FOUND'
  /** A manifest with this container/id already exists. */
  | 'EXISTS'
  /** A manifest fails its checksum or structure checks, or does not belong to this repository's format. */
  | 'MANIFEST_CORRUPT'
  /** A chunk referenced by a manifest is absent from the store. */
  | 'CHUNK_MISSING'
  /** A chunk's bytes fail the CRC, authentication, decompression or id check. */
  | 'CHUNK_CORRUPT'
  /** The repository is encrypted and no key or a different key was configured (or the reverse). */
  | 'WRONG_KEY'
  /** The repository config is unreadable or from an unknown format version. */
  | 'BAD_CONFIG'
  /** The operation was aborted through its AbortSignal. */
  | 'ABORTED';

export class RepoError extends Error {
  readonly code: RepoErrorCode;
  /** Hex id of the chunk concerned, for the integrity codes. */
  readonly chunkId: string | undefined;

  constructor(code: RepoErrorCode, message: string, opts: { chunkId?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'RepoError';
    this.code = code;
    this.chunkId = opts.chunkId;
  }
}

export function isRepoError(e: unknown, code?: RepoErrorCode): e is RepoError {
  return e instanceof RepoError && (code === undefined || e.code === code);
}

export interface BackupStore {
  /** Chunk size of the repository (backup sources are read in these units). */
  readonly chunkSize: number;
  /** Identifies the repository in exported backup records. */
  readonly repoId: string;
  readonly encrypted: boolean;
  /** The locator of `<container>/<id>`; throws RepoError INVALID_ARGUMENT for a name the store refuses. */
  makeLocator(container: string, id: string): string;
  backup(opts: BackupOptions): Promise<BackupResult>;
  restore(opts: RestoreOptions): Promise<RestoreResult>;
  verify(opts?: VerifyOptions): Promise<VerifyResult>;
  gc(opts: GcOptions): Promise<GcResult>;
  /** Throws RepoError NOT_FOUND, MANIFEST_CORRUPT, INVALID_ARGUMENT. */
  readManifest(locator: string): Promise<BackupManifest>;
  /** Locators of all manifests, or of one container's. */
  listManifests(container?: string): AsyncIterable<string>;
  /** Drops the lease of a backup that will never finish; false when there was none. */
  releaseLease(locator: string): Promise<boolean>;
  /** Removes a manifest (its chunks go at the next GC); false when it did not exist. */
  deleteManifest(locator: string): Promise<boolean>;
  /**
   * Makes a committed backup immutable until `until` where the store can enforce it (S3 Object Lock): its
   * manifest and every chunk it references get retention, chunks already held longer keep theirs. Returns how
   * many objects got retention (0 on a store that cannot enforce it, e.g. a directory).
   */
  retain(locator: string, until: Date): Promise<{ objects: number }>;
  /** Copies a validated manifest under a new container/id; throws RepoError EXISTS when the target exists. */
  copyManifest(fromLocator: string, to: { id: string; container?: string }): Promise<Omit<BackupResult, 'directIo'>>;
  /**
   * Copies backup `fromLocator` into another repository `dest` (replication between targets): writes there only
   * the chunks `dest` lacks, then the manifest. Throws RepoError EXISTS when the target manifest exists, and the
   * integrity codes when a source chunk is missing or damaged (nothing is committed in `dest` then).
   */
  copyTo(dest: BackupStore, fromLocator: string, to: CopyToOptions): Promise<CopyToResult>;
}

export interface CopyToOptions {
  container: string;
  id: string;
  /** A backup in `dest` of the same volume: with repositories of different formats it saves recompressing what it has. */
  parent?: string;
  meta?: Record<string, string | number | boolean | null>;
  /**
   * Where a volume-sized sparse temporary may go when the two repositories cannot share chunk objects (another
   * key, chunk size or id algorithm): the backup is then restored there and backed up into `dest`.
   */
  scratchDir: string;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

export interface CopyToResult {
  locator: string;
  header: ManifestHeader;
  /** newChunks / storedBytes: what the copy added to `dest`; reusedChunks: chunks `dest` already had. */
  stats: BackupStats;
  /** Chunk objects were copied as they are (both repositories unencrypted with one chunk format), not re-encoded. */
  raw: boolean;
}
