/**
 * The SQLite metadata store's space reserve: a preallocated file in the data directory that is deleted the moment
 * SQLite reports SQLITE_FULL, so the write that failed (typically a task's failure path putting a record back to
 * `available` or `error`) can be retried into the space it held. Without it a full disk leaves records stuck in
 * `uploading` or `creating`, because their status reset cannot be written either. The file comes back once the
 * filesystem has room for it twice over (checked on a timer), so one reserve is always there for the next time.
 *
 * PostgreSQL keeps its data on the database server's disk; reserving space there is the DBA's business.
 */
import { execFile } from 'node:child_process';
import { existsSync, unlinkSync } from 'node:fs';
import { open, rename, rm, statfs } from 'node:fs/promises';
import type { Logger } from 'pino';

export const RESERVE_FILE = 'metadata.reserve';
export const DEFAULT_RESERVE_BYTES = 32 * 1024 * 1024;
const RECHECK_MS = 15_000;
const ZEROS = Buffer.alloc(1024 * 1024);

export class MetadataReserve {
  /** How many times the reserve was given up (tests and logs). */
  releases = 0;
  private timer: NodeJS.Timeout | null = null;
  private making: Promise<boolean> | null = null;

  constructor(
    readonly path: string,
    readonly bytes: number,
    private readonly logger?: Logger,
  ) {}

  held(): boolean {
    return existsSync(this.path);
  }

  /**
   * Deletes the reserve (synchronously: SQLite's statements run synchronously and the retry follows at once);
   * true when there was one to delete, i.e. a retry now has room it did not have.
   */
  release(): boolean {
    try {
      unlinkSync(this.path);
    } catch {
      return false;
    }
    this.releases++;
    this.logger?.warn({ file: this.path, bytes: this.bytes }, 'metadata store full: its space reserve was released; it is re-created when space allows');
    this.watch();
    return true;
  }

  /** Creates the reserve when it is missing and the filesystem has room for it twice over; true when held after. */
  ensure(): Promise<boolean> {
    this.making ??= this.make().finally(() => (this.making = null));
    return this.making;
  }

  /** Starts re-creating the reserve on a timer until it is back. */
  private watch(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      void this.ensure().then((ok) => {
        if (ok) this.stop();
      });
    }, RECHECK_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async make(): Promise<boolean> {
    if (this.bytes <= 0) return false;
    if (this.held()) return true;
    const dir = this.path.slice(0, this.path.lastIndexOf('/')) || '/';
    const fs = await statfs(dir).catch(() => null);
    if (!fs || fs.bavail * fs.bsize < 2 * this.bytes) {
      this.watch();
      return false;
    }
    const temp = `${this.path}.tmp`;
    try {
      // fallocate(1) reserves the blocks in one call; writing zeros is the fallback where it cannot.
      const fast = await new Promise<boolean>((resolve) =>
        execFile('fallocate', ['-l', String(this.bytes), temp], (err) => resolve(err === null)),
      );
      const fh = await open(temp, fast ? 'r+' : 'w', 0o600);
      try {
        if (!fast) for (let done = 0; done < this.bytes; done += ZEROS.length) await fh.write(ZEROS, 0, Math.min(ZEROS.length, this.bytes - done), done);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(temp, this.path);
      return true;
    } catch (e) {
      await rm(temp, { force: true });
      this.logger?.warn({ err: e, file: this.path }, 'could not create the metadata space reserve; retried later');
      this.watch();
      return false;
    }
  }
}

/** True for better-sqlite3's "database or disk is full". */
export function isSqliteFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_FULL');
}
