import type { PolicyRepository } from '../../domain/ports/cbr-store.js';
import { executor } from '../metadata-store.js';
import type { CbrPolicyTable } from '../schema.js';
import { policyOf, policyRow } from './cbr-rows.js';

export function cbrPolicyRepository(): PolicyRepository {
  return {
    async get(scope, projectId, id) {
      const r = await executor(scope).selectFrom('cbr_policies').selectAll().where('id', '=', id).where('project_id', '=', projectId).executeTakeFirst();
      return r && policyOf(r);
    },

    async byId(scope, id) {
      const r = await executor(scope).selectFrom('cbr_policies').selectAll().where('id', '=', id).executeTakeFirst();
      return r && policyOf(r);
    },

    async list(scope, projectId, f) {
      let q = executor(scope).selectFrom('cbr_policies').selectAll().where('cbr_policies.project_id', '=', projectId);
      if (f.operation_type !== undefined) q = q.where('operation_type', '=', f.operation_type);
      if (f.vault_id !== undefined) {
        const vaultId = f.vault_id;
        q = q.where((eb) =>
          eb.exists(
            eb
              .selectFrom('cbr_policy_bindings as b')
              .select('b.vault_id')
              .whereRef('b.policy_id', '=', 'cbr_policies.id')
              .where('b.vault_id', '=', vaultId),
          ),
        );
      }
      const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
      return rows.map(policyOf);
    },

    async count(scope, projectId) {
      const r = await executor(scope)
        .selectFrom('cbr_policies')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('project_id', '=', projectId)
        .executeTakeFirst();
      return Number(r?.n ?? 0);
    },

    async insert(scope, policy) {
      await executor(scope).insertInto('cbr_policies').values(policyRow(policy) as CbrPolicyTable).execute();
    },

    async update(scope, id, changes) {
      const set = policyRow(changes);
      if (Object.keys(set).length === 0) return;
      await executor(scope).updateTable('cbr_policies').set(set).where('id', '=', id).execute();
    },

    async remove(scope, id) {
      await executor(scope).deleteFrom('cbr_policy_bindings').where('policy_id', '=', id).execute();
      await executor(scope).deleteFrom('cbr_policies').where('id', '=', id).execute();
    },

    async bindingsOfPolicies(scope, policyIds) {
      if (policyIds.length === 0) return [];
      return executor(scope).selectFrom('cbr_policy_bindings').selectAll().where('policy_id', 'in', [...policyIds]).orderBy('created_at').execute();
    },

    async bindingsOfVaults(scope, vaultIds) {
      if (vaultIds.length === 0) return [];
      return executor(scope).selectFrom('cbr_policy_bindings').selectAll().where('vault_id', 'in', [...vaultIds]).execute();
    },

    async bind(scope, b) {
      // An upsert on (vault, operation type), so two racing binds leave one binding rather than a constraint error.
      await executor(scope)
        .insertInto('cbr_policy_bindings')
        .values(b)
        .onConflict((oc) =>
          oc.columns(['vault_id', 'operation_type']).doUpdateSet({
            policy_id: b.policy_id,
            project_id: b.project_id,
            next_run_at: b.next_run_at,
            created_at: b.created_at,
            destination_vault_id: b.destination_vault_id ?? null,
          }),
        )
        .execute();
    },

    async unbind(scope, vaultId, policyId) {
      const res = await executor(scope)
        .deleteFrom('cbr_policy_bindings')
        .where('vault_id', '=', vaultId)
        .where('policy_id', '=', policyId)
        .executeTakeFirst();
      return Number(res.numDeletedRows) > 0;
    },

    async reschedule(scope, policyId, nextRunAt) {
      await executor(scope).updateTable('cbr_policy_bindings').set({ next_run_at: nextRunAt }).where('policy_id', '=', policyId).execute();
    },

    async due(scope, now) {
      const rows = await executor(scope)
        .selectFrom('cbr_policy_bindings as b')
        .innerJoin('cbr_policies as p', 'p.id', 'b.policy_id')
        .selectAll('p')
        .select(['b.vault_id', 'b.next_run_at', 'b.destination_vault_id'])
        .where('p.enabled', '=', 1)
        .where('b.next_run_at', 'is not', null)
        .where('b.next_run_at', '<=', now)
        .orderBy('b.next_run_at')
        .execute();
      return rows.map(({ vault_id, next_run_at, destination_vault_id, ...p }) => ({
        policy: policyOf(p),
        vault_id,
        next_run_at: next_run_at!,
        destination_vault_id: destination_vault_id ?? null,
      }));
    },

    async claimRun(scope, vaultId, policyId, expected, next) {
      const res = await executor(scope)
        .updateTable('cbr_policy_bindings')
        .set({ next_run_at: next })
        .where('vault_id', '=', vaultId)
        .where('policy_id', '=', policyId)
        .where('next_run_at', '=', expected)
        .executeTakeFirst();
      return Number(res.numUpdatedRows) > 0;
    },
  };
}
