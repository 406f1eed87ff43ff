import type { Kysely, Migration } from 'kysely';

/**
 * Immutable backups (a cinderbox extension): each Cinder backup and CBR backup may carry the end of its
 * retention (`locked_until`, stored UTC text like every timestamp; null = not locked), before which no API deletes
 * it; a CBR vault may carry the days of retention its new backups get (`lock_days`, null = none). Rows of earlier
 * versions are not locked.
 */
export const immutableBackups: Migration = {
  async up(db: Kysely<unknown>) {
    for (const table of ['backups', 'cbr_backups']) {
      await db.schema.alterTable(table).addColumn('locked_until', 'text').execute();
    }
    await db.schema.alterTable('cbr_vaults').addColumn('lock_days', 'integer').execute();
  },
};
