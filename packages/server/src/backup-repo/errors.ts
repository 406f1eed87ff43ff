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
