import type { Kysely, Migration } from 'kysely';

/**
 * `services.stopped_at` (issue #17): when the process heartbeating a row stopped cleanly or was found dead (its pid
 * gone on the machine it ran on). A heartbeat only tells that a process was alive a while ago; this records that it
 * is known not to be, so the row reads `down` at once instead of once its heartbeat is older than the down time.
 */
export const serviceStoppedAt: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('services').addColumn('stopped_at', 'text').execute();
  },
};
