import type { Scope } from '../../domain/ports/metadata-store.js';
import type { QuotaStore } from '../../domain/ports/quota-store.js';
import { executor } from '../metadata-store.js';

const INT32_MAX = 2147483647;

export const quotaRepository: QuotaStore = {
  async limits(scope: Scope, projectId: string) {
    const rows = await executor(scope).selectFrom('quotas').select(['resource', 'hard_limit']).where('project_id', '=', projectId).execute();
    const out: Record<string, number> = {};
    for (const r of rows) out[r.resource] = Number(r.hard_limit);
    return out;
  },

  async usage(scope: Scope, projectId: string) {
    const rows = await executor(scope).selectFrom('quota_usages').select(['resource', 'in_use']).where('project_id', '=', projectId).execute();
    const out: Record<string, number> = {};
    for (const r of rows) out[r.resource] = Number(r.in_use);
    return out;
  },

  async add(scope: Scope, projectId: string, resource: string, delta: number, limit: number) {
    const exec = executor(scope);
    // Created first so the conditional update below always has a row to lock: on PostgreSQL a concurrent insert
    // of the same key waits for this one and then does nothing.
    await exec
      .insertInto('quota_usages')
      .values({ project_id: projectId, resource, in_use: 0 })
      .onConflict((oc) => oc.columns(['project_id', 'resource']).doNothing())
      .execute();
    // Check and increment in one statement: under READ COMMITTED a second writer blocks on the row lock and
    // re-evaluates the condition against the committed count, so the limit holds without SERIALIZABLE.
    let q = exec
      .updateTable('quota_usages')
      .set((eb) => ({ in_use: eb('in_use', '+', delta) }))
      .where('project_id', '=', projectId)
      .where('resource', '=', resource);
    // Compared as `in_use <= limit - delta`, not `in_use + delta <= limit`: PostgreSQL evaluates the sum in the
    // column's 32-bit integer type and fails with "integer out of range" near the top instead of refusing. An
    // unlimited resource still stops where the counter would overflow.
    if (delta > 0) q = q.where('in_use', '<=', (limit >= 0 ? limit : INT32_MAX) - delta);
    const res = await q.executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
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
