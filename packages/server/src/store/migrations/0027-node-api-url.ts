import type { Kysely, Migration } from 'kysely';

/**
 * `services.api_url` (issue #17): on a node's `cinder-scheduler` row, the URL other nodes reach its API at. A
 * volume moving from one node's local backend to another's is copied by the destination node, which reads the
 * source's bytes through the source node's data API: the database is the only place nodes learn each other's
 * address from.
 */
export const nodeApiUrl: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('services').addColumn('api_url', 'text').execute();
  },
};
