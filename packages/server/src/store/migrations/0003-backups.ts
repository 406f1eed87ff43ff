import type { Kysely, Migration } from 'kysely';

/**
 * Cinder backups. The bytes live in the backup repository (backup-repo/); a row points at its manifest by
 * `locator`. `volume_info` keeps the source volume's metadata and bootable flag, which a restore applies.
 */
export const backups: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('backups')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('volume_id', 'text', (c) => c.notNull())
      .addColumn('snapshot_id', 'text')
      .addColumn('name', 'text')
      .addColumn('description', 'text')
      .addColumn('container', 'text', (c) => c.notNull())
      .addColumn('availability_zone', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('fail_reason', 'text')
      .addColumn('size', 'integer', (c) => c.notNull())
      .addColumn('object_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('parent_id', 'text')
      .addColumn('data_timestamp', 'text', (c) => c.notNull())
      .addColumn('locator', 'text')
      .addColumn('stored_bytes', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('data_bytes', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('volume_info', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('host', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text')
      .execute();
    await db.schema.createIndex('backups_project_created').on('backups').columns(['project_id', 'created_at', 'id']).execute();
    await db.schema.createIndex('backups_created').on('backups').columns(['created_at', 'id']).execute();
    await db.schema.createIndex('backups_volume').on('backups').columns(['volume_id', 'status']).execute();
    await db.schema.createIndex('backups_parent').on('backups').column('parent_id').execute();

    await db.schema
      .createTable('backup_metadata')
      .addColumn('backup_id', 'text', (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('backup_metadata_pk', ['backup_id', 'key'])
      .execute();
  },
};
