/**
 * The SQLite metadata store's space reserve: a preallocated file in the data directory that is deleted the moment
 * SQLite reports SQLITE_FULL, so the write that failed (typically a task's failure path putting a record back to
 * `available` or `error`) can be retried into the space it held. Without it a full disk leaves records stuck in
 * `uploading` or `creating`, because their status reset cannot be written either. The file comes back once the
 * filesystem has room for it twice over (checked on a timer), so one reserve is always there for the next time.
 *
 * The file alone is not enough: a transaction runs asynchronously, so between the release and its retry the volume
 * writers that filled the disk can take the freed space. So the database file also keeps free pages of its own
 * (PAGE_RESERVE_BYTES on SQLite's freelist, which only SQLite can reuse): the status writes of a full disk go into
 * those without the file growing, and the WAL, grown once to hold them, is reused after each checkpoint. The file
 * reserve remains for what the pages cannot cover (a WAL that starts empty after a restart on a full disk).
 *
 * PostgreSQL keeps its data on the database server's disk; reserving space there is the DBA's business.
 */
import { execFile } from 'node:child_process';
import { closeSync, existsSync, fsyncSync, openSync, statfsSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { open, rename, rm, statfs } from 'node:fs/promises';
import type { Logger } from 'pino';

export const RESERVE_FILE = 'metadata.reserve';
export const DEFAULT_RESERVE_BYTES = 32 * 1024 * 1024;
const RECHECK_MS = 15_000;
/** Free pages kept inside the database file: ~1000 pages of 4 KiB, hundreds of status-reset transactions. */
export const PAGE_RESERVE_BYTES = 4 * 1024 * 1024;
const PAGE_TOP_UP_MS = 60_000;

/** The part of a better-sqlite3 handle the page reserve uses. */
export interface SqlitePages {
  pragma(source: string, options: { simple: true }): unknown;
  exec(source: string): unknown;
  readonly inTransaction: boolean;
}
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

  /**
   * Right after the write the release made room for: takes back, synchronously, what that write left of the freed
   * space (up to the reserve's size). Nothing else in this process runs in between, so the volume writers that
   * filled the disk cannot take the space meant for the next status reset; what could not be taken back is topped
   * up by the timer once the disk has room.
   */
  refill(): void {
    if (this.bytes <= 0 || existsSync(this.path)) return;
    let fd: number | null = null;
    let got = 0;
    try {
      fd = openSync(this.path, 'w', 0o600);
      while (got < this.bytes) got += writeSync(fd, ZEROS, 0, Math.min(ZEROS.length, this.bytes - got), got);
    } catch {
      // ENOSPC: keep what was taken
    }
    if (fd !== null) {
      try {
        fsyncSync(fd);
      } catch {
        // the blocks are allocated whether or not they reached the disk
      }
      closeSync(fd);
    }
    if (got < this.bytes) this.watch();
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
    if (this.pageTimer) clearInterval(this.pageTimer);
    this.pageTimer = null;
  }

  private pageTimer: NodeJS.Timeout | null = null;

  /**
   * Keeps PAGE_RESERVE_BYTES of free pages in the database file: when fewer are free (status writes used them) and
   * the disk has room twice over, a scratch table is filled and dropped in one transaction, which leaves its pages
   * on the freelist. Checked now and then on a timer.
   */
  keepPages(sqlite: SqlitePages, bytes = PAGE_RESERVE_BYTES): void {
    this.topUpPages(sqlite, bytes);
    if (this.pageTimer) return;
    this.pageTimer = setInterval(() => this.topUpPages(sqlite, bytes), PAGE_TOP_UP_MS);
    this.pageTimer.unref();
  }

  /** Free bytes on the freelist after the top-up (or as found when none was possible). */
  topUpPages(sqlite: SqlitePages, bytes = PAGE_RESERVE_BYTES): number {
    try {
      const pageSize = Number(sqlite.pragma('page_size', { simple: true }));
      const free = Number(sqlite.pragma('freelist_count', { simple: true })) * pageSize;
      if (free >= bytes / 2 || sqlite.inTransaction) return free;
      const dir = this.path.slice(0, this.path.lastIndexOf('/')) || '/';
      const fs = statfsSyncSafe(dir);
      if (fs !== null && fs < 2 * bytes) return free;
      const want = bytes - free;
      sqlite.exec(
        `begin immediate; create table cinderbox_space_reserve (x blob); ` +
          `insert into cinderbox_space_reserve values (zeroblob(${want})); drop table cinderbox_space_reserve; commit`,
      );
      return Number(sqlite.pragma('freelist_count', { simple: true })) * pageSize;
    } catch (e) {
      if (sqlite.inTransaction) {
        try {
          sqlite.exec('rollback');
        } catch {
          // already rolled back
        }
      }
      this.logger?.warn({ err: e }, 'could not top up the metadata store\'s free pages; retried later');
      return 0;
    }
  }

  private async make(): Promise<boolean> {
    if (this.bytes <= 0) return false;
    const have = (() => {
      try {
        return statSync(this.path).size;
      } catch {
        return -1;
      }
    })();
    if (have >= this.bytes) return true;
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

function statfsSyncSafe(dir: string): number | null {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}
