import type { Kysely, Migration } from 'kysely';

/**
 * Several nodes on one database (issue #17).
 * - `tasks.node`: the node that must run the task, because it touches a volume on that node's local backend
 *   (raw, qcow2: files in that node's data directory); null when any node may run it (RBD volumes, work on the
 *   shared backup target alone). Claims filter on it, so the index leads with it.
 * - `services.instance`: which process writes the row's heartbeats (`<uuid> <pid> <hostname>`), so a second
 *   process started under a live node's name is refused instead of silently sharing its services and tasks.
 * - `services.capacity`: a volume service's pool capacity as of its last heartbeat (JSON `{total_gb, free_gb}`),
 *   so any node lists every node's pools and the scheduler skips a full one.
 */
export const clusterNodes: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('tasks').addColumn('node', 'text').execute();
    await db.schema.createIndex('tasks_node_state').on('tasks').columns(['node', 'state']).execute();
    await db.schema.alterTable('services').addColumn('instance', 'text').execute();
    await db.schema.alterTable('services').addColumn('capacity', 'text').execute();
  },
};
