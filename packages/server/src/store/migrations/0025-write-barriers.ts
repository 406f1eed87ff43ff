import type { Kysely, Migration } from 'kysely';

/**
 * Cross-node write barriers (issue #17): a group snapshot or CBR checkpoint of shared (RBD) volumes must hold
 * writes arriving through every node's data API, not only its own process's. The snapshotting node records one
 * `write_barriers` row per volume (with an expiry, so a barrier left by a node that died stops holding writes);
 * every live node closes its gates for those volumes, lets its in-flight writes drain, and records an ack.
 */
export const writeBarriers: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('write_barriers')
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('volume_id', 'text', (c) => c.notNull())
      .addColumn('node', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('write_barriers_pk', ['id', 'volume_id'])
      .execute();
    await db.schema.createIndex('write_barriers_expires').on('write_barriers').column('expires_at').execute();
    await db.schema
      .createTable('write_barrier_acks')
      .addColumn('barrier_id', 'text', (c) => c.notNull())
      .addColumn('node', 'text', (c) => c.notNull())
      .addColumn('acked_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('write_barrier_acks_pk', ['barrier_id', 'node'])
      .execute();
  },
};
