import { type Kysely, type Migration, PostgresAdapter, sql } from 'kysely';

/**
 * Listing at scale (issue #21, bench/scale): indexes whose order is that of the list queries (list-query.ts), so a
 * page — first or 900,000 rows deep — is an index range scan of `limit` rows, not a sort of the project.
 *
 * - Snapshots carry `hidden = 0` in every list query: it joins the project in the default-sort index, so the rows
 *   of a page (and the with_count of an unfiltered list) come from one contiguous index range without reading
 *   hidden rows' table pages. It replaces `snapshots_project_created`.
 * - `name` is sorted and compared as `coalesce(name, '')` (keyset pagination needs a total order): expression
 *   indexes of exactly that expression, which SQLite and PostgreSQL both match against the query.
 * - `status`: the most common filter and a common sort key; `created_at, id` follow as in the queries' tie-breaks.
 *   Alone on volumes too, for the start-up sweep of non-terminal states across projects.
 *
 * `list_counts`: rows per (resource, project) for `with_count` of an unfiltered list, which Cinder answers with a
 * COUNT(*) of the filtered query: at 1 M snapshots that count alone cost 10× the page. Triggers keep it, in the
 * writing transaction, so every writer (repositories, `db copy`, a hand-run DELETE) agrees with it without knowing
 * it; a filtered list still counts its rows (through the indexes above). Snapshots count only `hidden = 0`, as the
 * list shows. On PostgreSQL the counter row is locked until the writer commits: creates in one project already
 * serialise on its quota_usages row the same way, and updates that move neither project nor visibility skip it.
 * PostgreSQL's triggers are per statement (see postgresTriggers), SQLite's per row (it updates a row in place).
 * Not in schema.ts (nor copied by `db copy`): it is derived, and the target's triggers rebuild it as rows arrive.
 */
export const listIndexes: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.dropIndex('snapshots_project_created').execute();
    await db.schema
      .createIndex('snapshots_project_hidden_created')
      .on('snapshots')
      .columns(['project_id', 'hidden', 'created_at', 'id'])
      .execute();
    await sql`CREATE INDEX snapshots_project_hidden_name ON snapshots (project_id, hidden, (coalesce(name, '')), created_at, id)`.execute(db);
    await db.schema
      .createIndex('snapshots_project_hidden_status')
      .on('snapshots')
      .columns(['project_id', 'hidden', 'status', 'created_at', 'id'])
      .execute();
    for (const t of ['volumes', 'backups'] as const) {
      await sql`CREATE INDEX ${sql.id(`${t}_project_name_created`)} ON ${sql.table(t)} (project_id, (coalesce(name, '')), created_at, id)`.execute(db);
      await db.schema
        .createIndex(`${t}_project_status_created`)
        .on(t)
        .columns(['project_id', 'status', 'created_at', 'id'])
        .execute();
    }
    // Start-up sweeps look for volumes in a non-terminal status across projects (an interrupted upload).
    await db.schema.createIndex('volumes_status').on('volumes').column('status').execute();
    await createListCounts(db);
  },
};

const COUNTED = [
  { table: 'volumes', visible: null },
  { table: 'snapshots', visible: 'hidden = 0' },
  { table: 'backups', visible: null },
] as const;

async function createListCounts(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('list_counts')
    .addColumn('resource', 'text', (c) => c.notNull())
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('n', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('list_counts_pk', ['resource', 'project_id'])
    .execute();
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  for (const { table, visible } of COUNTED) {
    await sql`INSERT INTO list_counts (resource, project_id, n)
      SELECT ${table}, project_id, count(*) FROM ${sql.table(table)} ${sql.raw(visible ? `WHERE ${visible}` : '')} GROUP BY project_id`.execute(db);
    if (postgres) await postgresTriggers(db, table, visible);
    else await sqliteTriggers(db, table, visible);
  }
}

/** `row.visible` for the row named `row` (OLD or NEW); true when every row is listed. */
const visibleIn = (row: 'OLD' | 'NEW', visible: string | null) => (visible ? `${row}.${visible}` : 'true');

async function sqliteTriggers(db: Kysely<unknown>, table: string, visible: string | null): Promise<void> {
  const inc = (row: 'NEW') =>
    // SQLite needs the WHERE to tell the upsert's ON CONFLICT from a join constraint.
    `INSERT INTO list_counts (resource, project_id, n) SELECT '${table}', ${row}.project_id, 1 WHERE ${visibleIn(row, visible)}
       ON CONFLICT (resource, project_id) DO UPDATE SET n = n + 1;`;
  const dec = (row: 'OLD') => `UPDATE list_counts SET n = n - 1 WHERE resource = '${table}' AND project_id = ${row}.project_id AND ${visibleIn(row, visible)};`;
  const moved = `OLD.project_id IS NOT NEW.project_id${visible ? ' OR OLD.hidden IS NOT NEW.hidden' : ''}`;
  await sql.raw(`CREATE TRIGGER ${table}_count_insert AFTER INSERT ON ${table} BEGIN ${inc('NEW')} END`).execute(db);
  await sql.raw(`CREATE TRIGGER ${table}_count_delete AFTER DELETE ON ${table} BEGIN ${dec('OLD')} END`).execute(db);
  await sql
    .raw(`CREATE TRIGGER ${table}_count_update AFTER UPDATE ON ${table} WHEN ${moved} BEGIN ${dec('OLD')} ${inc('NEW')} END`)
    .execute(db);
}

async function postgresTriggers(db: Kysely<unknown>, table: string, visible: string | null): Promise<void> {
  const fn = `cinderbox_count_${table}`;
  const where = visible ? `WHERE ${visible}` : '';
  // Statement-level, from the transition tables: one counter update per statement and project. Per row, a batch
  // of N inserts in one transaction updated the same counter row N times, and PostgreSQL walks that row's chain
  // of versions on each update (quadratic: `db copy` and bulk loads crawled). Updates that move no row between
  // projects or visibility net to zero and leave the counter row (and its lock) alone.
  const delta = (rows: string, sign: string) => `SELECT project_id, ${sign}count(*) AS n FROM ${rows} ${where} GROUP BY project_id`;
  const apply = (parts: string[]) => `INSERT INTO list_counts (resource, project_id, n)
      SELECT '${table}', project_id, sum(n) FROM (${parts.join(' UNION ALL ')}) d GROUP BY project_id HAVING sum(n) <> 0
      ON CONFLICT (resource, project_id) DO UPDATE SET n = list_counts.n + excluded.n;`;
  await sql
    .raw(
      `CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    ${apply([delta('new_rows', '')])}
  ELSIF TG_OP = 'DELETE' THEN
    ${apply([delta('old_rows', '-')])}
  ELSE
    ${apply([delta('old_rows', '-'), delta('new_rows', '')])}
  END IF;
  RETURN NULL;
END $$`,
    )
    .execute(db);
  // PostgreSQL allows transition tables only on single-event triggers.
  await sql.raw(`CREATE TRIGGER ${table}_count_insert AFTER INSERT ON ${table} REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`).execute(db);
  await sql.raw(`CREATE TRIGGER ${table}_count_delete AFTER DELETE ON ${table} REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`).execute(db);
  await sql
    .raw(`CREATE TRIGGER ${table}_count_update AFTER UPDATE ON ${table} REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`)
    .execute(db);
}
