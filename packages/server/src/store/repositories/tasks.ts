import type { ExpressionBuilder, SelectQueryBuilder } from 'kysely';
import type { NewTask } from '../../domain/ports/task-queue.js';
import type { StoredTask, TaskEligibility, TaskRoutingLookup, TaskState, TaskStore } from '../../domain/ports/task-store.js';
import type { Scope } from '../../domain/ports/metadata-store.js';
import type { Db, OpenedDatabase } from '../database.js';
import { executor } from '../metadata-store.js';
import { preparedResult } from '../prepared.js';
import type { Database, TaskTable } from '../schema.js';

const insertTask = preparedResult<TaskTable & Record<string, unknown>, unknown>((db, arg) =>
  db.insertInto('tasks').values({
    id: arg('id'),
    kind: arg('kind'),
    resource_type: arg('resource_type'),
    resource_id: arg('resource_id'),
    payload: arg('payload'),
    state: arg('state'),
    owner: arg('owner'),
    lease_until: arg('lease_until'),
    node: arg('node'),
    attempts: arg('attempts'),
    last_error: arg('last_error'),
    created_at: arg('created_at'),
    updated_at: arg('updated_at'),
  }),
);

function toStored(row: TaskTable): StoredTask {
  return {
    id: row.id,
    kind: row.kind,
    resourceType: row.resource_type,
    resourceId: row.resource_id,
    payload: JSON.parse(row.payload) as unknown,
    attempts: Number(row.attempts),
    state: row.state as TaskState,
    owner: row.owner,
    leaseUntil: row.lease_until,
    node: row.node ?? null,
  };
}

/** `node IS NULL OR node = me`, less the kinds this node declines among the unbound ones. */
function eligible(eb: ExpressionBuilder<Database, 'tasks'>, may: TaskEligibility | undefined, onlyNode = false) {
  if (!may) return eb.lit(true);
  if (onlyNode) return eb('node', '=', may.node);
  const unbound = may.declinedKinds.length
    ? eb.and([eb('node', 'is', null), eb('kind', 'not in', [...may.declinedKinds])])
    : eb('node', 'is', null);
  return eb.or([unbound, eb('node', '=', may.node)]);
}

/**
 * The `tasks` table. Claims are single statements. On PostgreSQL the rows to claim are picked with
 * `FOR UPDATE SKIP LOCKED`, so nodes polling at the same moment divide the pending tasks between them instead of
 * queueing on each other's row locks (and an UPDATE that lost the race re-checks `state` and claims nothing).
 * SQLite has one writer, so `UPDATE … WHERE state = 'pending' RETURNING` is already atomic there.
 */
export function taskStore(database: Pick<OpenedDatabase, 'db' | 'kind'>): TaskStore {
  const db: Db = database.db;
  const postgres = database.kind === 'postgres';
  const lockable = <O>(q: SelectQueryBuilder<Database, 'tasks', O>) => (postgres ? q.forUpdate().skipLocked() : q);

  const claimWhere = (owner: string, leaseUntil: string, now: string) =>
    db
      .updateTable('tasks')
      .set((eb) => ({ state: 'running', owner, lease_until: leaseUntil, attempts: eb('attempts', '+', 1), updated_at: now }))
      .where('state', '=', 'pending');

  return {
    async exists(scope: Scope, kind: string, resourceType: string, resourceId: string) {
      const row = await executor(scope)
        .selectFrom('tasks')
        .select('id')
        .where('resource_type', '=', resourceType)
        .where('resource_id', '=', resourceId)
        .where('kind', '=', kind)
        .where('state', 'in', ['pending', 'running'])
        .limit(1)
        .executeTakeFirst();
      return row !== undefined;
    },
    async insert(scope: Scope, id: string, task: NewTask<unknown>, now: string, node: string | null = null, claim?: { owner: string; leaseUntil: string }) {
      await insertTask(executor(scope), {
        id,
        kind: task.kind,
        resource_type: task.resourceType,
        resource_id: task.resourceId,
        payload: JSON.stringify(task.payload ?? {}),
        state: claim ? 'running' : 'pending',
        owner: claim?.owner ?? null,
        lease_until: claim?.leaseUntil ?? null,
        node,
        attempts: claim ? 1 : 0,
        last_error: null,
        created_at: now,
        updated_at: now,
      });
    },

    async release(id, owner, now) {
      await db
        .updateTable('tasks')
        .set((eb) => ({ state: 'pending', owner: null, lease_until: null, attempts: eb('attempts', '-', 1), updated_at: now }))
        .where('id', '=', id)
        .where('state', '=', 'running')
        .where('owner', '=', owner)
        .execute();
    },

    async claim(id, owner, leaseUntil, now, may) {
      const row = await claimWhere(owner, leaseUntil, now)
        .where(
          'id',
          'in',
          lockable(
            db
              .selectFrom('tasks')
              .select('id')
              .where('id', '=', id)
              .where('state', '=', 'pending')
              .where((eb) => eligible(eb, may)),
          ),
        )
        .returningAll()
        .executeTakeFirst();
      return row ? toStored(row) : null;
    },

    async claimPending(limit, owner, leaseUntil, now, may) {
      const rows = await claimWhere(owner, leaseUntil, now)
        .where(
          'id',
          'in',
          lockable(
            db
              .selectFrom('tasks')
              .select('id')
              .where('state', '=', 'pending')
              .where((eb) => eligible(eb, may))
              .orderBy('created_at')
              .orderBy('id')
              .limit(limit),
          ),
        )
        .returningAll()
        .execute();
      return rows.map(toStored);
    },

    async listRunning(leaseEndedBefore, limit = 100, may) {
      let q = db
        .selectFrom('tasks')
        .selectAll()
        .where('state', '=', 'running')
        .where((eb) => eligible(eb, may, may?.onlyNode));
      if (leaseEndedBefore !== null) q = q.where('lease_until', '<', leaseEndedBefore);
      return (await q.orderBy('created_at').orderBy('id').limit(limit).execute()).map(toStored);
    },

    async claimOrphan(id, previousOwner, owner, leaseUntil, now) {
      const row = await db
        .updateTable('tasks')
        // A take-over is another run: counted, so a task that keeps killing its node is not retried forever.
        .set((eb) => ({ owner, lease_until: leaseUntil, attempts: eb('attempts', '+', 1), updated_at: now }))
        .where('id', '=', id)
        .where('state', '=', 'running')
        .where((eb) => (previousOwner === null ? eb('owner', 'is', null) : eb('owner', '=', previousOwner)))
        .returningAll()
        .executeTakeFirst();
      return row ? toStored(row) : null;
    },

    async renewLease(id, owner, leaseUntil) {
      const r = await db.updateTable('tasks').set({ lease_until: leaseUntil }).where('id', '=', id).where('owner', '=', owner).executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },

    async remove(id) {
      await db.deleteFrom('tasks').where('id', '=', id).execute();
    },

    async markFailed(id, error, now) {
      await db
        .updateTable('tasks')
        .set({ state: 'failed', last_error: error.slice(0, 2000), owner: null, lease_until: null, updated_at: now })
        .where('id', '=', id)
        .execute();
    },

    async get(id) {
      const row = await db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toStored(row) : null;
    },
  };
}

/** The routing lookups, on the enqueuing transaction's scope. */
export const taskRoutingLookup: TaskRoutingLookup = {
  async volume(scope, id) {
    const r = await executor(scope).selectFrom('volumes').select(['host', 'driver']).where('id', '=', id).executeTakeFirst();
    return r ? { host: r.host, driver: r.driver } : null;
  },
  async snapshotVolumeId(scope, id) {
    const r = await executor(scope).selectFrom('snapshots').select('volume_id').where('id', '=', id).executeTakeFirst();
    return r?.volume_id ?? null;
  },
  async backup(scope, id) {
    const r = await executor(scope)
      .selectFrom('backups')
      .select(['volume_id', 'backup_target', 'host'])
      .where('id', '=', id)
      .executeTakeFirst();
    return r ? { volumeId: r.volume_id, target: r.backup_target, host: r.host } : null;
  },
};
