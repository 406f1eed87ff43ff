/** Messages between the repository (main thread) and its chunk workers. */
import type { IdAlgorithm } from './chunk-ids.js';

/** Offsets, lengths and memory of O_DIRECT transfers are multiples of this (the largest logical block size). */
export const DIRECT_IO_ALIGNMENT = 4096;

export interface WorkerInit {
  chunkSize: number;
  /** zstd level. */
  level: number;
  idAlgorithm: IdAlgorithm;
  idKey?: Uint8Array;
  encKey?: Uint8Array;
  /**
   * Chunk objects travel through these shared slots (slotSize bytes each) instead of a new buffer per chunk:
   * the worker encodes into the slot the main thread then writes from, and decodes from the slot the main
   * thread read the stored object into. A slot belongs to one task at a time (the pool hands them out).
   */
  slots: SharedArrayBuffer;
  slotSize: number;
  /**
   * Slot i starts at slotBase + i × slotStride. The stride is a multiple of DIRECT_IO_ALIGNMENT with room past
   * the largest object, and the base is where the allocator's memory is expected to be page-aligned, so the fs
   * store can write a chunk object straight from its slot with O_DIRECT (no copy into the page cache).
   */
  slotBase: number;
  slotStride: number;
  /** Module URL from which native dependencies resolve (the worker may run from a generated bundle). */
  requireFrom?: string;
  /** Path of the sparse-io addon (aligned memory for O_DIRECT, readahead hints); absent when it is not built. */
  sparseAddon?: string;
}

/** What the worker tries on a chunk (it stores the chunk raw when that does not save ~3 %). */
export type ChunkCompressor = 'zstd' | 'lz4' | 'none';

export type WorkerRequest =
  /**
   * Read [offset, offset+length) of the open descriptor `fd` (shared by all workers, so the kernel sees one
   * sequential reader and keeps read-ahead on), zero-check, hash; unless the id equals `parentId`, compress
   * with `compressor` and build the chunk object in `slot`.
   */
  | {
      seq: number;
      op: 'encode';
      fd: number;
      offset: number;
      length: number;
      slot: number;
      compressor: ChunkCompressor;
      parentId?: string;
      /** Ranges of the same descriptor that later tasks will read: readahead starts now (see chunk-worker). */
      prefetch?: Array<{ offset: number; length: number }>;
      /**
       * The same file opened with O_DIRECT: read through it when possible. A backup reads each byte once, so
       * the page cache would only cost CPU (the copy, filling and reclaiming pages: ~25 % of a backup's CPU
       * time on the reference machine) and evict what other tenants cache. `fd` stays the fallback.
       */
      directFd?: number;
    }
  /** Verify the chunk object of `objectLength` bytes in `slot` against its id and write its plaintext at `offset`. */
  | {
      seq: number;
      op: 'restore';
      slot: number;
      objectLength: number;
      id: string;
      length: number;
      fd: number;
      offset: number;
      /**
       * The target opened with O_DIRECT: whole-block chunks are written through it when possible (buffered
       * writes of a large restore pile up as dirty pages the final fsync then waits for). `fd` stays the fallback.
       */
      directFd?: number;
    }
  /** CRC check only, or (full) authenticate + decompress + re-hash the object in `slot`. */
  | { seq: number; op: 'check'; slot: number; objectLength: number; id: string; length: number; full: boolean }
  /** No-op round trip (warm-up). */
  | { seq: number; op: 'release'; path: string };

export type WorkerReply =
  /** readMs: from asking for the source bytes to having them (thread-pool queue + disk); computeMs: the rest. */
  | { seq: number; kind: 'zero'; readBytes: number; readMs?: number; computeMs?: number }
  | { seq: number; kind: 'same'; id: string; readBytes: number; readMs?: number; computeMs?: number }
  /** The chunk object is the first `objectLength` bytes of the request's slot. */
  | {
      seq: number;
      kind: 'data';
      id: string;
      objectLength: number;
      readBytes: number;
      codec: number;
      readMs?: number;
      computeMs?: number;
    }
  /**
   * Restore: waitMs from the request's arrival to the worker taking it up (its own queue: earlier chunks' decode
   * and writes), computeMs decoding and verifying, writeMs the target write.
   */
  | { seq: number; kind: 'ok'; waitMs?: number; computeMs?: number; writeMs?: number }
  | { seq: number; kind: 'error'; code: string; message: string };

/** Requests without their sequence number (the pool assigns it). */
export type WorkerTask = WorkerRequest extends infer R ? (R extends { seq: number } ? Omit<R, 'seq'> : never) : never;
