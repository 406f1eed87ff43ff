/**
 * Allocation maps of qcow2 layers read natively (header, L1 and L2 tables through preads), so that chain reads
 * (allocated extents, changed-block tracking, data locations for raw reads) cost neither a process nor a walk of
 * every cluster through qemu's block layer. The result has the shape and meaning of `qemu-img map --output=json`
 * (depth, present, zero, data, host offset), which stays the fallback and the test oracle.
 *
 * Images this reader does not fully understand are refused with `Unsupported`, and the caller asks qemu-img
 * instead: encryption, external data files, extended L2 entries (subclusters), unknown incompatible features,
 * versions other than 2 and 3, and anything malformed (qemu-img then reports the corruption itself).
 * Layers are visited one at a time, top down, and each reads only the L2 entries of ranges that no layer above
 * has decided yet; memory is one L2 table plus the extent lists.
 * Layout reference: docs/interop/qcow2.txt in the QEMU sources.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Extent } from '../../../domain/ports/volume-driver.js';
import { QCOW2_MAGIC } from './qcow2-format.js';
import type { MapEntry } from './qemu.js';

/** The image cannot be read here; ask qemu-img. */
export class Unsupported extends Error {
  readonly code = 'EQCOW2UNSUPPORTED';
}

export interface MapLayer {
  path: string;
  format: 'qcow2' | 'raw';
}

/** Resolves a layer's stored backing reference (and its recorded format, null when unrecorded) to a layer. */
export type BackingResolver = (ref: string, format: string | null, child: string) => MapLayer;

/** Maps one raw layer on its own (qemu-img: holes need SEEK_DATA, which Node lacks); entries at depth 0. */
export type RawMapper = (path: string) => Promise<MapEntry[]>;

const EXT_BACKING_FORMAT = 0xe2792aca;
const INCOMPAT_DIRTY = 1n;
const INCOMPAT_COMPRESSION_TYPE = 8n;
/** Incompatible features that change nothing in how L1/L2 entries are read (refcounts, decompression). */
const INCOMPAT_UNDERSTOOD = INCOMPAT_DIRTY | INCOMPAT_COMPRESSION_TYPE;
const HEADER_READ = 4096;
const MAX_L1_BYTES = 32 * 1024 * 1024; // qemu's own limit (QCOW_MAX_L1_SIZE)

interface Geometry {
  version: number;
  clusterBits: number;
  size: number;
  l1Size: number;
  l1Offset: number;
  backingFile: string | null;
  backingFormat: string | null;
}

function u64(buf: Buffer, at: number): number {
  const hi = buf.readUInt32BE(at);
  if (hi >= 0x200000) throw new Unsupported('64-bit field beyond 2^53');
  return hi * 0x100000000 + buf.readUInt32BE(at + 4);
}

/** Parses the fields the map needs; `more` asks for a longer read when extensions or the name lie past `buf`. */
function parseGeometry(buf: Buffer, fileSize: number): Geometry | { more: number } {
  if (buf.length < 72 || buf.readUInt32BE(0) !== QCOW2_MAGIC) throw new Unsupported('not a qcow2 image');
  const version = buf.readUInt32BE(4);
  if (version !== 2 && version !== 3) throw new Unsupported(`qcow2 version ${version}`);
  const backingOffset = u64(buf, 8);
  const backingSize = buf.readUInt32BE(16);
  const clusterBits = buf.readUInt32BE(20);
  if (clusterBits < 9 || clusterBits > 21) throw new Unsupported(`cluster bits ${clusterBits}`);
  const clusterSize = 2 ** clusterBits;
  const size = u64(buf, 24);
  if (buf.readUInt32BE(32) !== 0) throw new Unsupported('encrypted image');
  const l1Size = buf.readUInt32BE(36);
  const l1Offset = u64(buf, 40);
  if (l1Offset % clusterSize !== 0 || l1Size * 8 > MAX_L1_BYTES || (l1Size > 0 && l1Offset + l1Size * 8 > fileSize)) {
    throw new Unsupported('L1 table outside the image');
  }
  const l2Span = (clusterSize / 8) * clusterSize;
  if (l1Size < Math.ceil(size / l2Span)) throw new Unsupported('L1 table too small for the virtual size');
  let headerLength = 72;
  if (version >= 3) {
    if (buf.length < 104) return { more: 104 };
    const incompatible = buf.readBigUInt64BE(72);
    if ((incompatible & ~INCOMPAT_UNDERSTOOD) !== 0n) throw new Unsupported(`incompatible features 0x${incompatible.toString(16)}`);
    headerLength = buf.readUInt32BE(100);
  }
  let backingFormat: string | null = null;
  // Extensions end at the backing file name when there is one (as qemu reads them), else with the first cluster.
  const extEnd = backingOffset > 0 ? Math.min(backingOffset, clusterSize) : clusterSize;
  for (let pos = headerLength; pos + 8 <= extEnd; ) {
    if (pos + 8 > buf.length) {
      return { more: Math.min(clusterSize, Math.max(pos + 8 + 4096, buf.length * 2)) };
    }
    const type = buf.readUInt32BE(pos);
    const len = buf.readUInt32BE(pos + 4);
    if (type === 0) break;
    const end = pos + 8 + len;
    if (end > extEnd) throw new Unsupported('header extension runs past its area');
    if (end > buf.length) {
      return { more: Math.min(clusterSize, end + 4096) };
    }
    if (type === EXT_BACKING_FORMAT) backingFormat = buf.toString('latin1', pos + 8, end);
    pos += 8 + Math.ceil(len / 8) * 8;
  }
  let backingFile: string | null = null;
  if (backingOffset > 0 && backingSize > 0) {
    const end = backingOffset + backingSize;
    if (end > clusterSize || backingSize > 1023) throw new Unsupported('backing file name outside the first cluster');
    if (end > buf.length) return { more: end };
    backingFile = buf.toString('utf8', backingOffset, end);
  }
  return { version, clusterBits, size, l1Size, l1Offset, backingFile, backingFormat };
}

/**
 * A qcow2 layer opened for reading its tables. Reads are synchronous preads: the tables are small and almost
 * always in the page cache, where a thread-pool round trip per table costs far more than the copy. The scan
 * yields to the event loop every few milliseconds so a deep chain never stalls the server.
 */
class Qcow2Layer {
  private readonly l2: Buffer;
  private readonly l2Entries: Float64Array;
  private constructor(
    private fd: number,
    readonly geo: Geometry,
    private readonly l1: Buffer,
  ) {
    const bytes = new ArrayBuffer(2 ** geo.clusterBits);
    this.l2 = Buffer.from(bytes);
    this.l2Entries = new Float64Array(bytes);
  }

  static async open(path: string): Promise<Qcow2Layer> {
    const fd = openSync(path, 'r');
    try {
      const { size: fileSize } = fstatSync(fd);
      let want = HEADER_READ;
      for (;;) {
        const buf = Buffer.alloc(want);
        const bytesRead = readSync(fd, buf, 0, want, 0);
        const g = parseGeometry(buf.subarray(0, bytesRead), fileSize);
        if (!('more' in g)) {
          const l1 = Buffer.alloc(g.l1Size * 8);
          if (l1.length > 0) readFully(fd, l1, g.l1Offset);
          return new Qcow2Layer(fd, g, l1);
        }
        if (g.more <= bytesRead || bytesRead < want) throw new Unsupported('truncated header');
        want = g.more;
      }
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  /** Hands the descriptor to the caller (who closes it); close() then does nothing. */
  detach(): number {
    const fd = this.fd;
    this.fd = -1;
    return fd;
  }

  /**
   * Calls `emit` for every allocated piece of the layer inside `ranges` (sorted, disjoint, within the virtual
   * size), in order: kind 'data' (host offset, or -1 for a compressed cluster) or 'zero' (host offset when the
   * zero cluster keeps its allocation, else -1). Unallocated clusters are skipped.
   */
  async scan(ranges: Extent[], emit: (start: number, length: number, kind: 'data' | 'zero', host: number) => void): Promise<void> {
    const cluster = 2 ** this.geo.clusterBits;
    const span = (cluster / 8) * cluster;
    const l2 = this.l2;
    const entries = this.l2Entries;
    const pieces: number[] = [];
    let k = 0;
    let pos = ranges[0]?.offset ?? 0;
    let slice = performance.now();
    while (k < ranges.length) {
      pos = Math.max(pos, ranges[k]!.offset);
      const l1i = Math.floor(pos / span);
      const spanStart = l1i * span;
      const spanEnd = spanStart + span;
      // The pieces of the ranges inside this L2 table's span, read with one pread.
      pieces.length = 0;
      for (; k < ranges.length && ranges[k]!.offset < spanEnd; k++) {
        const r = ranges[k]!;
        const end = r.offset + r.length;
        pieces.push(Math.max(pos, r.offset), Math.min(end, spanEnd));
        if (end > spanEnd) break; // continues in the next table
      }
      pos = spanEnd;
      if (l1i >= this.geo.l1Size) throw new Unsupported('range beyond the L1 table');
      const hi = this.l1.readUInt32BE(l1i * 8);
      const lo = this.l1.readUInt32BE(l1i * 8 + 4);
      const l2Offset = (hi & 0x00ffffff) * 0x100000000 + ((lo & 0xfffffe00) >>> 0);
      if (l2Offset === 0) continue;
      if (l2Offset % cluster !== 0) throw new Unsupported('unaligned L2 table');
      const lowIdx = Math.floor((pieces[0]! - spanStart) / cluster);
      const highIdx = Math.ceil((pieces[pieces.length - 1]! - spanStart) / cluster);
      readFully(this.fd, l2.subarray(lowIdx * 8, highIdx * 8), l2Offset + lowIdx * 8);
      for (let p = 0; p < pieces.length; p += 2) {
        const from = pieces[p]!;
        const to = pieces[p + 1]!;
        const cEnd = Math.ceil((to - spanStart) / cluster);
        for (let c = Math.floor((from - spanStart) / cluster); c < cEnd; c++) {
          // Unallocated, the common case, in one endian-free compare: all-zero bits are +0.0; -0.0 is only the
          // COPIED flag without an offset, which is unallocated too.
          if (entries[c] === 0) continue;
          const ehi = l2.readUInt32BE(c * 8);
          const elo = l2.readUInt32BE(c * 8 + 4);
          const cStart = spanStart + c * cluster;
          const a = Math.max(from, cStart);
          const b = Math.min(to, cStart + cluster);
          if ((ehi & 0x40000000) !== 0) {
            emit(a, b - a, 'data', -1); // compressed: no plain host offset
            continue;
          }
          const host = (ehi & 0x00ffffff) * 0x100000000 + ((elo & 0xfffffe00) >>> 0);
          if (host % cluster !== 0) throw new Unsupported('unaligned data cluster');
          if ((elo & 1) !== 0) emit(a, b - a, 'zero', host === 0 ? -1 : host + (a - cStart));
          else if (host !== 0) emit(a, b - a, 'data', host + (a - cStart));
        }
      }
      if (performance.now() - slice > YIELD_MS) {
        await new Promise((r) => setImmediate(r));
        slice = performance.now();
      }
    }
  }
}

const YIELD_MS = 8;

function readFully(fd: number, buf: Buffer, position: number): void {
  for (let got = 0; got < buf.length; ) {
    const n = readSync(fd, buf, got, buf.length - got, position + got);
    if (n === 0) throw new Unsupported('table runs past the end of the file');
    got += n;
  }
}

/** Accumulates map entries, merging neighbours exactly as `qemu-img map` does. */
class EntryList {
  readonly entries: MapEntry[] = [];
  push(e: MapEntry): void {
    const last = this.entries.at(-1);
    if (
      last &&
      last.start + last.length === e.start &&
      last.depth === e.depth &&
      last.present === e.present &&
      last.zero === e.zero &&
      last.data === e.data &&
      (last.offset === undefined) === (e.offset === undefined) &&
      (last.offset === undefined || last.offset + last.length === e.offset)
    ) {
      last.length += e.length;
      return;
    }
    this.entries.push({ ...e });
  }
}

/** `ranges` minus `taken` (both sorted and disjoint; `taken` lies within `ranges`). */
function subtract(ranges: Extent[], taken: Extent[]): Extent[] {
  const out: Extent[] = [];
  let j = 0;
  for (const r of ranges) {
    let pos = r.offset;
    const end = r.offset + r.length;
    while (j < taken.length && taken[j]!.offset < end) {
      const t = taken[j]!;
      if (t.offset > pos) out.push({ offset: pos, length: t.offset - pos });
      pos = Math.max(pos, t.offset + t.length);
      if (t.offset + t.length > end) break;
      j++;
    }
    if (pos < end) out.push({ offset: pos, length: end - pos });
  }
  return out;
}

/** Splits sorted ranges at `limit`: [below, at or above]. */
function splitAt(ranges: Extent[], limit: number): [Extent[], Extent[]] {
  const below: Extent[] = [];
  const above: Extent[] = [];
  for (const r of ranges) {
    const end = r.offset + r.length;
    if (end <= limit) below.push(r);
    else if (r.offset >= limit) above.push(r);
    else {
      below.push({ offset: r.offset, length: limit - r.offset });
      above.push({ offset: limit, length: end - limit });
    }
  }
  return [below, above];
}

export interface ChainMap {
  /** The chain, top first (index = depth), down to the lowest layer the map needed. */
  layers: MapLayer[];
  /** Virtual size of the top layer. */
  size: number;
  /** What `qemu-img map --output=json` of the top layer reports, sorted by start, covering [0, size). */
  entries: MapEntry[];
  /**
   * With `keepOpen`: descriptors, by depth, of the layers whose data the entries point into, opened while their
   * tables were read. Reading through them stays consistent while a snapshot delete commits a layer and renames
   * the result over another layer's name (paths then name other inodes). Released by close().
   */
  fds?: (number | undefined)[];
  close?(): void;
}

const MAX_DEPTH = 100_000;

/**
 * The map of the chain starting at `top` (a qcow2 layer). Throws `Unsupported` when some layer needs qemu-img.
 * Raw layers (only ever the bottom) are mapped through `rawMap`.
 */
export async function chainMap(
  top: string,
  resolve: BackingResolver,
  rawMap: RawMapper,
  opts: { keepOpen?: boolean } = {},
): Promise<ChainMap> {
  // A layer below the top can vanish between reading its name in the layer above and opening it (a snapshot
  // delete renamed the merged layer over the name): the chain is consistent again right after, so read it again.
  for (let attempt = 1; ; attempt++) {
    try {
      return await chainMapOnce(top, resolve, rawMap, opts.keepOpen === true);
    } catch (e) {
      if (!(e instanceof ChainMoved) || attempt >= 5) throw e instanceof ChainMoved ? e.cause : e;
    }
  }
}

class ChainMoved extends Error {}

async function chainMapOnce(top: string, resolve: BackingResolver, rawMap: RawMapper, keepOpen: boolean): Promise<ChainMap> {
  const layers: MapLayer[] = [{ path: top, format: 'qcow2' }];
  const decided: MapEntry[] = [];
  const fds: (number | undefined)[] = [];
  const close = () => {
    for (const fd of fds) if (fd !== undefined) closeSync(fd);
    fds.length = 0;
  };
  const opened = <T>(depth: number, fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      if (depth > 0 && (e as { code?: unknown }).code === 'ENOENT') throw new ChainMoved('layer moved', { cause: e });
      throw e;
    }
  };
  let size = 0;
  let unresolved: Extent[] = [];
  try {
    for (let depth = 0; ; depth++) {
      const layer = layers[depth]!;
      if (layer.format === 'raw') {
        const fd = opened(depth, () => openSync(layer.path, 'r'));
        let keep = false;
        try {
          // Ranges past a backing layer's end read as zeros, decided by the layer above (as qemu's block status).
          const [inside, beyond] = splitAt(unresolved, Math.ceil(fstatSync(fd).size / 512) * 512);
          settleInto(decided, beyond, depth - 1);
          if (inside.length > 0) {
            for (const e of await rawMap(layer.path)) {
              for (const r of inside) {
                const a = Math.max(r.offset, e.start);
                const b = Math.min(r.offset + r.length, e.start + e.length);
                if (b <= a) continue;
                const piece: MapEntry = { start: a, length: b - a, depth, present: e.present, zero: e.zero, data: e.data };
                if (e.offset !== undefined) piece.offset = e.offset + (a - e.start);
                if (piece.data && piece.offset !== undefined) keep = keepOpen;
                decided.push(piece);
              }
            }
          }
        } finally {
          if (keep) fds[depth] = fd;
          else closeSync(fd);
        }
        unresolved = [];
        break;
      }
      const img = await Qcow2Layer.open(layer.path).catch((e: unknown) => {
        if (depth > 0 && (e as { code?: unknown }).code === 'ENOENT') throw new ChainMoved('layer moved', { cause: e });
        throw e;
      });
      try {
        const g = img.geo;
        if (depth === 0) {
          size = g.size;
          unresolved = size > 0 ? [{ offset: 0, length: size }] : [];
        } else {
          const [inside, beyond] = splitAt(unresolved, g.size);
          settleInto(decided, beyond, depth - 1);
          unresolved = inside;
        }
        let holdsData = false;
        if (unresolved.length > 0) {
          const taken: Extent[] = [];
          await img.scan(unresolved, (start, length, kind, host) => {
            const last = taken.at(-1);
            if (last && last.offset + last.length === start) last.length += length;
            else taken.push({ offset: start, length });
            const e: MapEntry = { start, length, depth, present: true, zero: kind === 'zero', data: kind === 'data' };
            if (host >= 0) e.offset = host;
            if (e.data && host >= 0) holdsData = true;
            decided.push(e);
          });
          unresolved = subtract(unresolved, taken);
        }
        if (keepOpen && holdsData) fds[depth] = img.detach();
        if (unresolved.length === 0 || !g.backingFile) break;
        if (layers.length >= MAX_DEPTH) throw new Unsupported('backing chain does not end');
        layers.push(resolve(g.backingFile, g.backingFormat, layer.path));
      } finally {
        img.close();
      }
    }
  } catch (e) {
    close();
    throw e;
  }
  // Never decided by any layer: reads as zeros from the bottom of the chain.
  settleInto(decided, unresolved, layers.length - 1);
  decided.sort((a, b) => a.start - b.start);
  const out = new EntryList();
  for (const e of decided) out.push(e);
  const result: ChainMap = { layers, size, entries: out.entries };
  if (keepOpen) Object.assign(result, { fds, close });
  return result;
}

function settleInto(list: MapEntry[], ranges: Extent[], depth: number): void {
  for (const r of ranges) list.push({ start: r.offset, length: r.length, depth, present: false, zero: true, data: false });
}

/**
 * Everything allocated (data, zero and compressed clusters) in one qcow2 layer on its own, as sorted merged
 * extents clipped to its virtual size: what `qemu-img map` of the layer opened without its backing reports as
 * present. Throws `Unsupported` when the layer needs qemu-img.
 */
export async function layerAllocation(
  path: string,
): Promise<{ size: number; extents: Extent[]; backingFile: string | null; backingFormat: string | null }> {
  const img = await Qcow2Layer.open(path);
  try {
    const extents: Extent[] = [];
    const size = img.geo.size;
    if (size > 0) {
      await img.scan([{ offset: 0, length: size }], (start, length) => {
        const last = extents.at(-1);
        if (last && last.offset + last.length === start) last.length += length;
        else extents.push({ offset: start, length });
      });
    }
    return { size, extents, backingFile: img.geo.backingFile, backingFormat: img.geo.backingFormat };
  } finally {
    img.close();
  }
}

/** The header fields of a qcow2 file as this reader sees them (for tests and diagnostics). */
export async function readGeometry(path: string): Promise<Geometry> {
  const img = await Qcow2Layer.open(path);
  const g = img.geo;
  await img.close();
  return g;
}
