import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kysely, Migrator, SqliteDialect, PostgresDialect, type Transaction } from 'kysely';
import type { Logger } from 'pino';
import { DATABASE_DEFAULTS, idleInTransactionTimeoutMs, redactedDatabaseUrl, type DatabaseConfig, type ServerConfig } from '../config/config.js';
import { migrationProvider } from './migrations/index.js';
import { DEFAULT_RESERVE_BYTES, isSqliteFull, MetadataReserve, RESERVE_FILE } from './metadata-reserve.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;
/** Either the database or an open transaction: repositories accept both so callers choose the boundary. */
export type Executor = Db | Tx;

export interface OpenedDatabase {
  db: Db;
  kind: 'sqlite' | 'postgres';
  /** SQLite's space reserve (store/metadata-reserve.ts); null on PostgreSQL or when configured off. */
  reserve?: MetadataReserve | null;
  close(): Promise<void>;
}

type SqliteHandle = import('better-sqlite3').Database;
type SqliteStatement = ReturnType<SqliteHandle['prepare']>;

/**
 * better-sqlite3 builds each row object through V8's property API, one column at a time, which costs more
 * than the query itself on a 100-row page. Raw mode returns arrays cheaply; a row constructor compiled
 * once per statement from its column names turns them into objects with one stable shape.
 */
function rowBuilder(columns: string[]): ((values: unknown[]) => Record<string, unknown>) | null {
  // An object literal treats `__proto__` specially; such a statement keeps better-sqlite3's own objects.
  if (columns.includes('__proto__')) return null;
  const fields = columns.map((c, i) => `${JSON.stringify(c)}: v[${i}]`).join(', ');
  return new Function('v', `return { ${fields} };`) as (values: unknown[]) => Record<string, unknown>;
}

/** The part of a better-sqlite3 statement that kysely's SQLite driver uses, with reader rows built as above. */
class CachedStatement {
  readonly reader: boolean;
  readonly #stmt: SqliteStatement;
  readonly #build: ((values: unknown[]) => Record<string, unknown>) | null;
  readonly #full: FullDisk | null;

  constructor(stmt: SqliteStatement, full: FullDisk | null) {
    this.#stmt = stmt;
    this.reader = stmt.reader;
    this.#build = stmt.reader ? rowBuilder(stmt.columns().map((c) => c.name)) : null;
    if (this.#build) stmt.raw(true);
    // Only writes can find the disk full (COMMIT counts as read-only to SQLite, yet in WAL mode it is where the
    // pages are written); reads stay on their fast path.
    this.#full = stmt.readonly && !/^\s*(commit|end)\b/i.test(stmt.source) ? null : full;
  }

  all(params: unknown[]): unknown[] {
    const rows = this.#withReserve(() => this.#stmt.all(params) as unknown[]);
    const build = this.#build;
    if (!build) return rows;
    for (let i = 0; i < rows.length; i++) rows[i] = build(rows[i] as unknown[]);
    return rows;
  }

  run(params: unknown[]) {
    return this.#withReserve(() => this.#stmt.run(params));
  }

  /**
   * On SQLITE_FULL, releases the space reserve and runs the statement once more, unless SQLite rolled the
   * enclosing transaction back on the failure (then the statement alone must not run: the transaction's caller
   * sees the error and metadataStore's transaction() runs the whole transaction again).
   */
  #withReserve<T>(fn: () => T): T {
    const full = this.#full;
    if (!full) return fn();
    const inTx = full.sqlite.inTransaction;
    try {
      return fn();
    } catch (e) {
      if (!isSqliteFull(e) || !full.reserve.release() || inTx !== full.sqlite.inTransaction) throw e;
      try {
        return fn();
      } finally {
        full.reserve.refill();
      }
    }
  }

  *iterate(params: unknown[]): Generator<unknown> {
    const build = this.#build;
    for (const row of this.#stmt.iterate(params) as Iterable<unknown>) yield build ? build(row as unknown[]) : row;
  }
}

interface FullDisk {
  sqlite: SqliteHandle;
  reserve: MetadataReserve;
}

const NO_OP = {
  reader: false,
  all: () => [] as unknown[],
  run: () => ({ changes: 0, lastInsertRowid: 0 }),
  *iterate(): Generator<unknown> {},
};

/**
 * kysely prepares every query anew; on the hot read paths that preparation costs as much as the query.
 * Statements are reusable in better-sqlite3 (kysely runs each to completion synchronously), so keep the
 * most recent ones by SQL text. The queries are built from a bounded set of shapes, so the cache stays small.
 */
function withStatementCache(sqlite: SqliteHandle, reserve: MetadataReserve | null, max = 512) {
  const cache = new Map<string, CachedStatement>();
  const full = reserve ? { sqlite, reserve } : null;
  return {
    close: () => {
      reserve?.stop();
      sqlite.close();
    },
    prepare(text: string): CachedStatement | typeof NO_OP {
      // SQLite may roll a transaction back itself on SQLITE_FULL; kysely's ROLLBACK after it would then fail with
      // "no transaction is active" and hide the SQLITE_FULL that callers (and the retry above) look for.
      if (!sqlite.inTransaction && /^\s*rollback\s*$/i.test(text)) return NO_OP;
      let stmt = cache.get(text);
      if (stmt) {
        cache.delete(text);
      } else {
        stmt = new CachedStatement(sqlite.prepare(text), full);
        if (cache.size >= max) cache.delete(cache.keys().next().value as string);
      }
      cache.set(text, stmt);
      return stmt;
    },
  };
}

type PgClient = import('pg').PoolClient;

/** Distinct statements one connection keeps prepared; pg never evicts them, so past this the rest go unnamed. */
const MAX_PREPARED_PER_CONNECTION = 400;
const DML = /^\s*(select|insert|update|delete|with)\b/i;
const statementNames = new Map<string, string>();

function statementName(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `cbx_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    if (statementNames.size >= 4096) statementNames.clear();
    statementNames.set(text, name);
  }
  return name;
}

/**
 * Sends kysely's queries as named (prepared) statements. Planning costs PostgreSQL more than running our
 * indexed point and page reads (0.35 ms against 0.07 ms for a 100-row snapshot page), and a named statement
 * is parsed once per connection and then planned generically. kysely calls `client.query(text, values)`;
 * the same text gets the same name. Off until `enable()` (after migrations, whose DDL must not be cached).
 * If another node's migration changes a table under a prepared `select *`, PostgreSQL refuses the stale plan
 * (0A000): that connection stops naming and the query is retried unnamed.
 */
function preparedStatements(client: PgClient, state: { enabled: boolean }): void {
  const original = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
  let named = 0;
  let broken = false;
  const prepared = new Set<string>();
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const [text, values] = args;
    if (!state.enabled || broken || typeof text !== 'string' || !Array.isArray(values) || args.length !== 2 || !DML.test(text)) {
      return original(...args);
    }
    const name = statementName(text);
    if (!prepared.has(name)) {
      if (named >= MAX_PREPARED_PER_CONNECTION) return original(text, values);
      named++;
      prepared.add(name);
    }
    return original({ name, text, values }).catch((err: { code?: string }) => {
      if (err?.code !== '0A000') throw err;
      broken = true;
      return original(text, values);
    });
  };
}

/**
 * A pg pool for the metadata store. Bounded (requests queue for a connection rather than open one each), with
 * a statement timeout so a stuck query cannot hold a connection forever, and a connect timeout so that during
 * an outage a request fails within seconds (→ 503) instead of hanging. Clients that lose their connection
 * while idle emit 'error' on the pool: logged, never thrown, so a database restart does not end the process;
 * the pool replaces them on next use.
 */
async function openPostgres(
  database: Extract<DatabaseConfig, { kind: 'postgres' }>,
  logger: Logger | undefined,
): Promise<{ db: Db; afterMigrations: () => void }> {
  const { default: pg } = await import('pg');
  // int8 (bigint: byte counts, sums, count(*)) arrives as a string by default; the values we store stay far
  // below 2^53, so numbers everywhere keep the code and the API identical on both stores.
  pg.types.setTypeParser(pg.types.builtins.INT8, (v: string) => Number(v));
  pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v: string) => Number(v));
  const max = database.poolSize ?? DATABASE_DEFAULTS.poolSize;
  const statementTimeout = database.statementTimeoutMs ?? DATABASE_DEFAULTS.statementTimeoutMs;
  const pool = new pg.Pool({
    connectionString: database.url,
    max,
    connectionTimeoutMillis: database.connectTimeoutMs ?? DATABASE_DEFAULTS.connectTimeoutMs,
    idleTimeoutMillis: 30_000,
    statement_timeout: statementTimeout,
    // Idle in a transaction longer than this means a bug or a hung peer: let the server end that session.
    idle_in_transaction_session_timeout: idleInTransactionTimeoutMs(statementTimeout),
    application_name: 'cinderbox',
  });
  const naming = { enabled: false };
  let lostLogged = 0;
  const connectionLost = (err: Error) => {
    // One line per outage burst is enough: every client reports the same lost server.
    const now = Date.now();
    if (now - lostLogged > 5_000) {
      lostLogged = now;
      logger?.warn({ err: { message: err.message, code: (err as { code?: string }).code } }, 'metadata store: a PostgreSQL connection was lost; it is replaced on next use');
    }
  };
  pool.on('connect', (client) => {
    preparedStatements(client, naming);
    // pg emits 'error' on a client whose connection ends, even when the query it was running already failed
    // with that error; the pool listens only while the client is idle. Without a listener of our own, a
    // database restart during a query would be an uncaught exception. The query's caller sees the error
    // (→ 503) and the pool drops the dead client on release.
    client.on('error', connectionLost);
  });
  pool.on('error', connectionLost);
  const where = redactedDatabaseUrl(database.url);
  // Fail fast with a readable message when the server is unreachable at start, rather than a stack from migrations.
  try {
    const c = await pool.connect();
    c.release();
  } catch (err) {
    await pool.end().catch(() => {});
    throw new Error(`cannot connect to the metadata store at ${where}: ${(err as Error).message}`);
  }
  logger?.info({ database: where, pool: max, statementTimeoutMs: statementTimeout }, 'metadata store: PostgreSQL');
  return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), afterMigrations: () => void (naming.enabled = true) };
}

export async function openDatabase(config: Pick<ServerConfig, 'dataDir' | 'database'>, logger?: Logger): Promise<OpenedDatabase> {
  let db: Db;
  let afterMigrations = () => {};
  let reserve: MetadataReserve | null = null;
  let sqliteHandle: SqliteHandle | null = null;
  if (config.database.kind === 'postgres') {
    ({ db, afterMigrations } = await openPostgres(config.database, logger));
  } else {
    logger?.info({ file: join(config.dataDir, 'cinderbox.db') }, 'metadata store: SQLite');
    const { default: SQLite } = await import('better-sqlite3');
    mkdirSync(config.dataDir, { recursive: true });
    const sqlite = new SQLite(join(config.dataDir, 'cinderbox.db'));
    sqliteHandle = sqlite;
    // One server owns a data directory (server.lock), so no other process shares this file. Exclusive locking,
    // set before WAL is entered, keeps WAL's index in process memory and the file lock held, instead of taking
    // and dropping shared-memory locks around every statement: a point read costs ~1.4 µs instead of ~6 µs here.
    sqlite.pragma('locking_mode = EXCLUSIVE');
    // WAL: commits append, readers never wait for a checkpoint; NORMAL sync is durable against a process crash
    // (SIGKILL), which is the guarantee we give.
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('foreign_keys = OFF');
    const bytes = config.database.reserveBytes ?? DEFAULT_RESERVE_BYTES;
    reserve = bytes > 0 ? new MetadataReserve(join(config.dataDir, RESERVE_FILE), bytes, logger) : null;
    await reserve?.ensure();
    db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite, reserve) }) });
  }
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error } = await migrator.migrateToLatest();
  if (error) {
    await db.destroy();
    throw error instanceof Error ? error : new Error(String(error));
  }
  afterMigrations();
  if (reserve && sqliteHandle) reserve.keepPages(sqliteHandle);
  return { db, kind: config.database.kind, reserve, close: () => db.destroy() };
}
