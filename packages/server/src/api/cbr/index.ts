import type { cbrContract as C } from '@cinderbox/api-schema';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Static, TSchema } from 'typebox';
import type { CbrServices } from '../../services/cbr/index.js';
import { parsePage } from '../../services/cbr/index.js';
import { installCbrContract } from './validation.js';
import { backupView, checkpointView, memberView, operationLogView, policyView, vaultView } from './views.js';

type Params = Record<string, string>;
type Query = Record<string, string | string[] | undefined>;

function auth(req: FastifyRequest) {
  return req.cb.auth!;
}

/** The request's body as the contract types it: validation.ts checked it against the same schema before the handler. */
function body<S extends TSchema>(req: FastifyRequest): Static<S> {
  return req.body as Static<S>;
}

function last(q: Query, k: string): string | undefined {
  const v = q[k];
  return Array.isArray(v) ? v[v.length - 1] : v;
}

/** The CBR v3 API under `/cbr/v3/{project_id}` (catalog type `cbr`). */
export function registerCbrRoutes(app: FastifyInstance, cbr: CbrServices): void {
  const c = cbr.context;
  app.register(
    async (r) => {
      installCbrContract(r);

      // --- vaults ---
      r.post('/vaults', async (req) => ({ vault: vaultView(c, await cbr.vaults.create(auth(req), body<typeof C.VaultCreateBody>(req).vault)) }));
      r.get('/vaults', async (req) => {
        const q = req.query as Query;
        const flat: Record<string, string | undefined> = {};
        for (const k of ['id', 'name', 'object_type', 'protect_type', 'cloud_type', 'status', 'policy_id', 'resource_ids', 'resources_ids'])
          flat[k] = last(q, k);
        const page = await cbr.vaults.list(auth(req), flat, parsePage(q));
        return { vaults: page.items.map((v) => vaultView(c, v)), count: page.count, limit: page.limit, offset: page.offset } satisfies Static<typeof C.VaultList>;
      });
      r.get('/vaults/:vault_id', async (req) => ({ vault: vaultView(c, await cbr.vaults.get(auth(req), (req.params as Params).vault_id!)) }));
      r.put('/vaults/:vault_id', async (req) => ({
        vault: vaultView(c, await cbr.vaults.update(auth(req), (req.params as Params).vault_id!, body<typeof C.VaultUpdateBody>(req).vault)),
      }));
      r.delete('/vaults/:vault_id', async (req, reply) => {
        await cbr.vaults.delete(auth(req), (req.params as Params).vault_id!);
        return reply.code(204).send();
      });
      r.post('/vaults/:vault_id/addresources', async (req) => ({
        add_resource_ids: await cbr.vaults.addResources(auth(req), (req.params as Params).vault_id!, body<typeof C.AddResourcesBody>(req).resources),
      }));
      r.post('/vaults/:vault_id/removeresources', async (req) => ({
        remove_resource_ids: await cbr.vaults.removeResources(auth(req), (req.params as Params).vault_id!, body<typeof C.RemoveResourcesBody>(req).resource_ids),
      }));
      r.post('/vaults/:vault_id/migrateresources', async (req) => {
        const b = body<typeof C.MigrateResourcesBody>(req);
        return {
          migrated_resources: await cbr.vaults.migrateResources(auth(req), (req.params as Params).vault_id!, b.resource_ids, b.destination_vault_id),
        };
      });
      r.post('/vaults/:vault_id/associatepolicy', async (req) => {
        const vaultId = (req.params as Params).vault_id!;
        const { policy_id: policyId, destination_vault_id: destination } = body<typeof C.AssociatePolicyBody>(req);
        await cbr.vaults.associatePolicy(auth(req), vaultId, policyId, destination);
        // A replication policy's binding also names the vault its runs copy to.
        return {
          associate_policy: { vault_id: vaultId, policy_id: policyId, ...(destination !== undefined ? { destination_vault_id: destination } : {}) },
        } satisfies Static<typeof C.AssociatePolicyResult>;
      });
      r.post('/vaults/:vault_id/dissociatepolicy', async (req) => {
        const vaultId = (req.params as Params).vault_id!;
        const policyId = body<typeof C.DissociatePolicyBody>(req).policy_id;
        await cbr.vaults.dissociatePolicy(auth(req), vaultId, policyId);
        return { dissociate_policy: { vault_id: vaultId, policy_id: policyId } } satisfies Static<typeof C.DissociatePolicyResult>;
      });

      // --- tags (singular /vault/) ---
      r.get('/vault/tags', async (req) => ({ tags: await cbr.vaults.projectTags(auth(req)) }));
      r.get('/vault/:vault_id/tags', async (req) => ({ tags: await cbr.vaults.tags(auth(req), (req.params as Params).vault_id!) }));
      r.post('/vault/:vault_id/tags', async (req, reply) => {
        await cbr.vaults.setTags(auth(req), (req.params as Params).vault_id!, 'create', [body<typeof C.TagCreateBody>(req).tag]);
        return reply.code(204).send();
      });
      r.post('/vault/:vault_id/tags/action', async (req, reply) => {
        const b = body<typeof C.TagActionBody>(req);
        await cbr.vaults.setTags(auth(req), (req.params as Params).vault_id!, b.action, b.tags);
        return reply.code(204).send();
      });
      r.delete('/vault/:vault_id/tags/:key', async (req, reply) => {
        const p = req.params as Params;
        await cbr.vaults.deleteTag(auth(req), p.vault_id!, p.key!);
        return reply.code(204).send();
      });

      // --- policies ---
      r.post('/policies', async (req) => ({ policy: policyView(await cbr.policies.create(auth(req), body<typeof C.PolicyCreateBody>(req).policy)) }));
      r.get('/policies', async (req) => {
        const q = req.query as Query;
        const list = await cbr.policies.list(auth(req), { operation_type: last(q, 'operation_type'), vault_id: last(q, 'vault_id') });
        return { policies: list.map(policyView), count: list.length } satisfies Static<typeof C.PolicyList>;
      });
      r.get('/policies/:policy_id', async (req) => ({ policy: policyView(await cbr.policies.get(auth(req), (req.params as Params).policy_id!)) }));
      r.put('/policies/:policy_id', async (req) => {
        const { policy } = body<typeof C.PolicyUpdateBody>(req);
        return { policy: policyView(await cbr.policies.update(auth(req), (req.params as Params).policy_id!, policy)) };
      });
      r.delete('/policies/:policy_id', async (req, reply) => {
        await cbr.policies.delete(auth(req), (req.params as Params).policy_id!);
        return reply.code(204).send();
      });

      // --- checkpoints ---
      r.post('/checkpoints', async (req) => ({
        checkpoint: checkpointView(c, await cbr.checkpoints.create(auth(req), body<typeof C.CheckpointCreateBody>(req).checkpoint)),
      }));
      r.get('/checkpoints/:checkpoint_id', async (req) => ({
        checkpoint: checkpointView(c, await cbr.checkpoints.get(auth(req), (req.params as Params).checkpoint_id!)),
      }));

      r.post('/checkpoints/replicate', async (req) => ({
        replication: await cbr.replication.replicateVault(auth(req), body<typeof C.CheckpointReplicateBody>(req).replicate),
      }));

      // --- replication (regions are backup targets: serve --region) ---
      r.get('/replication-capabilities', async () => cbr.replication.capabilities() satisfies Static<typeof C.ReplicationCapabilities>);
      r.post('/backups/:backup_id/replicate', async (req) => ({
        replication: await cbr.replication.replicateBackup(auth(req), (req.params as Params).backup_id!, body<typeof C.BackupReplicateBody>(req).replicate),
      }));

      // --- backups ---
      r.get('/backups', async (req) => {
        const q = req.query as Query;
        const page = await cbr.backups.list(auth(req), q, parsePage(q));
        return { backups: page.items.map(backupView), count: page.count, offset: page.offset, limit: page.limit } satisfies Static<typeof C.BackupList>;
      });
      r.get('/backups/:backup_id', async (req) => ({ backup: backupView(await cbr.backups.get(auth(req), (req.params as Params).backup_id!)) }));
      r.delete('/backups/:backup_id', async (req, reply) => {
        await cbr.backups.delete(auth(req), (req.params as Params).backup_id!);
        return reply.code(204).send();
      });
      r.post('/backups/:backup_id/restore', async (req, reply) => {
        await cbr.backups.restore(auth(req), (req.params as Params).backup_id!, body<typeof C.BackupRestoreBody>(req).restore);
        return reply.code(202).send();
      });

      // --- share members ---
      r.post('/backups/:backup_id/members', async (req) => {
        const members = await cbr.backups.addMembers(auth(req), (req.params as Params).backup_id!, body<typeof C.MembersCreateBody>(req).members);
        return { members: members.map(memberView), count: members.length } satisfies Static<typeof C.MemberList>;
      });
      r.get('/backups/:backup_id/members', async (req) => {
        const q = req.query as Query;
        const page = await cbr.backups.members(auth(req), (req.params as Params).backup_id!, q, parsePage(q));
        return { members: page.items.map(memberView), count: page.count } satisfies Static<typeof C.MemberList>;
      });
      r.get('/backups/:backup_id/members/:member_id', async (req) => {
        const p = req.params as Params;
        return { member: memberView(await cbr.backups.member(auth(req), p.backup_id!, p.member_id!)) };
      });
      r.put('/backups/:backup_id/members/:member_id', async (req) => {
        const p = req.params as Params;
        return { member: memberView(await cbr.backups.updateMember(auth(req), p.backup_id!, p.member_id!, body<typeof C.MemberUpdateBody>(req))) };
      });
      r.delete('/backups/:backup_id/members/:member_id', async (req, reply) => {
        const p = req.params as Params;
        await cbr.backups.deleteMember(auth(req), p.backup_id!, p.member_id!);
        return reply.code(204).send();
      });

      // --- operation logs ---
      r.get('/operation-logs', async (req) => {
        const q = req.query as Query;
        const page = await cbr.operationLogs.list(auth(req), q as Record<string, string | string[]>, parsePage(q));
        return {
          operation_logs: page.items.map(operationLogView),
          count: page.count,
          limit: page.limit,
          offset: page.offset,
        } satisfies Static<typeof C.OperationLogList>;
      });
      r.get('/operation-logs/:operation_log_id', async (req) => ({
        operation_log: operationLogView(await cbr.operationLogs.get(auth(req), (req.params as Params).operation_log_id!)),
      }));
    },
    { prefix: '/cbr/v3/:project_id' },
  );
}
