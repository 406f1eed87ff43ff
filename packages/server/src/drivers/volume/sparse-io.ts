/**
 * Sparse-file primitives for file-backed volume drivers: data extents (SEEK_DATA/SEEK_HOLE), reflink clones
 * (FICLONE), hole punching (fallocate PUNCH_HOLE|KEEP_SIZE), physical extents (FIEMAP) and a bounded-memory copy
 * that never writes zero runs. Node has none of the syscalls, so they come from the small N-API addon in
 * packages/server/native (built by native/build.mjs); when it is not built, each primitive falls back to a
 * subprocess (`filefrag`, `cp --reflink=always`, `fallocate --punch-hole`) or to plain reads and writes.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { type FileHandle, open, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Extent, ProgressOptions } from '../../domain/ports/volume-driver.js';

/** A mapping of file bytes to disk bytes, as FIEMAP reports it; the basis for changed-block tracking. */
export interface PhysicalExtent {
  /** Byte offset in the file. */
  logical: number;
  /** Byte offset on the device (0 when unknown, e.g. delayed allocation). */
  physical: number;
  length: number;
  /** FIEMAP_EXTENT_* bits (see FIEMAP_FLAGS). */
  flags: number;
}

export const FIEMAP_FLAGS = {
  last: 0x1,
  unknown_loc: 0x2,
  delalloc: 0x4,
  encoded: 0x8,
  data_encrypted: 0x80,
  not_aligned: 0x100,
  data_inline: 0x200,
  data_tail: 0x400,
  unwritten: 0x800,
  merged: 0x1000,
  shared: 0x2000,
} as const;

export type SparseIoBackend = 'native' | 'subprocess';

export interface CopyOptions extends ProgressOptions {
  /** Read buffer size; memory use per copy is about this much. Default 1 MiB. */
  bufferSize?: number;
}

export interface CopyResult {
  /** Bytes actually written to the destination (zero blocks are skipped). */
  bytesWritten: number;
  /** Bytes read from the source's data extents. */
  bytesRead: number;
}

interface Addon {
  abiVersion: number;
  ficlone(destFd: number, srcFd: number): Promise<void>;
  punchHole(fd: number, offset: number, length: number): Promise<void>;
  dataExtents(fd: number, start: number, end: number): Promise<number[]>;
  fiemap(fd: number, sync: boolean): Promise<number[]>;
}

/** Where the compiled addon lives; the same relative path holds from src/ (tsx) and from dist/. */
export const ADDON_PATH =
  process.env.CINDERBOX_SPARSE_ADDON ??
  fileURLToPath(new URL('../../../native/build/Release/sparse_io.node', import.meta.url));

let addonState: { addon: Addon | null; error: string | undefined } | undefined;

function loadAddon(): Addon | null {
  if (addonState === undefined) {
    try {
      const addon = createRequire(import.meta.url)(ADDON_PATH) as Addon;
      addonState =
        addon.abiVersion === 1
          ? { addon, error: undefined }
          : { addon: null, error: `unexpected addon ABI ${String(addon.abiVersion)}` };
    } catch (e) {
      addonState = { addon: null, error: (e instanceof Error ? e.message : String(e)).split('\n')[0] };
    }
  }
  return addonState.addon;
}

/** Whether the native addon is available, and why not (for the startup log). */
export function addonStatus(): { loaded: boolean; path: string; error?: string } {
  const loaded = loadAddon() !== null;
  const error = addonState?.error;
  return error === undefined ? { loaded, path: ADDON_PATH } : { loaded, path: ADDON_PATH, error };
}

const UNSUPPORTED_CODES = new Set(['EOPNOTSUPP', 'ENOTSUP', 'EXDEV', 'EINVAL', 'ENOTTY', 'ENOSYS', 'EPERM']);

/** True for errors meaning "this filesystem cannot do that", after which callers use a slower path. */
export function isUnsupportedError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && UNSUPPORTED_CODES.has(code);
}

/** An Error with an errno-style code, as the volume drivers and services expect (EINVAL, EEXIST, …). */
export function codedError(code: string, message: string, cause?: unknown): Error & { code: string } {
  const err = new Error(message, cause === undefined ? undefined : { cause }) as Error & { code: string };
  err.code = code;
  return err;
}

function run(
  cmd: string,
  args: string[],
  signal?: AbortSignal,
): Promise<{ stdout: string; stderr: string; code: number | null; spawnError?: NodeJS.ErrnoException }> {
  return new Promise((resolve) => {
    const opts = signal === undefined ? { maxBuffer: 256 * 1024 * 1024 } : { maxBuffer: 256 * 1024 * 1024, signal };
    execFile(cmd, args, { ...opts, env: { ...process.env, LC_ALL: 'C' } }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: string | number }) | null;
      if (e && typeof e.code === 'string') resolve({ stdout, stderr, code: null, spawnError: e });
      else resolve({ stdout, stderr, code: e ? (typeof e.code === 'number' ? e.code : 1) : 0 });
    });
  });
}

/** Maps a failed coreutils/util-linux command's stderr to an errno-style code. */
function codeFromStderr(stderr: string): string {
  if (/No such file/i.test(stderr)) return 'ENOENT';
  if (/No space/i.test(stderr)) return 'ENOSPC';
  if (/Permission denied/i.test(stderr)) return 'EACCES';
  if (/Is a directory/i.test(stderr)) return 'EISDIR';
  return 'EOPNOTSUPP';
}

/** Sorts, clips to [0, size) and merges touching ranges. */
function normalizeExtents(extents: Extent[], size: number): Extent[] {
  const sorted = extents
    .map((e) => ({ offset: Math.max(0, e.offset), end: Math.min(size, e.offset + e.length) }))
    .filter((e) => e.end > e.offset)
    .sort((a, b) => a.offset - b.offset);
  const out: Extent[] = [];
  for (const e of sorted) {
    const last = out.at(-1);
    if (last && e.offset <= last.offset + last.length) {
      last.length = Math.max(last.length, e.end - last.offset);
    } else {
      out.push({ offset: e.offset, length: e.end - e.offset });
    }
  }
  return out;
}

const FILEFRAG_LINE = /^\s*\d+:\s*(\d+)\.\.\s*(\d+):\s*(\d+)\.\.\s*(\d+):\s*(\d+):(.*)$/;

/** Parses `filefrag -v` output into byte-based physical extents. */
export function parseFilefrag(output: string): PhysicalExtent[] {
  const blockSize = Number(/blocks? of (\d+) bytes/.exec(output)?.[1] ?? 4096);
  const out: PhysicalExtent[] = [];
  for (const line of output.split('\n')) {
    const m = FILEFRAG_LINE.exec(line);
    if (!m) continue;
    const [, logical, , physical, , length, rest = ''] = m;
    let flags = 0;
    const names = /([a-z_,]+)\s*$/.exec(rest)?.[1] ?? '';
    for (const name of names.split(',')) {
      const bit = (FIEMAP_FLAGS as Record<string, number>)[name];
      if (bit !== undefined) flags |= bit;
    }
    out.push({
      logical: Number(logical) * blockSize,
      physical: Number(physical) * blockSize,
      length: Number(length) * blockSize,
      flags,
    });
  }
  return out;
}

const ZERO_BLOCK = 4096;

/**
 * The primitives, bound to one backend. Use `sparseIo()` for the process-wide default; tests construct
 * `new SparseIo({ backend: 'subprocess' })` to exercise the fallback even when the addon is built.
 */
export class SparseIo {
  readonly backend: SparseIoBackend;
  private readonly addon: Addon | null;

  constructor(opts: { backend?: SparseIoBackend | 'auto' } = {}) {
    const wanted = opts.backend ?? 'auto';
    const addon = wanted === 'subprocess' ? null : loadAddon();
    if (wanted === 'native' && addon === null) {
      throw codedError('ENOENT', `sparse-io addon not available at ${ADDON_PATH}: ${addonState?.error ?? ''}`);
    }
    this.addon = addon;
    this.backend = addon ? 'native' : 'subprocess';
  }

  /** Ranges of the file that may hold non-zero data; sorted, merged, within the file size. */
  async dataExtents(path: string): Promise<Extent[]> {
    const fh = await open(path, 'r');
    try {
      return await this.dataExtentsOf(fh, path);
    } finally {
      await fh.close();
    }
  }

  private async dataExtentsOf(fh: FileHandle, path: string): Promise<Extent[]> {
    const { size } = await fh.stat();
    if (size === 0) return [];
    if (this.addon) {
      try {
        const flat = await this.addon.dataExtents(fh.fd, 0, size);
        const extents: Extent[] = [];
        for (let i = 0; i + 1 < flat.length; i += 2) extents.push({ offset: flat[i] ?? 0, length: flat[i + 1] ?? 0 });
        return normalizeExtents(extents, size);
      } catch (e) {
        // Filesystems without SEEK_DATA: treat everything as data; the copy still skips zero blocks.
        if (isUnsupportedError(e)) return [{ offset: 0, length: size }];
        throw e;
      }
    }
    // FIEMAP after a sync reports written data only as non-unwritten extents, matching SEEK_DATA.
    const mapped = await this.filefrag(path, true).catch(() => null);
    if (mapped === null) return [{ offset: 0, length: size }];
    return normalizeExtents(
      mapped
        .filter((e) => (e.flags & FIEMAP_FLAGS.unwritten) === 0)
        .map((e) => ({ offset: e.logical, length: e.length })),
      size,
    );
  }

  /** Physical extents from FIEMAP; `sync` flushes delayed allocations first so physical addresses are known. */
  async physicalExtents(path: string, opts: { sync?: boolean } = {}): Promise<PhysicalExtent[]> {
    const sync = opts.sync ?? true;
    if (this.addon) {
      const fh = await open(path, 'r');
      try {
        const flat = await this.addon.fiemap(fh.fd, sync);
        const out: PhysicalExtent[] = [];
        for (let i = 0; i + 3 < flat.length; i += 4) {
          out.push({
            logical: flat[i] ?? 0,
            physical: flat[i + 1] ?? 0,
            length: flat[i + 2] ?? 0,
            flags: flat[i + 3] ?? 0,
          });
        }
        return out;
      } finally {
        await fh.close();
      }
    }
    return this.filefrag(path, sync);
  }

  private async filefrag(path: string, sync: boolean): Promise<PhysicalExtent[]> {
    const args = sync ? ['-v', '-s', '--', path] : ['-v', '--', path];
    const r = await run('filefrag', args);
    if (r.spawnError) throw codedError('ENOSYS', `filefrag unavailable: ${r.spawnError.message}`, r.spawnError);
    if (r.code !== 0) {
      throw codedError(codeFromStderr(r.stderr + r.stdout), `filefrag failed: ${(r.stderr || r.stdout).trim()}`);
    }
    return parseFilefrag(r.stdout);
  }

  /**
   * Makes `dest` (created or truncated) share all of `src`'s blocks. Rejects with an error for which
   * isUnsupportedError() is true when the filesystem cannot reflink.
   */
  async reflink(src: string, dest: string): Promise<void> {
    if (this.addon) {
      const source = await open(src, 'r');
      try {
        const target = await open(dest, 'w');
        try {
          await this.addon.ficlone(target.fd, source.fd);
        } finally {
          await target.close();
        }
      } finally {
        await source.close();
      }
      return;
    }
    const r = await run('cp', ['--reflink=always', '--', src, dest]);
    if (r.spawnError) throw codedError('ENOSYS', `cp unavailable: ${r.spawnError.message}`, r.spawnError);
    if (r.code !== 0) throw codedError(codeFromStderr(r.stderr), `cp --reflink=always failed: ${r.stderr.trim()}`);
  }

  /** Deallocates a range without changing the size; rejects (isUnsupportedError) where that is impossible. */
  async punchHole(path: string, offset: number, length: number): Promise<void> {
    if (length <= 0) return;
    if (this.addon) {
      const fh = await open(path, 'r+');
      try {
        await this.addon.punchHole(fh.fd, offset, length);
      } finally {
        await fh.close();
      }
      return;
    }
    const r = await run('fallocate', [
      '--punch-hole',
      '--keep-size',
      '--offset',
      String(offset),
      '--length',
      String(length),
      '--',
      path,
    ]);
    if (r.spawnError) throw codedError('ENOSYS', `fallocate unavailable: ${r.spawnError.message}`, r.spawnError);
    if (r.code !== 0) throw codedError(codeFromStderr(r.stderr), `fallocate --punch-hole failed: ${r.stderr.trim()}`);
  }

  /** Makes a range read as zeros: a punched hole where possible, else written zeros. Never grows the file. */
  async zeroRange(path: string, offset: number, length: number): Promise<void> {
    const { size } = await stat(path);
    const end = Math.min(size, offset + length);
    if (end <= offset) return;
    try {
      await this.punchHole(path, offset, end - offset);
      return;
    } catch (e) {
      if (!isUnsupportedError(e)) throw e;
    }
    const fh = await open(path, 'r+');
    try {
      const zeros = Buffer.alloc(Math.min(1024 * 1024, end - offset));
      for (let pos = offset; pos < end; ) {
        const n = Math.min(zeros.length, end - pos);
        const { bytesWritten } = await fh.write(zeros, 0, n, pos);
        pos += bytesWritten;
      }
      await fh.datasync();
    } finally {
      await fh.close();
    }
  }

  /**
   * Copies `src` to `dest` (created or truncated, same size as src) reading only the data extents and writing
   * only the non-zero 4 KiB blocks, so the copy is at least as sparse as the source. fsyncs `dest` before
   * resolving. Rejects with signal.reason when aborted; the caller removes the partial `dest`.
   */
  async copySparse(src: string, dest: string, opts: CopyOptions = {}): Promise<CopyResult> {
    const { signal } = opts;
    signal?.throwIfAborted();
    const bufferSize = Math.max(ZERO_BLOCK, Math.floor((opts.bufferSize ?? 1024 * 1024) / ZERO_BLOCK) * ZERO_BLOCK);
    const progress = throttledProgress(opts.onProgress);
    const source = await open(src, 'r');
    try {
      const target = await open(dest, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_TRUNC, 0o600);
      try {
        const { size } = await source.stat();
        await target.truncate(size);
        const extents = await this.dataExtentsOf(source, src);
        const total = extents.reduce((n, e) => n + e.length, 0);
        const buf = Buffer.allocUnsafe(bufferSize);
        let bytesRead = 0;
        let bytesWritten = 0;
        progress(0);
        for (const extent of extents) {
          const end = extent.offset + extent.length;
          for (let pos = extent.offset; pos < end; ) {
            signal?.throwIfAborted();
            const want = Math.min(bufferSize, end - pos);
            const n = await readFully(source, buf, want, pos);
            if (n === 0) break; // the source shrank under us; the rest reads as zeros anyway
            bytesWritten += await writeNonZero(target, buf, n, pos);
            bytesRead += n;
            pos += n;
            progress(total === 0 ? 1 : Math.min(1, bytesRead / total));
          }
        }
        signal?.throwIfAborted();
        await target.sync();
        progress(1, true);
        return { bytesRead, bytesWritten };
      } finally {
        await target.close();
      }
    } finally {
      await source.close();
    }
  }

  /**
   * Whether `directory` supports reflinks: clones a small probe file. The probe files are named like the
   * drivers' temporaries (`.tmp-…`) so a crash mid-probe leaves nothing sweepTemporaries misses.
   */
  async probeReflink(directory: string): Promise<boolean> {
    const tag = randomBytes(6).toString('hex');
    const src = join(directory, `.tmp-reflink-probe.${tag}.src`);
    const dest = join(directory, `.tmp-reflink-probe.${tag}.dst`);
    try {
      await writeFile(src, Buffer.alloc(ZERO_BLOCK, 0x5a));
      await this.reflink(src, dest);
      return true;
    } catch {
      return false;
    } finally {
      await rm(src, { force: true });
      await rm(dest, { force: true });
    }
  }
}

async function readFully(fh: FileHandle, buf: Buffer, length: number, position: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

let zeroChunk: Buffer | undefined;

/** Writes the non-zero 4 KiB blocks of buf[0, length) at `position`, coalescing neighbours into one write. */
async function writeNonZero(fh: FileHandle, buf: Buffer, length: number, position: number): Promise<number> {
  if (zeroChunk === undefined || zeroChunk.length < length) zeroChunk = Buffer.alloc(Math.max(length, 1024 * 1024));
  if (buf.compare(zeroChunk, 0, length, 0, length) === 0) return 0;
  let written = 0;
  let runStart = -1;
  for (let off = 0; off <= length; off += ZERO_BLOCK) {
    const blockEnd = Math.min(length, off + ZERO_BLOCK);
    const zero = off >= length || buf.compare(zeroChunk, 0, blockEnd - off, off, blockEnd) === 0;
    if (!zero && runStart < 0) runStart = off;
    if (zero && runStart >= 0) {
      written += await writeFully(fh, buf, runStart, off - runStart, position + runStart);
      runStart = -1;
    }
  }
  if (runStart >= 0) written += await writeFully(fh, buf, runStart, length - runStart, position + runStart);
  return written;
}

async function writeFully(
  fh: FileHandle,
  buf: Buffer,
  offset: number,
  length: number,
  position: number,
): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesWritten } = await fh.write(buf, offset + done, length - done, position + done);
    done += bytesWritten;
  }
  return done;
}

/** Calls onProgress at most every `intervalMs` (forced calls always go through) and never goes backwards. */
export function throttledProgress(
  onProgress: ((fraction: number) => void) | undefined,
  intervalMs = 250,
): (fraction: number, force?: boolean) => void {
  if (!onProgress) return () => {};
  let last = 0;
  let lastFraction = -1;
  return (fraction, force = false) => {
    const now = Date.now();
    if (fraction <= lastFraction) return;
    if (!force && lastFraction >= 0 && now - last < intervalMs) return;
    last = now;
    lastFraction = fraction;
    onProgress(fraction);
  };
}

let defaultIo: SparseIo | undefined;

/** The process-wide primitives: native when the addon loads, unless CINDERBOX_SPARSE_IO=subprocess. */
export function sparseIo(): SparseIo {
  defaultIo ??= new SparseIo({ backend: process.env.CINDERBOX_SPARSE_IO === 'subprocess' ? 'subprocess' : 'auto' });
  return defaultIo;
}
