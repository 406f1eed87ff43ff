/**
 * The `raw` volume driver: each volume is a sparse file `volume-<id>`, each snapshot a full file
 * `_snapshot-<id>` in the backend directory. Snapshots, clones and reverts are reflinks where the filesystem
 * supports them (XFS, btrfs: O(1)), otherwise sparse copies that read only data extents and skip zero blocks.
 * Every copy goes to a temporary `.tmp-<target>.<random>`, is fsynced and then renamed into place, so a crash
 * leaves either the complete object or a temporary that sweepTemporaries() removes. Existing files are brought
 * under management from the directory itself or from its `import/` area (see adoptObject).
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, lstat, mkdir, open, readdir, rename, rm, stat, truncate, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  type BackendObject,
  type DriverCapabilities,
  type Extent,
  IMPORT_PREFIX,
  type ObjectInfo,
  type ProgressOptions,
  type VolumeDriver,
  type VolumeFormat,
} from '../../../domain/ports/volume-driver.js';
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

const TEMP_PREFIX = '.tmp-';
/** The import area's directory inside the backend directory. */
const IMPORT_DIR = IMPORT_PREFIX.slice(0, -1);
/** UUIDs and similar; no dots or separators, so ids cannot escape the directory or look like temporaries. */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

function codedError(code: string, message: string): Error & { code: string } {
  const err = new Error(message) as Error & { code: string };
  err.code = code;
  return err;
}

function checkId(id: string): void {
  if (typeof id !== 'string' || !ID_PATTERN.test(id))
    throw codedError('EINVAL', `invalid object id ${JSON.stringify(id)}`);
}

function checkSize(size: number, what = 'size'): void {
  if (!Number.isSafeInteger(size) || size < 0) throw codedError('EINVAL', `invalid ${what} ${String(size)}`);
}

/** A name that stays inside its directory: no separators, not `.`/`..`, not hidden (temporaries are hidden). */
function isPlainName(n: string): boolean {
  return n.length > 0 && n.length <= 255 && !/[/\\\0]/.test(n) && !n.startsWith('.');
}

function isNotFound(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === 'ENOENT';
}

export class RawVolumeDriver implements VolumeDriver {
  readonly name: string;
  readonly format: VolumeFormat = 'raw';
  readonly directory: string;
  private readonly io: SparseIo;
  private reflinkSupported: boolean | undefined;
  private reflinkProbe: Promise<boolean> | undefined;

  constructor(opts: RawVolumeDriverOptions) {
    this.name = opts.name;
    this.directory = opts.directory;
    this.io = opts.sparseIo ?? sparseIo();
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
    checkId(id);
    return join(this.directory, kind === 'volume' ? `volume-${id}` : `_snapshot-${id}`);
  }

  volumeConnection(volumeId: string): { devicePath: string; format: VolumeFormat } {
    return { devicePath: this.path('volume', volumeId), format: 'raw' };
  }

  async createVolume(volumeId: string, size: number): Promise<void> {
    checkSize(size);
    const fh = await open(this.path('volume', volumeId), 'wx', 0o644);
    try {
      await fh.truncate(size);
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  async deleteVolume(volumeId: string): Promise<void> {
    await rm(this.path('volume', volumeId), { force: true });
    await this.removeTemporariesOf(this.path('volume', volumeId));
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
    await this.removeTemporariesOf(path);
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
    const out = await this.listFiles(this.directory, '');
    // A symlinked import area is left out of listings as it is refused in references.
    const area = await this.importArea().catch((e: unknown) =>
      (e as { code?: unknown }).code === 'EINVAL' ? false : Promise.reject(e),
    );
    if (area) out.push(...(await this.listFiles(join(this.directory, IMPORT_DIR), IMPORT_PREFIX)));
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  objectName(kind: 'volume' | 'snapshot', id: string): string {
    return basename(this.path(kind, id));
  }

  async inspectObject(name: string): Promise<BackendObject | null> {
    const path = this.referencePath(name);
    if (name.startsWith(IMPORT_PREFIX) && !(await this.importArea())) return null;
    let st: Awaited<ReturnType<typeof lstat>>;
    try {
      st = await lstat(path);
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
    if (st.isSymbolicLink()) throw codedError('EINVAL', `${JSON.stringify(name)} is a symbolic link`);
    return st.isFile() ? { name, size: st.size } : null;
  }

  /**
   * A hard link to the driver's name and then the unlink of the old one: unlike rename(), link() refuses to
   * replace an existing target, and a replay after a crash between the two steps finds both names on one inode.
   */
  async adoptObject(name: string, kind: 'volume' | 'snapshot', id: string): Promise<void> {
    const target = this.path(kind, id);
    const source = this.referencePath(name);
    if (source === target) return;
    if (name.startsWith(IMPORT_PREFIX)) await this.importArea(); // refuses a symlinked import area
    let st: Awaited<ReturnType<typeof lstat>>;
    try {
      st = await lstat(source);
    } catch (e) {
      if (isNotFound(e) && (await this.exists(target))) return; // adopted before a crash
      throw e;
    }
    if (st.isSymbolicLink() || !st.isFile()) throw codedError('EINVAL', `${JSON.stringify(name)} is not a regular file`);
    try {
      await link(source, target);
    } catch (e) {
      if ((e as { code?: unknown }).code !== 'EEXIST') throw e;
      const t = await stat(target);
      if (t.ino !== st.ino || t.dev !== st.dev) throw codedError('EEXIST', `${target} already exists`);
    }
    await unlink(source);
    await this.syncDirectory();
  }

  /** Path of a manage reference; EINVAL for any name that could leave the backend directory. */
  private referencePath(name: string): string {
    if (typeof name !== 'string') throw codedError('EINVAL', 'a reference name must be a string');
    const inImport = name.startsWith(IMPORT_PREFIX);
    const rest = inImport ? name.slice(IMPORT_PREFIX.length) : name;
    if (!isPlainName(rest)) throw codedError('EINVAL', `${JSON.stringify(name)} is not a plain file name`);
    return inImport ? join(this.directory, IMPORT_DIR, rest) : join(this.directory, rest);
  }

  /** Whether the import area exists as a real directory; a symlinked one could lead anywhere, so it is refused. */
  private async importArea(): Promise<boolean> {
    try {
      const st = await lstat(join(this.directory, IMPORT_DIR));
      if (st.isSymbolicLink()) throw codedError('EINVAL', 'the import area must not be a symbolic link');
      return st.isDirectory();
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  private async exists(path: string): Promise<boolean> {
    return stat(path).then(
      () => true,
      (e: unknown) => (isNotFound(e) ? false : Promise.reject(e)),
    );
  }

  /** Regular files of `dir` (symlinks and hidden names excluded), named with `prefix`. */
  private async listFiles(dir: string, prefix: string): Promise<BackendObject[]> {
    const entries = await readdir(dir, { withFileTypes: true });
    const out: BackendObject[] = [];
    for (const entry of entries) {
      if (!entry.isFile() || entry.name.startsWith('.')) continue;
      try {
        const st = await stat(join(dir, entry.name));
        out.push({ name: `${prefix}${entry.name}`, size: st.size });
      } catch (e) {
        if (!isNotFound(e)) throw e; // deleted while listing
      }
    }
    return out;
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
      for await (const chunk of source) {
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
    let entries: string[];
    try {
      entries = await readdir(this.directory);
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    await Promise.all(
      entries
        .filter((n) => n.startsWith(TEMP_PREFIX))
        .map((n) => rm(join(this.directory, n), { force: true, recursive: true })),
    );
  }

  private temporaryFor(target: string): string {
    return join(this.directory, `${TEMP_PREFIX}${basename(target)}.${randomBytes(6).toString('hex')}`);
  }

  /** Leftovers of interrupted copies into `target` (ids hold no dots, so the prefix is unambiguous). */
  private async removeTemporariesOf(target: string): Promise<void> {
    const prefix = `${TEMP_PREFIX}${basename(target)}.`;
    let entries: string[];
    try {
      entries = await readdir(this.directory);
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    await Promise.all(
      entries.filter((n) => n.startsWith(prefix)).map((n) => rm(join(this.directory, n), { force: true })),
    );
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
    if (!how.replace) {
      const exists = await stat(target).then(
        () => true,
        (e: unknown) => (isNotFound(e) ? false : Promise.reject(e)),
      );
      if (exists) throw codedError('EEXIST', `${target} already exists`);
    }
    const temp = this.temporaryFor(target);
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
    await this.syncDirectory();
    onProgress?.(1);
  }

  private async syncDirectory(): Promise<void> {
    const dir = await open(this.directory, 'r');
    try {
      await dir.sync();
    } catch (e) {
      // Some filesystems refuse fsync on directories; the rename itself is still atomic there.
      if (!isUnsupportedError(e) && (e as { code?: unknown }).code !== 'EISDIR') throw e;
    } finally {
      await dir.close();
    }
  }
}

/** Creates the directory, probes reflink support once and returns the ready driver. */
export async function createRawVolumeDriver(opts: RawVolumeDriverOptions): Promise<RawVolumeDriver> {
  await mkdir(opts.directory, { recursive: true });
  const driver = new RawVolumeDriver(opts);
  await driver.probeReflink();
  return driver;
}
