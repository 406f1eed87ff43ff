import type { Kysely, Migration } from 'kysely';

/**
 * Backup targets: each Cinder backup and each CBR backup names the target its manifest and chunks are in, and
 * each CBR vault the target its backups go to. Rows of earlier versions are all in the data directory's
 * repository, the target `default` (wiring.ts keeps that name for it), so the column defaults to it.
 */
export const backupTargets: Migration = {
  async up(db: Kysely<unknown>) {
    for (const table of ['backups', 'cbr_backups', 'cbr_vaults']) {
      await db.schema
        .alterTable(table)
        .addColumn('backup_target', 'text', (c) => c.notNull().defaultTo('default'))
        .execute();
    }
  },
};
