import type { Kysely, Migration } from 'kysely';

/**
 * `services.backup_target` (issue #17): on a node's `cinder-backup` row, the identity of its default backup target
 * as JSON `{name, repo_id, location}`. Nodes of one cluster must share that target; the repository id (made once,
 * when the repository is created) tells a shared bucket or directory from node-local ones that merely look alike
 * (the same `file://` path on two machines), so a node started with a different one can say so.
 */
export const backupTargetIdentity: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('services').addColumn('backup_target', 'text').execute();
  },
};
