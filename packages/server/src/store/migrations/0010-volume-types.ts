import type { Kysely, Migration } from 'kysely';

/**
 * Managed volume types: which projects may use a private type (Cinder's `volume_type_projects`), a type's
 * encryption spec (`encryption`, one per type, keyed by type as Cinder looks it up), and each project's default
 * type (3.62, `default_volume_types`). Extra specs stay in `volume_types.extra_specs` (JSON), as since 0001.
 */
export const volumeTypes: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('volume_type_projects')
      .addColumn('volume_type_id', 'text', (c) => c.notNull())
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('volume_type_projects_pk', ['volume_type_id', 'project_id'])
      .execute();
    await db.schema
      .createTable('volume_type_encryption')
      .addColumn('volume_type_id', 'text', (c) => c.primaryKey())
      .addColumn('encryption_id', 'text', (c) => c.notNull().unique())
      .addColumn('provider', 'text', (c) => c.notNull())
      .addColumn('control_location', 'text', (c) => c.notNull())
      .addColumn('cipher', 'text')
      .addColumn('key_size', 'integer')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text')
      .execute();
    await db.schema
      .createTable('default_volume_types')
      .addColumn('project_id', 'text', (c) => c.primaryKey())
      .addColumn('volume_type_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text')
      .execute();
    await db.schema.createIndex('default_volume_types_type').on('default_volume_types').column('volume_type_id').execute();
    await db.schema.createIndex('volumes_volume_type').on('volumes').column('volume_type_id').execute();
  },
};
