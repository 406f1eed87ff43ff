import type { Scope } from '../../domain/ports/metadata-store.js';
import type { QuotaStore } from '../../domain/ports/quota-store.js';
import { executor } from '../metadata-store.js';

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
    if (delta > 0 && limit >= 0) q = q.where((eb) => eb(eb('in_use', '+', delta), '<=', limit));
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
