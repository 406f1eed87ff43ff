import type { Kysely, Migration } from 'kysely';

/**
 * User messages (Cinder's `messages` table). The text a user reads is derived from `action_id` and `detail_id`, so
 * it is not stored. A deleted or expired message is gone (Cinder reaps expired ones for good too); nothing else
 * refers to a message.
 */
export const messages: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('messages')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('request_id', 'text', (c) => c.notNull())
      .addColumn('resource_type', 'text')
      .addColumn('resource_uuid', 'text')
      .addColumn('event_id', 'text', (c) => c.notNull())
      .addColumn('action_id', 'text', (c) => c.notNull())
      .addColumn('detail_id', 'text', (c) => c.notNull())
      .addColumn('message_level', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('messages_project').on('messages').columns(['project_id', 'created_at']).execute();
    await db.schema.createIndex('messages_expires').on('messages').column('expires_at').execute();
  },
};
