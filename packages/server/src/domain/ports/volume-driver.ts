/**
 * The VolumeDriver port: everything the services need from a storage backend that keeps volume bytes.
 * Sizes are bytes (the API's GiB are converted by the services). Every method that removes something is
 * idempotent, because task recovery may replay it after a crash.
 */

import type { Readable } from 'node:stream';

export type VolumeFormat = 'raw' | 'qcow2';

export interface Extent {
  /** Byte offset in the virtual disk. */
  offset: number;
  length: number;
}

export interface ProgressOptions {
  /** Fraction done in [0, 1]; called at most a few times per second. */
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
}

export interface ObjectInfo {
  /** Virtual size in bytes. */
  size: number;
  /** Bytes actually allocated on the host filesystem. */
  allocated: number;
}

/**
 * Where operators drop existing disk images for cinderbox to manage: `<backend directory>/import/<name>`,
 * named in references and listings as `import/<name>`.
 */
export const IMPORT_PREFIX = 'import/';

/** A file in the backend directory that cinderbox may or may not track (for manage/unmanage). */
export interface BackendObject {
  name: string;
  size: number;
  /** What the object is, for drivers whose names do not say it (RBD snapshots are named without a prefix). */
  kind?: 'volume' | 'snapshot';
}

export interface DriverCapabilities {
  /** Snapshots and clones share blocks (reflink or overlays), so they cost O(1). */
  cheapSnapshots: boolean;
  /** How snapshots are made, for logs and the README ("reflink", "sparse-copy", "qcow2-overlay"). */
  snapshotMethod: string;
}

export interface VolumeDriver {
  readonly name: string;
  readonly format: VolumeFormat;
  /** Directory holding this backend's files. */
  readonly directory: string;
  readonly capabilities: DriverCapabilities;

  /** Creates an empty (sparse, all-zero) volume. Fails if it exists. */
  createVolume(volumeId: string, size: number): Promise<void>;
  /** Removes the volume's file; no error if it does not exist. */
  deleteVolume(volumeId: string): Promise<void>;
  /** Grows the volume to `newSize` bytes; new space reads as zeros. */
  extendVolume(volumeId: string, newSize: number): Promise<void>;
  /** A point-in-time copy of the volume's bytes; atomic: after a crash either the whole snapshot exists or nothing does. */
  createSnapshot(volumeId: string, snapshotId: string, opts?: ProgressOptions): Promise<void>;
  /** Removes a snapshot and any partial leftovers of an interrupted create; no error if absent. */
  deleteSnapshot(volumeId: string, snapshotId: string): Promise<void>;
  /** New volume holding the snapshot's bytes, grown to `size` if larger. */
  createVolumeFromSnapshot(snapshotId: string, volumeId: string, size: number, opts?: ProgressOptions): Promise<void>;
  /** New volume holding a copy of another volume's current bytes, grown to `size` if larger. */
  cloneVolume(sourceVolumeId: string, volumeId: string, size: number, opts?: ProgressOptions): Promise<void>;
  /** Makes the volume's bytes equal to the snapshot's again (the snapshot stays). */
  revertToSnapshot(volumeId: string, snapshotId: string, opts?: ProgressOptions): Promise<void>;

  /** Host path and format through which a consumer reaches the volume (os-initialize_connection). */
  volumeConnection(volumeId: string): { devicePath: string; format: VolumeFormat };
  /**
   * Optional: the connection info os-initialize_connection returns, for drivers whose consumers do not open a host
   * path (RBD: `driver_volume_type: rbd` with the image name and monitors). Without it the answer is `local`.
   */
  connectionInfo?(volumeId: string): { driver_volume_type: string; data: Record<string, unknown> };
  /** Host path of a volume or snapshot file, for readers such as the download stream and backups. */
  path(kind: 'volume' | 'snapshot', id: string): string;
  /**
   * The storage's own capacity in bytes, for scheduler-stats get_pools (a Ceph pool's `ceph df` figures); null
   * when the storage cannot say. Drivers without it share the data directory's filesystem.
   */
  capacity?(): Promise<{ total: number; free: number } | null>;
  /** Size and allocation; null when the object does not exist. */
  stat(kind: 'volume' | 'snapshot', id: string): Promise<ObjectInfo | null>;
  /** The ranges of the object that may hold non-zero data (holes excluded); sorted, non-overlapping. */
  allocatedExtents(kind: 'volume' | 'snapshot', id: string): Promise<Extent[]>;
  /** Zeroes a byte range so that it reads back as zeros, releasing the space where possible. */
  zeroRange(volumeId: string, offset: number, length: number): Promise<void>;

  /**
   * Files in the backend directory (for manageable listings), including those cinderbox does not track, and the
   * files of the import area as `import/<name>` (see IMPORT_PREFIX).
   */
  listObjects(): Promise<BackendObject[]>;
  /** The name under which the driver keeps a volume's or snapshot's object (`volume-<id>`, `_snapshot-<id>`). */
  objectName(kind: 'volume' | 'snapshot', id: string): string;
  /**
   * The object name a manage reference (the `ref` of a manage request) gives, checked for shape only: a reference
   * this driver does not understand (not an object, missing or unknown keys, wrong types) is an error whose code
   * is `EINVAL` and whose message says why. Called before anything is recorded.
   */
  validateManageRef(ref: unknown): string;
  /**
   * The object a manage reference names, or null when no such regular file exists. A name that is not a plain
   * file name of this backend (path separators other than the import prefix, `..`, absolute paths, hidden
   * names), that is a symbolic link, that has further hard links or that is on another filesystem than the
   * backend directory is refused with an error whose code is `EINVAL`; nothing is touched.
   */
  inspectObject(name: string): Promise<BackendObject | null>;
  /**
   * Takes the object `name` under the driver's own naming scheme for (kind, id) without copying its bytes.
   * Idempotent (a replay after the rename finds the object already adopted); never overwrites another object.
   */
  adoptObject(name: string, kind: 'volume' | 'snapshot', id: string): Promise<void>;
  /** Removes temporaries left by interrupted work; called once at start before tasks are recovered. */
  sweepTemporaries(): Promise<void>;

  /**
   * The object's virtual bytes [start, end] (inclusive, clipped to the size) as a stream, whatever the format.
   * Errors (a missing object included) are emitted by the stream.
   */
  readRaw(kind: 'volume' | 'snapshot', id: string, start: number, end: number): Readable;
  /**
   * Optional: the bytes of several ranges of one object (sorted, not overlapping), as pieces in order, with one
   * look at its layout for all of them. Drivers whose every read starts by mapping a chain offer it, so a
   * caller reading many small ranges (an incremental backup) does not pay that map per range. With
   * `opts.since` the pieces may come in more than one ascending pass (a caller places them by offset).
   */
  readRawRanges?(kind: 'volume' | 'snapshot', id: string, ranges: Extent[], opts?: ReadRangesOptions): AsyncIterable<{ offset: number; data: Buffer }>;
  /**
   * Writes the bytes of `source` into the volume from `offset` (default 0), never past its size (extra bytes are
   * an EINVAL error after the fitting part is written); resolves with the number of bytes written.
   */
  writeRaw(volumeId: string, source: AsyncIterable<Buffer>, offset?: number): Promise<number>;
  /**
   * A raw file holding the object's virtual bytes, for path-based readers (backups). For raw objects it is the
   * object itself; otherwise a sparse temporary that release() removes. Never write to it.
   */
  exportRaw(kind: 'volume' | 'snapshot', id: string, opts?: ProgressOptions): Promise<{ path: string; release(): Promise<void> }>;
  /**
   * A raw file of the volume's size for path-based writers (restores): for raw volumes the volume itself; otherwise
   * a sparse all-zero temporary whose whole content commit() puts into the volume (holes become zeros).
   * release() removes the temporary (after commit or instead of it). A temporary may offer `window`: it puts
   * [offset, offset+length) into the volume now and frees it in the temporary, so a writer going front to back
   * needs temporary space for about two windows (`window.bytes` each), not the volume; commit() then writes only what no window did.
   */
  importRaw(volumeId: string): Promise<ImportTarget>;
  /**
   * The ranges whose bytes may differ between two snapshots of the volume (`toSnapshotId` null: the volume as it
   * is now), sorted and non-overlapping, at the driver's tracking granularity (a superset of the real changes,
   * never missing one). null when the driver cannot tell (then a reader must compare the data itself).
   */
  changedExtents(volumeId: string, fromSnapshotId: string, toSnapshotId: string | null): Promise<Extent[] | null>;
}

/** Hints for readRawRanges; the bytes yielded are the same with or without them. */
export interface ReadRangesOptions {
  /**
   * An older snapshot of the same volume, such that the ranges' bytes outside `changedExtents(since → object)`
   * are unchanged since it: a driver that can stream what changed between two snapshots (RBD's export-diff
   * --from-snap) reads that instead of the whole object. Drivers without such a stream ignore it.
   */
  since?: { volumeId: string; snapshotId: string };
}

/** A raw file a path-based writer fills for importRaw. */
export interface ImportTarget {
  path: string;
  commit(opts?: ProgressOptions): Promise<void>;
  release(): Promise<void>;
  window?: { bytes: number; flush(offset: number, length: number): Promise<void> };
}
