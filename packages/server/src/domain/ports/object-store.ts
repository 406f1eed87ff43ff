/**
 * The ObjectStore port: a flat key space of immutable objects, as the backup repository needs it. Keys are
 * '/'-separated paths of safe segments ([A-Za-z0-9._-], no '.'/'..' segment, no leading '/'); adapters reject
 * anything else with code 'EINVAL', so a key can never escape the store. The filesystem adapter maps keys to
 * files under a root directory; an S3 adapter maps them to object names under a prefix. Every adapter must pass
 * drivers/objects/conformance.ts.
 */

export interface ObjectInfo {
  key: string;
  /** Stored size in bytes. */
  size: number;
  /** Last write or touch; garbage collection keeps objects younger than its grace period. */
  mtime: Date;
  /** From head() only, on stores with Object Lock: the object may not be deleted before this instant. */
  retainUntil?: Date;
}

export interface PutResult {
  /** True when the key already existed; a create-only put then leaves the existing object untouched. */
  existed: boolean;
}

export interface PutOptions {
  /**
   * Replace an existing object (default false: create-only). Only for small mutable records such as leases;
   * content-addressed data is never overwritten.
   */
  overwrite?: boolean;
  /** When the key already exists, refresh its mtime (as `touch`) so a concurrent sweep keeps it. */
  touchExisting?: boolean;
  /**
   * Called once the store no longer reads `data` (the filesystem adapter: when it is in the temporary file,
   * before the sync), so the caller may reuse the memory while the put completes. Not called when the put
   * fails or finds the key existing before that point; the caller's buffer is free again when put() settles.
   */
  onDataReleased?: () => void;
}

/** Errors thrown by adapters carry a Node-style `code`: 'ENOENT' for a missing key, 'EINVAL' for a bad key. */
export type ObjectStoreError = Error & { code: string };

export interface ObjectStore {
  /** For logs ("fs:/var/lib/cinderbox/repo"). */
  readonly description: string;

  /**
   * Stores an object atomically: readers see either nothing or the whole object, never a torn one, even after a
   * crash. Create-only unless `overwrite`. The object's data is durable when the promise resolves; its name is
   * durable after the next `flush()` (adapters may batch directory syncs).
   */
  put(key: string, data: Uint8Array, opts?: PutOptions): Promise<PutResult>;
  /** The whole object; rejects with code 'ENOENT' when missing. */
  get(key: string): Promise<Buffer>;
  /** The object as a stream (for large objects); rejects with code 'ENOENT' when missing. */
  getStream(key: string): Promise<NodeJS.ReadableStream>;
  /** Size and mtime; null when missing. */
  head(key: string): Promise<ObjectInfo | null>;
  /** Objects whose key starts with `prefix` (plain string prefix), in no particular order; never temporaries. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Removes an object; resolves false (no error) when it did not exist. */
  delete(key: string): Promise<boolean>;
  /** Sets the object's mtime to now; rejects with code 'ENOENT' when missing. */
  touch(key: string): Promise<void>;
  /** Makes the names of all objects put or deleted so far durable (batched directory fsync on a filesystem). */
  flush(): Promise<void>;
  /** Removes temporaries left by writers that no longer run (crashes); returns how many were removed. */
  sweepTemporaries(): Promise<number>;
  /**
   * Only on stores that can enforce immutability (S3 Object Lock): keeps the object from deletion until `until`,
   * extending (never shortening) a retention it already has. Rejects with code 'ENOENT' when missing. Until then
   * delete() rejects with code 'ELOCKED'.
   */
  retain?(key: string, until: Date): Promise<void>;
}

/** Validates an object key; throws code 'EINVAL' for anything that could escape the store or alias another key. */
export function assertValidKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > 1024) throw keyError(key);
  for (const segment of key.split('/')) {
    if (!/^[A-Za-z0-9._-]+$/.test(segment) || segment === '.' || segment === '..') throw keyError(key);
  }
}

function keyError(key: unknown): ObjectStoreError {
  const err = new Error(`invalid object key ${JSON.stringify(key)}`) as ObjectStoreError;
  err.code = 'EINVAL';
  return err;
}
