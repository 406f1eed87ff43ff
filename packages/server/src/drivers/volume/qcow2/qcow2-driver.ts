/**
 * The `qcow2` volume driver: a volume is a chain of qcow2 files in the backend directory. The active layer is
 * always `volume-<id>`; a snapshot freezes it under `_snapshot-<id>` (a hard link) and renames a fresh empty
 * overlay, backed by that name, onto the active path. The overlay's header is written natively, so a snapshot
 * costs a link, a small write and a rename whatever the volume's size and chain depth. Deleting a snapshot commits
 * its child layer into it and renames the result onto the child's name, so every other snapshot keeps its bytes.
 *
 * Layer files only ever name their backing by a plain file name in the same directory, with its format recorded
 * (never probed). Raw images adopted through manage become a hidden raw bottom layer `.base-<id>` under a qcow2
 * overlay, so the active path is always qcow2. Mutations of one volume's chain are serialized inside the driver;
 * readers open the chain with force-share (-U) and never block them.
 *
 * Snapshot creates (batched, with their crash recovery) are qcow2-snapshot-batch.ts and qcow2-claims.ts; reading
 * the chain's headers and maps is qcow2-chain.ts, its bytes qcow2-read.ts.
 */
import { link, mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import type {
  BackendObject,
  DriverCapabilities,
  Extent,
  ImportTarget,
  ObjectInfo,
  ProgressOptions,
  VolumeDriver,
  VolumeFormat,
} from '../../../domain/ports/volume-driver.js';
import { BackendDirectory, checkSize, codedError, exists, isNotFound, leaveOpen, manageRefName } from '../backend-directory.js';
import { mergeExtents } from '../extent-diff.js';
import { KeyedQueue } from '../keyed-queue.js';
import { isUnsupportedError, sparseIo } from '../sparse-io.js';
import { BASE_PREFIX, type Layer, Qcow2Chains } from './qcow2-chain.js';
import { repairTornOverlays } from './qcow2-claims.js';
import { readHeader, writeEmptyImage } from './qcow2-format.js';
import type { ChainMap } from './qcow2-map.js';
import { ChainReader } from './qcow2-read.js';
import { SnapshotBatches } from './qcow2-snapshot-batch.js';
import { qemuImg, qemuIo, topOnly, withBackingOnly } from './qemu.js';

export interface Qcow2VolumeDriverOptions {
  /** Backend name (volume_backend_name). */
  name: string;
  directory: string;
  /** Most bytes an upload or restore stages in a raw temporary at a time (default 128 MiB; tests use less). */
  stagingBytes?: number;
  /** Called after a snapshot batch's renames, before its flushes: where a test stands in for a power cut. */
  beforeSnapshotFlush?: () => Promise<void>;
}

/**
 * The window: 128 MiB keeps a restore about as fast as one whole-volume conversion was (each window costs a
 * qemu-img start; 64 MiB measured ~30 % slower on a loaded machine) while bounding the temporary space.
 */
const STAGING = 128 * 1024 * 1024;

const roundUp = (n: number, to: number) => Math.ceil(n / to) * to;

export class Qcow2VolumeDriver implements VolumeDriver {
  readonly name: string;
  readonly format: VolumeFormat = 'qcow2';
  readonly directory: string;
  readonly capabilities: DriverCapabilities = { cheapSnapshots: true, snapshotMethod: 'qcow2-overlay' };
  /** Mutations of one volume's chain, one at a time. */
  private readonly locks = new KeyedQueue();
  private readonly files: BackendDirectory;
  private readonly staging: number;
  private readonly snapshots: SnapshotBatches;
  private readonly layers: Qcow2Chains;
  private readonly reader: ChainReader;

  constructor(opts: Qcow2VolumeDriverOptions) {
    this.name = opts.name;
    this.directory = opts.directory;
    this.staging = roundUp(Math.max(512, opts.stagingBytes ?? STAGING), 512);
    this.files = new BackendDirectory(opts.directory);
    this.layers = new Qcow2Chains(opts.directory);
    this.reader = new ChainReader(this.layers, this.files);
    this.snapshots = new SnapshotBatches(this.files, this.locks, opts.beforeSnapshotFlush);
  }

  path(kind: 'volume' | 'snapshot', id: string): string {
    return this.files.path(kind, id);
  }

  objectName(kind: 'volume' | 'snapshot', id: string): string {
    return this.files.objectName(kind, id);
  }

  volumeConnection(volumeId: string): { devicePath: string; format: VolumeFormat } {
    return { devicePath: this.path('volume', volumeId), format: 'qcow2' };
  }

  /** Runs `fn` after every earlier mutation of the same volume has settled. */
  private serialized<T>(volumeId: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(volumeId, fn);
  }

  /** Puts `temp` at `target` unless `target` exists (link refuses to replace), then drops the temporary name. */
  private async publish(temp: string, target: string): Promise<void> {
    try {
      await link(temp, target);
    } catch (e) {
      if ((e as { code?: unknown }).code === 'EEXIST') throw codedError('EEXIST', `${target} already exists`);
      throw e;
    } finally {
      await rm(temp, { force: true });
    }
    await this.files.sync();
  }

  /** The chain from `top` down to its base: [top, backing, backing's backing, …]. Reads headers only. */
  chain(top: string): Promise<Layer[]> {
    return this.layers.chain(top);
  }

  // ---- lifecycle ----

  async createVolume(volumeId: string, size: number): Promise<void> {
    checkSize(size);
    const target = this.path('volume', volumeId);
    if (await exists(target)) throw codedError('EEXIST', `${target} already exists`);
    const temp = this.files.temporaryFor(target);
    try {
      await writeEmptyImage(temp, roundUp(size, 512), null);
    } catch (e) {
      await rm(temp, { force: true });
      throw e;
    }
    await this.publish(temp, target);
  }

  async deleteVolume(volumeId: string): Promise<void> {
    const active = this.path('volume', volumeId);
    await this.serialized(volumeId, async () => {
      await rm(active, { force: true });
      await rm(join(this.directory, `${BASE_PREFIX}${volumeId}`), { force: true });
      await this.files.removeTemporariesOf(active);
    });
  }

  async extendVolume(volumeId: string, newSize: number): Promise<void> {
    checkSize(newSize, 'new size');
    const active = this.path('volume', volumeId);
    await this.serialized(volumeId, async () => {
      const { size } = await this.layers.header(active);
      if (newSize < size) throw codedError('EINVAL', `cannot shrink volume ${volumeId} from ${size} to ${newSize} bytes`);
      if (newSize > size) await qemuImg(['resize', '-q', topOnly(active), String(roundUp(newSize, 512))]);
    });
  }

  async createSnapshot(volumeId: string, snapshotId: string, opts: ProgressOptions = {}): Promise<void> {
    opts.signal?.throwIfAborted();
    await this.snapshots.create(volumeId, snapshotId, opts.signal);
    opts.onProgress?.(1);
  }

  /**
   * Commits the snapshot's child layer (the next newer snapshot or the active layer) into the snapshot's layer and
   * renames the merged file onto the child's name: the child's bytes stay the same, older snapshots are not
   * touched, and only the child's clusters are copied. A crash before the rename leaves the child intact (its
   * clusters override whatever was committed below it), so a replay simply commits again.
   */
  async deleteSnapshot(volumeId: string, snapshotId: string): Promise<void> {
    const snap = this.path('snapshot', snapshotId);
    await this.serialized(volumeId, async () => {
      await this.files.removeTemporariesOf(snap);
      const st = await stat(snap).catch((e: unknown) => (isNotFound(e) ? null : Promise.reject(e)));
      if (!st) return;
      const active = this.path('volume', volumeId);
      const activeSt = await stat(active).catch((e: unknown) => (isNotFound(e) ? null : Promise.reject(e)));
      const child = activeSt && activeSt.ino !== st.ino ? await this.layers.childOf(active, basename(snap)) : null;
      if (child) {
        await qemuImg(['commit', '-q', '-d', withBackingOnly(child, snap)]);
        await rename(snap, child);
      } else {
        await unlink(snap);
        await rm(join(this.directory, `${BASE_PREFIX}${snapshotId}`), { force: true });
      }
      await this.files.sync();
    });
  }

  async createVolumeFromSnapshot(snapshotId: string, volumeId: string, size: number, opts: ProgressOptions = {}): Promise<void> {
    checkSize(size);
    await this.copyInto(this.path('snapshot', snapshotId), this.path('volume', volumeId), size, opts);
  }

  async cloneVolume(sourceVolumeId: string, volumeId: string, size: number, opts: ProgressOptions = {}): Promise<void> {
    checkSize(size);
    await this.copyInto(this.path('volume', sourceVolumeId), this.path('volume', volumeId), size, opts);
  }

  /** A standalone sparse copy of `source`'s chain, grown to `size`, published at `target` (never replaced). */
  private async copyInto(source: string, target: string, size: number, opts: ProgressOptions): Promise<void> {
    opts.signal?.throwIfAborted();
    const h = await this.layers.header(source);
    if (size < h.size) throw codedError('EINVAL', `size ${size} is smaller than the source's ${h.size} bytes`);
    if (await exists(target)) throw codedError('EEXIST', `${target} already exists`);
    const temp = this.files.temporaryFor(target);
    try {
      await qemuImg(['convert', '-U', '-f', 'qcow2', '-O', 'qcow2', source, temp], opts.signal);
      if (size > h.size) await qemuImg(['resize', '-q', '-f', 'qcow2', temp, String(roundUp(size, 512))], opts.signal);
      const fh = await open(temp, 'r+');
      await fh.sync().finally(() => fh.close());
      opts.signal?.throwIfAborted();
    } catch (e) {
      await rm(temp, { force: true });
      throw e;
    }
    await this.publish(temp, target);
    opts.onProgress?.(1);
  }

  /**
   * A new empty overlay on the snapshot replaces the active layer when the snapshot is the newest layer (O(1)).
   * When newer layers exist (hidden backup snapshots), the overlay is rebased onto the current top frozen layer
   * with a safe rebase, which copies into it exactly the clusters that differ, so the chain stays linear.
   */
  async revertToSnapshot(volumeId: string, snapshotId: string, opts: ProgressOptions = {}): Promise<void> {
    const active = this.path('volume', volumeId);
    const snap = this.path('snapshot', snapshotId);
    opts.signal?.throwIfAborted();
    await this.serialized(volumeId, async () => {
      await this.layers.header(snap);
      const h = await this.layers.header(active);
      const temp = this.files.temporaryFor(active);
      try {
        await writeEmptyImage(temp, h.size, { file: basename(snap), format: 'qcow2' });
        if (h.backingFile !== basename(snap)) {
          const args = ['rebase', '-q', '-f', 'qcow2', '-b', h.backingFile ?? ''];
          if (h.backingFile) args.push('-F', h.backingFormat === 'raw' ? 'raw' : 'qcow2');
          await qemuImg([...args, temp], opts.signal);
        }
        opts.signal?.throwIfAborted();
        await rename(temp, active);
      } catch (e) {
        await rm(temp, { force: true });
        throw e;
      }
      await this.files.sync();
    });
    opts.onProgress?.(1);
  }

  // ---- inspection ----

  async stat(kind: 'volume' | 'snapshot', id: string): Promise<ObjectInfo | null> {
    const path = this.path(kind, id);
    try {
      const st = await stat(path);
      const h = await readHeader(path);
      return { size: h ? h.size : st.size, allocated: st.blocks * 512 };
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  /** The chain's map (what `qemu-img map` reports), see Qcow2Chains.map. */
  chainMap(top: string, keepOpen = false): Promise<ChainMap> {
    return this.layers.map(top, keepOpen);
  }

  async allocatedExtents(kind: 'volume' | 'snapshot', id: string): Promise<Extent[]> {
    const { entries } = await this.chainMap(this.path(kind, id));
    return mergeExtents(entries.filter((e) => e.data).map((e) => ({ offset: e.start, length: e.length })));
  }

  /**
   * The clusters written (data or zeroes) in the layers above `fromSnapshotId` up to `toSnapshotId` (or the active
   * layer): each layer's own allocation map, read without opening its backing chain.
   */
  async changedExtents(volumeId: string, fromSnapshotId: string, toSnapshotId: string | null): Promise<Extent[] | null> {
    const fromName = this.objectName('snapshot', fromSnapshotId);
    const top = toSnapshotId === null ? this.path('volume', volumeId) : this.path('snapshot', toSnapshotId);
    const topHeader = await this.layers.header(top);
    await this.layers.header(this.path('snapshot', fromSnapshotId));
    return this.layers.changedAbove(top, fromName, topHeader.size);
  }

  async zeroRange(volumeId: string, offset: number, length: number): Promise<void> {
    checkSize(offset, 'offset');
    checkSize(length, 'length');
    const active = this.path('volume', volumeId);
    await this.serialized(volumeId, async () => {
      const { size } = await this.layers.header(active);
      const end = Math.min(size, offset + length);
      if (end <= offset) return;
      await qemuIo(['-f', 'qcow2', '-c', `write -q -z -u ${offset} ${end - offset}`, active]);
    });
  }

  // ---- raw bytes ----

  readRaw(kind: 'volume' | 'snapshot', id: string, start: number, end: number): Readable {
    return Readable.from(this.reader.chunks(this.path(kind, id), start, end));
  }

  /** Every range through one chain map (the map, not the reads, dominates small ranges of a large volume). */
  async *readRawRanges(kind: 'volume' | 'snapshot', id: string, ranges: Extent[]): AsyncGenerator<{ offset: number; data: Buffer }> {
    const path = this.path(kind, id);
    const m = await this.chainMap(path, true);
    try {
      for (const r of ranges) {
        let offset = r.offset;
        for await (const data of this.reader.mappedChunks(path, m, r.offset, r.offset + r.length - 1)) {
          yield { offset, data };
          offset += data.length;
        }
      }
    } finally {
      m.close?.();
    }
  }

  async exportRaw(kind: 'volume' | 'snapshot', id: string, opts: ProgressOptions = {}): Promise<{ path: string; release(): Promise<void> }> {
    const path = await this.reader.exportFile(this.path(kind, id), opts);
    opts.onProgress?.(1);
    return { path, release: () => rm(path, { force: true }) };
  }

  /**
   * A sparse raw temporary of the volume's size. A restore fills it front to back window by window: each window is
   * written into the volume with `qemu-img convert -n` and punched out of the temporary, so the temporary holds at
   * most two windows (the restore writes the next while this one converts) instead of the whole volume; commit() writes whatever no window did.
   */
  async importRaw(volumeId: string): Promise<ImportTarget> {
    const active = this.path('volume', volumeId);
    if (active.includes(',')) throw codedError('EINVAL', 'backend directory names may not contain commas');
    const { size } = await this.layers.header(active);
    const temp = this.files.temporaryFor(active);
    const fh = await open(temp, 'wx', 0o600);
    await fh
      .truncate(size)
      .finally(() => fh.close())
      .catch(async (e: unknown) => {
        await rm(temp, { force: true });
        throw e;
      });
    let done = 0;
    const io = sparseIo();
    const put = (offset: number, length: number, signal?: AbortSignal) =>
      this.serialized(volumeId, async () => {
        if (length <= 0) return;
        const from = `driver=raw,offset=${offset},size=${length},file.driver=file,file.filename=${temp}`;
        const to = `driver=raw,offset=${offset},size=${length},file.driver=qcow2,file.file.filename=${active}`;
        await qemuImg(['convert', '-n', '--image-opts', from, '--target-image-opts', to], signal);
      });
    return {
      path: temp,
      window: {
        bytes: this.staging,
        flush: async (offset, length) => {
          if (offset !== done) throw codedError('EINVAL', `windows must follow each other (at ${done}, not ${offset})`);
          const end = Math.min(size, offset + length);
          await put(offset, end - offset);
          done = end;
          // Where holes cannot be punched the temporary keeps its bytes (as before windows existed).
          await io.punchHole(temp, offset, end - offset).catch((e: unknown) => {
            if (!isUnsupportedError(e)) throw e;
          });
        },
      },
      commit: async (opts: ProgressOptions = {}) => {
        await put(done, size - done, opts.signal);
        done = size;
        opts.onProgress?.(1);
      },
      release: () => rm(temp, { force: true }),
    };
  }

  /**
   * Writes the bytes into the volume through a bounded staging file: at most STAGING bytes are spooled to a raw
   * temporary, written with `qemu-img convert -n` into that window of the volume, and the temporary is reused for
   * the next window. Neither memory nor temporary space grows with the data (an upload of N bytes needs about N
   * bytes free in the volume, not 2N), and no qemu process holds the data in memory. The last window is padded to
   * 512-byte sectors with the volume's own bytes.
   */
  async writeRaw(volumeId: string, source: AsyncIterable<Buffer>, offset = 0): Promise<number> {
    checkSize(offset, 'offset');
    if (offset % 512 !== 0) throw codedError('EINVAL', `offset ${offset} is not a multiple of 512`);
    const active = this.path('volume', volumeId);
    if (active.includes(',')) throw codedError('EINVAL', 'backend directory names may not contain commas');
    const { size } = await this.layers.header(active);
    const temp = this.files.temporaryFor(active);
    let written = 0;
    let overflow = false;
    const fh = await open(temp, 'wx', 0o600);
    try {
      /** Bytes of the current window in the temporary, which starts at volume offset `offset + written - staged`. */
      let staged = 0;
      const flush = async () => {
        if (staged === 0) return;
        const at = offset + written - staged;
        const padded = roundUp(staged, 512);
        if (padded > staged) {
          const tail = await collect(this.readRaw('volume', volumeId, at + staged, at + padded - 1));
          await fh.write(tail, 0, tail.length, staged);
        }
        await fh.truncate(padded);
        await fh.datasync();
        const window = `driver=raw,offset=${at},size=${padded},file.driver=qcow2,file.file.filename=${active}`;
        await this.serialized(volumeId, () =>
          qemuImg(['convert', '-n', '-f', 'raw', temp, '--target-image-opts', window]),
        );
        staged = 0;
      };
      for await (const chunk of leaveOpen(source)) {
        const n = Math.min(chunk.length, Math.max(0, size - offset - written));
        for (let done = 0; done < n; ) {
          const take = Math.min(n - done, this.staging - staged);
          for (let w = 0; w < take; ) w += (await fh.write(chunk, done + w, take - w, staged + w)).bytesWritten;
          staged += take;
          written += take;
          done += take;
          if (staged === this.staging) await flush();
        }
        if (n < chunk.length) {
          overflow = true;
          break;
        }
      }
      await flush();
    } finally {
      await fh.close().catch(() => {});
      await rm(temp, { force: true });
    }
    if (overflow) throw codedError('EINVAL', `data runs past the end of volume ${volumeId} (${size} bytes)`);
    return written;
  }

  // ---- manage ----

  async listObjects(): Promise<BackendObject[]> {
    return this.files.listObjects((path, size) => this.virtualSize(path, size));
  }

  validateManageRef(ref: unknown): string {
    return manageRefName(ref);
  }

  async inspectObject(name: string): Promise<BackendObject | null> {
    const ref = await this.files.lookUp(name);
    return ref?.isFile ? { name, size: await this.virtualSize(ref.path, ref.size) } : null;
  }

  /**
   * qcow2 images without a backing file are taken as they are (link + unlink); any other file is taken as raw
   * bytes: it becomes the hidden bottom layer `.base-<id>` under a new qcow2 overlay, so nothing is copied and the
   * active path stays qcow2. Replays after a crash find the work done or finish it.
   */
  async adoptObject(name: string, kind: 'volume' | 'snapshot', id: string): Promise<void> {
    const target = this.path(kind, id);
    const base = join(this.directory, `${BASE_PREFIX}${id}`);
    const st = await this.files.adoptionSource(name, target, [base]);
    if (st === null) return;
    const source = st.path;
    const h = await readHeader(source);
    // A snapshot unmanaged earlier is still a layer of its volume's chain: the layer above names it as backing file.
    const child = h && kind === 'snapshot' ? await this.layerBackedBy(basename(source)) : null;
    const prior = await stat(target).catch(() => null);
    // A replay after the link but before the unlink finds the same file under both names.
    const replay = prior !== null && prior.ino === st.ino && prior.dev === st.dev;
    if (prior && !replay) throw codedError('EEXIST', `${target} already exists`);
    if (h) {
      if (h.backingFile && (kind !== 'snapshot' || !(await exists(this.layers.backingPath(h.backingFile))))) {
        throw codedError('EINVAL', `${JSON.stringify(name)} has a backing file; only standalone images can be managed`);
      }
      if (!replay) {
        try {
          await link(source, target);
        } catch (e) {
          if ((e as { code?: unknown }).code === 'EEXIST') throw codedError('EEXIST', `${target} already exists`);
          throw e;
        }
      }
      // Header-only rewrite of the layer above, so the chain follows the layer to its new name.
      if (child) await qemuImg(['rebase', '-u', '-f', 'qcow2', '-F', 'qcow2', '-b', basename(target), child]);
    } else {
      try {
        await link(source, base);
      } catch (e) {
        if ((e as { code?: unknown }).code !== 'EEXIST') throw e;
        const b = await stat(base);
        if (b.ino !== st.ino || b.dev !== st.dev) throw codedError('EEXIST', `${base} already exists`);
      }
      const temp = this.files.temporaryFor(target);
      try {
        await writeEmptyImage(temp, roundUp(st.size, 512), { file: basename(base), format: 'raw' });
      } catch (e) {
        await rm(temp, { force: true });
        throw e;
      }
      await this.publish(temp, target);
    }
    await unlink(source);
    await this.files.sync();
  }

  /** The layer file in this backend whose backing file is `name`, if any (a scan: manage is a rare admin call). */
  private async layerBackedBy(name: string): Promise<string | null> {
    for (const entry of await readdir(this.directory)) {
      if (!entry.startsWith('volume-') && !entry.startsWith('_snapshot-')) continue;
      const path = join(this.directory, entry);
      const hdr = await readHeader(path).catch(() => null);
      if (hdr?.backingFile === name) return path;
    }
    return null;
  }

  private async virtualSize(path: string, fileSize: number): Promise<number> {
    const h = await readHeader(path).catch(() => null);
    return h ? h.size : fileSize;
  }

  /** Also repairs the overlays a power cut tore before their flush (see qcow2-snapshot-batch.ts). */
  async sweepTemporaries(): Promise<void> {
    await this.files.sweepTemporaries();
    await this.repairTornOverlays();
  }

  /** The layers a power cut tore that claims name, rewritten (see qcow2-claims.ts); their names. */
  repairTornOverlays(): Promise<string[]> {
    return repairTornOverlays(this.files);
  }
}

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** Creates the directory and returns the driver. */
export async function createQcow2VolumeDriver(opts: Qcow2VolumeDriverOptions): Promise<Qcow2VolumeDriver> {
  await mkdir(opts.directory, { recursive: true });
  return new Qcow2VolumeDriver(opts);
}
