/**
 * Opening a backup repository: its config (created once, create-only, so the first writer's wins), the key check
 * and the open options. Everything else about a repository follows from what this returns.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import type { ObjectStore } from '../domain/ports/object-store.js';
import { RepoError } from '../domain/ports/backup-store.js';
import { defaultIdAlgorithm, ID_ALGORITHMS, type IdAlgorithm, idAlgorithmAvailable, isKeyed } from './chunk-ids.js';
import { deriveKeys, type RepoKeys } from './format.js';

export const DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024;

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

export interface RepoConfig {
  format: 'cinderbox-backup-repo';
  version: 1;
  repoId: string;
  chunkSize: number;
  idAlgorithm: IdAlgorithm;
  codec: 'zstd-1';
  encryption: null | { algorithm: 'aes-256-gcm'; kdf: 'hkdf-sha256'; keyCheck: string };
  createdAt: string;
}

/** A repository's checked config and keys, and the options its operations run with. */
export interface OpenedRepo {
  config: RepoConfig;
  keys: RepoKeys | undefined;
  workers: number;
  compression: Compression;
  sparseAddon: string | undefined;
  /** The workers have aligned memory (the addon's alignedBuffer), so O_DIRECT descriptors are worth opening. */
  canDirect: boolean;
}

/**
 * Sweeps temporaries of crashed writers, reads (creating if needed) the config and checks the key. Throws RepoError
 * WRONG_KEY when the key is missing, unexpected or different.
 */
export async function openRepo(opts: OpenOptions): Promise<OpenedRepo> {
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
  return {
    config,
    keys,
    workers,
    compression,
    sparseAddon: opts.sparseAddon,
    canDirect: opts.sparseAddon !== undefined && addonHasAlignedBuffer(opts.sparseAddon),
  };
}

/** Whether the sparse-io addon at `path` can allocate aligned memory (builds before that function cannot). */
function addonHasAlignedBuffer(path: string): boolean {
  try {
    return typeof (createRequire(import.meta.url)(path) as { alignedBuffer?: unknown }).alignedBuffer === 'function';
  } catch {
    return false;
  }
}
