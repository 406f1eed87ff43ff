import type { Kysely, Migration } from 'kysely';

/**
 * Cinder's `services` table, one row per (host, binary): the heartbeat each running node writes (`updated_at`),
 * the operator's switches (`disabled` with its reason, `frozen` for volume services) and when it first reported.
 * Several nodes share this table once #17 lands; a row outlives its node, so a stopped node shows `down`.
 * Also `quota_classes`: Cinder's quota class limits per (class, resource); the `default` class overrides the
 * configured defaults every project without its own limits follows.
 */
export const services: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('services')
      .addColumn('host', 'text', (c) => c.notNull())
      .addColumn('binary', 'text', (c) => c.notNull())
      .addColumn('availability_zone', 'text', (c) => c.notNull())
      .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('disabled_reason', 'text')
      .addColumn('frozen', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text')
      .addPrimaryKeyConstraint('services_pk', ['host', 'binary'])
      .execute();
    await db.schema
      .createTable('quota_classes')
      .addColumn('class_name', 'text', (c) => c.notNull())
      .addColumn('resource', 'text', (c) => c.notNull())
      .addColumn('hard_limit', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('quota_classes_pk', ['class_name', 'resource'])
      .execute();
  },
};
