import { type Kysely, type Migration, sql } from 'kysely';

/**
 * Mixed-direction sorts (bench/scale): `sort=status:asc,created_at:desc` — each status group, newest first — is
 * read as (status asc, created_at desc, id asc), Cinder appending `id` in the first key's direction; its reverse,
 * `status:desc,created_at:asc`, as (status desc, created_at asc, id desc). A B-tree serves an order or its exact
 * reverse, so none of 0024's indexes does: the stores fall back to sorting each status group after the leading
 * key, and a status group is most of the project (nearly every snapshot is `available`), so every page, first or
 * deep, sorted the project. One index per resource, with `created_at` descending, serves both directions.
 *
 * Not indexed: a mixed sort whose leading key is (nearly) unique per row — name, id, created_at, size with its
 * created_at tie-break. The stores walk the leading key's index and sort only each run of equal values
 * (PostgreSQL's incremental sort, SQLite's temp B-tree for the right part of ORDER BY), which is a few rows;
 * bench/scale measures `name:desc,created_at:asc` to show it. Each index costs every insert and every status
 * change on these tables, so only the low-cardinality leading key that clients actually group by gets one.
 */
export const mixedSortIndexes: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`CREATE INDEX snapshots_project_hidden_status_newest ON snapshots (project_id, hidden, status, created_at DESC, id)`.execute(db);
    for (const t of ['volumes', 'backups'] as const) {
      await sql`CREATE INDEX ${sql.id(`${t}_project_status_newest`)} ON ${sql.table(t)} (project_id, status, created_at DESC, id)`.execute(db);
    }
  },
};
