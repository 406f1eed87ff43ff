/**
 * The `raw` volume driver: each volume is a sparse file `volume-<id>`, each snapshot a full file
 * `_snapshot-<id>` in the backend directory. Snapshots, clones and reverts are reflinks where the filesystem
 * supports them (XFS, btrfs: O(1)), otherwise sparse copies that read only data extents and skip zero blocks.
 * Every copy goes to a temporary `.tmp-<target>.<random>`, is fsynced and then renamed into place, so a crash
 * leaves either the complete object or a temporary that sweepTemporaries() removes. Existing files are brought
 * under management from the directory itself or from its `import/` area (see adoptObject).
 */
import { createReadStream } from 'node:fs';
import { link, mkdir, open, rename, rm, stat, truncate, unlink } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type {
  BackendObject,
  DriverCapabilities,
  Extent,
  ObjectInfo,
  ProgressOptions,
  VolumeDriver,
  VolumeFormat,
} from '../../../domain/ports/volume-driver.js';
import { BackendDirectory, checkSize, codedError, exists, isNotFound, leaveOpen, manageRefName } from '../backend-directory.js';
import { alignExtents, diffPhysicalExtents } from '../extent-diff.js';
import { isUnsupportedError, type SparseIo, sparseIo } from '../sparse-io.js';

export interface RawVolumeDriverOptions {
  /** Backend name (volume_backend_name). */
  name: string;
  directory: string;
  /** Sparse-file primitives; defaults to the process-wide ones (native addon when built). */
  sparseIo?: SparseIo;
  /**
   * Whether to use reflinks. Undefined means probe the directory on first use; false forces sparse copies
   * (tests use it to exercise the copy path on reflink-capable filesystems).
   */
  reflink?: boolean;
}

export class RawVolumeDriver implements VolumeDriver {
  readonly name: string;
  readonly format: VolumeFormat = 'raw';
  readonly directory: string;
  private readonly io: SparseIo;
  private readonly files: BackendDirectory;
  private reflinkSupported: boolean | undefined;
  private reflinkProbe: Promise<boolean> | undefined;

  constructor(opts: RawVolumeDriverOptions) {
    this.name = opts.name;
    this.directory = opts.directory;
    this.io = opts.sparseIo ?? sparseIo();
    this.files = new BackendDirectory(opts.directory);
    this.reflinkSupported = opts.reflink;
  }

  /** Reflects the probe once it has run (createRawVolumeDriver runs it before returning the driver). */
  get capabilities(): DriverCapabilities {
    const reflink = this.reflinkSupported === true;
    return { cheapSnapshots: reflink, snapshotMethod: reflink ? 'reflink' : 'sparse-copy' };
  }

  /** Which primitives implementation this driver uses ("native" addon or "subprocess" fallback). */
  get sparseBackend(): SparseIo['backend'] {
    return this.io.backend;
  }

  /** Probes reflink support once and caches the answer. */
  async probeReflink(): Promise<boolean> {
    if (this.reflinkSupported !== undefined) return this.reflinkSupported;
    this.reflinkProbe ??= this.io.probeReflink(this.directory).then((ok) => {
      this.reflinkSupported = ok;
      return ok;
    });
    return this.reflinkProbe;
  }

  path(kind: 'volume' | 'snapshot', id: string): string {
    return this.files.path(kind, id);
  }

  volumeConnection(volumeId: string): { devicePath: string; format: VolumeFormat } {
    return { devicePath: this.path('volume', volumeId), format: 'raw' };
  }

  async createVolume(volumeId: string, size: number): Promise<void> {
    checkSize(size);
    const path = this.path('volume', volumeId);
    const fh = await open(path, 'wx', 0o600);
    try {
      await fh.truncate(size);
      await fh.sync();
    } catch (e) {
      // Ours (wx): a half-made volume file must not stay behind (a full disk can fail the sync).
      await fh.close().catch(() => {});
      await rm(path, { force: true });
      throw e;
    }
    await fh.close();
  }

  async deleteVolume(volumeId: string): Promise<void> {
    await rm(this.path('volume', volumeId), { force: true });
    await this.files.removeTemporariesOf(this.path('volume', volumeId));
  }

  async extendVolume(volumeId: string, newSize: number): Promise<void> {
    checkSize(newSize, 'new size');
    const path = this.path('volume', volumeId);
    const { size } = await stat(path);
    if (newSize < size) throw codedError('EINVAL', `cannot shrink volume ${volumeId} from ${size} to ${newSize} bytes`);
    if (newSize > size) await truncate(path, newSize);
  }

  async createSnapshot(volumeId: string, snapshotId: string, opts: ProgressOptions = {}): Promise<void> {
    await this.copyInto(this.path('volume', volumeId), this.path('snapshot', snapshotId), { replace: false }, opts);
  }

  async deleteSnapshot(_volumeId: string, snapshotId: string): Promise<void> {
    const path = this.path('snapshot', snapshotId);
    await rm(path, { force: true });
    await this.files.removeTemporariesOf(path);
  }

  async createVolumeFromSnapshot(
    snapshotId: string,
    volumeId: string,
    size: number,
    opts: ProgressOptions = {},
  ): Promise<void> {
    checkSize(size);
    await this.copyInto(
      this.path('snapshot', snapshotId),
      this.path('volume', volumeId),
      { replace: false, minSize: size },
      opts,
    );
  }

  async cloneVolume(sourceVolumeId: string, volumeId: string, size: number, opts: ProgressOptions = {}): Promise<void> {
    checkSize(size);
    await this.copyInto(
      this.path('volume', sourceVolumeId),
      this.path('volume', volumeId),
      { replace: false, minSize: size },
      opts,
    );
  }

  /**
   * Replaces the volume file with a copy of the snapshot. A volume extended after the snapshot keeps its
   * size (the extra space reads as zeros), as Cinder's generic revert does. The volume's inode changes, so
   * it must not be open (Cinder only reverts available volumes).
   */
  async revertToSnapshot(volumeId: string, snapshotId: string, opts: ProgressOptions = {}): Promise<void> {
    const volumePath = this.path('volume', volumeId);
    const { size } = await stat(volumePath);
    await this.copyInto(this.path('snapshot', snapshotId), volumePath, { replace: true, minSize: size }, opts);
  }

  async stat(kind: 'volume' | 'snapshot', id: string): Promise<ObjectInfo | null> {
    try {
      const st = await stat(this.path(kind, id));
      return { size: st.size, allocated: st.blocks * 512 };
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  async allocatedExtents(kind: 'volume' | 'snapshot', id: string): Promise<Extent[]> {
    return this.io.dataExtents(this.path(kind, id));
  }

  async zeroRange(volumeId: string, offset: number, length: number): Promise<void> {
    checkSize(offset, 'offset');
    checkSize(length, 'length');
    await this.io.zeroRange(this.path('volume', volumeId), offset, length);
  }

  async listObjects(): Promise<BackendObject[]> {
    return this.files.listObjects();
  }

  objectName(kind: 'volume' | 'snapshot', id: string): string {
    return this.files.objectName(kind, id);
  }

  validateManageRef(ref: unknown): string {
    return manageRefName(ref);
  }

  async inspectObject(name: string): Promise<BackendObject | null> {
    const ref = await this.files.lookUp(name);
    return ref?.isFile ? { name, size: ref.size } : null;
  }

  /**
   * A hard link to the driver's name and then the unlink of the old one: unlike rename(), link() refuses to
   * replace an existing target, and a replay after a crash between the two steps finds both names on one inode.
   */
  async adoptObject(name: string, kind: 'volume' | 'snapshot', id: string): Promise<void> {
    const target = this.path(kind, id);
    const st = await this.files.adoptionSource(name, target);
    if (st === null) return;
    const source = st.path;
    try {
      await link(source, target);
    } catch (e) {
      if ((e as { code?: unknown }).code !== 'EEXIST') throw e;
      const t = await stat(target);
      if (t.ino !== st.ino || t.dev !== st.dev) throw codedError('EEXIST', `${target} already exists`);
    }
    await unlink(source);
    await this.files.sync();
  }

  readRaw(kind: 'volume' | 'snapshot', id: string, start: number, end: number): Readable {
    return createReadStream(this.path(kind, id), { start, end });
  }

  async writeRaw(volumeId: string, source: AsyncIterable<Buffer>, offset = 0): Promise<number> {
    checkSize(offset, 'offset');
    const fh = await open(this.path('volume', volumeId), 'r+');
    try {
      const { size } = await fh.stat();
      let pos = offset;
      for await (const chunk of leaveOpen(source)) {
        const room = Math.max(0, size - pos);
        const n = Math.min(room, chunk.length);
        for (let done = 0; done < n; ) done += (await fh.write(chunk, done, n - done, pos + done)).bytesWritten;
        pos += n;
        if (n < chunk.length) throw codedError('EINVAL', `data runs past the end of volume ${volumeId} (${size} bytes)`);
      }
      await fh.datasync();
      return pos - offset;
    } finally {
      await fh.close();
    }
  }

  async exportRaw(kind: 'volume' | 'snapshot', id: string): Promise<{ path: string; release(): Promise<void> }> {
    const path = this.path(kind, id);
    await stat(path);
    return { path, release: async () => {} };
  }

  async importRaw(
    volumeId: string,
  ): Promise<{ path: string; commit(): Promise<void>; release(): Promise<void> }> {
    const path = this.path('volume', volumeId);
    await stat(path);
    return { path, commit: async () => {}, release: async () => {} };
  }

  /**
   * On reflink filesystems a snapshot shares every block with its volume until one side rewrites it, so the blocks
   * whose physical address differs between two snapshots are exactly the changed ones. Without reflinks every
   * snapshot is a copy and nothing can be told from the layout.
   */
  async changedExtents(volumeId: string, fromSnapshotId: string, toSnapshotId: string | null): Promise<Extent[] | null> {
    if (!(await this.probeReflink())) return null;
    const from = this.path('snapshot', fromSnapshotId);
    const to = toSnapshotId === null ? this.path('volume', volumeId) : this.path('snapshot', toSnapshotId);
    const [a, b, st] = await Promise.all([this.io.physicalExtents(from), this.io.physicalExtents(to), stat(to)]);
    const size = Math.max(st.size, (await stat(from)).size);
    return alignExtents(diffPhysicalExtents(a, b), 4096, size);
  }

  async sweepTemporaries(): Promise<void> {
    await this.files.sweepTemporaries();
  }

  /**
   * Copies `source` into `target` atomically: reflink or sparse copy into a temporary, grow to minSize,
   * fsync, rename, fsync the directory. Without `replace` an existing target is an EEXIST error (checked
   * before copying; concurrent creates of one id are not expected).
   */
  private async copyInto(
    source: string,
    target: string,
    how: { replace: boolean; minSize?: number },
    opts: ProgressOptions,
  ): Promise<void> {
    const { signal, onProgress } = opts;
    signal?.throwIfAborted();
    const { size: sourceSize } = await stat(source);
    if (how.minSize !== undefined && how.minSize < sourceSize && !how.replace) {
      throw codedError('EINVAL', `size ${how.minSize} is smaller than the source's ${sourceSize} bytes`);
    }
    if (!how.replace && (await exists(target))) throw codedError('EEXIST', `${target} already exists`);
    const temp = this.files.temporaryFor(target);
    try {
      let copied = false;
      if (await this.probeReflink()) {
        try {
          await this.io.reflink(source, temp);
          copied = true;
        } catch (e) {
          if (!isUnsupportedError(e)) throw e;
        }
      }
      if (!copied) {
        const copyOpts = signal === undefined ? {} : { signal };
        // Progress 1 is reported after the rename, so the copy's own progress stops just short of it.
        await this.io.copySparse(
          source,
          temp,
          onProgress ? { ...copyOpts, onProgress: (f) => onProgress(Math.min(f, 0.99)) } : copyOpts,
        );
      }
      const fh = await open(temp, 'r+');
      try {
        const { size } = await fh.stat();
        if (how.minSize !== undefined && how.minSize > size) await fh.truncate(how.minSize);
        await fh.sync();
      } finally {
        await fh.close();
      }
      signal?.throwIfAborted();
      await rename(temp, target);
    } catch (e) {
      await rm(temp, { force: true });
      throw e;
    }
    await this.files.sync();
    onProgress?.(1);
  }
}

/** Creates the directory, probes reflink support once and returns the ready driver. */
export async function createRawVolumeDriver(opts: RawVolumeDriverOptions): Promise<RawVolumeDriver> {
  await mkdir(opts.directory, { recursive: true });
  const driver = new RawVolumeDriver(opts);
  await driver.probeReflink();
  return driver;
}
