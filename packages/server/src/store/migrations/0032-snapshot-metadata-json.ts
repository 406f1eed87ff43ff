import { type Kysely, type Migration, PostgresAdapter, sql } from 'kysely';

/**
 * The snapshot detail page (issue #21): building each listed snapshot's metadata object from `snapshot_metadata`
 * was a correlated aggregate per row, about a third of the page's statement even when no snapshot has metadata.
 * `snapshots.metadata_json` holds that object, rendered as JSON text, so the list embeds it as it stands.
 *
 * Triggers keep it, in the writing transaction, so every writer (the metadata API, manage, group snapshots,
 * `db copy`, a hand-run statement) agrees with it without knowing it, as 0024's `list_counts`. The object is
 * rebuilt from the table rather than patched: a JSON patch per key would need per-dialect path quoting of
 * hostile keys, and snapshots carry few keys. Keys are ordered by key, as the object path reads them.
 *
 * A snapshot row inserted after its metadata rows (another copy order, a hand-run restore) gets its object from
 * them too, so the column is never trusted from the writer: it is derived, whatever the insert said.
 *
 * On PostgreSQL the triggers lock the snapshot row before rebuilding it, then rebuild in a new statement: in READ
 * COMMITTED each statement of a PL/pgSQL function takes a fresh snapshot, so two transactions adding different
 * keys to one snapshot serialise on that row and the second one's rebuild sees the first one's committed key
 * (an UPDATE whose SET subquery ran on its start-of-statement snapshot would drop it).
 */
export const snapshotMetadataJson: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .alterTable('snapshots')
      .addColumn('metadata_json', 'text', (c) => c.notNull().defaultTo('{}'))
      .execute();
    if (db.getExecutor().adapter instanceof PostgresAdapter) await postgres(db);
    else await sqlite(db);
  },
};

async function sqlite(db: Kysely<unknown>): Promise<void> {
  const object = (id: string) =>
    `coalesce((select json_group_object("key", "value" order by "key") from snapshot_metadata where snapshot_id = ${id}), '{}')`;
  const rebuild = (id: string) => `UPDATE snapshots SET metadata_json = ${object(id)} WHERE id = ${id};`;
  await sql.raw(`UPDATE snapshots SET metadata_json = ${object('snapshots.id')} WHERE id IN (SELECT snapshot_id FROM snapshot_metadata)`).execute(db);
  await sql.raw(`CREATE TRIGGER snapshot_metadata_json_insert AFTER INSERT ON snapshot_metadata BEGIN ${rebuild('NEW.snapshot_id')} END`).execute(db);
  await sql.raw(`CREATE TRIGGER snapshot_metadata_json_delete AFTER DELETE ON snapshot_metadata BEGIN ${rebuild('OLD.snapshot_id')} END`).execute(db);
  await sql
    .raw(
      `CREATE TRIGGER snapshot_metadata_json_update AFTER UPDATE ON snapshot_metadata BEGIN ${rebuild('OLD.snapshot_id')} ${rebuild('NEW.snapshot_id')} END`,
    )
    .execute(db);
  // Only when the insert disagrees with the table: a new snapshot without metadata (nearly all) costs one probe.
  await sql
    .raw(
      `CREATE TRIGGER snapshots_metadata_json_insert AFTER INSERT ON snapshots WHEN NEW.metadata_json IS NOT ${object('NEW.id')} BEGIN ${rebuild('NEW.id')} END`,
    )
    .execute(db);
}

async function postgres(db: Kysely<unknown>): Promise<void> {
  const object = (id: string) =>
    `coalesce((select json_object_agg(m.key, m.value order by m.key)::text from snapshot_metadata m where m.snapshot_id = ${id}), '{}')`;
  await sql.raw(`UPDATE snapshots s SET metadata_json = ${object('s.id')} WHERE s.id IN (SELECT snapshot_id FROM snapshot_metadata)`).execute(db);
  // Statement-level from the transition tables, as 0024: a batch of keys rebuilds each snapshot once.
  const rebuild = (ids: string) => `
    PERFORM 1 FROM snapshots WHERE id IN (${ids}) ORDER BY id FOR UPDATE;
    UPDATE snapshots s SET metadata_json = j.v
      FROM (SELECT t.id, ${object('t.id')} AS v FROM (SELECT DISTINCT id FROM (${ids}) i(id)) t) j
      WHERE s.id = j.id AND s.metadata_json IS DISTINCT FROM j.v;`;
  await sql
    .raw(
      `CREATE FUNCTION cinderbox_snapshot_metadata_json() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    ${rebuild('SELECT snapshot_id FROM new_rows')}
  ELSIF TG_OP = 'DELETE' THEN
    ${rebuild('SELECT snapshot_id FROM old_rows')}
  ELSE
    ${rebuild('SELECT snapshot_id FROM old_rows UNION SELECT snapshot_id FROM new_rows')}
  END IF;
  RETURN NULL;
END $$`,
    )
    .execute(db);
  const on = (event: string, ref: string) =>
    sql
      .raw(
        `CREATE TRIGGER snapshot_metadata_json_${event.toLowerCase()} AFTER ${event} ON snapshot_metadata REFERENCING ${ref} FOR EACH STATEMENT EXECUTE FUNCTION cinderbox_snapshot_metadata_json()`,
      )
      .execute(db);
  await on('INSERT', 'NEW TABLE AS new_rows');
  await on('DELETE', 'OLD TABLE AS old_rows');
  await on('UPDATE', 'OLD TABLE AS old_rows NEW TABLE AS new_rows');
  // New snapshots take their object from the table; a snapshot has no metadata rows before it exists in every
  // writer but a copy or restore, so this rarely changes anything.
  await sql
    .raw(
      `CREATE FUNCTION cinderbox_snapshots_metadata_json() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE snapshots s SET metadata_json = j.v
    FROM (SELECT n.id, ${object('n.id')} AS v FROM new_rows n) j
    WHERE s.id = j.id AND s.metadata_json IS DISTINCT FROM j.v;
  RETURN NULL;
END $$`,
    )
    .execute(db);
  await sql
    .raw(
      `CREATE TRIGGER snapshots_metadata_json_insert AFTER INSERT ON snapshots REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION cinderbox_snapshots_metadata_json()`,
    )
    .execute(db);
}
