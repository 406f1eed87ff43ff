/**
 * The `rbd` volume driver: volumes are RBD images `volume-<id>` in one Ceph pool and snapshots are RBD snapshots
 * `snapshot-<id>` of their volume's image, as Cinder's RBD driver names them. Snapshots are O(1) (a snapshot id
 * from the monitor, no data copied).
 *
 * Clones follow Cinder's `rbd_flatten_volume_from_snapshot = False`: a volume from a snapshot is a copy-on-write
 * clone of the protected snapshot, and a volume from a volume clones a snapshot `volume-<new>.clone_snap` taken of
 * the source for it. A clone is flattened only when its parent must go: deleting a snapshot (or a volume with
 * snapshots) flattens the clones that still depend on it first, so a delete never fails with "snapshot is busy"
 * and never leaves a clone without its data. Deleting a clone made from a volume also removes the `.clone_snap`
 * it was made from.
 *
 * Two ways into Ceph. With the librbd addon (librbd.ts, native/rbd_io.c) the hot paths go through one librados
 * client per cluster, kept for the process: byte-range reads and writes (backups, restores, zeroing), allocated and changed
 * extents (rbd_diff_iterate2, answered from the object map when the image has fast-diff), snapshot create and
 * image sizes. Rare control calls (create, clone, protect, flatten, resize, rollback, rename, remove, listings)
 * stay with the `rbd` tool: each costs a process and a fresh cluster connection, tens of milliseconds next to the
 * work they start, and the tool's own sequencing (flatten progress, trash handling) is what Cinder's users know.
 * Without the addon everything goes through the tool: bytes through its diff streams (export-diff /
 * import-diff), changed extents through `rbd diff --from-snap`.
 *
 * This module keeps the driver's decisions (which path, which names, what a clone or delete must do first); the
 * byte paths are librbd-io.ts and rbd-tool-io.ts, the connection librbd-access.ts, the pool's names and look-ups
 * rbd-pool-objects.ts, and what the cluster reports ceph-cluster.ts.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rm, stat as fsStat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type {
  BackendObject,
  DriverCapabilities,
  Extent,
  ImportTarget,
  ObjectInfo,
  ProgressOptions,
  ReadRangesOptions,
  VolumeDriver,
  VolumeFormat,
} from '../../../domain/ports/volume-driver.js';
import { checkSize, codedError, leaveOpen, manageRefName } from '../backend-directory.js';
import { mergeExtents } from '../extent-diff.js';
import { sparseIo } from '../sparse-io.js';
import { cephDf, poolCapacity, readMonitors } from './ceph-cluster.js';
import type { LibrbdPool } from './librbd.js';
import { LibrbdAccess } from './librbd-access.js';
import { commitLib, exportLib, readRangesLib, writeRawLib } from './librbd-io.js';
import { RbdCli, type RbdConnection } from './rbd-cli.js';
import { isCode, type Located, RbdPoolObjects } from './rbd-pool-objects.js';
import { commitTool, exportTool, readRangesTool, writeRawTool, zeroRangeTool } from './rbd-tool-io.js';

export interface RbdVolumeDriverOptions extends RbdConnection {
  /** Backend name (volume_backend_name). */
  name: string;
  /** Ceph pool holding the images. */
  pool: string;
  /** Local directory for temporaries (exports for backups, restore staging). */
  directory: string;
  /**
   * RBD object size in bytes for new images (Cinder's rbd_store_chunk_size, default 4 MiB). Changed extents
   * and, on stores without sparse objects (memstore), allocation are reported at this granularity.
   */
  objectSize?: number;
  /** Cinder's rbd_secret_uuid: the libvirt secret consumers use for the key (reported in connection info). */
  secretUuid?: string;
  /**
   * Use librbd (the rbd_io addon) for the hot paths when it is built (default true). False keeps every call on
   * the `rbd` tool (the bench compares the two; a cluster librbd cannot reach does the same by itself).
   */
  librbd?: boolean;
}

/** What os-initialize_connection reports for an RBD volume (Cinder's RBDDriver.initialize_connection). */
export interface RbdConnectionInfo {
  driver_volume_type: 'rbd';
  data: Record<string, unknown>;
}

const TEMP_PREFIX = '.tmp-';
const CLONE_SNAP_SUFFIX = '.clone_snap';

/** RBD image and snapshot names a manage reference may give: no pool or snapshot separators, nothing hidden. */
function checkForeignName(name: string): void {
  // eslint-disable-next-line no-control-regex
  if (name.length === 0 || name.length > 255 || /[/\\\x00-\x1f\x7f]/.test(name) || name.startsWith('.')) {
    throw codedError('EINVAL', `${JSON.stringify(name)} is not an RBD image or snapshot name of this pool`);
  }
}

interface SnapRow {
  name: string;
  size: number;
  protected: string;
}

export class RbdVolumeDriver implements VolumeDriver {
  readonly name: string;
  readonly format: VolumeFormat = 'raw';
  readonly directory: string;
  readonly pool: string;
  readonly capabilities: DriverCapabilities = { cheapSnapshots: true, snapshotMethod: 'rbd-snapshot' };
  readonly cli: RbdCli;
  private monitors: { hosts: string[]; ports: string[] } = { hosts: [], ports: [] };
  private readonly librbd: LibrbdAccess;
  private readonly objects: RbdPoolObjects;

  constructor(private readonly opts: RbdVolumeDriverOptions) {
    this.name = opts.name;
    this.pool = opts.pool;
    this.directory = opts.directory;
    this.cli = new RbdCli(opts);
    this.librbd = new LibrbdAccess(opts, opts.pool, opts.librbd !== false);
    this.cli.ready = () => this.librbd.settled();
    this.objects = new RbdPoolObjects(opts.pool, this.cli, this.librbd);
  }

  /** Why the hot paths use the `rbd` tool, when they do (for diagnostics and the bench). */
  get librbdUnavailable(): string | undefined {
    return this.librbd.unavailable;
  }

  /** The backend's librbd connection, or null: the hot paths then take the `rbd` tool (LibrbdAccess says when). */
  lib(): Promise<LibrbdPool | null> {
    return this.librbd.get();
  }

  path(kind: 'volume' | 'snapshot', id: string): string {
    // Not a file: an identifier for the object (callers compare it; readers go through readRaw/exportRaw).
    return kind === 'volume' ? `rbd:${this.objects.spec(this.objects.volumeImage(id))}` : `rbd:${this.pool}/@${this.objects.snapName(id)}`;
  }

  volumeConnection(volumeId: string): { devicePath: string; format: VolumeFormat } {
    return { devicePath: this.path('volume', volumeId), format: 'raw' };
  }

  /** Cinder's RBD connection info: the consumer opens `pool/volume-<id>` through librbd with these monitors. */
  connectionInfo(volumeId: string): RbdConnectionInfo {
    return {
      driver_volume_type: 'rbd',
      data: {
        name: this.objects.spec(this.objects.volumeImage(volumeId)),
        hosts: this.monitors.hosts,
        ports: this.monitors.ports,
        cluster_name: 'ceph',
        auth_enabled: this.opts.id !== undefined,
        auth_username: this.opts.id ?? null,
        secret_type: 'ceph',
        secret_uuid: this.opts.secretUuid ?? null,
        volume_id: volumeId,
        discard: true,
      },
    };
  }

  /** Reads the monitor addresses once (Cinder's _get_mon_addrs: `ceph mon dump`); none when ceph is not reachable. */
  async loadMonitors(): Promise<void> {
    this.monitors = await readMonitors(this.opts);
  }

  /** The pool's capacity as `ceph df` reports it (Cinder's _get_usage_info); null when unknown. */
  async capacity(): Promise<{ total: number; free: number } | null> {
    const lib = await this.lib();
    const out = lib
      ? await lib.monCommand({ prefix: 'df', format: 'json' }).then(
          (r) => (r.rc === 0 ? r.out : ''),
          () => '',
        )
      : await cephDf(this.opts);
    return poolCapacity(out, this.pool);
  }

  async createVolume(volumeId: string, size: number): Promise<void> {
    checkSize(size);
    const objectSize = this.opts.objectSize ? ['--object-size', `${this.opts.objectSize}B`] : [];
    await this.cli.run(['create', '--size', `${size}B`, ...objectSize, this.objects.spec(this.objects.volumeImage(volumeId))]);
  }

  async deleteVolume(volumeId: string): Promise<void> {
    const image = this.objects.volumeImage(volumeId);
    const info = await this.objects.info(image);
    if (!info) return;
    const snaps = await this.cli.json<SnapRow[]>(['snap', 'ls', this.objects.spec(image)]);
    for (const s of snaps) await this.removeSnapshot(image, s.name);
    try {
      await retryBusy(() => this.cli.run(['rm', '--no-progress', this.objects.spec(image)]));
    } catch (e) {
      if (!isCode(e, 'ENOENT')) throw e;
    }
    const parent = info.parent;
    if (parent && parent.pool === this.pool && parent.snapshot === `${image}${CLONE_SNAP_SUFFIX}`) {
      await this.removeSnapshot(parent.image, parent.snapshot);
    }
  }

  /** Flattens the clones that depend on the snapshot, then unprotects and removes it; absent is fine. */
  private async removeSnapshot(image: string, snap: string): Promise<void> {
    let children: { pool: string; pool_namespace?: string; image: string }[];
    try {
      children = await this.cli.json(['children', this.objects.spec(image, snap)]);
    } catch (e) {
      if (isCode(e, 'ENOENT')) return;
      throw e;
    }
    for (const c of children) {
      const ns = c.pool_namespace ? `${c.pool_namespace}/` : '';
      await this.cli.run(['flatten', '--no-progress', `${c.pool}/${ns}${c.image}`]).catch((e: unknown) => {
        // Already flattened (a replay) or removed meanwhile.
        if (!isCode(e, 'EINVAL', 'ENOENT')) throw e;
      });
    }
    // EBUSY: a child still being removed by a concurrent delete (it was listed, then its flatten found it gone).
    await retryBusy(() => this.cli.run(['snap', 'unprotect', this.objects.spec(image, snap)])).catch((e: unknown) => {
      if (!isCode(e, 'EINVAL', 'ENOENT') && !/already unprotected/.test((e as Error).message)) throw e;
    });
    await this.cli.run(['snap', 'rm', '--no-progress', this.objects.spec(image, snap)]).catch((e: unknown) => {
      if (!isCode(e, 'ENOENT')) throw e;
    });
  }

  async extendVolume(volumeId: string, newSize: number): Promise<void> {
    checkSize(newSize, 'new size');
    const image = this.objects.volumeImage(volumeId);
    const { size } = await this.objects.mustInfo(image);
    if (newSize < size) throw codedError('EINVAL', `cannot shrink volume ${volumeId} from ${size} to ${newSize} bytes`);
    if (newSize > size) await this.cli.run(['resize', '--no-progress', '--size', `${newSize}B`, this.objects.spec(image)]);
  }

  async createSnapshot(volumeId: string, snapshotId: string, opts: ProgressOptions = {}): Promise<void> {
    opts.signal?.throwIfAborted();
    const image = this.objects.volumeImage(volumeId);
    const snap = this.objects.snapName(snapshotId);
    const lib = await this.lib();
    // Either way the time is the monitor's: librbd asks it for a self-managed snapshot id (a Paxos commit).
    if (lib) {
      // The snapshot exists once snapCreate returns; the handle's close (which waits out librbd's grace after the
      // open) is handed off rather than awaited: it was a third of the create's time. Tool commands wait for it.
      const img = await lib.open(image, null, false);
      try {
        await lib.addon.snapCreate(img, snap);
      } catch (e) {
        await lib.close(img);
        throw e;
      }
      lib.closeSoon(img);
    } else await this.cli.run(['snap', 'create', '--no-progress', this.objects.spec(image, snap)]);
    this.objects.remember(snapshotId, image);
    opts.onProgress?.(1);
  }

  async deleteSnapshot(volumeId: string, snapshotId: string): Promise<void> {
    this.objects.volumeImage(volumeId);
    const image = await this.objects.imageOfSnapshot(snapshotId);
    if (image === null) return;
    await this.removeSnapshot(image, this.objects.snapName(snapshotId));
    this.objects.forget(snapshotId);
  }

  /** Clones image@snap into a new volume image grown to `size`; the new image is removed if a later step fails. */
  private async cloneInto(image: string, snap: string, target: string, size: number, opts: ProgressOptions): Promise<void> {
    const { size: snapSize } = await this.objects.mustInfo(image, snap);
    if (size < snapSize) throw codedError('EINVAL', `size ${size} is smaller than the source's ${snapSize} bytes`);
    opts.signal?.throwIfAborted();
    await this.cli.run(['snap', 'protect', this.objects.spec(image, snap)]).catch((e: unknown) => {
      // EBUSY: already protected (another clone of it).
      if (!isCode(e, 'EBUSY')) throw e;
    });
    await this.cli.run(['clone', this.objects.spec(image, snap), this.objects.spec(target)]);
    try {
      opts.signal?.throwIfAborted();
      if (size > snapSize) await this.cli.run(['resize', '--no-progress', '--size', `${size}B`, this.objects.spec(target)]);
    } catch (e) {
      await this.cli.run(['rm', '--no-progress', this.objects.spec(target)]).catch(() => {});
      throw e;
    }
    opts.onProgress?.(1);
  }

  async createVolumeFromSnapshot(snapshotId: string, volumeId: string, size: number, opts: ProgressOptions = {}): Promise<void> {
    checkSize(size);
    const target = this.objects.volumeImage(volumeId);
    opts.signal?.throwIfAborted();
    const image = await this.objects.imageOfSnapshot(snapshotId);
    if (image === null) throw codedError('ENOENT', `snapshot ${snapshotId} does not exist in pool ${this.pool}`);
    await this.cloneInto(image, this.objects.snapName(snapshotId), target, size, opts);
  }

  async cloneVolume(sourceVolumeId: string, volumeId: string, size: number, opts: ProgressOptions = {}): Promise<void> {
    checkSize(size);
    const source = this.objects.volumeImage(sourceVolumeId);
    const target = this.objects.volumeImage(volumeId);
    opts.signal?.throwIfAborted();
    const { size: sourceSize } = await this.objects.mustInfo(source);
    if (size < sourceSize) throw codedError('EINVAL', `size ${size} is smaller than the source's ${sourceSize} bytes`);
    if (await this.objects.info(target)) throw codedError('EEXIST', `${this.objects.spec(target)} already exists`);
    const snap = `${target}${CLONE_SNAP_SUFFIX}`;
    // A replay after a crash finds the clone snapshot already there.
    await this.cli.run(['snap', 'create', '--no-progress', this.objects.spec(source, snap)]).catch((e: unknown) => {
      if (!isCode(e, 'EEXIST')) throw e;
    });
    try {
      await this.cloneInto(source, snap, target, size, opts);
    } catch (e) {
      await this.removeSnapshot(source, snap).catch(() => {});
      throw e;
    }
  }

  /**
   * `rbd snap rollback`: copies the snapshot's objects back over the image (librbd's rollback is O(size), not
   * O(1)). A volume extended after the snapshot keeps its size, the extra space reading as zeros, as Cinder's
   * generic revert leaves it.
   */
  async revertToSnapshot(volumeId: string, snapshotId: string, opts: ProgressOptions = {}): Promise<void> {
    const image = this.objects.volumeImage(volumeId);
    const snap = this.objects.snapName(snapshotId);
    const { size } = await this.objects.mustInfo(image);
    await this.objects.mustInfo(image, snap);
    opts.signal?.throwIfAborted();
    await this.cli.run(['snap', 'rollback', '--no-progress', this.objects.spec(image, snap)]);
    const after = await this.objects.mustInfo(image);
    if (after.size < size) await this.cli.run(['resize', '--no-progress', '--size', `${size}B`, this.objects.spec(image)]);
    opts.onProgress?.(1);
  }

  async stat(kind: 'volume' | 'snapshot', id: string): Promise<ObjectInfo | null> {
    const at = await this.objects.locate(kind, id);
    if (!at) return null;
    const size = at.size;
    const extents = await this.dataExtents(at.image, at.snap, true);
    return { size, allocated: extents.reduce((n, e) => n + e.length, 0) };
  }

  /**
   * Ranges holding data, the parent's included for a clone. At object granularity from the object map
   * (milliseconds for a 10 GiB image: librbd's diff or `rbd diff --whole-object`), or `exact`: within those objects
   * as the OSDs report it (what `rbd diff` gives), for stat's allocated bytes.
   */
  private async dataExtents(image: string, snap?: string, exact = false): Promise<Extent[]> {
    const lib = await this.lib();
    if (lib) return this.librbd.oneAtATime(this.objects.spec(image, snap), () => lib.withImage(image, snap ?? null, true, (img) => lib.allocated(img, exact)));
    // Not exact: whole objects from the object map (fast-diff), as librbd gives them, instead of asking the OSDs
    // about every object of the image.
    const rows = await this.cli.json<{ offset: number; length: number; exists: string }[]>(['diff', ...(exact ? [] : ['--whole-object']), this.objects.spec(image, snap)]);
    return mergeExtents(rows.filter((r) => r.exists === 'true'));
  }

  async allocatedExtents(kind: 'volume' | 'snapshot', id: string): Promise<Extent[]> {
    const at = await this.objects.mustLocate(kind, id);
    return this.dataExtents(at.image, at.snap);
  }

  async zeroRange(volumeId: string, offset: number, length: number): Promise<void> {
    checkSize(offset, 'offset');
    checkSize(length, 'length');
    const image = this.objects.volumeImage(volumeId);
    const lib = await this.lib();
    const size = await this.objects.mustSize(image);
    const end = Math.min(size, offset + length);
    if (end <= offset) return;
    if (lib) {
      await lib.withImage(image, null, false, (img) => lib.addon.writeZeroes(img, offset, end - offset));
      return;
    }
    await zeroRangeTool(this.cli, this.objects.spec(image), offset, end - offset);
  }

  /**
   * Images (`kind: volume`, named by image) and their snapshots (`kind: snapshot`, named by snapshot name as Cinder's
   * RBD manage references give them). The `.clone_snap` snapshots that volume clones hang from are internal.
   */
  async listObjects(): Promise<BackendObject[]> {
    return (await this.objects.ls())
      .filter((r) => !r.snapshot?.endsWith(CLONE_SNAP_SUFFIX))
      .map((r) => (r.snapshot === undefined ? { name: r.image, size: r.size, kind: 'volume' as const } : { name: r.snapshot, size: r.size, kind: 'snapshot' as const }));
  }

  objectName(kind: 'volume' | 'snapshot', id: string): string {
    return kind === 'volume' ? this.objects.volumeImage(id) : this.objects.snapName(id);
  }

  validateManageRef(ref: unknown): string {
    return manageRefName(ref);
  }

  /**
   * What a reference names: an image, or a snapshot given by its name (unique in the pool) or as `image@snap`.
   * A snapshot name used on several images is ambiguous (EINVAL): name it `image@snap`.
   */
  private async resolve(name: string): Promise<Located | null> {
    const at = name.indexOf('@');
    if (at >= 0) {
      const image = name.slice(0, at);
      const snap = name.slice(at + 1);
      checkForeignName(image);
      checkForeignName(snap);
      if (snap.includes('@')) throw codedError('EINVAL', `${JSON.stringify(name)} is not image@snapshot`);
      const info = await this.objects.info(image, snap);
      return info ? { image, snap, size: info.size } : null;
    }
    checkForeignName(name);
    const rows = await this.objects.ls();
    const image = rows.find((r) => r.snapshot === undefined && r.image === name);
    if (image) return { image: name, size: image.size };
    const snaps = rows.filter((r) => r.snapshot === name);
    if (snaps.length > 1) throw codedError('EINVAL', `snapshot ${name} exists on several images (${snaps.map((s) => s.image).join(', ')}); name it image@snapshot`);
    const s = snaps[0];
    return s ? { image: s.image, snap: name, size: s.size } : null;
  }

  async inspectObject(name: string): Promise<BackendObject | null> {
    const r = await this.resolve(name);
    return r ? { name, size: r.size } : null;
  }

  /**
   * Renames the image (`rbd mv`) or snapshot (`rbd snap rename`, on its own image) to the driver's name. Both
   * refuse an existing target, so nothing is overwritten; a replay finds the source gone and the target there.
   */
  async adoptObject(name: string, kind: 'volume' | 'snapshot', id: string): Promise<void> {
    const target = this.objectName(kind, id);
    const source = await this.resolve(name);
    if (kind === 'volume') {
      if (source?.snap !== undefined) throw codedError('EINVAL', `${name} is a snapshot, not an image`);
      if (name === target && source) return;
      if (!source) {
        if (await this.objects.info(target)) return;
        throw codedError('ENOENT', `image ${name} does not exist in pool ${this.pool}`);
      }
      await this.cli.run(['mv', this.objects.spec(name), this.objects.spec(target)]);
      return;
    }
    if (source && source.snap === undefined) throw codedError('EINVAL', `${name} is an image, not a snapshot`);
    if (!source) {
      if (await this.objects.imageOfSnapshot(id)) return;
      throw codedError('ENOENT', `snapshot ${name} does not exist in pool ${this.pool}`);
    }
    if (source.snap === target) return;
    if (await this.objects.info(source.image, target)) throw codedError('EEXIST', `${this.objects.spec(source.image, target)} already exists`);
    await this.cli.run(['snap', 'rename', this.objects.spec(source.image, source.snap), this.objects.spec(source.image, target)]);
    this.objects.remember(id, source.image);
  }

  async sweepTemporaries(): Promise<void> {
    const names = await readdir(this.directory).catch(() => [] as string[]);
    for (const n of names) if (n.startsWith(TEMP_PREFIX)) await rm(join(this.directory, n), { force: true, recursive: true });
  }

  readRaw(kind: 'volume' | 'snapshot', id: string, start: number, end: number): Readable {
    const self = this;
    return Readable.from(
      (async function* () {
        const { size } = await self.objects.mustLocate(kind, id);
        const last = Math.min(end, size - 1);
        if (last < start) return;
        for await (const p of self.readRawRanges(kind, id, [{ offset: start, length: last - start + 1 }])) yield p.data;
      })(),
      { objectMode: false },
    );
  }

  /**
   * The ranges' bytes. Through librbd just those ranges are read. Through the tool, one `rbd export-diff` of the
   * object serves every range (zeros filled in between); with `since` (a snapshot of the same image the caller
   * knows nothing changed from outside the ranges' changed parts), `rbd export-diff --from-snap --whole-object`
   * streams only the objects changed since then, and only what those whole objects leave uncovered (a chunk
   * larger than an object, an image without fast-diff) comes from a second, full pass.
   */
  async *readRawRanges(
    kind: 'volume' | 'snapshot',
    id: string,
    ranges: Extent[],
    opts: ReadRangesOptions = {},
  ): AsyncIterable<{ offset: number; data: Buffer }> {
    const at = await this.objects.mustLocate(kind, id);
    const wanted = ranges
      .map((r) => ({ offset: r.offset, end: Math.min(at.size, r.offset + r.length) }))
      .filter((r) => r.end > r.offset);
    if (wanted.length === 0) return;
    const lib = await this.lib();
    if (lib) yield* readRangesLib(lib, at.image, at.snap, wanted);
    else yield* readRangesTool(this.cli, this.objects.spec(at.image, at.snap), wanted, opts.since && this.objects.snapName(opts.since.snapshotId));
  }

  async writeRaw(volumeId: string, source: AsyncIterable<Buffer>, offset = 0): Promise<number> {
    checkSize(offset, 'offset');
    const image = this.objects.volumeImage(volumeId);
    const lib = await this.lib();
    const size = await this.objects.mustSize(image);
    if (lib) return writeRawLib(lib, image, volumeId, size, source, offset);
    return writeRawTool(this.cli, this.objects.spec(image), volumeId, size, source, offset);
  }

  private temporary(what: string): string {
    return join(this.directory, `${TEMP_PREFIX}${what}.${randomBytes(6).toString('hex')}`);
  }

  /**
   * A sparse temporary holding the object's data records from `rbd export-diff` (only allocated data crosses the
   * pipe; `rbd export` would read every object of a thin image).
   */
  async exportRaw(kind: 'volume' | 'snapshot', id: string, opts: ProgressOptions = {}): Promise<{ path: string; release(): Promise<void> }> {
    const at = await this.objects.mustLocate(kind, id);
    opts.signal?.throwIfAborted();
    await mkdir(this.directory, { recursive: true });
    const path = this.temporary(`export-${id}`);
    const fh = await open(path, 'wx', 0o600);
    const lib = await this.lib();
    try {
      await fh.truncate(at.size);
      if (lib) await exportLib(lib, at.image, at.snap, fh, opts);
      else await exportTool(this.cli, this.objects.spec(at.image, at.snap), fh, opts);
      await fh.close();
    } catch (e) {
      await fh.close().catch(() => {});
      await rm(path, { force: true });
      throw e;
    }
    opts.onProgress?.(1);
    return { path, release: () => rm(path, { force: true }) };
  }

  /** A sparse temporary of the volume's size; commit() sends its data extents and zeroes the rest. */
  async importRaw(volumeId: string): Promise<ImportTarget> {
    const image = this.objects.volumeImage(volumeId);
    const size = await this.objects.mustSize(image);
    await mkdir(this.directory, { recursive: true });
    const path = this.temporary(`import-${volumeId}`);
    const fh = await open(path, 'wx', 0o600);
    await fh.truncate(size).finally(() => fh.close());
    const release = () => rm(path, { force: true });
    const commit = async (opts: ProgressOptions = {}) => {
      const extents = await sparseIo().dataExtents(path);
      const { size: fileSize } = await fsStat(path);
      const end = Math.min(size, fileSize);
      const lib = await this.lib();
      if (lib) await commitLib(lib, image, path, extents, end, opts);
      else await commitTool(this.cli, this.objects.spec(image), path, extents, end, opts);
      opts.onProgress?.(1);
    };
    return { path, commit, release };
  }

  /**
   * Written and discarded ranges since the older snapshot: librbd's diff_iterate at object granularity (the object
   * map's fast-diff, one read per snapshot instead of a question per object), or `rbd diff --from-snap`.
   */
  async changedExtents(volumeId: string, fromSnapshotId: string, toSnapshotId: string | null): Promise<Extent[] | null> {
    const image = this.objects.volumeImage(volumeId);
    const from = this.objects.snapName(fromSnapshotId);
    const to = toSnapshotId === null ? undefined : this.objects.snapName(toSnapshotId);
    const lib = await this.lib();
    if (lib) {
      const rows = await this.librbd.oneAtATime(this.objects.spec(image, to), () => lib.withImage(image, to ?? null, true, (img) => lib.diff(img, from, true)));
      return mergeExtents(rows);
    }
    const rows = await this.cli.json<{ offset: number; length: number }[]>(['diff', '--from-snap', from, this.objects.spec(image, to)]);
    return mergeExtents(rows.map((r) => ({ offset: r.offset, length: r.length })));
  }
}

/**
 * Retries a call the cluster refuses because the image is busy. `rbd rm` refuses an image that still has a watch
 * (exit status 16 is not always what the tool reports: the message is the reliable sign); a watch left by a client
 * that went away without closing lapses after the OSDs' 30 s watch timeout, so the retries cover that.
 */
async function retryBusy<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const busy = isCode(e, 'EBUSY') || /has watchers/.test((e as Error).message ?? '');
      if (!busy || attempt >= 40) throw e;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** Checks that the pool answers (so a misconfigured backend fails at start, not at the first volume). */
export async function createRbdVolumeDriver(opts: RbdVolumeDriverOptions): Promise<RbdVolumeDriver> {
  await mkdir(opts.directory, { recursive: true });
  const driver = new RbdVolumeDriver(opts);
  await driver.loadMonitors();
  return driver;
}
