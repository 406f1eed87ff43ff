import type { Kysely, Migration } from 'kysely';

/**
 * Cloud Backup and Recovery (CBR v3). CBR backups are their own records (cbr_backups), never rows of the Cinder
 * `backups` table; only chunks are shared, through the backup repository where their manifests live under
 * `cbr-<vault id>/<backup id>`. JSON columns are text so the schema stays portable.
 */
export const cbr: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('cbr_vaults')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('object_type', 'text', (c) => c.notNull())
      .addColumn('protect_type', 'text', (c) => c.notNull())
      .addColumn('consistent_level', 'text', (c) => c.notNull())
      .addColumn('cloud_type', 'text', (c) => c.notNull())
      .addColumn('charging_mode', 'text', (c) => c.notNull())
      .addColumn('size', 'integer', (c) => c.notNull())
      .addColumn('auto_bind', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('bind_rules', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('auto_expand', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('locked', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('smn_notify', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('threshold', 'integer', (c) => c.notNull().defaultTo(80))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text')
      .execute();
    await db.schema.createIndex('cbr_vaults_project').on('cbr_vaults').columns(['project_id', 'created_at', 'id']).execute();

    await db.schema
      .createTable('cbr_vault_resources')
      .addColumn('resource_id', 'text', (c) => c.primaryKey())
      .addColumn('vault_id', 'text', (c) => c.notNull())
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('extra_info', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('protect_status', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('cbr_vault_resources_vault').on('cbr_vault_resources').columns(['vault_id', 'created_at']).execute();

    await db.schema
      .createTable('cbr_vault_tags')
      .addColumn('vault_id', 'text', (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('cbr_vault_tags_pk', ['vault_id', 'key'])
      .execute();

    await db.schema
      .createTable('cbr_policies')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('operation_type', 'text', (c) => c.notNull())
      .addColumn('enabled', 'integer', (c) => c.notNull())
      .addColumn('operation_definition', 'text', (c) => c.notNull())
      .addColumn('trigger_id', 'text', (c) => c.notNull())
      .addColumn('patterns', 'text', (c) => c.notNull())
      .addColumn('start_time', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text')
      .execute();
    await db.schema.createIndex('cbr_policies_project').on('cbr_policies').columns(['project_id', 'created_at']).execute();

    // One row per (vault, policy); next_run_at is the scheduler's durable cursor, advanced by a guarded update.
    await db.schema
      .createTable('cbr_policy_bindings')
      .addColumn('vault_id', 'text', (c) => c.notNull())
      .addColumn('policy_id', 'text', (c) => c.notNull())
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('operation_type', 'text', (c) => c.notNull())
      .addColumn('next_run_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('cbr_policy_bindings_pk', ['vault_id', 'policy_id'])
      .addUniqueConstraint('cbr_policy_bindings_type', ['vault_id', 'operation_type'])
      .execute();
    await db.schema.createIndex('cbr_policy_bindings_next').on('cbr_policy_bindings').column('next_run_at').execute();

    await db.schema
      .createTable('cbr_checkpoints')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('vault_id', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('incremental', 'integer', (c) => c.notNull())
      .addColumn('auto_trigger', 'integer', (c) => c.notNull())
      .addColumn('policy_id', 'text')
      .addColumn('retention_duration', 'integer', (c) => c.notNull())
      .addColumn('skipped', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text')
      .execute();

    await db.schema
      .createTable('cbr_backups')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('vault_id', 'text', (c) => c.notNull())
      .addColumn('checkpoint_id', 'text', (c) => c.notNull())
      .addColumn('policy_id', 'text')
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('resource_id', 'text', (c) => c.notNull())
      .addColumn('resource_name', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('resource_type', 'text', (c) => c.notNull())
      .addColumn('resource_az', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('resource_size', 'integer', (c) => c.notNull())
      .addColumn('image_type', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('auto_trigger', 'integer', (c) => c.notNull())
      .addColumn('incremental', 'integer', (c) => c.notNull())
      .addColumn('bootable', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('driver', 'text', (c) => c.notNull())
      .addColumn('snapshot_id', 'text', (c) => c.notNull())
      .addColumn('parent_locator', 'text')
      .addColumn('locator', 'text')
      .addColumn('stored_bytes', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('data_bytes', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('new_chunks', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('progress', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('fail_code', 'text')
      .addColumn('fail_reason', 'text')
      .addColumn('expired_at', 'text')
      .addColumn('protected_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text')
      .execute();
    await db.schema.createIndex('cbr_backups_project').on('cbr_backups').columns(['project_id', 'created_at', 'id']).execute();
    await db.schema.createIndex('cbr_backups_vault_resource').on('cbr_backups').columns(['vault_id', 'resource_id', 'created_at']).execute();
    await db.schema.createIndex('cbr_backups_checkpoint').on('cbr_backups').column('checkpoint_id').execute();

    await db.schema
      .createTable('cbr_members')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('backup_id', 'text', (c) => c.notNull())
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('dest_project_id', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('vault_id', 'text')
      .addColumn('image_id', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text')
      .addUniqueConstraint('cbr_members_backup_dest', ['backup_id', 'dest_project_id'])
      .execute();
    await db.schema.createIndex('cbr_members_dest').on('cbr_members').columns(['dest_project_id', 'status']).execute();

    await db.schema
      .createTable('cbr_operation_logs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('operation_type', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('checkpoint_id', 'text')
      .addColumn('policy_id', 'text')
      .addColumn('vault_id', 'text')
      .addColumn('vault_name', 'text')
      .addColumn('provider_id', 'text', (c) => c.notNull())
      .addColumn('resource_id', 'text')
      .addColumn('resource_name', 'text')
      .addColumn('error_code', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('error_message', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('extra_info', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('started_at', 'text')
      .addColumn('ended_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text')
      .execute();
    await db.schema.createIndex('cbr_operation_logs_project').on('cbr_operation_logs').columns(['project_id', 'created_at', 'id']).execute();
  },
};
