import { type Kysely, type Migration, sql } from 'kysely';

/**
 * The attachments API (3.27) keeps what the driver answered for a connector (`connection_info`, JSON) on the
 * attachment, as Cinder does, and lists attachments newest first, so each row gets the time it was created
 * (reserved attachments have no `attached_at`). Legacy `os-attach` rows take their attach time.
 */
export const attachments: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('volume_attachments').addColumn('connection_info', 'text').execute();
    await db.schema.alterTable('volume_attachments').addColumn('created_at', 'text').execute();
    await sql`UPDATE volume_attachments SET created_at = COALESCE(attached_at, '1970-01-01T00:00:00.000000') WHERE created_at IS NULL`.execute(
      db,
    );
    await db.schema.createIndex('volume_attachments_instance').on('volume_attachments').column('instance_uuid').execute();
  },
};
