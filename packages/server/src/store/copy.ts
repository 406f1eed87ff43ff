/**
 * `cinderbox db copy`: moves a server's metadata from its SQLite file to a PostgreSQL database, row for row.
 * The volume files and the backup repository stay in the data directory; only the rows move, so a server started
 * on the same data directory with CINDERBOX_DATABASE_URL serves the same resources.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Kysely, sql } from 'kysely';
import { acquireDataDirLock } from '../config/data-dir-lock.js';
import { openDatabase } from './database.js';
import { migrationProvider } from './migrations/index.js';
import type { Database } from './schema.js';

/** Every table of schema.ts, in the order they are copied (there are no foreign keys, so any order would do). */
export const COPIED_TABLES = [
  'domains',
  'projects',
  'users',
  'roles',
  'role_assignments',
  'tokens',
  'volume_types',
  'volumes',
  'volume_metadata',
  'volume_admin_metadata',
  'volume_attachments',
  'snapshots',
  'snapshot_metadata',
  'quotas',
  'quota_usages',
  'tasks',
  'node_state',
  'backups',
  'backup_metadata',
  'cbr_vaults',
  'cbr_vault_resources',
  'cbr_vault_tags',
  'cbr_policies',
  'cbr_policy_bindings',
  'cbr_checkpoints',
  'cbr_backups',
  'cbr_members',
  'cbr_operation_logs',
  'transfers',
  'messages',
  'qos_specs',
  'qos_specs_keys',
  'volume_type_projects',
  'volume_type_encryption',
  'default_volume_types',
  'services',
  'write_barriers',
  'write_barrier_acks',
  'quota_classes',
  'group_types',
  'group_type_specs',
  'groups',
  'group_volume_types',
  'group_snapshots',
  'repo_stats',
  'repo_stats_samples',
  'repo_jobs',
  'repo_backup_runs',
] as const satisfies readonly (keyof Database)[];

// A table added to schema.ts and forgotten here would silently stay behind: make that a type error instead.
type Uncopied = Exclude<keyof Database, (typeof COPIED_TABLES)[number]>;
const everyTableCopied: [Uncopied] extends [never] ? true : { forgotten: Uncopied } = true;
void everyTableCopied;

export type CopiedTable = (typeof COPIED_TABLES)[number];

export interface CopyProgress {
  table: CopiedTable;
  /** Rows of this table written so far, and its row count in the source. */
  copied: number;
  total: number;
  /** True once, when the table is complete. */
  done: boolean;
}

export interface CopySummary {
  tables: { table: CopiedTable; rows: number }[];
  rows: number;
  elapsedMs: number;
}

/** A copy that was not attempted or was rolled back: the message says why and what to do. */
export class CopyError extends Error {}

/** The target holds data already; nothing was written. */
export class TargetInUseError extends CopyError {}

/** What migration 0002 puts into every new database; the source's own default type replaces it. */
const SEEDED_TYPE = '__DEFAULT__';

type SqliteHandle = import('better-sqlite3').Database;
// The target is addressed by names only known at run time; the typed schema is checked against it column by column.
type AnyDb = Kysely<Record<string, Record<string, unknown>>>;

/** The URL with its password hidden, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparsable URL>';
  }
}

function sourceColumns(src: SqliteHandle, table: string): string[] {
  return (src.prepare(`pragma table_info(${JSON.stringify(table)})`).all() as { name: string }[]).map((c) => c.name);
}

function checkSourceMigrations(src: SqliteHandle, path: string, known: string[]): void {
  const hasTable = src.prepare("select 1 from sqlite_master where type = 'table' and name = 'kysely_migration'").get();
  if (!hasTable) throw new CopyError(`${path} is not a cinderbox database (it has no migration table)`);
  const applied = (src.prepare('select name from kysely_migration order by name').all() as { name: string }[]).map(
    (r) => r.name,
  );
  const newer = applied.filter((m) => !known.includes(m));
  if (newer.length > 0) {
    throw new CopyError(
      `${path} was written by a newer cinderbox (migrations ${newer.join(', ')} are unknown to this one); copy it with that version`,
    );
  }
  const missing = known.filter((m) => !applied.includes(m));
  if (missing.length > 0) {
    throw new CopyError(
      `${path} is at an older schema (missing ${missing.join(', ')}); start \`cinderbox serve\` on it once with this version to upgrade it, stop it, then copy`,
    );
  }
}

/** Integers are read as BigInt so no byte count loses precision; PostgreSQL takes them as decimal text. */
function toParam(v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

/**
 * Copies every table of an SQLite metadata file into the PostgreSQL database at `targetUrl`, in one transaction:
 * the target's migrations run first, a target holding anything beyond what the migrations seed is refused (the
 * message names the table), and any failure rolls the target back. The SQLite file is opened read-only.
 * The caller must make sure no server writes the source meanwhile (see copyDataDirDatabase).
 */
export async function copyDatabase(
  sqlitePath: string,
  targetUrl: string,
  onProgress: (p: CopyProgress) => void = () => {},
  opts: { batchRows?: number } = {},
): Promise<CopySummary> {
  const started = Date.now();
  if (!existsSync(sqlitePath)) throw new CopyError(`no cinderbox database at ${sqlitePath}`);
  const { default: SQLite } = await import('better-sqlite3');
  let src: SqliteHandle;
  try {
    src = new SQLite(sqlitePath, { readonly: true, fileMustExist: true });
  } catch (e) {
    throw new CopyError(`cannot open ${sqlitePath} read-only: ${(e as Error).message}`);
  }
  try {
    src.defaultSafeIntegers(true);
    src.pragma('busy_timeout = 5000');
    const known = Object.keys(await migrationProvider.getMigrations()).sort();
    checkSourceMigrations(src, sqlitePath, known);

    const counts = new Map<CopiedTable, number>();
    const columns = new Map<CopiedTable, string[]>();
    for (const table of COPIED_TABLES) {
      const cols = sourceColumns(src, table);
      if (cols.length === 0) throw new CopyError(`${sqlitePath} has no table ${table}`);
      columns.set(table, cols);
      const row = src.prepare(`select count(*) as n from "${table}"`).get() as { n: bigint };
      counts.set(table, Number(row.n));
    }

    let target;
    try {
      target = await openDatabase({ dataDir: '', database: { kind: 'postgres', url: targetUrl } });
    } catch (e) {
      throw new CopyError(`cannot prepare the target ${redactUrl(targetUrl)}: ${(e as Error).message}`);
    }
    try {
      const db = target.db as unknown as AnyDb;
      await checkTargetColumns(db, columns);
      const tables: CopySummary['tables'] = [];
      try {
        await db.transaction().execute(async (tx) => {
          // Nobody (a server started on the target too early, say) writes between the emptiness check and the commit.
          await sql`lock table ${sql.join(COPIED_TABLES.map((t) => sql.table(t)))} in access exclusive mode`.execute(tx);
          await ensureEmpty(tx, targetUrl);
          await sql`delete from volume_types where name = ${SEEDED_TYPE}`.execute(tx);

          for (const table of COPIED_TABLES) {
            const cols = columns.get(table)!;
            const total = counts.get(table)!;
            const batch = Math.max(1, Math.min(opts.batchRows ?? 500, Math.floor(60_000 / cols.length)));
            const select = src.prepare(`select ${cols.map((c) => `"${c}"`).join(', ')} from "${table}" order by rowid`);
            select.raw(true);
            let copied = 0;
            let rows: unknown[][] = [];
            const flush = async () => {
              if (rows.length === 0) return;
              await sql`insert into ${sql.table(table)} (${sql.join(cols.map((c) => sql.ref(c)))}) values ${sql.join(
                rows.map((r) => sql`(${sql.join(r.map(toParam))})`),
              )}`.execute(tx);
              copied += rows.length;
              rows = [];
              onProgress({ table, copied, total, done: false });
            };
            try {
              for (const r of select.iterate() as Iterable<unknown[]>) {
                rows.push(r);
                if (rows.length >= batch) await flush();
              }
              await flush();
            } catch (e) {
              throw new CopyError(`table ${table}, after ${copied} of ${total} rows: ${(e as Error).message}`);
            }
            const written = await countRows(tx, table);
            if (written !== total) {
              throw new CopyError(`table ${table}: ${total} rows in the source but ${written} in the target`);
            }
            onProgress({ table, copied, total, done: true });
            tables.push({ table, rows: total });
          }
          await resetSequences(tx);
        });
      } catch (e) {
        // The refusal of a target in use is not a failed copy: nothing was begun.
        if (e instanceof TargetInUseError) throw e;
        throw new CopyError(`copy failed, the target was rolled back: ${(e as Error).message}`);
      }
      return { tables, rows: tables.reduce((n, t) => n + t.rows, 0), elapsedMs: Date.now() - started };
    } finally {
      await target.close();
    }
  } finally {
    src.close();
  }
}

async function countRows(db: AnyDb, table: string): Promise<number> {
  const r = await sql<{ n: string | number }>`select count(*) as n from ${sql.table(table)}`.execute(db);
  return Number(r.rows[0]!.n);
}

/**
 * The target's migrations are the source's (checked above), so the columns agree unless someone altered a table
 * by hand; a difference would drop or fail values, so it is refused before anything is written.
 */
async function checkTargetColumns(db: AnyDb, columns: Map<CopiedTable, string[]>): Promise<void> {
  const r = await sql<{ table_name: string; column_name: string }>`
    select table_name, column_name from information_schema.columns
    where table_schema = current_schema() and table_name in (${sql.join([...columns.keys()])})`.execute(db);
  const target = new Map<string, Set<string>>();
  for (const row of r.rows) {
    let set = target.get(row.table_name);
    if (!set) target.set(row.table_name, (set = new Set()));
    set.add(row.column_name);
  }
  for (const [table, cols] of columns) {
    const have = target.get(table) ?? new Set<string>();
    const absent = cols.filter((c) => !have.has(c));
    const extra = [...have].filter((c) => !cols.includes(c));
    if (absent.length > 0 || extra.length > 0) {
      throw new CopyError(
        `table ${table} differs between source and target (${[
          absent.length ? `missing in the target: ${absent.join(', ')}` : '',
          extra.length ? `only in the target: ${extra.join(', ')}` : '',
        ]
          .filter(Boolean)
          .join('; ')})`,
      );
    }
  }
}

/** A fresh, migrated database holds only the seeded default volume type; anything else means it is in use. */
async function ensureEmpty(db: AnyDb, targetUrl: string): Promise<void> {
  for (const table of COPIED_TABLES) {
    const n = await countRows(db, table);
    if (table === 'volume_types') {
      const others = await sql<{ n: string | number }>`
        select count(*) as n from volume_types where name <> ${SEEDED_TYPE}`.execute(db);
      if (Number(others.rows[0]!.n) === 0 && n <= 1) continue;
    }
    if (n > 0) {
      throw new TargetInUseError(
        `the target ${redactUrl(targetUrl)} already holds data (table ${table} has ${n} row${n === 1 ? '' : 's'}); copy into a new, empty database`,
      );
    }
  }
}

/**
 * The schema has no serial or identity column today; should one appear, its sequence continues after the copied
 * ids rather than handing out one of them again.
 */
async function resetSequences(db: AnyDb): Promise<void> {
  const r = await sql<{ table_name: string; column_name: string; seq: string | null }>`
    select table_name, column_name, pg_get_serial_sequence(quote_ident(table_name), column_name) as seq
    from information_schema.columns
    where table_schema = current_schema() and table_name in (${sql.join([...COPIED_TABLES])})
      and (column_default like 'nextval(%' or is_identity = 'YES')`.execute(db);
  for (const { table_name, column_name, seq } of r.rows) {
    if (!seq) continue;
    await sql`select setval(${seq}::regclass, coalesce((select max(${sql.ref(column_name)}) from ${sql.table(table_name)}), 0) + 1, false)`.execute(
      db,
    );
  }
}

/**
 * The copy of a data directory's database, holding the directory's lock (the one `serve` takes) throughout, so a
 * server neither runs on the source during the copy nor starts on it halfway.
 */
export async function copyDataDirDatabase(
  opts: { dataDir: string; targetUrl: string },
  onProgress?: (p: CopyProgress) => void,
): Promise<CopySummary & { source: string; target: string }> {
  if (!existsSync(opts.dataDir)) throw new CopyError(`no cinderbox data directory at ${opts.dataDir}`);
  const source = join(opts.dataDir, 'cinderbox.db');
  if (!existsSync(source)) {
    throw new CopyError(`no SQLite database in ${opts.dataDir} (expected ${source}; was the server on PostgreSQL already?)`);
  }
  let lock: Awaited<ReturnType<typeof acquireDataDirLock>>;
  try {
    lock = await acquireDataDirLock(opts.dataDir);
  } catch (e) {
    throw new CopyError(`cannot copy: ${(e as Error).message}; stop the server first`);
  }
  try {
    const summary = await copyDatabase(source, opts.targetUrl, onProgress);
    return { ...summary, source, target: redactUrl(opts.targetUrl) };
  } finally {
    await lock.release();
  }
}
