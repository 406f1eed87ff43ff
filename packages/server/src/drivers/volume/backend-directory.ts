/**
 * The file-naming and safety rules every file-backed volume driver shares: where a volume or snapshot of an id
 * lives, how temporaries are named and swept, which manage references may be followed (plain names in the backend
 * directory or in its `import/` area, never a symbolic link), and how the directory is made durable after a rename.
 * The drivers differ in what a file holds (raw bytes, a qcow2 layer); none of that is decided here.
 */
import { randomBytes } from 'node:crypto';
import { lstat, open, readdir, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { type BackendObject, IMPORT_PREFIX } from '../../domain/ports/volume-driver.js';
import { codedError, isUnsupportedError } from './sparse-io.js';

/** Hidden, so listings and manage references never see a half-written file. */
const TEMP_PREFIX = '.tmp-';
/** The import area's directory inside the backend directory. */
const IMPORT_DIR = IMPORT_PREFIX.slice(0, -1);
/** UUIDs and similar; no dots or separators, so ids cannot escape the directory or look like temporaries. */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

export { codedError };

function checkId(id: string): void {
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) throw codedError('EINVAL', `invalid object id ${JSON.stringify(id)}`);
}

export function checkSize(size: number, what = 'size'): void {
  if (!Number.isSafeInteger(size) || size < 0) throw codedError('EINVAL', `invalid ${what} ${String(size)}`);
}

/** A name that stays inside its directory: no separators, not `.`/`..`, not hidden (temporaries are hidden). */
export function isPlainName(n: string): boolean {
  return n.length > 0 && n.length <= 255 && !/[/\\\0]/.test(n) && !n.startsWith('.');
}

export function isNotFound(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === 'ENOENT';
}

export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    (e: unknown) => (isNotFound(e) ? false : Promise.reject(e)),
  );
}

async function anySameInode(paths: string[], st: { ino: number; dev: number }): Promise<boolean> {
  for (const path of paths) {
    const t = await stat(path).catch(() => null);
    if (t !== null && t.ino === st.ino && t.dev === st.dev) return true;
  }
  return false;
}

/**
 * The object name a manage reference gives: `{"source-name": "<name>"}` and nothing else (LVM's convention,
 * which both file drivers follow). Anything else is an EINVAL error saying what was expected.
 */
export function manageRefName(ref: unknown): string {
  if (ref === null || typeof ref !== 'object' || Array.isArray(ref)) {
    throw codedError('EINVAL', 'a reference must be an object {"source-name": "<file name>"}');
  }
  const keys = Object.keys(ref);
  const name = (ref as Record<string, unknown>)['source-name'];
  if (!keys.includes('source-name')) throw codedError('EINVAL', 'Reference must contain source-name element.');
  const unknown = keys.filter((k) => k !== 'source-name');
  if (unknown.length > 0) throw codedError('EINVAL', `unknown reference key(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')}; only source-name is understood`);
  if (typeof name !== 'string' || name === '') throw codedError('EINVAL', 'source-name must be a non-empty string');
  return name;
}

/** What a manage reference names, as lstat found it; null when nothing is there. */
export interface Reference {
  path: string;
  isFile: boolean;
  size: number;
  ino: number;
  dev: number;
}

export class BackendDirectory {
  constructor(readonly directory: string) {}

  path(kind: 'volume' | 'snapshot', id: string): string {
    checkId(id);
    return join(this.directory, kind === 'volume' ? `volume-${id}` : `_snapshot-${id}`);
  }

  objectName(kind: 'volume' | 'snapshot', id: string): string {
    return basename(this.path(kind, id));
  }

  /** A fresh temporary for a copy into `target`; its name starts with the target's, see removeTemporariesOf. */
  temporaryFor(target: string): string {
    return join(this.directory, `${TEMP_PREFIX}${basename(target)}.${randomBytes(6).toString('hex')}`);
  }

  async sweepTemporaries(): Promise<void> {
    await this.removeEntries((n) => n.startsWith(TEMP_PREFIX), true);
  }

  /** Leftovers of interrupted copies into `target` (ids hold no dots, so the prefix is unambiguous). */
  async removeTemporariesOf(target: string): Promise<void> {
    const prefix = `${TEMP_PREFIX}${basename(target)}.`;
    await this.removeEntries((n) => n.startsWith(prefix), false);
  }

  private async removeEntries(which: (name: string) => boolean, recursive: boolean): Promise<void> {
    let entries: string[];
    try {
      entries = await readdir(this.directory);
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    await Promise.all(entries.filter(which).map((n) => rm(join(this.directory, n), { force: true, recursive })));
  }

  /** Makes renames and links in the directory durable. */
  async sync(): Promise<void> {
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

  /** Path of a manage reference; EINVAL for any name that could leave the backend directory. */
  referencePath(name: string): string {
    if (typeof name !== 'string') throw codedError('EINVAL', 'a reference name must be a string');
    const inImport = name.startsWith(IMPORT_PREFIX);
    const rest = inImport ? name.slice(IMPORT_PREFIX.length) : name;
    if (!isPlainName(rest)) throw codedError('EINVAL', `${JSON.stringify(name)} is not a plain file name`);
    return inImport ? join(this.directory, IMPORT_DIR, rest) : join(this.directory, rest);
  }

  /** Whether the import area exists as a real directory; a symlinked one could lead anywhere, so it is refused. */
  async importArea(): Promise<boolean> {
    try {
      const st = await lstat(join(this.directory, IMPORT_DIR));
      if (st.isSymbolicLink()) throw codedError('EINVAL', 'the import area must not be a symbolic link');
      return st.isDirectory();
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  /**
   * The file a manage reference names, never through a symbolic link (EINVAL); null when it is missing or its
   * import area does not exist. `isFile` is false for directories and other non-regular entries. A regular file
   * must be the only name of its inode and live on the backend directory's filesystem (EINVAL otherwise): a hard
   * link shares its bytes with a name outside cinderbox's control, and another device cannot be linked into
   * place. `replayOf` are the adoption targets whose second name a replay after a crash may legitimately find.
   */
  async lookUp(name: string, replayOf: string[] = []): Promise<Reference | null> {
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
    if (st.isFile()) {
      if (st.dev !== (await stat(this.directory)).dev) {
        throw codedError('EINVAL', `${JSON.stringify(name)} is on another filesystem than the backend directory`);
      }
      if (st.nlink > 1 && !(st.nlink === 2 && ((await anySameInode(replayOf, st)) || (await this.hiddenNameOf(st))))) {
        throw codedError('EINVAL', `${JSON.stringify(name)} has ${st.nlink} hard links; only a file with a single name can be managed`);
      }
    }
    return { path, isFile: st.isFile(), size: st.size, ino: st.ino, dev: st.dev };
  }

  /**
   * Whether a hidden entry of the directory (the driver's own: a layer it is linking the file to) shares the inode:
   * an adoption interrupted by a crash, which its replay finishes.
   */
  private async hiddenNameOf(st: { ino: number; dev: number }): Promise<boolean> {
    const hidden = (await readdir(this.directory)).filter((n) => n.startsWith('.'));
    return anySameInode(hidden.map((n) => join(this.directory, n)), st);
  }

  /**
   * The regular file a manage reference names, to be adopted as `target`; null when there is nothing left to do
   * (the name is the target already, or an adoption interrupted by a crash had moved it there). `linkedAs` are
   * further names the driver links the source to while adopting it.
   */
  async adoptionSource(name: string, target: string, linkedAs: string[] = []): Promise<Reference | null> {
    if (this.referencePath(name) === target) return null;
    const ref = await this.lookUp(name, [target, ...linkedAs]);
    if (ref === null) {
      if (await exists(target)) return null;
      throw codedError('ENOENT', `${JSON.stringify(name)} does not exist`);
    }
    if (!ref.isFile) throw codedError('EINVAL', `${JSON.stringify(name)} is not a regular file`);
    return ref;
  }

  /**
   * Regular files of the directory and of its import area (as `import/<name>`), hidden names and symlinks
   * left out, sorted by name; `sizeOf` gives the size a driver reports for a file (a qcow2 image's virtual size).
   */
  async listObjects(sizeOf: (path: string, fileSize: number) => Promise<number> = async (_p, s) => s): Promise<BackendObject[]> {
    const out = await this.listFiles(this.directory, '', sizeOf);
    // A symlinked import area is left out of listings as it is refused in references.
    const area = await this.importArea().catch((e: unknown) =>
      (e as { code?: unknown }).code === 'EINVAL' ? false : Promise.reject(e),
    );
    if (area) out.push(...(await this.listFiles(join(this.directory, IMPORT_DIR), IMPORT_PREFIX, sizeOf)));
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  private async listFiles(
    dir: string,
    prefix: string,
    sizeOf: (path: string, fileSize: number) => Promise<number>,
  ): Promise<BackendObject[]> {
    const entries = await readdir(dir, { withFileTypes: true });
    const out: BackendObject[] = [];
    for (const entry of entries) {
      if (!entry.isFile() || entry.name.startsWith('.')) continue;
      try {
        const path = join(dir, entry.name);
        const st = await stat(path);
        out.push({ name: `${prefix}${entry.name}`, size: await sizeOf(path, st.size) });
      } catch (e) {
        if (!isNotFound(e)) throw e; // deleted while listing
      }
    }
    return out;
  }
}

/**
 * Iterates `source` without closing it when the consumer stops early. A `for await` that throws (ENOSPC from a
 * write) closes a stream source with an AbortError, and stream.pipeline then reports that AbortError instead of the
 * write's error; left open, the pipeline tears the source down with the error the driver threw.
 */
export async function* leaveOpen<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  for (;;) {
    const r = await it.next();
    if (r.done) return;
    yield r.value;
  }
}
