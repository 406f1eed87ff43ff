import { type Kysely, type Migration, PostgresAdapter, sql } from 'kysely';
import { SNAPSHOTS_LIST, renderedHead } from '../list-query.js';

/**
 * The snapshot detail page (issue #21, phase 4): rendering each listed snapshot's JSON object (json_object over
 * ~15 values, re-parsing its metadata) was most of the page's statement. `snapshots.detail_head` holds that object
 * for the fields no microversion gates, without its closing brace, so a page concatenates stored text and splices
 * the gated fields (group_snapshot_id, user_id, consumes_quota) only when the microversion shows them.
 *
 * The head is rendered by the same SQL the page used to run (list-query's `renderedHead`), so every value formats
 * as before. Triggers keep it in the writing transaction, whoever writes: on SQLite an AFTER trigger re-renders
 * the row on insert and whenever a rendered column changes (0032's metadata triggers write `metadata_json`, so
 * metadata changes arrive here too); on PostgreSQL a BEFORE trigger sets it on the new row. Like 0032's object it
 * is derived, never trusted from an insert: an insert naming it is rendered over.
 *
 * The SQLite update trigger is not `OF detail_head`: the insert trigger's own UPDATE would fire it (recursive_triggers
 * off only stops a trigger firing itself), rendering and writing every new row twice. So, as 0032's object, a
 * statement writing the head itself by hand is not corrected on SQLite (PostgreSQL's BEFORE trigger renders over
 * it too); the next write of any rendered column is. Keyed by rowid: one b-tree descent instead of two for the id.
 *
 * The triggers are built from today's `renderedHead`: a later change to the rendered fields needs a migration that
 * re-creates them and re-renders the column (snapshot-detail-head.test.ts pins the rendering to say so).
 */
export const snapshotDetailHead: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .alterTable('snapshots')
      .addColumn('detail_head', 'text', (c) => c.notNull().defaultTo(''))
      .execute();
    if (db.getExecutor().adapter instanceof PostgresAdapter) await postgres(db);
    else await sqlite(db);
  },
};

async function sqlite(db: Kysely<unknown>): Promise<void> {
  const head = renderedHead(SNAPSHOTS_LIST, 'sqlite', '"snapshots"');
  const rerender = `UPDATE snapshots SET detail_head = ${head} WHERE rowid = NEW.rowid;`;
  await sql.raw(`UPDATE snapshots SET detail_head = ${head}`).execute(db);
  await sql.raw(`CREATE TRIGGER snapshots_detail_head_insert AFTER INSERT ON snapshots BEGIN ${rerender} END`).execute(db);
  const columns = new Set<string>();
  for (const f of SNAPSHOTS_LIST.rendered!.fields) columns.add(f.as === 'metadata' ? 'metadata_json' : f.column);
  await sql
    .raw(`CREATE TRIGGER snapshots_detail_head_update AFTER UPDATE OF ${[...columns].join(', ')} ON snapshots BEGIN ${rerender} END`)
    .execute(db);
}

async function postgres(db: Kysely<unknown>): Promise<void> {
  // The backfill rewrites every snapshot row (and its index entries): about 4 s per 100,000 rows here, so a big
  // store exceeds the pool's statement timeout (30 s by default), which guards requests, not a one-off migration.
  // LOCAL: the migration runs in its own transaction, so the server's sessions keep their timeout.
  await sql.raw(`SET LOCAL statement_timeout = 0`).execute(db);
  await sql.raw(`UPDATE snapshots SET detail_head = ${renderedHead(SNAPSHOTS_LIST, 'postgres', '"snapshots"')}`).execute(db);
  await sql
    .raw(
      `CREATE FUNCTION cinderbox_snapshot_detail_head() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.detail_head := ${renderedHead(SNAPSHOTS_LIST, 'postgres', 'NEW')};
  RETURN NEW;
END $$`,
    )
    .execute(db);
  await sql
    .raw(`CREATE TRIGGER snapshots_detail_head BEFORE INSERT OR UPDATE ON snapshots FOR EACH ROW EXECUTE FUNCTION cinderbox_snapshot_detail_head()`)
    .execute(db);
}
