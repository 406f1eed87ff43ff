import { type Kysely, type Migration, sql } from 'kysely';

/**
 * What the console's repository view reads without touching the repository (issue #20):
 * - `repo_stats`: one row per backup target with running counters (logical and stored bytes, chunks, backups),
 *   moved by the server as backups commit and gc sweeps, and the last verify and gc results. Seeded here from
 *   the backups already recorded; the chunk count is only known once a gc has listed the chunks.
 * - `repo_stats_samples`: the counters over time (bounded per target by the server), for the chart.
 * - `repo_jobs`: background verify/gc runs. `lock_key` is `target/kind` while a job runs and null after, so a
 *   unique constraint (NULLs are distinct on SQLite and PostgreSQL alike) admits one running job per kind and
 *   target across every node sharing the database.
 * - `repo_backup_runs`: how long each backup's data took (measured around the repository write, so a backup
 *   waiting in the queue does not look slow), for the throughput chart; bounded per target like the samples.
 */
export const repoConsole: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('repo_stats')
      .addColumn('target', 'text', (c) => c.primaryKey())
      .addColumn('logical_bytes', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('stored_bytes', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('chunk_count', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('backup_count', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('last_verify_at', 'text')
      .addColumn('last_verify_ok', 'integer')
      .addColumn('last_verify_full', 'integer')
      .addColumn('last_verify_checked', 'bigint')
      .addColumn('last_verify_errors', 'bigint')
      .addColumn('last_verify_message', 'text')
      .addColumn('last_gc_at', 'text')
      .addColumn('last_gc_removed_chunks', 'bigint')
      .addColumn('last_gc_freed_bytes', 'bigint')
      .addColumn('updated_at', 'text')
      .execute();
    await db.schema
      .createTable('repo_stats_samples')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('target', 'text', (c) => c.notNull())
      .addColumn('at', 'text', (c) => c.notNull())
      .addColumn('logical_bytes', 'bigint', (c) => c.notNull())
      .addColumn('stored_bytes', 'bigint', (c) => c.notNull())
      .addColumn('chunk_count', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('repo_stats_samples_target_at').on('repo_stats_samples').columns(['target', 'at']).execute();
    await db.schema
      .createTable('repo_jobs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('target', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('progress', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('params', 'text', (c) => c.notNull())
      .addColumn('result', 'text')
      .addColumn('error', 'text')
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('node', 'text', (c) => c.notNull())
      .addColumn('lock_key', 'text', (c) => c.unique())
      .addColumn('started_at', 'text', (c) => c.notNull())
      .addColumn('finished_at', 'text')
      .execute();
    await db.schema.createIndex('repo_jobs_started_at').on('repo_jobs').column('started_at').execute();
    await db.schema.createIndex('repo_jobs_status').on('repo_jobs').columns(['status', 'node']).execute();
    await db.schema
      .createTable('repo_backup_runs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('target', 'text', (c) => c.notNull())
      .addColumn('backup_id', 'text', (c) => c.notNull())
      .addColumn('finished_at', 'text', (c) => c.notNull())
      .addColumn('size_bytes', 'bigint', (c) => c.notNull())
      .addColumn('millis', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('repo_backup_runs_target_finished').on('repo_backup_runs').columns(['target', 'finished_at']).execute();

    // The counters start from what the metadata already knows of each target's backups (committed ones have a
    // locator); CBR backups live in the same repositories.
    const targets = await sql<{ target: string; logical: unknown; stored: unknown; n: unknown }>`
      SELECT target, SUM(logical) AS logical, SUM(stored) AS stored, SUM(n) AS n FROM (
        SELECT backup_target AS target, SUM(data_bytes) AS logical, SUM(stored_bytes) AS stored, COUNT(*) AS n
          FROM backups WHERE locator IS NOT NULL GROUP BY backup_target
        UNION ALL
        SELECT backup_target AS target, SUM(data_bytes) AS logical, SUM(stored_bytes) AS stored, COUNT(*) AS n
          FROM cbr_backups WHERE locator IS NOT NULL GROUP BY backup_target
      ) AS t GROUP BY target`.execute(db);
    for (const r of targets.rows) {
      await sql`INSERT INTO repo_stats (target, logical_bytes, stored_bytes, chunk_count, backup_count)
                VALUES (${r.target}, ${Number(r.logical ?? 0)}, ${Number(r.stored ?? 0)}, 0, ${Number(r.n ?? 0)})`.execute(db);
    }
  },
};
