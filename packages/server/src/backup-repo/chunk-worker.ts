/**
 * Chunk worker thread: the CPU-heavy half of the data path. It reads its own chunks with positional reads
 * (cheaper than reading on the main thread and transferring), detects zero chunks, hashes, compresses with
 * zstd level 1 or LZ4 (as the request says) and encrypts; on restore and verify it authenticates, decompresses,
 * re-hashes and writes.
 * One task at a time per worker; the pool keeps a couple queued so the worker never idles.
 */
import { readSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import {
  CODEC_LZ4,
  CODEC_RAW,
  CODEC_ZSTD,
  chunkId,
  decryptPayload,
  finishChunkObject,
  parseChunkObject,
  payloadOffset,
} from './format.js';
import type { WorkerInit, WorkerReply, WorkerRequest } from './worker-protocol.js';

const init = workerData as WorkerInit;
const idKey = init.idKey ? Buffer.from(init.idKey) : undefined;
const encKey = init.encKey ? Buffer.from(init.encKey) : undefined;
const readBuf = Buffer.allocUnsafeSlow(init.chunkSize);
const zeros = Buffer.alloc(init.chunkSize);
// The low-level binding compresses into and decompresses from reused buffers: no per-chunk allocation in the
// worker, which keeps the process's memory flat (freed 4 MiB buffers otherwise linger until a GC).
const requireNative = createRequire(init.requireFrom ?? import.meta.url);
const zstd = requireNative('zstd-napi/binding') as typeof import('zstd-napi/binding.js');
// The block functions of the `lz4` package (LZ4_compress_default / LZ4_decompress_safe into caller buffers);
// its stream classes are not needed.
const lz4 = requireNative('lz4/build/Release/lz4.node') as {
  /** Returns the compressed length, 0 when the output is too small. */
  compress(input: Buffer, output: Buffer): number;
  /** Returns the decompressed length, negative on malformed input or a too small output. */
  uncompress(input: Buffer, output: Buffer): number;
};
// Readahead hints: with two workers each blocking in a 4 MiB read, the disk otherwise idles while they compute
// (cold reads took ~30 % of a worker's time in bench/backup; with hints a read is a page-cache copy).
type WillNeed = (fd: number, offset: number, length: number) => number;
const willNeed = ((): WillNeed | undefined => {
  if (!init.sparseAddon) return undefined;
  try {
    // An addon built before willNeed existed still loads: no hints then.
    const addon = requireNative(init.sparseAddon) as { willNeed?: WillNeed };
    return addon.willNeed?.bind(addon);
  } catch {
    return undefined;
  }
})();
const cctx = new zstd.CCtx();
const dctx = new zstd.DCtx();
const plainBuf = Buffer.allocUnsafeSlow(init.chunkSize);
const payloadAt = payloadOffset(encKey !== undefined);

function slot(i: number, length = init.slotSize): Buffer {
  if (!(i >= 0) || (i + 1) * init.slotSize > init.slots.byteLength || length > init.slotSize) {
    throw new Error(`bad slot ${i}/${length}`);
  }
  return Buffer.from(init.slots, i * init.slotSize, length);
}
class ChunkError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function encode(req: Extract<WorkerRequest, { op: 'encode' }>): WorkerReply {
  const fd = req.fd;
  if (req.prefetch && willNeed) for (const r of req.prefetch) willNeed(fd, r.offset, r.length);
  const buf = readBuf.subarray(0, req.length);
  let done = 0;
  while (done < req.length) {
    const n = readSync(fd, buf, done, req.length - done, req.offset + done);
    if (n === 0) break;
    done += n;
  }
  // Past the end of a shorter source the volume reads as zeros.
  if (done < req.length) buf.fill(0, done);
  if (buf.equals(zeros.subarray(0, req.length))) return { seq: req.seq, kind: 'zero', readBytes: done };
  const id = chunkId(buf, idKey).toString('hex');
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
  const objectLength = finishChunkObject(out, payloadLength, codec, req.length, encKey);
  return { seq: req.seq, kind: 'data', id, objectLength, readBytes: done, codec };
}

/** Returns the verified plaintext of a chunk object; throws ChunkError naming what failed. */
function decode(object: Buffer, id: string, expectedLength: number): Buffer {
  let plain: Buffer;
  try {
    const parsed = parseChunkObject(object);
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
  if (chunkId(plain, idKey).toString('hex') !== id) {
    throw new ChunkError('CHUNK_CORRUPT', `chunk ${id} is corrupt: its content does not hash to its id`);
  }
  return plain;
}

function handle(req: WorkerRequest): WorkerReply {
  switch (req.op) {
    case 'encode':
      return encode(req);
    case 'restore': {
      const plain = decode(slot(req.slot, req.objectLength), req.id, req.length);
      const fd = req.fd;
      let done = 0;
      while (done < plain.length) done += writeSync(fd, plain, done, plain.length - done, req.offset + done);
      return { seq: req.seq, kind: 'ok' };
    }
    case 'check': {
      const object = slot(req.slot, req.objectLength);
      if (req.full) {
        decode(object, req.id, req.length);
      } else {
        try {
          parseChunkObject(object);
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
  let reply: WorkerReply;
  try {
    reply = handle(req);
  } catch (e) {
    const err = e as Error & { code?: unknown };
    reply = {
      seq: req.seq,
      kind: 'error',
      code: typeof err.code === 'string' ? err.code : 'EIO',
      message: err.message,
    };
  }
  parentPort?.postMessage(reply);
});
