import type { Kysely, Migration } from 'kysely';

/**
 * Changed-block tracking for backups: `cbt_base_id` names the hidden driver snapshot of the volume that a backup
 * read (a driver object only, never a `snapshots` row, so no API lists, counts or refuses because of it). It is
 * recorded when the backup is requested, before the snapshot exists, so that the failure path and crash recovery
 * always know what to remove; after the backup commits it is the base the next incremental compares against.
 */
export const backupCbtBase: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('backups').addColumn('cbt_base_id', 'text').execute();
  },
};
