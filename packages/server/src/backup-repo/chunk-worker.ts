/**
 * Chunk worker thread: the CPU-heavy half of the data path. It reads its own chunks with positional reads
 * (cheaper than reading on the main thread and transferring), detects zero chunks, hashes, compresses with
 * zstd level 1 or LZ4 (as the request says) and encrypts; on restore and verify it authenticates, decompresses,
 * re-hashes and writes. Given an O_DIRECT descriptor it reads and writes volume data past the page cache (see
 * `directFd` in worker-protocol.ts).
 * One task at a time per worker; the pool keeps a couple queued so the worker never idles.
 */
import { read, write } from 'node:fs';
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import { chunkIdFunction } from './chunk-ids.js';
import {
  CODEC_LZ4,
  CODEC_RAW,
  CODEC_ZSTD,
  decryptPayload,
  finishChunkObject,
  parseChunkObject,
  payloadOffset,
} from './format.js';
import {
  DIRECT_IO_ALIGNMENT, type WorkerInit, type WorkerReply, type WorkerRequest } from './worker-protocol.js';

const init = workerData as WorkerInit;
const encKey = init.encKey ? Buffer.from(init.encKey) : undefined;
const zeros = Buffer.alloc(init.chunkSize);
// The low-level binding compresses into and decompresses from reused buffers: no per-chunk allocation in the
// worker, which keeps the process's memory flat (freed 4 MiB buffers otherwise linger until a GC).
const requireNative = createRequire(init.requireFrom ?? import.meta.url);
const chunkId = chunkIdFunction(
  init.idAlgorithm,
  init.idKey ? Buffer.from(init.idKey) : undefined,
  init.requireFrom ?? import.meta.url,
);
const zstd = requireNative('zstd-napi/binding') as typeof import('zstd-napi/binding.js');
// The block functions of the `lz4` package (LZ4_compress_default / LZ4_decompress_safe into caller buffers);
// its stream classes are not needed.
const lz4 = requireNative('lz4/build/Release/lz4.node') as {
  /** Returns the compressed length, 0 when the output is too small. */
  compress(input: Buffer, output: Buffer): number;
  /** Returns the decompressed length, negative on malformed input or a too small output. */
  uncompress(input: Buffer, output: Buffer): number;
};
interface SparseAddon {
  /** Readahead hints: with each worker blocking in a 4 MiB buffered read, the disk would idle while they compute. */
  willNeed?: (fd: number, offset: number, length: number) => number;
  /** Aligned memory for O_DIRECT. */
  alignedBuffer?: (size: number, alignment: number) => Buffer;
}
// An addon built before a function existed still loads: that feature is off then.
const addon = ((): SparseAddon => {
  if (!init.sparseAddon) return {};
  try {
    return requireNative(init.sparseAddon) as SparseAddon;
  } catch {
    return {};
  }
})();
const cctx = new zstd.CCtx();
const dctx = new zstd.DCtx();
// Chunks read (backup) and plaintext written (restore) sit in aligned memory when the addon provides it, so
// they can go through O_DIRECT descriptors.
const canDirect = typeof addon.alignedBuffer === 'function';
/**
 * I/O buffers per worker: while the worker computes on one chunk, the next chunk's read (or the previous
 * chunk's write) runs on the libuv pool. With one buffer a worker spent about a third of its time waiting on
 * the disk instead of computing.
 */
const IO_DEPTH = 2;
const ioFree: Buffer[] = Array.from({ length: IO_DEPTH }, () =>
  canDirect ? addon.alignedBuffer!(init.chunkSize, DIRECT_IO_ALIGNMENT) : Buffer.allocUnsafeSlow(init.chunkSize),
);
const payloadAt = payloadOffset(encKey !== undefined);

function slot(i: number, length = init.slotSize): Buffer {
  if (!(i >= 0) || init.slotBase + (i + 1) * init.slotStride > init.slots.byteLength || length > init.slotSize) {
    throw new Error(`bad slot ${i}/${length}`);
  }
  return Buffer.from(init.slots, init.slotBase + i * init.slotStride, length);
}
class ChunkError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const settle = (resolve: (n: number) => void, reject: (e: Error) => void) => (e: Error | null, n: number) =>
  e ? reject(e) : resolve(n);
const fsRead = (fd: number, into: Buffer, at: number, length: number, position: number) =>
  new Promise<number>((resolve, reject) => read(fd, into, at, length, position, settle(resolve, reject)));
const fsWrite = (fd: number, from: Buffer, at: number, length: number, position: number) =>
  new Promise<number>((resolve, reject) => write(fd, from, at, length, position, settle(resolve, reject)));
const isInvalid = (e: unknown) => (e as NodeJS.ErrnoException).code === 'EINVAL';
const alignUp = (n: number) => Math.ceil(n / DIRECT_IO_ALIGNMENT) * DIRECT_IO_ALIGNMENT;

/** Reads up to `length` bytes at `offset` into `into`; fewer only at the end of the file. */
async function readFull(fd: number, into: Buffer, length: number, offset: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const n = await fsRead(fd, into, done, length - done, offset + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

async function writeFull(fd: number, from: Buffer, offset: number): Promise<void> {
  for (let done = 0; done < from.length; ) done += await fsWrite(fd, from, done, from.length - done, offset + done);
}

/** Reads the request's chunk into `into`: past the page cache when it can, buffered otherwise. */
async function readChunk(req: EncodeRequest, into: Buffer): Promise<number> {
  if (req.directFd !== undefined && canDirect && req.offset % DIRECT_IO_ALIGNMENT === 0) {
    try {
      // O_DIRECT wants whole blocks: a short last chunk is read rounded up (the file ends first, or the extra
      // bytes are ignored).
      return Math.min(req.length, await readFull(req.directFd, into, alignUp(req.length), req.offset));
    } catch (e) {
      // A filesystem that accepted O_DIRECT at open but not this read: the buffered descriptor still works.
      if (!isInvalid(e)) throw e;
    }
  }
  if (req.prefetch && addon.willNeed) for (const r of req.prefetch) addon.willNeed(req.fd, r.offset, r.length);
  return readFull(req.fd, into, req.length, req.offset);
}

/**
 * Writes a verified chunk's plaintext at the request's offset: past the page cache when it can (`plain` must
 * then be `aligned`, or is copied there), buffered otherwise.
 */
async function writeChunk(plain: Buffer, aligned: Buffer, req: RestoreRequest): Promise<void> {
  if (
    req.directFd !== undefined &&
    canDirect &&
    req.offset % DIRECT_IO_ALIGNMENT === 0 &&
    plain.length % DIRECT_IO_ALIGNMENT === 0
  ) {
    // A stored-raw chunk's plaintext is in the (unaligned) shared slot: one copy into aligned memory.
    const from = plain.buffer === aligned.buffer ? plain : aligned.subarray(0, plain.copy(aligned));
    try {
      await writeFull(req.directFd, from, req.offset);
      return;
    } catch (e) {
      if (!isInvalid(e)) throw e;
    }
  }
  await writeFull(req.fd, plain, req.offset);
}

/** Zero check, hash, compress and seal the chunk read into `data` (`done` bytes came from the file). */
function encode(req: EncodeRequest, data: Buffer, done: number): WorkerReply {
  const buf = data.subarray(0, req.length);
  // Past the end of a shorter source the volume reads as zeros.
  if (done < req.length) buf.fill(0, done);
  if (buf.equals(zeros.subarray(0, req.length))) return { seq: req.seq, kind: 'zero', readBytes: done };
  const id = chunkId(buf).toString('hex');
  if (req.parentId === id) return { seq: req.seq, kind: 'same', id, readBytes: done };
  const out = slot(req.slot);
  // Store raw unless compression saves at least ~3 %: compressing straight into the slot with room for only that
  // much makes the compressor give up ("destination too small") on data that does not compress.
  const room = req.length - (req.length >>> 5) - 1;
  let payloadLength = -1;
  let codec = CODEC_RAW;
  if (room > 0 && req.compressor !== 'none') {
    const into = out.subarray(payloadAt, payloadAt + room);
    if (req.compressor === 'lz4') {
      const n = lz4.compress(buf, into);
      if (n > 0) [payloadLength, codec] = [n, CODEC_LZ4];
    } else {
      try {
        [payloadLength, codec] = [cctx.compress(into, buf, init.level), CODEC_ZSTD];
      } catch {
        payloadLength = -1;
      }
    }
  }
  if (payloadLength < 0) {
    buf.copy(out, payloadAt);
    payloadLength = req.length;
    codec = CODEC_RAW;
  }
  const objectLength = finishChunkObject(out, payloadLength, codec, req.length, encKey, id);
  return { seq: req.seq, kind: 'data', id, objectLength, readBytes: done, codec };
}

/** Returns the verified plaintext of a chunk object; throws ChunkError naming what failed. */
function decode(object: Buffer, id: string, expectedLength: number, plainBuf: Buffer): Buffer {
  let plain: Buffer;
  try {
    // No CRC pass: the plaintext is hashed against `id` below, which no damaged or misplaced object passes
    // (both decompressors are bounds-checked, so a damaged payload cannot do worse than fail or decode wrong).
    const parsed = parseChunkObject(object, id, false);
    const payload = decryptPayload(parsed, encKey);
    // A payload that inflates beyond the chunk size fails here (destination too small) instead of using memory.
    if (parsed.codec === CODEC_ZSTD) plain = plainBuf.subarray(0, dctx.decompress(plainBuf, payload));
    else if (parsed.codec === CODEC_LZ4) {
      const n = lz4.uncompress(payload, plainBuf);
      if (n < 0) throw new Error(`malformed LZ4 block (at byte ${-n})`);
      plain = plainBuf.subarray(0, n);
    } else plain = payload;
    if (plain.length !== parsed.rawLength)
      throw new Error(`decoded ${plain.length} bytes, header says ${parsed.rawLength}`);
  } catch (e) {
    throw new ChunkError('CHUNK_CORRUPT', `chunk ${id} is corrupt: ${(e as Error).message}`);
  }
  if (plain.length !== expectedLength) {
    throw new ChunkError(
      'CHUNK_CORRUPT',
      `chunk ${id} holds ${plain.length} bytes, the manifest expects ${expectedLength}`,
    );
  }
  if (chunkId(plain).toString('hex') !== id) {
    throw new ChunkError('CHUNK_CORRUPT', `chunk ${id} is corrupt: its content does not hash to its id`);
  }
  return plain;
}

type EncodeRequest = Extract<WorkerRequest, { op: 'encode' }>;
type RestoreRequest = Extract<WorkerRequest, { op: 'restore' }>;

function errorReply(seq: number, e: unknown): WorkerReply {
  const err = e as Error & { code?: unknown };
  return { seq, kind: 'error', code: typeof err.code === 'string' ? err.code : 'EIO', message: err.message };
}

/** Plaintext of full checks (allocated by the first). */
let checkBuf: Buffer | undefined;

/** Requests that need an I/O buffer, in arrival order; started as buffers come free. */
const waiting: Array<EncodeRequest | RestoreRequest> = [];
/** When each waiting request arrived (restore profile). */
const arrived = new WeakMap<EncodeRequest | RestoreRequest, number>();

function pump(): void {
  for (;;) {
    const req = waiting[0];
    const buf = ioFree[ioFree.length - 1];
    if (req === undefined || buf === undefined) return;
    waiting.shift();
    ioFree.pop();
    void withBuffer(req, buf).then(
      (reply) => parentPort?.postMessage(reply),
      (e: unknown) => parentPort?.postMessage(errorReply(req.seq, e)),
    );
  }
}

/**
 * Runs an I/O request with one of the worker's buffers. The read (backup) or write (restore) is asynchronous,
 * so the worker computes on another chunk meanwhile; the computing itself stays synchronous.
 */
async function withBuffer(req: EncodeRequest | RestoreRequest, buf: Buffer): Promise<WorkerReply> {
  try {
    if (req.op === 'encode') {
      const t0 = performance.now();
      const n = await readChunk(req, buf);
      const t1 = performance.now();
      const reply = encode(req, buf, n);
      if (reply.kind === 'zero' || reply.kind === 'same' || reply.kind === 'data') {
        reply.readMs = t1 - t0;
        reply.computeMs = performance.now() - t1;
      }
      return reply;
    }
    // Decoded synchronously into `buf`, which then stays busy until its write is done.
    const t0 = performance.now();
    const plain = decode(slot(req.slot, req.objectLength), req.id, req.length, buf);
    const t1 = performance.now();
    await writeChunk(plain, buf, req);
    return {
      seq: req.seq,
      kind: 'ok',
      waitMs: t0 - (arrived.get(req) ?? t0),
      computeMs: t1 - t0,
      writeMs: performance.now() - t1,
    };
  } finally {
    ioFree.push(buf);
    // Later in this turn, so the reply above goes out before the next chunk's compute starts.
    setImmediate(pump);
  }
}

function handle(req: Exclude<WorkerRequest, EncodeRequest | RestoreRequest>): WorkerReply {
  switch (req.op) {
    case 'check': {
      const object = slot(req.slot, req.objectLength);
      if (req.full) {
        checkBuf ??= Buffer.allocUnsafeSlow(init.chunkSize);
        decode(object, req.id, req.length, checkBuf);
      } else {
        try {
          parseChunkObject(object, req.id);
        } catch (e) {
          throw new ChunkError('CHUNK_CORRUPT', `chunk ${req.id} is corrupt: ${(e as Error).message}`);
        }
      }
      return { seq: req.seq, kind: 'ok' };
    }
    case 'release':
      // Descriptors belong to the caller now; this only confirms the worker is up (warm-up).
      return { seq: req.seq, kind: 'ok' };
  }
}

parentPort?.on('message', (req: WorkerRequest) => {
  if (req.op === 'encode' || req.op === 'restore') {
    arrived.set(req, performance.now());
    waiting.push(req);
    pump();
    return;
  }
  let reply: WorkerReply;
  try {
    reply = handle(req);
  } catch (e) {
    reply = errorReply(req.seq, e);
  }
  parentPort?.postMessage(reply);
});
