import type { Kysely, Migration } from 'kysely';

/**
 * `cbt_base_usable` says whether a backup's hidden base (0005) may be compared against: 1 from the backup's commit
 * until its removal starts. Removing a qcow2 layer merges its child into it, and a merge interrupted by a crash
 * leaves the layer's bytes changed, so a base is marked unusable (durably) before the driver touches it, and
 * only forgotten (`cbt_base_id` null) after it is gone; a crash in between leaves a row that names a base to
 * remove but never one to trust.
 */
export const backupCbtBaseUsable: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .alterTable('backups')
      .addColumn('cbt_base_usable', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
  },
};
