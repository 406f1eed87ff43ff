/**
 * Filesystem ObjectStore: key "a/b/c" is the file <root>/a/b/c. Writes go to <root>/tmp/ first, are
 * fdatasync'ed, then published with link() (create-only: fails atomically when the name exists) or rename()
 * (overwrite). Directory fsyncs are batched into flush(), because one per object halves throughput (spec
 * §2.4). The first key segment "tmp" is reserved for temporaries.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants, createReadStream } from 'node:fs';
import { link, mkdir, open, opendir, readFile, rename, stat, unlink, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, sep } from 'node:path';
import {
  assertValidKey,
  type ObjectInfo,
  type ObjectStore,
  type ObjectStoreError,
  type PutOptions,
  type PutResult,
} from '../../../domain/ports/object-store.js';
import { processAlive } from '../../../config/process-alive.js';

const TMP = 'tmp';
const DIRECT_ALIGN = 4096;
/** Smaller objects (manifests, leases, config) are not worth a second descriptor kind. */
const DIRECT_MIN_BYTES = 256 * 1024;
/** Temporaries of live processes on other hosts (shared filesystems) are only swept after this long. */
const FOREIGN_TMP_MAX_AGE_MS = 24 * 3600 * 1000;
const HOST = hostname().replace(/[^A-Za-z0-9-]/g, '_') || 'host';

export interface FsObjectStoreOptions {
  /** Skip fdatasync/fsync (tests of logic only; never in production). Default false. */
  unsafeNoSync?: boolean;
  /** Write large page-aligned objects with O_DIRECT (see writeDirect). Default true. */
  directWrites?: boolean;
  /**
   * Object data syncs running at once (default: no limit). Each holds a libuv pool thread for the whole flush,
   * and that pool also serves the backup workers' source reads. Measured on the loaded 2-core machine, a cap of 2
   * did not shorten those reads (the disk, not the pool queue, made them slow) and stretched each put, so the
   * default stays unbounded; the option is there for A/B runs on other machines.
   */
  maxConcurrentSyncs?: number;
}

/** What the store did since it was created (benchmarks and profiles; counts do not depend on the machine's load). */
export interface FsStoreCounters {
  /** Objects created (tmp file written and published). */
  objectsWritten: number;
  bytesWritten: number;
  /** Objects written with O_DIRECT, past the page cache. */
  directWrites: number;
  /** Objects read into a caller's buffer with O_DIRECT (getInto), past the page cache. */
  directReads: number;
  /** fdatasync of object data. */
  dataSyncs: number;
  /** fsync of directories (batched in flush). */
  dirSyncs: number;
  /** Time spent in data syncs, summed over concurrent ones, and waiting for a free sync slot. */
  syncMs: number;
  syncQueueMs: number;
}

export class FsObjectStore implements ObjectStore {
  readonly description: string;
  private readonly tmpDir: string;
  private readonly knownDirs = new Set<string>();
  private dirtyDirs = new Set<string>();
  private readonly sync: boolean;
  private direct: boolean;
  /** Memory an O_DIRECT write refused (not page-aligned where expected): written buffered from then on. */
  private readonly misaligned = new WeakSet<ArrayBufferLike>();
  /** The filesystem refused an O_DIRECT read descriptor: getInto reads buffered from then on. */
  private directReadRefused = false;
  private readonly syncSlots: number;
  private syncsRunning = 0;
  private readonly syncWaiters: Array<() => void> = [];
  readonly counters: FsStoreCounters = {
    objectsWritten: 0,
    bytesWritten: 0,
    directWrites: 0,
    directReads: 0,
    dataSyncs: 0,
    dirSyncs: 0,
    syncMs: 0,
    syncQueueMs: 0,
  };

  constructor(
    readonly root: string,
    opts: FsObjectStoreOptions = {},
  ) {
    this.description = `fs:${root}`;
    this.tmpDir = join(root, TMP);
    this.sync = !opts.unsafeNoSync;
    this.direct = opts.directWrites ?? true;
    this.syncSlots = Math.max(1, opts.maxConcurrentSyncs ?? Number.POSITIVE_INFINITY);
  }

  private async dataSync(fh: { datasync(): Promise<void> }): Promise<void> {
    const queued = performance.now();
    if (this.syncsRunning >= this.syncSlots) {
      await new Promise<void>((resolve) => this.syncWaiters.push(resolve));
    } else this.syncsRunning++;
    const started = performance.now();
    try {
      await fh.datasync();
    } finally {
      const c = this.counters;
      c.dataSyncs++;
      c.syncMs += performance.now() - started;
      c.syncQueueMs += started - queued;
      // The slot passes straight to the next waiter (the running count stays), or is freed.
      const next = this.syncWaiters.shift();
      if (next) next();
      else this.syncsRunning--;
    }
  }

  private path(key: string): string {
    assertValidKey(key);
    if (key === TMP || key.startsWith(`${TMP}/`)) {
      const err = new Error(`object key ${JSON.stringify(key)} is reserved`) as ObjectStoreError;
      err.code = 'EINVAL';
      throw err;
    }
    return join(this.root, ...key.split('/'));
  }

  private async ensureDir(dir: string): Promise<void> {
    if (this.knownDirs.has(dir)) return;
    const first = await mkdir(dir, { recursive: true });
    if (first !== undefined) {
      // Every newly created directory's entry lives in its parent: those parents need a sync too.
      let d = dir;
      while (d.length >= first.length) {
        this.dirtyDirs.add(dirname(d));
        d = dirname(d);
      }
    }
    this.knownDirs.add(dir);
  }

  private tmpName(): string {
    return join(this.tmpDir, `${HOST}.${process.pid}.${randomBytes(8).toString('hex')}.tmp`);
  }

  async put(key: string, data: Uint8Array, opts: PutOptions = {}): Promise<PutResult> {
    const final = this.path(key);
    // Fast path for dedup hits: no write at all. If the object vanishes before the touch (a concurrent
    // garbage collection), it is written again below.
    if (!opts.overwrite && (await exists(final)) && (!opts.touchExisting || (await this.touchIfPresent(final)))) {
      return { existed: true };
    }
    await this.ensureDir(this.tmpDir);
    const tmp = this.tmpName();
    try {
      if (!(await this.writeDirect(tmp, data, opts))) {
        const fh = await open(tmp, 'w');
        try {
          let done = 0;
          while (done < data.length) {
            const { bytesWritten } = await fh.write(data, done, data.length - done, null);
            done += bytesWritten;
          }
          // The bytes are in the page cache now: the sync below does not need the caller's buffer.
          opts.onDataReleased?.();
          if (this.sync) await this.dataSync(fh);
        } finally {
          await fh.close();
        }
      }
      const dir = dirname(final);
      await this.ensureDir(dir);
      let existed = false;
      if (opts.overwrite) {
        await rename(tmp, final);
      } else {
        for (let attempt = 0; ; attempt++) {
          try {
            await link(tmp, final);
            break;
          } catch (e) {
            const code = (e as NodeJS.ErrnoException).code;
            if (code === 'ENOENT' && attempt === 0) {
              // The directory was removed behind our cache (e.g. by hand): create it again.
              this.knownDirs.delete(dir);
              await this.ensureDir(dir);
              continue;
            }
            if (code !== 'EEXIST') throw e;
            if (!opts.touchExisting || (await this.touchIfPresent(final))) {
              existed = true;
              break;
            }
          }
        }
      }
      if (!existed) {
        this.dirtyDirs.add(dir);
        this.counters.objectsWritten++;
        this.counters.bytesWritten += data.length;
      }
      return { existed };
    } finally {
      await unlink(tmp).catch(() => {});
    }
  }

  /**
   * Writes `data` into the new file `tmp` with O_DIRECT when it is large and its memory looks page-aligned with
   * a page-rounded tail inside the same ArrayBuffer (the backup workers' slots are laid out so): the bytes go
   * from the caller's memory to the disk, skipping the copy into the page cache (about a tenth of a backup's CPU
   * on the 2-core reference machine) and the write-back the sync would then wait for. The file is written
   * rounded up to whole pages and truncated back, then synced. Returns false, with `tmp` created empty, when it
   * did not write (the caller writes buffered); a refused alignment is remembered per ArrayBuffer.
   */
  private async writeDirect(tmp: string, data: Uint8Array, opts: PutOptions): Promise<boolean> {
    const padded = Math.ceil(data.length / DIRECT_ALIGN) * DIRECT_ALIGN;
    if (
      !this.direct ||
      data.length < DIRECT_MIN_BYTES ||
      data.byteOffset + padded > data.buffer.byteLength ||
      this.misaligned.has(data.buffer)
    ) {
      return false;
    }
    let fh: Awaited<ReturnType<typeof open>>;
    try {
      fh = await open(tmp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_DIRECT, 0o666);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
      // The filesystem does not do O_DIRECT (tmpfs, some FUSE): never again for this store.
      this.direct = false;
      return false;
    }
    try {
      const view = new Uint8Array(data.buffer, data.byteOffset, padded);
      try {
        for (let done = 0; done < padded; ) {
          const { bytesWritten } = await fh.write(view, done, padded - done, done);
          // A short direct write ends at an unaligned place (disk full is the usual cause): finish buffered.
          if (bytesWritten % DIRECT_ALIGN !== 0 || bytesWritten === 0) {
            throw Object.assign(new Error('short direct write'), { code: 'EINVAL' });
          }
          done += bytesWritten;
        }
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
        this.misaligned.add(data.buffer);
        await fh.truncate(0);
        return false;
      }
      opts.onDataReleased?.();
      await fh.truncate(data.length);
      this.counters.directWrites++;
      if (this.sync) await this.dataSync(fh);
      return true;
    } finally {
      await fh.close();
    }
  }

  async get(key: string): Promise<Buffer> {
    return readFile(this.path(key));
  }

  /**
   * Reads the object into `into` (positional reads, no allocation) and returns its size. When the object is
   * larger than `into`, returns its size with `into` holding only its beginning. Rejects with 'ENOENT' when missing.
   */
  async getInto(key: string, into: Uint8Array): Promise<number> {
    const direct = await this.getIntoDirect(key, into);
    if (direct !== undefined) return direct;
    const fh = await open(this.path(key), 'r');
    try {
      let done = 0;
      while (done < into.length) {
        const { bytesRead } = await fh.read(into, done, into.length - done, done);
        if (bytesRead === 0) return done;
        done += bytesRead;
      }
      return (await fh.stat()).size;
    } finally {
      await fh.close();
    }
  }

  /**
   * getInto with O_DIRECT for a large, page-aligned `into` (restore's and verify's shared slots): a chunk object
   * read once and decoded elsewhere gains nothing from the page cache, and going through it cost a copy plus
   * inserting and later evicting every page (a sixth of a restore's CPU on the 2-core reference machine, with
   * other data pushed out of the cache). Reads only whole pages inside `into`; the kernel stops at the end of the
   * file. Undefined (nothing read) where it does not apply or was refused: the caller reads buffered.
   */
  private async getIntoDirect(key: string, into: Uint8Array): Promise<number | undefined> {
    const span = Math.floor(into.length / DIRECT_ALIGN) * DIRECT_ALIGN;
    if (!this.direct || this.directReadRefused || span < DIRECT_MIN_BYTES || this.misaligned.has(into.buffer)) {
      return undefined;
    }
    let fh: Awaited<ReturnType<typeof open>>;
    try {
      fh = await open(this.path(key), fsConstants.O_RDONLY | fsConstants.O_DIRECT);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
      this.directReadRefused = true;
      return undefined;
    }
    try {
      let done = 0;
      try {
        while (done < span) {
          const { bytesRead } = await fh.read(into, done, span - done, done);
          if (bytesRead === 0) break;
          done += bytesRead;
          // Short of a whole page only at the end of the file.
          if (done % DIRECT_ALIGN !== 0) break;
        }
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
        this.misaligned.add(into.buffer);
        return undefined;
      }
      if (done === span) {
        // A full span may be a larger object's beginning: one larger than `into` is the caller's to judge by its
        // size; one whose tail fits in `into`'s last partial page is read again, buffered.
        const { size } = await fh.stat();
        if (size > span && size <= into.length) return undefined;
        done = size;
      }
      this.counters.directReads++;
      return done;
    } finally {
      await fh.close();
    }
  }

  async getStream(key: string): Promise<NodeJS.ReadableStream> {
    const fh = await open(this.path(key), 'r');
    return createReadStream('', { fd: fh.fd, autoClose: false }).on('close', () => void fh.close());
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const st = await stat(this.path(key));
      return st.isFile() ? { key, size: st.size, mtime: st.mtime } : null;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR')
        return null;
      throw e;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    // Walk only the deepest directory the prefix fully names.
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash >= 0 ? prefix.slice(0, slash) : '';
    if (dirKey !== '') assertValidKey(dirKey);
    yield* this.walk(dirKey, prefix);
  }

  private async *walk(dirKey: string, prefix: string): AsyncIterable<ObjectInfo> {
    const dirPath = dirKey === '' ? this.root : join(this.root, ...dirKey.split('/'));
    let dir: Awaited<ReturnType<typeof opendir>>;
    try {
      dir = await opendir(dirPath);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return;
      throw e;
    }
    for await (const ent of dir) {
      const key = dirKey === '' ? ent.name : `${dirKey}/${ent.name}`;
      if (dirKey === '' && ent.name === TMP) continue;
      if (ent.isDirectory()) {
        // Descend only where keys below can still match the prefix.
        if (prefix.startsWith(`${key}/`) || key.startsWith(prefix) || `${key}/`.startsWith(prefix)) {
          yield* this.walk(key, prefix);
        }
      } else if (ent.isFile() && key.startsWith(prefix)) {
        try {
          const st = await stat(join(dirPath, ent.name));
          yield { key, size: st.size, mtime: st.mtime };
        } catch (e) {
          // Deleted while listing.
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        }
      }
    }
  }

  async delete(key: string): Promise<boolean> {
    const p = this.path(key);
    try {
      await unlink(p);
      this.dirtyDirs.add(dirname(p));
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  }

  async touch(key: string): Promise<void> {
    await this.touchPath(this.path(key));
  }

  /** Touches; false when the file no longer exists. */
  private async touchIfPresent(p: string): Promise<boolean> {
    try {
      await this.touchPath(p);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  }

  private async touchPath(p: string): Promise<void> {
    const now = new Date();
    await utimes(p, now, now);
  }

  async flush(): Promise<void> {
    const dirs = [...this.dirtyDirs];
    this.dirtyDirs = new Set();
    if (!this.sync) return;
    // Deepest first is not required for correctness (each entry is synced where it lives), just tidy.
    dirs.sort((a, b) => b.split(sep).length - a.split(sep).length);
    try {
      await Promise.all(
        dirs.map(async (d) => {
          const fh = await open(d, 'r');
          try {
            await fh.sync();
            this.counters.dirSyncs++;
          } finally {
            await fh.close();
          }
        }),
      );
    } catch (e) {
      for (const d of dirs) this.dirtyDirs.add(d);
      throw e;
    }
  }

  async sweepTemporaries(): Promise<number> {
    let removed = 0;
    let dir: Awaited<ReturnType<typeof opendir>>;
    try {
      dir = await opendir(this.tmpDir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw e;
    }
    const now = Date.now();
    for await (const ent of dir) {
      const p = join(this.tmpDir, ent.name);
      const m = /^(.+)\.(\d+)\.[0-9a-f]+\.tmp$/.exec(ent.name);
      let stale: boolean;
      if (m && m[1] === HOST) {
        const pid = Number(m[2]);
        stale = pid !== process.pid && !processAlive(pid);
      } else {
        const st = await stat(p).catch(() => null);
        stale = st !== null && now - st.mtimeMs > FOREIGN_TMP_MAX_AGE_MS;
      }
      if (
        stale &&
        (await unlink(p).then(
          () => true,
          () => false,
        ))
      ) {
        removed++;
      }
    }
    return removed;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}
