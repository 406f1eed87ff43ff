import type { Scope } from '../../domain/ports/metadata-store.js';
import type { QuotaStore } from '../../domain/ports/quota-store.js';
import { executor } from '../metadata-store.js';
import { prepared, preparedResult } from '../prepared.js';

const INT32_MAX = 2147483647;

const limitRows = prepared<{ projectId: string }, { resource: string; hard_limit: number }>((db, arg) =>
  db.selectFrom('quotas').select(['resource', 'hard_limit']).where('project_id', '=', arg('projectId')),
);

const usageRows = prepared<{ projectId: string }, { resource: string; in_use: number }>((db, arg) =>
  db.selectFrom('quota_usages').select(['resource', 'in_use']).where('project_id', '=', arg('projectId')),
);

const ensureRow = preparedResult<{ projectId: string; resource: string }, unknown>((db, arg) =>
  db
    .insertInto('quota_usages')
    .values({ project_id: arg('projectId'), resource: arg('resource'), in_use: 0 })
    .onConflict((oc) => oc.columns(['project_id', 'resource']).doNothing()),
);

// Compared as `in_use <= ceiling`, not `in_use + delta <= limit`: PostgreSQL evaluates the sum in the column's
// 32-bit integer type and fails with "integer out of range" near the top instead of refusing.
const increment = preparedResult<{ projectId: string; resource: string; delta: number; ceiling: number }, unknown>((db, arg) =>
  db
    .updateTable('quota_usages')
    .set((eb) => ({ in_use: eb('in_use', '+', arg('delta')) }))
    .where('project_id', '=', arg('projectId'))
    .where('resource', '=', arg('resource'))
    .where('in_use', '<=', arg('ceiling')),
);

const decrement = preparedResult<{ projectId: string; resource: string; delta: number }, unknown>((db, arg) =>
  db
    .updateTable('quota_usages')
    .set((eb) => ({ in_use: eb('in_use', '+', arg('delta')) }))
    .where('project_id', '=', arg('projectId'))
    .where('resource', '=', arg('resource')),
);

export const quotaRepository: QuotaStore = {
  async limits(scope: Scope, projectId: string) {
    const rows = await limitRows(executor(scope), { projectId });
    const out: Record<string, number> = {};
    for (const r of rows) out[r.resource] = Number(r.hard_limit);
    return out;
  },

  async usage(scope: Scope, projectId: string) {
    const rows = await usageRows(executor(scope), { projectId });
    const out: Record<string, number> = {};
    for (const r of rows) out[r.resource] = Number(r.in_use);
    return out;
  },

  async add(scope: Scope, projectId: string, resource: string, delta: number, limit: number) {
    const exec = executor(scope);
    // Check and increment in one statement: under READ COMMITTED a second writer blocks on the row lock and
    // re-evaluates the condition against the committed count, so the limit holds without SERIALIZABLE. An
    // unlimited resource still stops where the counter would overflow.
    const bump = () =>
      delta > 0
        ? increment(exec, { projectId, resource, delta, ceiling: (limit >= 0 ? limit : INT32_MAX) - delta })
        : decrement(exec, { projectId, resource, delta });
    if (Number((await bump()).numAffectedRows ?? 0n) > 0) return true;
    // Nothing moved: the row is missing (the project's first use of the resource) or the limit refused. The row
    // is created and the update tried once more, so the common case costs one statement and a refusal still sees
    // the committed count: on PostgreSQL a concurrent insert of the same key makes this one wait, then do nothing.
    await ensureRow(exec, { projectId, resource });
    return Number((await bump()).numAffectedRows ?? 0n) > 0;
  },

  async setLimit(scope: Scope, projectId: string, resource: string, limit: number) {
    await executor(scope)
      .insertInto('quotas')
      .values({ project_id: projectId, resource, hard_limit: limit })
      .onConflict((oc) => oc.columns(['project_id', 'resource']).doUpdateSet({ hard_limit: limit }))
      .execute();
  },

  async resetLimits(scope: Scope, projectId: string) {
    await executor(scope).deleteFrom('quotas').where('project_id', '=', projectId).execute();
  },
};
