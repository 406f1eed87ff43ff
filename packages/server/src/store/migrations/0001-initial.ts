import type { Kysely, Migration } from 'kysely';

// Migrations use kysely's schema builder only, so one migration set runs on SQLite and PostgreSQL.
export const initial: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('domains')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('projects')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('domain_id', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('parent_id', 'text')
      .addColumn('is_domain', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('options', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('extra', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('projects_domain_name', ['domain_id', 'name'])
      .execute();
    await db.schema.createIndex('projects_name').on('projects').column('name').execute();

    await db.schema
      .createTable('users')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('domain_id', 'text', (c) => c.notNull())
      .addColumn('default_project_id', 'text')
      .addColumn('password_hash', 'text')
      .addColumn('email', 'text')
      .addColumn('description', 'text')
      .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('options', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('extra', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('password_expires_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('users_domain_name', ['domain_id', 'name'])
      .execute();
    await db.schema.createIndex('users_name').on('users').column('name').execute();

    await db.schema
      .createTable('roles')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('domain_id', 'text')
      .addColumn('description', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('role_assignments')
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('role_id', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('role_assignments_pk', ['project_id', 'user_id', 'role_id'])
      .execute();
    await db.schema.createIndex('role_assignments_user').on('role_assignments').columns(['user_id', 'project_id']).execute();

    await db.schema
      .createTable('tokens')
      .addColumn('token_hash', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('project_id', 'text')
      .addColumn('methods', 'text', (c) => c.notNull())
      .addColumn('audit_id', 'text', (c) => c.notNull())
      .addColumn('parent_audit_id', 'text')
      .addColumn('issued_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .addColumn('revoked', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema.createIndex('tokens_user').on('tokens').column('user_id').execute();
    await db.schema.createIndex('tokens_expires').on('tokens').column('expires_at').execute();

    await db.schema
      .createTable('volume_types')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('description', 'text')
      .addColumn('is_public', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('extra_specs', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('volumes')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text')
      .addColumn('description', 'text')
      .addColumn('size', 'integer', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('previous_status', 'text')
      .addColumn('attach_status', 'text', (c) => c.notNull().defaultTo('detached'))
      .addColumn('migration_status', 'text')
      .addColumn('availability_zone', 'text', (c) => c.notNull())
      .addColumn('volume_type_id', 'text', (c) => c.notNull())
      .addColumn('snapshot_id', 'text')
      .addColumn('source_volid', 'text')
      .addColumn('backup_id', 'text')
      .addColumn('bootable', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('multiattach', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('host', 'text', (c) => c.notNull())
      .addColumn('driver', 'text', (c) => c.notNull())
      .addColumn('provider_location', 'text')
      .addColumn('use_quota', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text')
      .execute();
    // Keyset pagination and the default sort (created_at desc, id desc) within a project.
    await db.schema.createIndex('volumes_project_created').on('volumes').columns(['project_id', 'created_at', 'id']).execute();
    await db.schema.createIndex('volumes_created').on('volumes').columns(['created_at', 'id']).execute();
    await db.schema.createIndex('volumes_project_name').on('volumes').columns(['project_id', 'name']).execute();
    await db.schema.createIndex('volumes_host').on('volumes').columns(['host', 'provider_location']).execute();

    for (const t of ['volume_metadata', 'volume_admin_metadata'] as const) {
      await db.schema
        .createTable(t)
        .addColumn('volume_id', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint(`${t}_pk`, ['volume_id', 'key'])
        .execute();
    }

    await db.schema
      .createTable('volume_attachments')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('volume_id', 'text', (c) => c.notNull())
      .addColumn('instance_uuid', 'text')
      .addColumn('host_name', 'text')
      .addColumn('mountpoint', 'text')
      .addColumn('attach_mode', 'text', (c) => c.notNull().defaultTo('rw'))
      .addColumn('attach_status', 'text', (c) => c.notNull())
      .addColumn('attached_at', 'text')
      .addColumn('connector', 'text')
      .execute();
    await db.schema.createIndex('volume_attachments_volume').on('volume_attachments').column('volume_id').execute();

    await db.schema
      .createTable('snapshots')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('volume_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text')
      .addColumn('description', 'text')
      .addColumn('size', 'integer', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('progress', 'text', (c) => c.notNull().defaultTo('0%'))
      .addColumn('volume_type_id', 'text')
      .addColumn('use_quota', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('provider_location', 'text')
      .addColumn('hidden', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text')
      .execute();
    await db.schema.createIndex('snapshots_project_created').on('snapshots').columns(['project_id', 'created_at', 'id']).execute();
    await db.schema.createIndex('snapshots_created').on('snapshots').columns(['created_at', 'id']).execute();
    await db.schema.createIndex('snapshots_volume').on('snapshots').columns(['volume_id', 'created_at']).execute();
    await db.schema.createIndex('snapshots_project_name').on('snapshots').columns(['project_id', 'name']).execute();

    await db.schema
      .createTable('snapshot_metadata')
      .addColumn('snapshot_id', 'text', (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('snapshot_metadata_pk', ['snapshot_id', 'key'])
      .execute();

    await db.schema
      .createTable('quotas')
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('resource', 'text', (c) => c.notNull())
      .addColumn('hard_limit', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('quotas_pk', ['project_id', 'resource'])
      .execute();

    await db.schema
      .createTable('quota_usages')
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('resource', 'text', (c) => c.notNull())
      .addColumn('in_use', 'integer', (c) => c.notNull().defaultTo(0))
      .addPrimaryKeyConstraint('quota_usages_pk', ['project_id', 'resource'])
      .execute();

    await db.schema
      .createTable('tasks')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('resource_type', 'text', (c) => c.notNull())
      .addColumn('resource_id', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('owner', 'text')
      .addColumn('lease_until', 'text')
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('last_error', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('tasks_state_lease').on('tasks').columns(['state', 'lease_until']).execute();
    await db.schema.createIndex('tasks_resource').on('tasks').columns(['resource_type', 'resource_id']).execute();

    await db.schema
      .createTable('node_state')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .execute();
  },
};
