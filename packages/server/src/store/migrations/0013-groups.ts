import type { Kysely, Migration } from 'kysely';

/**
 * Generic volume groups (Cinder's `group_types`, `group_type_specs`, `groups`, `group_volume_type_mapping`,
 * `group_snapshots`): a group type with its specs; a group with its volume types; a group snapshot. A volume's
 * group is `volumes.group_id` and a snapshot's group snapshot `snapshots.group_snapshot_id`, as in Cinder; the
 * group repository alone reads and writes them (the volume and snapshot records do not carry them).
 */
export const groups: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('group_types')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('description', 'text')
      .addColumn('is_public', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text')
      .execute();
    await db.schema
      .createTable('group_type_specs')
      .addColumn('group_type_id', 'text', (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('group_type_specs_pk', ['group_type_id', 'key'])
      .execute();
    await db.schema
      .createTable('groups')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text')
      .addColumn('description', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('availability_zone', 'text', (c) => c.notNull())
      .addColumn('group_type_id', 'text', (c) => c.notNull())
      .addColumn('group_snapshot_id', 'text')
      .addColumn('source_group_id', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text')
      .execute();
    await db.schema.createIndex('groups_project').on('groups').columns(['project_id', 'created_at']).execute();
    await db.schema.createIndex('groups_group_type').on('groups').column('group_type_id').execute();
    await db.schema
      .createTable('group_volume_types')
      .addColumn('group_id', 'text', (c) => c.notNull())
      .addColumn('volume_type_id', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('group_volume_types_pk', ['group_id', 'volume_type_id'])
      .execute();
    await db.schema.createIndex('group_volume_types_type').on('group_volume_types').column('volume_type_id').execute();
    await db.schema
      .createTable('group_snapshots')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('group_id', 'text', (c) => c.notNull())
      .addColumn('group_type_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text')
      .addColumn('description', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text')
      .execute();
    await db.schema.createIndex('group_snapshots_project').on('group_snapshots').columns(['project_id', 'created_at']).execute();
    await db.schema.createIndex('group_snapshots_group').on('group_snapshots').column('group_id').execute();
    await db.schema.alterTable('volumes').addColumn('group_id', 'text').execute();
    await db.schema.createIndex('volumes_group').on('volumes').column('group_id').execute();
    await db.schema.alterTable('snapshots').addColumn('group_snapshot_id', 'text').execute();
    await db.schema.createIndex('snapshots_group_snapshot').on('snapshots').column('group_snapshot_id').execute();
  },
};
