/**
 * The block source port: what the backup engine reads when it backs up a volume or snapshot, and how one is
 * opened. Services ask for a source by object (driver, kind, id) and never assemble a file path themselves;
 * drivers/volume/block-source.ts implements it on top of the VolumeDriver port.
 */
import type { Extent, VolumeDriver } from './volume-driver.js';

export interface BlockSource {
  /**
   * A raw file of the object's guest bytes. The engine takes a path rather than a stream because its worker
   * threads open it themselves and read chunks by position with O_DIRECT (past the page cache, several at once);
   * a stream would pull every byte through the main thread and the page cache.
   */
  path: string;
  /**
   * True when `path` is a temporary just written for this backup (an export): it is in the page cache, so the
   * engine reads it buffered; false when it is the driver's own file, read with O_DIRECT.
   */
  temporary: boolean;
  /** Ranges that may hold data; chunks outside them are holes the engine never reads. */
  allocatedExtents: Extent[];
  /** Ranges changed since `changedSince` (null: unknown or not asked: read everything allocated and compare). */
  changedExtents: Extent[] | null;
  /** Gives the source back (removes a temporary); call once the engine is done. */
  release(): Promise<void>;
}

export interface BlockSourceOptions {
  /** An earlier hidden snapshot of the same volume (the parent backup's base) to compute changes against. */
  changedSince?: { volumeId: string; snapshotId: string } | null;
  /** The repository's chunk size: changed ranges are read in whole chunks. */
  chunkSize: number;
  signal?: AbortSignal;
  logger?: { warn(obj: object, msg: string): void };
}

export interface BlockSources {
  /**
   * A raw view of a volume or snapshot of `driver` for the backup engine, with the changed extents since
   * `opts.changedSince` when the driver can tell (a base that vanished or no longer links: null, never an error).
   */
  open(driver: VolumeDriver, kind: 'volume' | 'snapshot', id: string, opts: BlockSourceOptions): Promise<BlockSource>;
}
