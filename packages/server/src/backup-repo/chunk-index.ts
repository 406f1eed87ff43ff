/**
 * The node-local chunk index: answers "does the store hold this chunk" without a request, so a backup to S3 sends
 * no create-only PUT (that 412s) or HEAD per chunk it already has, and a backup to a filesystem no stat + utimes.
 *
 * It is a cache, never the truth: the object store is. It lives in one SQLite file per repository and store
 * (`<dir>/<repoId>-<hash of the store's description>.sqlite`, so an index built for one copy of a bucket is not
 * used for another), holds full 32-byte ids (a prefix collision would skip a needed write), and is rebuilt from a
 * listing of the store's chunk keys whenever it does not match the store's gc epoch (gc-epoch.ts). A missing entry
 * only costs a request; a wrong entry could make a backup reference a chunk that is not there, so entries are
 * added only once a chunk is durable in the store, and removed before garbage collection deletes the chunk.
 *
 * SQLite through better-sqlite3 (already the metadata store's driver): its memory is its bounded page cache, not
 * the number of chunks (measured at 1 M chunks by bench/backup/chunk-index.ts).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';

type Database = BetterSqlite3.Database;
type Statement = BetterSqlite3.Statement;

const require = createRequire(import.meta.url);

/** Rows per transaction when many ids are added at once (a rebuild, gc's refresh). */
const BATCH = 4096;

export class ChunkIndex {
  private readonly hasStmt: Statement;
  private readonly addStmt: Statement;
  private readonly removeStmt: Statement;
  private readonly getMeta: Statement;
  private readonly setMeta: Statement;
  private readonly addMany: (ids: Buffer[], gen: number) => void;
  /** The generation new entries get; gc moves it on and drops what it did not see again (sweepBefore). */
  private gen: number;

  private constructor(
    private readonly db: Database,
    readonly path: string,
  ) {
    db.pragma('journal_mode = WAL');
    // The index is a cache: after a power loss it may lose its last entries (a request each later), never gain
    // one the store lacks, because entries are added after the chunk is durable.
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    // A bounded page cache (32 MiB) whatever the number of chunks: 1 M ids make a ~56 MiB file.
    db.pragma('cache_size = -32768');
    db.exec(`CREATE TABLE IF NOT EXISTS chunks (id BLOB PRIMARY KEY, gen INTEGER NOT NULL) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;`);
    this.hasStmt = db.prepare('SELECT 1 FROM chunks WHERE id = ?').pluck();
    this.addStmt = db.prepare('INSERT INTO chunks (id, gen) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET gen = excluded.gen');
    this.removeStmt = db.prepare('DELETE FROM chunks WHERE id = ?');
    this.getMeta = db.prepare('SELECT v FROM meta WHERE k = ?').pluck();
    this.setMeta = db.prepare('INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v');
    this.addMany = db.transaction((ids: Buffer[], gen: number) => {
      for (const id of ids) this.addStmt.run(id, gen);
    });
    this.gen = Number(this.getMeta.get('gen') ?? 0);
  }

  /** Opens (creating) the index of repository `repoId` on the store described by `storeDescription`. */
  static open(dir: string, repoId: string, storeDescription: string): ChunkIndex {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const storeHash = createHash('sha256').update(storeDescription).digest('hex').slice(0, 16);
    const path = join(dir, `${repoId.replace(/[^A-Za-z0-9-]/g, '_')}-${storeHash}.sqlite`);
    const SQLite = require('better-sqlite3') as typeof BetterSqlite3;
    const openAt = () => {
      const db = new SQLite(path);
      try {
        return new ChunkIndex(db, path);
      } catch (e) {
        db.close();
        throw e;
      }
    };
    try {
      return openAt();
    } catch {
      // A cache: an unreadable file (damaged, from an incompatible version) is dropped and rebuilt from the store.
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
      return openAt();
    }
  }

  /** The store's gc epoch this index matches, or null when it was never built (or a rebuild did not finish). */
  get epoch(): string | null {
    return (this.getMeta.get('epoch') as string | undefined) ?? null;
  }

  setEpoch(epoch: string | null): void {
    if (epoch === null) this.db.prepare('DELETE FROM meta WHERE k = ?').run('epoch');
    else this.setMeta.run('epoch', epoch);
  }

  has(id: Buffer): boolean {
    return this.hasStmt.get(id) !== undefined;
  }

  /** Records chunks that are durable in the store. */
  add(ids: Buffer[]): void {
    for (let i = 0; i < ids.length; i += BATCH) {
      // In key order: each transaction then touches neighbouring B-tree pages (ids are random).
      this.addMany(ids.slice(i, i + BATCH).sort(Buffer.compare), this.gen);
    }
  }

  remove(id: Buffer): void {
    this.removeStmt.run(id);
  }

  /** Forgets every entry (before a rebuild: marked unbuilt until setEpoch). */
  clear(): void {
    this.setEpoch(null);
    this.db.exec('DELETE FROM chunks');
  }

  /**
   * Starts a refresh (by gc's listing): entries added from now on, by the refresh or by backups, belong to the new
   * generation; sweepBefore() then drops the ones nobody added again (chunks deleted behind this index's back).
   */
  nextGeneration(): number {
    this.gen += 1;
    this.setMeta.run('gen', String(this.gen));
    return this.gen;
  }

  /** Drops the entries of generations before `gen`. */
  sweepBefore(gen: number): number {
    return this.db.prepare('DELETE FROM chunks WHERE gen < ?').run(gen).changes;
  }

  count(): number {
    return this.db.prepare('SELECT count(*) FROM chunks').pluck().get() as number;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
