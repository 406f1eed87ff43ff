import type { TSchema } from 'typebox';
import type { HttpMethod, Operation, OperationResponse } from '../operation.js';
import { BackupBody, BackupList, BackupListQuery, BackupRestoreBody, MemberBody, MemberList, MemberListQuery, MembersCreateBody, MemberUpdateBody } from './backups.js';
import { CheckpointBody, CheckpointCreateBody } from './checkpoints.js';
import { CbrErrorBody } from './common.js';
import { OperationLogBody, OperationLogList, OperationLogListQuery } from './operation-logs.js';
import { PolicyBody, PolicyCreateBody, PolicyList, PolicyListQuery, PolicyUpdateBody } from './policies.js';
import {
  BackupReplicateBody,
  BackupReplicationBody,
  CheckpointReplicateBody,
  CheckpointReplicationBody,
  ReplicationCapabilities,
} from './replication.js';
import {
  AddResourcesBody,
  AddResourcesResult,
  AssociatePolicyBody,
  AssociatePolicyResult,
  DissociatePolicyBody,
  DissociatePolicyResult,
  MigrateResourcesBody,
  MigrateResourcesResult,
  ProjectTags,
  RemoveResourcesBody,
  RemoveResourcesResult,
  TagActionBody,
  TagCreateBody,
  VaultBody,
  VaultCreateBody,
  VaultList,
  VaultListQuery,
  VaultTags,
  VaultUpdateBody,
} from './vaults.js';

const P = '/v3/{project_id}';

/** Every CBR operation can be refused for its input, its token or its role. */
const common: OperationResponse[] = [
  { status: 400, description: 'Invalid request, or refused in the state met (BackupService code).', body: CbrErrorBody },
  { status: 401, description: 'No valid token.', body: CbrErrorBody },
  { status: 403, description: 'The token may not do this.', body: CbrErrorBody },
];
const notFound: OperationResponse = { status: 404, description: 'An object the path names does not exist.', body: CbrErrorBody };

interface Spec {
  id: string;
  method: HttpMethod;
  path: string;
  summary: string;
  tag: string;
  query?: TSchema;
  body?: TSchema;
  /** The success status and its body (none: an empty 202/204). */
  ok: [number, TSchema?];
}

function op(s: Spec): Operation {
  const [status, body] = s.ok;
  const success: OperationResponse = { status, description: body ? 'Done.' : status === 202 ? 'Accepted; runs in the background.' : 'Done; no body.', ...(body ? { body } : {}) };
  return {
    api: 'cbr',
    id: s.id,
    method: s.method,
    path: `${P}${s.path}`,
    summary: s.summary,
    tag: s.tag,
    ...(s.query ? { query: s.query } : {}),
    ...(s.body ? { body: s.body } : {}),
    responses: [success, ...common, ...(s.path.includes('{') ? [notFound] : [])],
  };
}

/** The CBR v3 API as served under `/cbr` (catalog type `cbr`): one entry per route. */
export const cbrOperations: Operation[] = [
  op({ id: 'vaultCreate', method: 'POST', path: '/vaults', summary: 'Create a vault', tag: 'Vaults', body: VaultCreateBody, ok: [200, VaultBody] }),
  op({ id: 'vaultList', method: 'GET', path: '/vaults', summary: 'List vaults', tag: 'Vaults', query: VaultListQuery, ok: [200, VaultList] }),
  op({ id: 'vaultGet', method: 'GET', path: '/vaults/{vault_id}', summary: 'Show a vault', tag: 'Vaults', ok: [200, VaultBody] }),
  op({ id: 'vaultUpdate', method: 'PUT', path: '/vaults/{vault_id}', summary: 'Modify a vault', tag: 'Vaults', body: VaultUpdateBody, ok: [200, VaultBody] }),
  op({ id: 'vaultDelete', method: 'DELETE', path: '/vaults/{vault_id}', summary: 'Delete a vault and all its backups', tag: 'Vaults', ok: [204] }),
  op({
    id: 'vaultAddResources',
    method: 'POST',
    path: '/vaults/{vault_id}/addresources',
    summary: 'Associate resources with a vault',
    tag: 'Vaults',
    body: AddResourcesBody,
    ok: [200, AddResourcesResult],
  }),
  op({
    id: 'vaultRemoveResources',
    method: 'POST',
    path: '/vaults/{vault_id}/removeresources',
    summary: 'Dissociate resources from a vault',
    tag: 'Vaults',
    body: RemoveResourcesBody,
    ok: [200, RemoveResourcesResult],
  }),
  op({
    id: 'vaultMigrateResources',
    method: 'POST',
    path: '/vaults/{vault_id}/migrateresources',
    summary: 'Move resources and their backups to another vault',
    tag: 'Vaults',
    body: MigrateResourcesBody,
    ok: [200, MigrateResourcesResult],
  }),
  op({
    id: 'vaultAssociatePolicy',
    method: 'POST',
    path: '/vaults/{vault_id}/associatepolicy',
    summary: 'Apply a policy to a vault',
    tag: 'Vaults',
    body: AssociatePolicyBody,
    ok: [200, AssociatePolicyResult],
  }),
  op({
    id: 'vaultDissociatePolicy',
    method: 'POST',
    path: '/vaults/{vault_id}/dissociatepolicy',
    summary: 'Remove a policy from a vault',
    tag: 'Vaults',
    body: DissociatePolicyBody,
    ok: [200, DissociatePolicyResult],
  }),

  op({ id: 'vaultProjectTags', method: 'GET', path: '/vault/tags', summary: "List the tags of the project's vaults", tag: 'Vault tags', ok: [200, ProjectTags] }),
  op({ id: 'vaultTagList', method: 'GET', path: '/vault/{vault_id}/tags', summary: "List a vault's tags", tag: 'Vault tags', ok: [200, VaultTags] }),
  op({ id: 'vaultTagCreate', method: 'POST', path: '/vault/{vault_id}/tags', summary: 'Add a tag to a vault', tag: 'Vault tags', body: TagCreateBody, ok: [204] }),
  op({
    id: 'vaultTagAction',
    method: 'POST',
    path: '/vault/{vault_id}/tags/action',
    summary: "Add or delete a vault's tags in a batch",
    tag: 'Vault tags',
    body: TagActionBody,
    ok: [204],
  }),
  op({ id: 'vaultTagDelete', method: 'DELETE', path: '/vault/{vault_id}/tags/{key}', summary: 'Delete a tag of a vault', tag: 'Vault tags', ok: [204] }),

  op({ id: 'policyCreate', method: 'POST', path: '/policies', summary: 'Create a policy', tag: 'Policies', body: PolicyCreateBody, ok: [200, PolicyBody] }),
  op({ id: 'policyList', method: 'GET', path: '/policies', summary: 'List policies', tag: 'Policies', query: PolicyListQuery, ok: [200, PolicyList] }),
  op({ id: 'policyGet', method: 'GET', path: '/policies/{policy_id}', summary: 'Show a policy', tag: 'Policies', ok: [200, PolicyBody] }),
  op({ id: 'policyUpdate', method: 'PUT', path: '/policies/{policy_id}', summary: 'Modify a policy', tag: 'Policies', body: PolicyUpdateBody, ok: [200, PolicyBody] }),
  op({ id: 'policyDelete', method: 'DELETE', path: '/policies/{policy_id}', summary: 'Delete a policy', tag: 'Policies', ok: [204] }),

  op({
    id: 'checkpointCreate',
    method: 'POST',
    path: '/checkpoints',
    summary: 'Create a restore point (back a vault up)',
    tag: 'Restore points',
    body: CheckpointCreateBody,
    ok: [200, CheckpointBody],
  }),
  op({ id: 'checkpointGet', method: 'GET', path: '/checkpoints/{checkpoint_id}', summary: 'Show a restore point', tag: 'Restore points', ok: [200, CheckpointBody] }),
  op({
    id: 'checkpointReplicate',
    method: 'POST',
    path: '/checkpoints/replicate',
    summary: "Replicate a vault's backups to another region",
    tag: 'Replication',
    body: CheckpointReplicateBody,
    ok: [200, CheckpointReplicationBody],
  }),
  op({
    id: 'replicationCapabilities',
    method: 'GET',
    path: '/replication-capabilities',
    summary: 'List regions and where each replicates to',
    tag: 'Replication',
    ok: [200, ReplicationCapabilities],
  }),
  op({
    id: 'backupReplicate',
    method: 'POST',
    path: '/backups/{backup_id}/replicate',
    summary: 'Replicate a backup to another region',
    tag: 'Replication',
    body: BackupReplicateBody,
    ok: [200, BackupReplicationBody],
  }),

  op({ id: 'backupList', method: 'GET', path: '/backups', summary: 'List backups', tag: 'Backups', query: BackupListQuery, ok: [200, BackupList] }),
  op({ id: 'backupGet', method: 'GET', path: '/backups/{backup_id}', summary: 'Show a backup', tag: 'Backups', ok: [200, BackupBody] }),
  op({ id: 'backupDelete', method: 'DELETE', path: '/backups/{backup_id}', summary: 'Delete a backup', tag: 'Backups', ok: [204] }),
  op({
    id: 'backupRestore',
    method: 'POST',
    path: '/backups/{backup_id}/restore',
    summary: 'Restore a backup onto a disk',
    tag: 'Backups',
    body: BackupRestoreBody,
    ok: [202],
  }),

  op({
    id: 'memberCreate',
    method: 'POST',
    path: '/backups/{backup_id}/members',
    summary: 'Share a backup with projects',
    tag: 'Share members',
    body: MembersCreateBody,
    ok: [200, MemberList],
  }),
  op({
    id: 'memberList',
    method: 'GET',
    path: '/backups/{backup_id}/members',
    summary: "List a backup's share members",
    tag: 'Share members',
    query: MemberListQuery,
    ok: [200, MemberList],
  }),
  op({ id: 'memberGet', method: 'GET', path: '/backups/{backup_id}/members/{member_id}', summary: 'Show a share member', tag: 'Share members', ok: [200, MemberBody] }),
  op({
    id: 'memberUpdate',
    method: 'PUT',
    path: '/backups/{backup_id}/members/{member_id}',
    summary: 'Accept or reject a shared backup',
    tag: 'Share members',
    body: MemberUpdateBody,
    ok: [200, MemberBody],
  }),
  op({ id: 'memberDelete', method: 'DELETE', path: '/backups/{backup_id}/members/{member_id}', summary: 'Stop sharing a backup with a project', tag: 'Share members', ok: [204] }),

  op({
    id: 'operationLogList',
    method: 'GET',
    path: '/operation-logs',
    summary: 'List operation logs (tasks)',
    tag: 'Operation logs',
    query: OperationLogListQuery,
    ok: [200, OperationLogList],
  }),
  op({ id: 'operationLogGet', method: 'GET', path: '/operation-logs/{operation_log_id}', summary: 'Show an operation log', tag: 'Operation logs', ok: [200, OperationLogBody] }),
];
