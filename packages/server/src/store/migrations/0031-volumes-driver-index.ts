import { type Kysely, type Migration, sql } from 'kysely';

/**
 * Start-up asks which drivers existing volumes name (a backend dropped from the configuration must still open for
 * its volumes). Without an index that was the one start-up query that read the whole volumes table; with this one
 * it is a walk of one index entry per distinct driver (store/repositories/volumes.ts, driversInUse).
 */
export const volumesDriverIndex: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`CREATE INDEX volumes_driver ON volumes (driver)`.execute(db);
  },
};
