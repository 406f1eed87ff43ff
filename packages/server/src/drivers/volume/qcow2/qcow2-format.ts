/**
 * The little of the qcow2 format the driver reads and writes itself, so that a snapshot never spawns a process
 * and never opens the backing chain: the header (size, backing reference) and a fresh empty overlay. Cluster
 * tables are read by qcow2-map.ts; everything that writes clusters goes through qemu-img / qemu-io.
 * Layout reference: docs/interop/qcow2.txt in the QEMU sources (version 3 header, 16-bit refcounts).
 */
import { closeSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';

export const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"
const HEADER_LENGTH = 104;
const EXT_BACKING_FORMAT = 0xe2792aca;
const CLUSTER_BITS = 16;
const CLUSTER = 1 << CLUSTER_BITS;

export type LayerFormat = 'qcow2' | 'raw';

export interface Qcow2Header {
  /** Virtual size in bytes. */
  size: number;
  clusterSize: number;
  /** The backing reference as stored (relative names resolve against the image's directory); null if none. */
  backingFile: string | null;
  /** From the backing-format header extension; null when the image does not say. */
  backingFormat: string | null;
}

/** Parses a header from the first bytes of a file; null when the bytes are not a qcow2 image. */
export function parseHeader(buf: Buffer): Qcow2Header | null {
  if (buf.length < 72 || buf.readUInt32BE(0) !== QCOW2_MAGIC) return null;
  const version = buf.readUInt32BE(4);
  const backingOffset = Number(buf.readBigUInt64BE(8));
  const backingSize = buf.readUInt32BE(16);
  const clusterBits = buf.readUInt32BE(20);
  const size = Number(buf.readBigUInt64BE(24));
  let backingFormat: string | null = null;
  if (version < 3 || buf.length >= HEADER_LENGTH) {
    // Version 2 headers are 72 bytes; extensions follow them as in version 3, and end at the backing file name.
    const headerLength = version < 3 ? 72 : buf.readUInt32BE(100);
    const extEnd = backingOffset > 0 ? Math.min(backingOffset, buf.length) : buf.length;
    for (let pos = headerLength; pos + 8 <= extEnd; ) {
      const type = buf.readUInt32BE(pos);
      const len = buf.readUInt32BE(pos + 4);
      if (type === 0) break;
      if (type === EXT_BACKING_FORMAT && pos + 8 + len <= buf.length) {
        backingFormat = buf.toString('latin1', pos + 8, pos + 8 + len);
      }
      pos += 8 + Math.ceil(len / 8) * 8;
    }
  }
  let backingFile: string | null = null;
  if (backingOffset > 0 && backingSize > 0) {
    if (backingOffset + backingSize > buf.length) throw new Error('qcow2 backing file name lies outside the read header');
    backingFile = buf.toString('utf8', backingOffset, backingOffset + backingSize);
  }
  return { size, clusterSize: 2 ** clusterBits, backingFile, backingFormat };
}

const HEADER_READ = 4096;

/** Reads the header of `path`; null when the file is not qcow2. */
export async function readHeader(path: string): Promise<Qcow2Header | null> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(HEADER_READ);
    const { bytesRead } = await fh.read(buf, 0, HEADER_READ, 0);
    return parseHeader(buf.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

/**
 * The bytes of an empty qcow2 v3 image of `size` bytes (64 KiB clusters) backed by `backing`: header cluster,
 * refcount table, one refcount block, then the L1 table, which is all zeros and so left as a hole. Returns the
 * header cluster's meaningful prefix, the two non-zero words and the file length.
 */
export function emptyImage(size: number, backing: { file: string; format: LayerFormat } | null): {
  header: Buffer;
  writes: { offset: number; data: Buffer }[];
  length: number;
} {
  if (!Number.isSafeInteger(size) || size < 0 || size % 512 !== 0) throw new Error(`invalid qcow2 size ${size}`);
  const l2Entries = CLUSTER / 8;
  const l1Size = Math.max(1, Math.ceil(size / (l2Entries * CLUSTER)));
  const l1Clusters = Math.ceil((l1Size * 8) / CLUSTER);
  const metaClusters = 3 + l1Clusters;
  if (metaClusters > CLUSTER / 2) throw new Error(`qcow2 size ${size} too large for one refcount block`);

  const exts: Buffer[] = [];
  if (backing) {
    const fmt = Buffer.from(backing.format, 'latin1');
    const ext = Buffer.alloc(8 + Math.ceil(fmt.length / 8) * 8);
    ext.writeUInt32BE(EXT_BACKING_FORMAT, 0);
    ext.writeUInt32BE(fmt.length, 4);
    fmt.copy(ext, 8);
    exts.push(ext);
  }
  exts.push(Buffer.alloc(8)); // end of extensions
  const extBytes = Buffer.concat(exts);
  const name = backing ? Buffer.from(backing.file, 'utf8') : Buffer.alloc(0);
  const backingOffset = HEADER_LENGTH + extBytes.length;
  if (backingOffset + name.length > CLUSTER || name.length > 1023) throw new Error('backing file name too long');

  const header = Buffer.alloc(backingOffset + name.length);
  header.writeUInt32BE(QCOW2_MAGIC, 0);
  header.writeUInt32BE(3, 4);
  header.writeBigUInt64BE(BigInt(backing ? backingOffset : 0), 8);
  header.writeUInt32BE(name.length, 16);
  header.writeUInt32BE(CLUSTER_BITS, 20);
  header.writeBigUInt64BE(BigInt(size), 24);
  header.writeUInt32BE(0, 32); // no encryption
  header.writeUInt32BE(l1Size, 36);
  header.writeBigUInt64BE(BigInt(3 * CLUSTER), 40); // L1 table
  header.writeBigUInt64BE(BigInt(CLUSTER), 48); // refcount table
  header.writeUInt32BE(1, 56); // refcount table clusters
  header.writeUInt32BE(0, 60); // no internal snapshots
  header.writeBigUInt64BE(0n, 64);
  header.writeBigUInt64BE(0n, 72); // incompatible features
  header.writeBigUInt64BE(0n, 80); // compatible features
  header.writeBigUInt64BE(0n, 88); // autoclear features
  header.writeUInt32BE(4, 96); // refcount order: 16-bit refcounts
  header.writeUInt32BE(HEADER_LENGTH, 100);
  extBytes.copy(header, HEADER_LENGTH);
  name.copy(header, backingOffset);

  const table = Buffer.alloc(8);
  table.writeBigUInt64BE(BigInt(2 * CLUSTER), 0);
  const block = Buffer.alloc(metaClusters * 2);
  for (let i = 0; i < metaClusters; i++) block.writeUInt16BE(1, i * 2);
  return {
    header,
    writes: [
      { offset: 0, data: header },
      { offset: CLUSTER, data: table },
      { offset: 2 * CLUSTER, data: block },
    ],
    length: metaClusters * CLUSTER,
  };
}

/**
 * Creates `path` (must not exist) as an empty overlay; fsynced when `sync`. The create is asynchronous: on a
 * journaling filesystem it waits for a journal commit under way (another file's flush), which measured up to
 * 17 ms under 100 concurrent snapshot creates and would stall the whole event loop. The few small writes that
 * follow are synchronous (page-cache copies, far cheaper than a thread-pool round trip each on a busy server).
 */
export async function writeEmptyImage(
  path: string,
  size: number,
  backing: { file: string; format: LayerFormat } | null,
  sync = true,
): Promise<void> {
  const fh = await writeEmptyImageUnflushed(path, size, backing);
  try {
    if (sync) await fh.datasync();
  } finally {
    await fh.close();
  }
}

/**
 * Creates `path` (must not exist) as an empty overlay and returns it still open and not flushed: the caller makes
 * it durable later (fdatasync on the handle, which follows the inode through renames) and closes it.
 */
export async function writeEmptyImageUnflushed(
  path: string,
  size: number,
  backing: { file: string; format: LayerFormat } | null,
): Promise<FileHandle> {
  const img = emptyImage(size, backing);
  const fh = await open(path, 'wx', 0o600);
  try {
    for (const w of img.writes) {
      for (let done = 0; done < w.data.length; ) done += writeSync(fh.fd, w.data, done, w.data.length - done, w.offset + done);
    }
    ftruncateSync(fh.fd, img.length);
  } catch (e) {
    await fh.close();
    throw e;
  }
  return fh;
}

/**
 * Whether `buf` (the first bytes of a file `length` bytes long) is NOT a complete empty overlay as emptyImage
 * writes one, while its length says it could have been meant as one: the file is no longer than an empty image
 * and its header is missing or torn, or its header is whole but the refcount structures are not. A file any
 * cluster was ever written to is longer than the empty image, so an image in use never reads as torn.
 */
export function isTornOverlay(buf: Buffer, length: number): boolean {
  let h: Qcow2Header | null;
  try {
    h = parseHeader(buf);
  } catch {
    h = null;
  }
  if (!h) return length <= MAX_EMPTY_LENGTH;
  if (h.size % 512 !== 0 || h.clusterSize !== CLUSTER) return false;
  let img: ReturnType<typeof emptyImage>;
  try {
    img = emptyImage(h.size, h.backingFile === null ? null : { file: h.backingFile, format: h.backingFormat === 'raw' ? 'raw' : 'qcow2' });
  } catch {
    return false;
  }
  if (length > img.length) return false;
  if (length < img.length) return true;
  return img.writes.some((w) => buf.length < w.offset + w.data.length || !buf.subarray(w.offset, w.offset + w.data.length).equals(w.data));
}

/** No empty image emptyImage makes is longer (one refcount block's worth of metadata clusters). */
export const MAX_EMPTY_LENGTH = (CLUSTER / 2) * CLUSTER;
/** Bytes to read for isTornOverlay: the header, refcount table and refcount block clusters. */
export const OVERLAY_PROBE = 3 * CLUSTER;

/** Reads the header of `path` synchronously (one small page-cache read); null when the file is not qcow2. */
export function readHeaderSync(path: string): Qcow2Header | null {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(HEADER_READ);
    const n = readSync(fd, buf, 0, HEADER_READ, 0);
    return parseHeader(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}
