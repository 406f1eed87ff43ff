import type { Kysely, Migration } from 'kysely';

/**
 * Volume transfers (Cinder's `transfers` table). Only `salt` and `crypt_hash` (HMAC-SHA1 of the auth key keyed
 * by the salt) are kept: the auth key itself is shown once, in the create response. An accepted or deleted
 * transfer is kept with `deleted` = 1, as Cinder soft-deletes it, so the row records who took the volume
 * (`destination_project_id`, `accepted`); listings and lookups see only rows with `deleted` = 0.
 */
export const transfers: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('transfers')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('volume_id', 'text', (c) => c.notNull())
      .addColumn('display_name', 'text')
      .addColumn('salt', 'text', (c) => c.notNull())
      .addColumn('crypt_hash', 'text', (c) => c.notNull())
      .addColumn('no_snapshots', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('source_project_id', 'text', (c) => c.notNull())
      .addColumn('destination_project_id', 'text')
      .addColumn('accepted', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text')
      .addColumn('deleted_at', 'text')
      .execute();
    await db.schema
      .createIndex('transfers_project')
      .on('transfers')
      .columns(['source_project_id', 'deleted', 'created_at'])
      .execute();
    await db.schema.createIndex('transfers_volume').on('transfers').columns(['volume_id', 'deleted']).execute();
  },
};
