import type { Kysely, Migration } from 'kysely';

/**
 * CBR replication: a replica is a CBR backup in a vault of another region (backup target) that names the backup
 * it was copied from and the replication record the API returned; the source lists its replicas through these
 * columns (`replication_records`), so there is no separate table. Null on every backup that is no replica.
 */
export const cbrReplication: Migration = {
  async up(db: Kysely<unknown>) {
    for (const column of [
      'replication_record_id',
      'source_backup_id',
      'source_project_id',
      'source_vault_id',
      'source_checkpoint_id',
      'source_region',
      'destination_region',
    ]) {
      await db.schema.alterTable('cbr_backups').addColumn(column, 'text').execute();
    }
    await db.schema.createIndex('cbr_backups_source').on('cbr_backups').column('source_backup_id').execute();
    // A replication policy's binding names the vault (in the policy's destination region) its runs copy to.
    await db.schema.alterTable('cbr_policy_bindings').addColumn('destination_vault_id', 'text').execute();
  },
};
