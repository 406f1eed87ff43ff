import type { Kysely, Migration } from 'kysely';

/**
 * Changed-block tracking for CBR backups, as 0005/0006 gave Cinder backups: a CBR backup keeps the hidden snapshot
 * it read (`snapshot_id`) as the base its vault's next backup of the same disk compares against. `cbt_base_id`
 * names that base while it may exist (set with the row, before the snapshot is made; null once it is removed),
 * `cbt_base_usable` says it may be compared against (1 from the commit until its removal starts). `snapshot_id`
 * alone cannot say this: it stays, so hidden-snapshot listings and crash cleanup always know the name. Rows of
 * earlier versions dropped their snapshot after the copy: they start with neither.
 */
export const cbrBackupCbtBase: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('cbr_backups').addColumn('cbt_base_id', 'text').execute();
    await db.schema
      .alterTable('cbr_backups')
      .addColumn('cbt_base_usable', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
  },
};
