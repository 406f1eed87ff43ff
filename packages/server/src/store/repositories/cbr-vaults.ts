import type { Vault } from '../../domain/cbr.js';
import type { Transition, VaultRepository } from '../../domain/ports/cbr-store.js';
import { guardedTransition } from '../guarded.js';
import { executor } from '../metadata-store.js';
import type { CbrVaultTable } from '../schema.js';
import { resourceOf, resourceRow, vaultOf, vaultRow } from './cbr-rows.js';

export function cbrVaultRepository(): VaultRepository {
  return {
    async get(scope, projectId, id) {
      const r = await executor(scope).selectFrom('cbr_vaults').selectAll().where('id', '=', id).where('project_id', '=', projectId).executeTakeFirst();
      return r && vaultOf(r);
    },

    async byId(scope, id) {
      const r = await executor(scope).selectFrom('cbr_vaults').selectAll().where('id', '=', id).executeTakeFirst();
      return r && vaultOf(r);
    },

    async list(scope, projectId, f) {
      let q = executor(scope).selectFrom('cbr_vaults').selectAll('cbr_vaults').where('cbr_vaults.project_id', '=', projectId);
      if (f.id !== undefined) q = q.where('cbr_vaults.id', '=', f.id);
      if (f.name !== undefined) q = q.where('name', '=', f.name);
      if (f.object_type !== undefined) q = q.where('object_type', '=', f.object_type);
      if (f.protect_type !== undefined) q = q.where('protect_type', '=', f.protect_type);
      if (f.cloud_type !== undefined) q = q.where('cloud_type', '=', f.cloud_type);
      if (f.status !== undefined) q = q.where('status', '=', f.status);
      if (f.policy_id !== undefined) {
        const policyId = f.policy_id;
        q = q.where((eb) =>
          eb.exists(
            eb
              .selectFrom('cbr_policy_bindings as b')
              .select('b.vault_id')
              .whereRef('b.vault_id', '=', 'cbr_vaults.id')
              .where('b.policy_id', '=', policyId),
          ),
        );
      }
      if (f.resource_ids && f.resource_ids.length > 0) {
        const ids = f.resource_ids;
        q = q.where((eb) =>
          eb.exists(
            eb
              .selectFrom('cbr_vault_resources as r')
              .select('r.vault_id')
              .whereRef('r.vault_id', '=', 'cbr_vaults.id')
              .where('r.resource_id', 'in', ids),
          ),
        );
      }
      const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
      return rows.map(vaultOf);
    },

    async insert(scope, vault) {
      await executor(scope).insertInto('cbr_vaults').values(vaultRow(vault) as CbrVaultTable).execute();
    },

    async update(scope, id, changes) {
      const set = vaultRow(changes);
      if (Object.keys(set).length === 0) return;
      await executor(scope).updateTable('cbr_vaults').set(set).where('id', '=', id).execute();
    },

    async transition(scope, id, from, to, changes = {}): Promise<Transition<Vault>> {
      const t = await guardedTransition(executor(scope), 'cbr_vaults', id, from, to, vaultRow(changes));
      return t.ok ? { ok: true, record: vaultOf(t.record) } : t;
    },

    async remove(scope, id) {
      const e = executor(scope);
      await e.deleteFrom('cbr_vault_resources').where('vault_id', '=', id).execute();
      await e.deleteFrom('cbr_vault_tags').where('vault_id', '=', id).execute();
      await e.deleteFrom('cbr_policy_bindings').where('vault_id', '=', id).execute();
      await e.deleteFrom('cbr_checkpoints').where('vault_id', '=', id).execute();
      await e.deleteFrom('cbr_vaults').where('id', '=', id).execute();
    },

    async resources(scope, vaultIds) {
      if (vaultIds.length === 0) return [];
      const rows = await executor(scope)
        .selectFrom('cbr_vault_resources')
        .selectAll()
        .where('vault_id', 'in', [...vaultIds])
        .orderBy('created_at')
        .execute();
      return rows.map(resourceOf);
    },

    async resource(scope, resourceId) {
      const r = await executor(scope).selectFrom('cbr_vault_resources').selectAll().where('resource_id', '=', resourceId).executeTakeFirst();
      return r && resourceOf(r);
    },

    async countResources(scope, vaultId) {
      const r = await executor(scope)
        .selectFrom('cbr_vault_resources')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('vault_id', '=', vaultId)
        .executeTakeFirst();
      return Number(r?.n ?? 0);
    },

    async insertResources(scope, resources) {
      if (resources.length === 0) return [];
      // A resource is in one vault (its primary key): one of two racing requests adds it, the other learns so.
      const rows = await executor(scope)
        .insertInto('cbr_vault_resources')
        .values(resources.map(resourceRow))
        .onConflict((oc) => oc.column('resource_id').doNothing())
        .returning('resource_id')
        .execute();
      return rows.map((r) => r.resource_id);
    },

    async removeResources(scope, vaultId, ids) {
      if (ids.length === 0) return;
      await executor(scope).deleteFrom('cbr_vault_resources').where('vault_id', '=', vaultId).where('resource_id', 'in', [...ids]).execute();
    },

    async moveResources(scope, fromVaultId, toVaultId, ids) {
      if (ids.length === 0) return;
      await executor(scope)
        .updateTable('cbr_vault_resources')
        .set({ vault_id: toVaultId })
        .where('vault_id', '=', fromVaultId)
        .where('resource_id', 'in', [...ids])
        .execute();
    },

    async setProtectStatus(scope, resourceId, from, to, name) {
      let q = executor(scope)
        .updateTable('cbr_vault_resources')
        .set(name === undefined ? { protect_status: to } : { protect_status: to, name })
        .where('resource_id', '=', resourceId);
      if (from !== null) q = q.where('protect_status', 'in', [...from]);
      const res = await q.executeTakeFirst();
      return Number(res.numUpdatedRows) > 0;
    },

    async tags(scope, vaultIds) {
      if (vaultIds.length === 0) return [];
      return executor(scope).selectFrom('cbr_vault_tags').selectAll().where('vault_id', 'in', [...vaultIds]).orderBy('key').execute();
    },

    async putTags(scope, vaultId, tags) {
      if (tags.length === 0) return;
      await executor(scope)
        .insertInto('cbr_vault_tags')
        .values(tags.map((t) => ({ vault_id: vaultId, key: t.key, value: t.value })))
        .onConflict((oc) => oc.columns(['vault_id', 'key']).doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })))
        .execute();
    },

    async deleteTag(scope, vaultId, key, value) {
      let q = executor(scope).deleteFrom('cbr_vault_tags').where('vault_id', '=', vaultId).where('key', '=', key);
      if (value !== undefined) q = q.where('value', '=', value);
      const res = await q.executeTakeFirst();
      return Number(res.numDeletedRows);
    },

    async countTags(scope, vaultId) {
      const r = await executor(scope)
        .selectFrom('cbr_vault_tags')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('vault_id', '=', vaultId)
        .executeTakeFirst();
      return Number(r?.n ?? 0);
    },

    async projectTags(scope, projectId) {
      return executor(scope)
        .selectFrom('cbr_vault_tags')
        .innerJoin('cbr_vaults', 'cbr_vaults.id', 'cbr_vault_tags.vault_id')
        .select(['cbr_vault_tags.key', 'cbr_vault_tags.value'])
        .where('cbr_vaults.project_id', '=', projectId)
        .orderBy('cbr_vault_tags.key')
        .execute();
    },
  };
}
