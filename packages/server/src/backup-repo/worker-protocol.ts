/** Messages between the repository (main thread) and its chunk workers. */

export interface WorkerInit {
  chunkSize: number;
  /** zstd level. */
  level: number;
  idKey?: Uint8Array;
  encKey?: Uint8Array;
}

export type WorkerRequest =
  /**
   * Read [offset, offset+length) of the open descriptor `fd` (shared by all workers, so the kernel sees one
   * sequential reader and keeps read-ahead on), zero-check, hash; unless the id equals `parentId`, compress.
   */
  | { seq: number; op: 'encode'; fd: number; offset: number; length: number; parentId?: string }
  /** Verify a chunk object against its id and write its plaintext at `offset` of `path`. */
  | { seq: number; op: 'restore'; object: ArrayBuffer; id: string; length: number; fd: number; offset: number }
  /** CRC check only, or (full) authenticate + decompress + re-hash. */
  | { seq: number; op: 'check'; object: ArrayBuffer; id: string; length: number; full: boolean }
  /** Close the worker's cached descriptors of `path`. */
  | { seq: number; op: 'release'; path: string };

export type WorkerReply =
  | { seq: number; kind: 'zero'; readBytes: number }
  | { seq: number; kind: 'same'; id: string; readBytes: number }
  | { seq: number; kind: 'data'; id: string; object: ArrayBuffer; readBytes: number }
  | { seq: number; kind: 'ok' }
  | { seq: number; kind: 'error'; code: string; message: string };

/** Requests without their sequence number (the pool assigns it). */
export type WorkerTask = WorkerRequest extends infer R ? (R extends { seq: number } ? Omit<R, 'seq'> : never) : never;
