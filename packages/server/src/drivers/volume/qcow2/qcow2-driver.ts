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
 */
import { closeSync, linkSync, openSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { type FileHandle, link, mkdir, open, readdir, rename, rm, stat, symlink, unlink } from 'node:fs/promises';
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
import { BackendDirectory, checkSize, codedError, exists, isNotFound, isPlainName, leaveOpen, manageRefName } from '../backend-directory.js';
import { alignExtents, mergeExtents } from '../extent-diff.js';
import { isUnsupportedError, sparseIo } from '../sparse-io.js';
import {
  isTornOverlay,
  type LayerFormat,
  OVERLAY_PROBE,
  parseHeader,
  type Qcow2Header,
  readHeader,
  readHeaderSync,
  writeEmptyImage,
  writeEmptyImageUnflushed,
} from './qcow2-format.js';
import { copyMapped, exportable, layerReader, type Reader } from './qcow2-export.js';
import { type ChainMap, chainMap, layerAllocation, Unsupported } from './qcow2-map.js';
import { map, qemuImg, qemuIo, topOnly, withBackingOnly } from './qemu.js';

export interface Qcow2VolumeDriverOptions {
  /** Backend name (volume_backend_name). */
  name: string;
  directory: string;
  /** Most bytes an upload or restore stages in a raw temporary at a time (default 128 MiB; tests use less). */
  stagingBytes?: number;
  /** Called after a snapshot batch's renames, before its flushes: where a test stands in for a power cut. */
  beforeSnapshotFlush?: () => Promise<void>;
}

const BASE_PREFIX = '.base-';
const CLUSTER = 64 * 1024;
const READ_CHUNK = 1024 * 1024;
/**
 * The window: 128 MiB keeps a restore about as fast as one whole-volume conversion was (each window costs a
 * qemu-img start; 64 MiB measured ~30 % slower on a loaded machine) while bounding the temporary space.
 */
const STAGING = 128 * 1024 * 1024;

const roundUp = (n: number, to: number) => Math.ceil(n / to) * to;

interface SnapshotRequest {
  snapshotId: string;
  signal: AbortSignal | undefined;
  resolve: () => void;
  reject: (e: unknown) => void;
}

const noop = () => {};

export interface Layer {
  path: string;
  format: LayerFormat;
}

export class Qcow2VolumeDriver implements VolumeDriver {
  readonly name: string;
  readonly format: VolumeFormat = 'qcow2';
  readonly directory: string;
  readonly capabilities: DriverCapabilities = { cheapSnapshots: true, snapshotMethod: 'qcow2-overlay' };
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Snapshot creates waiting for their volume's next turn (see createSnapshotBatch). */
  private readonly pendingSnapshots = new Map<string, SnapshotRequest[]>();
  private runningSync: Promise<void> | null = null;
  private queuedSync: Promise<void> | null = null;
  private readonly files: BackendDirectory;
  private readonly staging: number;
  private readonly beforeSnapshotFlush: (() => Promise<void>) | undefined;

  constructor(opts: Qcow2VolumeDriverOptions) {
    this.beforeSnapshotFlush = opts.beforeSnapshotFlush;
    this.name = opts.name;
    this.directory = opts.directory;
    this.staging = roundUp(Math.max(512, opts.stagingBytes ?? STAGING), 512);
    this.files = new BackendDirectory(opts.directory);
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
    const prev = this.locks.get(volumeId) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const settled = next.then(
      () => {},
      () => {},
    );
    this.locks.set(volumeId, settled);
    void settled.then(() => {
      if (this.locks.get(volumeId) === settled) this.locks.delete(volumeId);
    });
    return next;
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

  /** The qcow2 header of an active or snapshot layer; ENOENT when missing, EINVAL when not qcow2. */
  private async header(path: string) {
    const h = await readHeader(path);
    if (!h) throw codedError('EINVAL', `${basename(path)} is not a qcow2 image`);
    return h;
  }

  /** Resolves a stored backing reference; only plain names in this directory are followed. */
  private backingPath(ref: string): string {
    if (!isPlainName(ref) && !ref.startsWith(BASE_PREFIX)) throw codedError('EINVAL', `unsafe backing reference ${ref}`);
    if (/[/\\\0]/.test(ref)) throw codedError('EINVAL', `unsafe backing reference ${ref}`);
    return join(this.directory, ref);
  }

  /** The chain from `top` down to its base: [top, backing, backing's backing, …]. Reads headers only. */
  async chain(top: string): Promise<Layer[]> {
    const out: Layer[] = [{ path: top, format: 'qcow2' }];
    for (let cur = top; ; ) {
      const h = await this.header(cur);
      if (!h.backingFile) return out;
      const format: LayerFormat = h.backingFormat === 'raw' ? 'raw' : 'qcow2';
      const next = this.backingPath(h.backingFile);
      out.push({ path: next, format });
      if (format === 'raw') return out;
      if (out.length > 100_000) throw codedError('ELOOP', `backing chain of ${basename(top)} does not end`);
      cur = next;
    }
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
      const { size } = await this.header(active);
      if (newSize < size) throw codedError('EINVAL', `cannot shrink volume ${volumeId} from ${size} to ${newSize} bytes`);
      if (newSize > size) await qemuImg(['resize', '-q', topOnly(active), String(roundUp(newSize, 512))]);
    });
  }

  async createSnapshot(volumeId: string, snapshotId: string, opts: ProgressOptions = {}): Promise<void> {
    opts.signal?.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      let batch = this.pendingSnapshots.get(volumeId);
      if (!batch) {
        const fresh: SnapshotRequest[] = [];
        batch = fresh;
        this.pendingSnapshots.set(volumeId, fresh);
        void this.serialized(volumeId, () => {
          // From here on, later creates of this volume form the next batch.
          if (this.pendingSnapshots.get(volumeId) === fresh) this.pendingSnapshots.delete(volumeId);
          return this.createSnapshotBatch(volumeId, fresh);
        });
      }
      batch.push({ snapshotId, signal: opts.signal, resolve, reject });
    });
    opts.onProgress?.(1);
  }

  /**
   * Takes every snapshot of `volumeId` requested while its previous mutation ran, in request order, so concurrent
   * creates share one round of flushes. The overlays are written but not flushed; the links and renames run back
   * to back, each snapshot freezing the layer the previous rename put in place; then the overlays' data and the
   * directory are flushed concurrently (one flush latency, not two in series), shared with other volumes' creates
   * under way, before any create resolves. The chain after any prefix of the links and renames is a valid chain.
   *
   * Durability argument. Before its overlay is renamed, each create leaves a claim (a symlink whose name says
   * "the layer at these names is an empty overlay of this size on this backing", see claimName). The claim's
   * create returns before the link and rename are issued; directory operations reach the journal in the order
   * they were made (ext4 and XFS log metadata in order; the previous design already relied on the link being durable
   * whenever the rename is), so whenever a power cut keeps a rename or link that gives an overlay a layer name, it
   * keeps the overlay's claim too. Crash points:
   * - before the link / rename: the active layer is the old, durable one; a claim may be left with a location
   *   holding another, whole file (its header reads fine) or nothing, and recovery only drops it.
   * - between link and rename: the same old inode under two names, as in an interrupted create (the snapshot
   *   task's crash handler deletes the snapshot).
   * - after the rename, before both flushes return: the overlay's bytes may be lost (zero length, zeros, a header
   *   without its refcount structures), in the active layer or in a snapshot taken later in the same batch. Its
   *   claim is durable, so recovery at start (sweepTemporaries, before any task or request) rewrites the layer from
   *   the claim: an empty overlay is fully determined by its backing name and size, so the rewritten layer reads
   *   exactly the bytes the lost one did (those of the layer it sits on). No create of the batch had resolved, so
   *   their snapshots all fail and are deleted afterwards.
   * - after both flushes: every layer is durable; a claim left behind (its removal was not flushed) names a whole
   *   file and is dropped.
   */
  private async createSnapshotBatch(volumeId: string, batch: SnapshotRequest[]): Promise<void> {
    const active = this.path('volume', volumeId);
    const live = (r: SnapshotRequest) => {
      if (!r.signal?.aborted) return true;
      r.reject(r.signal.reason);
      return false;
    };
    let todo = batch.filter(live);
    if (todo.length === 0) return;
    const prepared: { req: SnapshotRequest; snap: string; temp: string; existing: boolean }[] = [];
    const handles: FileHandle[] = [];
    const claims: string[] = [];
    let flushing = false;
    // Side by side on the thread pool: an unlink can wait for a journal commit, which must not stall the loop.
    const dropClaims = () => Promise.all(claims.splice(0).map((c) => rm(c, { force: true }))).then(noop, noop);
    try {
      // Metadata calls are synchronous on this hot path (each is microseconds in the page cache, while a
      // thread-pool round trip costs far more on a busy server); the creates and flushes wait asynchronously.
      const h = readHeaderSync(active);
      if (!h) throw codedError('EINVAL', `${basename(active)} is not a qcow2 image`);
      const current = statSync(active);
      for (const req of todo) {
        const snap = this.path('snapshot', req.snapshotId);
        const st = statSync(snap, { throwIfNoEntry: false });
        // The same inode under both names is a create interrupted between link and rename: finish it. Only the
        // first of a batch can be one (the active inode changes with every create).
        if (st && (prepared.length > 0 || st.ino !== current.ino || st.dev !== current.dev)) {
          req.reject(codedError('EEXIST', `${snap} already exists`));
          continue;
        }
        prepared.push({ req, snap, temp: this.files.temporaryFor(active), existing: st !== undefined });
      }
      // Each overlay ends up as the active layer and, when a later create of this batch freezes it, as that
      // create's snapshot: its claim names both places.
      const written = await Promise.allSettled(
        prepared.map(async (p, i) => {
          const next = prepared[i + 1];
          const claim = join(this.directory, claimName(h.size, basename(p.snap), [basename(active), ...(next ? [basename(next.snap)] : [])]));
          // Both only need to be done before the link and rename, so they are made side by side; each is
          // recorded as soon as it exists, so that neither outlives the batch whatever the other does.
          const [c, o] = await Promise.allSettled([
            // A symlink: one call makes it (no descriptor to close), and its name is all a claim says.
            symlink(CLAIM_TARGET, claim).then(() => {
              claims.push(claim);
            }),
            writeEmptyImageUnflushed(p.temp, h.size, { file: basename(p.snap), format: 'qcow2' }).then((fh) => {
              handles.push(fh);
            }),
          ]);
          if (c.status === 'rejected') throw c.reason;
          if (o.status === 'rejected') throw o.reason;
        }),
      );
      const linked: SnapshotRequest[] = [];
      let broken: unknown = null;
      let lastLinked = -1;
      for (const [i, p] of prepared.entries()) {
        const w = written[i]!;
        if (broken !== null || w.status === 'rejected' || !live(p.req)) {
          if (broken !== null) p.req.reject(broken);
          else if (w.status === 'rejected') p.req.reject(w.reason);
          rmSync(p.temp, { force: true });
          continue;
        }
        try {
          if (lastLinked >= 0 && lastLinked !== i - 1) {
            // A create was left out: the overlay now in place is frozen under this create's name, not the one its
            // claim names, so it gets a claim for that name first (rare: an abort or a failed write mid-batch).
            const claim = join(this.directory, claimName(h.size, basename(prepared[lastLinked]!.snap), [basename(p.snap)]));
            symlinkSync(CLAIM_TARGET, claim);
            claims.push(claim);
          }
          if (!p.existing) linkSync(active, p.snap);
          renameSync(p.temp, active);
          linked.push(p.req);
          lastLinked = i;
        } catch (e) {
          rmSync(p.temp, { force: true });
          p.req.reject(e);
          // The chain is not where the later overlays expect it: they are refused rather than stacked on it.
          broken = e;
        }
      }
      todo = linked;
      if (linked.length > 0) {
        await this.beforeSnapshotFlush?.();
        flushing = true;
        await Promise.all([this.syncDirectory(), ...handles.map((fh) => fh.datasync())]);
        flushing = false;
        // Every layer is durable: the claims have nothing left to describe. They go before the creates resolve (a
        // caller sees the directory as it stays), unflushed: a claim that comes back after a crash names whole
        // files, and recovery drops it. Synchronously, like the links and renames: the thread-pool round trip of
        // an async unlink cost each create 0.3-1 ms after its flush on a loaded machine (bench/snapshot trace),
        // while unlinking a symlink just after the journal committed is microseconds.
        for (const c of claims.splice(0)) {
          try {
            rmSync(c, { force: true });
          } catch {
            // The layers are durable already: a claim left behind is dropped at the next start.
          }
        }
        for (const r of linked) r.resolve();
      }
    } catch (e) {
      for (const p of prepared) rmSync(p.temp, { force: true });
      for (const r of todo) r.reject(e);
    } finally {
      await Promise.all(handles.map((fh) => fh.close().catch(noop)));
      // Nothing was renamed into place, or the claims are gone already. After a failed flush they stay, for the
      // next start to check the renamed layers against.
      if (!flushing) await dropClaims();
    }
  }

  /**
   * Group commit of the backend directory: a flush already under way may have started before the caller's rename,
   * so the caller waits for the next one, which every caller arriving meanwhile shares.
   */
  private syncDirectory(): Promise<void> {
    if (this.queuedSync) return this.queuedSync;
    if (!this.runningSync) return this.startSync();
    const queued = this.runningSync
      .then(noop, noop)
      .then(() => {
        this.queuedSync = null;
        return this.startSync();
      });
    this.queuedSync = queued;
    return queued;
  }

  private startSync(): Promise<void> {
    const running: Promise<void> = this.files.sync().finally(() => {
      if (this.runningSync === running) this.runningSync = null;
    });
    this.runningSync = running;
    return running;
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
      const child = activeSt && activeSt.ino !== st.ino ? await this.childOf(active, basename(snap)) : null;
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

  /** The layer of `top`'s chain whose backing is `name`, or null when `name` is not in the chain. */
  private async childOf(top: string, name: string): Promise<string | null> {
    for (let cur = top; ; ) {
      const h = await this.header(cur);
      if (!h.backingFile) return null;
      if (h.backingFile === name) return cur;
      if (h.backingFormat === 'raw') return null;
      cur = this.backingPath(h.backingFile);
    }
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
    const h = await this.header(source);
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
      await this.header(snap);
      const h = await this.header(active);
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

  /**
   * The chain's map (what `qemu-img map` reports: per extent the layer depth, data/zero and host offset), read
   * natively from the layers' tables; images the native reader refuses (subclusters, encryption, external data,
   * damage) go through qemu-img.
   */
  async chainMap(top: string, keepOpen = false): Promise<ChainMap> {
    try {
      return await chainMap(
        top,
        (ref, format) => ({ path: this.backingPath(ref), format: format === 'raw' ? 'raw' : 'qcow2' }),
        (raw) => map(topOnly(raw, 'raw')),
        { keepOpen },
      );
    } catch (e) {
      if (!(e instanceof Unsupported)) throw e;
      // Host offsets of such images may point into an external data file: readers go through qemu-img instead.
      const entries = (await map(top, 'qcow2')).map(({ offset: _offset, ...rest }) => rest);
      const layers = await this.chain(top);
      return { layers, size: (await this.header(top)).size, entries };
    }
  }

  async allocatedExtents(kind: 'volume' | 'snapshot', id: string): Promise<Extent[]> {
    const { entries } = await this.chainMap(this.path(kind, id));
    return mergeExtents(entries.filter((e) => e.data).map((e) => ({ offset: e.start, length: e.length })));
  }

  /**
   * The clusters allocated (data, zero or compressed) in one layer on its own, natively or through qemu-img, and
   * the layer's backing reference.
   */
  private async layerExtents(layer: string): Promise<{ extents: Extent[]; backingFile: string | null; backingFormat: string | null }> {
    try {
      return await layerAllocation(layer);
    } catch (e) {
      if (!(e instanceof Unsupported)) throw e;
      const { backingFile, backingFormat } = await this.header(layer);
      const extents = (await map(topOnly(layer))).filter((m) => m.present).map((m) => ({ offset: m.start, length: m.length }));
      return { extents, backingFile, backingFormat };
    }
  }

  /**
   * The clusters written (data or zeroes) in the layers above `fromSnapshotId` up to `toSnapshotId` (or the active
   * layer): each layer's own allocation map, read without opening its backing chain.
   */
  async changedExtents(volumeId: string, fromSnapshotId: string, toSnapshotId: string | null): Promise<Extent[] | null> {
    const fromName = this.objectName('snapshot', fromSnapshotId);
    const top = toSnapshotId === null ? this.path('volume', volumeId) : this.path('snapshot', toSnapshotId);
    const topHeader = await this.header(top);
    await this.header(this.path('snapshot', fromSnapshotId));
    // A layer below the top can vanish between reading its name and opening it (a snapshot delete renamed the
    // merged layer over the name); the chain is consistent again right after, so walk it again.
    for (let attempt = 1; ; attempt++) {
      const extents: Extent[] = [];
      try {
        for (let cur: string | null = top, depth = 0; basename(cur) !== fromName; depth++) {
          const layer: Awaited<ReturnType<typeof this.layerExtents>> = await this.layerExtents(cur).catch((e: unknown) =>
            depth > 0 && isNotFound(e) ? Promise.reject(Object.assign(new Error('layer moved'), { moved: e })) : Promise.reject(e),
          );
          for (const e of layer.extents) extents.push(e);
          cur = layer.backingFile && layer.backingFormat !== 'raw' ? this.backingPath(layer.backingFile) : null;
          if (cur === null) return null; // `from` is not below `to`
          if (depth > 100_000) throw codedError('ELOOP', `backing chain of ${basename(top)} does not end`);
        }
      } catch (e) {
        const moved = (e as { moved?: unknown }).moved;
        if (moved === undefined) throw e;
        if (attempt >= 5) throw moved;
        continue;
      }
      return alignExtents(extents, CLUSTER, topHeader.size);
    }
  }

  async zeroRange(volumeId: string, offset: number, length: number): Promise<void> {
    checkSize(offset, 'offset');
    checkSize(length, 'length');
    const active = this.path('volume', volumeId);
    await this.serialized(volumeId, async () => {
      const { size } = await this.header(active);
      const end = Math.min(size, offset + length);
      if (end <= offset) return;
      await qemuIo(['-f', 'qcow2', '-c', `write -q -z -u ${offset} ${end - offset}`, active]);
    });
  }

  // ---- raw bytes ----

  readRaw(kind: 'volume' | 'snapshot', id: string, start: number, end: number): Readable {
    return Readable.from(this.rawChunks(this.path(kind, id), start, end));
  }

  /** Every range through one chain map (the map, not the reads, dominates small ranges of a large volume). */
  async *readRawRanges(kind: 'volume' | 'snapshot', id: string, ranges: Extent[]): AsyncGenerator<{ offset: number; data: Buffer }> {
    const path = this.path(kind, id);
    const m = await this.chainMap(path, true);
    try {
      for (const r of ranges) {
        let offset = r.offset;
        for await (const data of this.mappedChunks(path, m, r.offset, r.offset + r.length - 1)) {
          yield { offset, data };
          offset += data.length;
        }
      }
    } finally {
      m.close?.();
    }
  }

  /**
   * Reads the chain's bytes through its allocation map: data clusters by pread at their host offset in the layer
   * file that holds them, zeros for the rest. Clusters without a plain host offset (compressed) are read through
   * a temporary raw export instead.
   */
  private async *rawChunks(path: string, start: number, end: number): AsyncGenerator<Buffer> {
    const m = await this.chainMap(path, true);
    try {
      yield* this.mappedChunks(path, m, start, end);
    } finally {
      m.close?.();
    }
  }

  private async *mappedChunks(path: string, m: ChainMap, start: number, end: number): AsyncGenerator<Buffer> {
    const last = Math.min(end, m.size - 1);
    if (last < start) return;
    if (m.entries.some((e) => e.data && e.offset === undefined && e.start <= last && e.start + e.length > start)) {
      const exported = await this.exportFile(path, {}, true);
      try {
        const fh = await open(exported, 'r');
        try {
          yield* preadChunks(async (b, o, l, p) => (await fh.read(b, o, l, p)).bytesRead, last + 1 - start, start);
        } finally {
          await fh.close();
        }
      } finally {
        await rm(exported, { force: true });
      }
      return;
    }
    const readers = new Map<number, Awaited<ReturnType<typeof layerReader>>>();
    try {
      for (const e of m.entries) {
        const from = Math.max(start, e.start);
        const to = Math.min(last + 1, e.start + e.length);
        if (to <= from) continue;
        if (!e.data || e.offset === undefined) {
          for (let pos = from; pos < to; pos += READ_CHUNK) yield Buffer.alloc(Math.min(READ_CHUNK, to - pos));
          continue;
        }
        let r = readers.get(e.depth);
        if (!r) {
          r = await layerReader(m, e.depth);
          readers.set(e.depth, r);
        }
        yield* preadChunks(r.read, to - from, e.offset + (from - e.start));
      }
    } finally {
      for (const r of readers.values()) await r.done();
    }
  }

  /**
   * A sparse raw temporary holding the chain's bytes: copied natively from the layer files at their mapped host
   * offsets, or converted by qemu-img when some cluster has no plain host offset (compressed, encrypted).
   */
  private async exportFile(source: string, opts: ProgressOptions = {}, viaQemu = false): Promise<string> {
    const temp = this.files.temporaryFor(source);
    try {
      const m = viaQemu ? null : await this.chainMap(source, true);
      try {
        if (m && exportable(m)) await copyMapped(m, temp, opts);
        else await qemuImg(['convert', '-U', '-f', 'qcow2', '-O', 'raw', source, temp], opts.signal);
      } finally {
        m?.close?.();
      }
    } catch (e) {
      await rm(temp, { force: true });
      throw e;
    }
    return temp;
  }

  async exportRaw(kind: 'volume' | 'snapshot', id: string, opts: ProgressOptions = {}): Promise<{ path: string; release(): Promise<void> }> {
    const path = await this.exportFile(this.path(kind, id), opts);
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
    const { size } = await this.header(active);
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
    const { size } = await this.header(active);
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
      if (h.backingFile && (kind !== 'snapshot' || !(await exists(this.backingPath(h.backingFile))))) {
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

  /** Also repairs the overlays a power cut tore before their flush (see createSnapshotBatch). */
  async sweepTemporaries(): Promise<void> {
    await this.files.sweepTemporaries();
    await this.repairTornOverlays();
  }

  /**
   * Rewrites every layer a claim names that is not a whole empty overlay while its length says it was one, from
   * the claim's (size, backing). A claim only fits a layer whose backing exists and has no whole layer on it
   * already (a claim left by an earlier, completed batch names a backing that has its child), and, when the layer's
   * header survived, only the claim that header agrees with. Snapshot layers are repaired before the active one, so
   * a layer both names still hold (a create cut between its link and its rename) comes back as one line.
   */
  async repairTornOverlays(): Promise<string[]> {
    let entries: string[];
    try {
      entries = await readdir(this.directory);
    } catch (e) {
      if (isNotFound(e)) return [];
      throw e;
    }
    const claims = entries.flatMap((n) => {
      const c = parseClaim(n);
      return c ? [c] : [];
    });
    if (claims.length === 0) return [];
    const names = new Set(claims.flatMap((c) => [c.backing, ...c.locations]));
    const layers = new Map<string, { torn: boolean; header: Qcow2Header | null }>();
    for (const n of names) {
      const fh = await open(join(this.directory, n), 'r').catch((e: unknown) => (isNotFound(e) ? null : Promise.reject(e)));
      if (!fh) continue;
      try {
        const buf = Buffer.alloc(OVERLAY_PROBE);
        const { bytesRead } = await fh.read(buf, 0, OVERLAY_PROBE, 0);
        const probe = buf.subarray(0, bytesRead);
        let header: Qcow2Header | null = null;
        try {
          header = parseHeader(probe);
        } catch {
          header = null;
        }
        layers.set(n, { torn: isTornOverlay(probe, (await fh.stat()).size), header });
      } finally {
        await fh.close();
      }
    }
    const hasChild = new Set<string>();
    for (const l of layers.values()) if (!l.torn && l.header?.backingFile) hasChild.add(l.header.backingFile);
    const torn = [...layers].filter(([, l]) => l.torn).map(([n]) => n);
    torn.sort((a, b) => Number(a.startsWith('volume-')) - Number(b.startsWith('volume-')) || a.localeCompare(b));
    const repaired: string[] = [];
    for (const n of torn) {
      const h = layers.get(n)!.header;
      const claim = claims
        .filter(
          (c) =>
            c.locations.includes(n) &&
            c.backing !== n &&
            layers.has(c.backing) &&
            !hasChild.has(c.backing) &&
            (h === null || (h.backingFile === c.backing && h.size === c.size)),
        )
        .sort((a, b) => a.backing.localeCompare(b.backing))[0];
      if (!claim) continue;
      const path = join(this.directory, n);
      const temp = this.files.temporaryFor(path);
      try {
        await writeEmptyImage(temp, claim.size, { file: claim.backing, format: 'qcow2' });
        await rename(temp, path);
      } catch (e) {
        await rm(temp, { force: true });
        throw e;
      }
      layers.set(n, { torn: false, header: { size: claim.size, clusterSize: CLUSTER, backingFile: claim.backing, backingFormat: 'qcow2' } });
      hasChild.add(claim.backing);
      repaired.push(n);
    }
    // The repairs are durable before the claims go: a claim that outlives a crash here is simply used again.
    if (repaired.length > 0) await this.files.sync();
    await Promise.all(claims.map((c) => rm(join(this.directory, c.name), { force: true })));
    return repaired;
  }
}

const CLAIM_PREFIX = '.overlay+';
/** What a claim symlink points at: nothing (recovery reads names only, and nothing follows the link). */
const CLAIM_TARGET = 'claim';

/**
 * The name of a claim: `.overlay+<size>+<backing>+<location>[+<location>]`. Layer names hold no '+' (ids are
 * UUIDs), and the longest claim (two snapshot names and a volume name) stays far below NAME_MAX.
 */
function claimName(size: number, backing: string, locations: string[]): string {
  return `${CLAIM_PREFIX}${size}+${backing}+${locations.join('+')}`;
}

function parseClaim(name: string): { name: string; size: number; backing: string; locations: string[] } | null {
  if (!name.startsWith(CLAIM_PREFIX)) return null;
  const [size, backing, ...locations] = name.slice(CLAIM_PREFIX.length).split('+');
  const layerName = (n: string | undefined): n is string => !!n && /^(volume-|_snapshot-)[^/\\\0]+$/.test(n);
  if (!size || !/^\d+$/.test(size) || !layerName(backing) || locations.length === 0 || !locations.every(layerName)) return null;
  const bytes = Number(size);
  if (!Number.isSafeInteger(bytes) || bytes % 512 !== 0) return null;
  return { name, size: bytes, backing, locations };
}

async function* preadChunks(read: Reader, length: number, position: number): AsyncGenerator<Buffer> {
  for (let done = 0; done < length; ) {
    const want = Math.min(READ_CHUNK, length - done);
    const buf = Buffer.alloc(want);
    let got = 0;
    while (got < want) {
      const bytesRead = await read(buf, got, want - got, position + done + got);
      if (bytesRead === 0) break; // past the end of a raw base: zeros
      got += bytesRead;
    }
    yield buf;
    done += want;
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
