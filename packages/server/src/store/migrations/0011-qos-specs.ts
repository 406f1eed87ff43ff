import type { Kysely, Migration } from 'kysely';

/**
 * QoS specs (Cinder's `quality_of_service_specs`, kept here as a row per spec plus a row per key instead of
 * Cinder's one self-referencing key/value table) and the association of a volume type with one of them
 * (`volume_types.qos_specs_id`, as in Cinder: a type has at most one, a spec many types). A spec key's value
 * may be null: Cinder's update schema allows it and shows it back as null. No foreign keys, as everywhere here:
 * the repository removes a spec's keys with it, in one transaction.
 */
export const qosSpecs: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('qos_specs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('consumer', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text')
      .execute();
    await db.schema
      .createTable('qos_specs_keys')
      .addColumn('specs_id', 'text', (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('value', 'text')
      .addPrimaryKeyConstraint('qos_specs_keys_pk', ['specs_id', 'key'])
      .execute();
    await db.schema.alterTable('volume_types').addColumn('qos_specs_id', 'text').execute();
    await db.schema.createIndex('volume_types_qos_specs').on('volume_types').column('qos_specs_id').execute();
  },
};
