/**
 * CBR v3 resources (otcextensions' `cbr.v3` classes) with the API's JSON names.
 * @packageDocumentation
 */
import type { cbrContract as C } from '@cinderbox/api-schema';
import type { Static } from 'typebox';
import { nestedCodec } from '../resource/nested.js';
import { type BaseAttributes, Resource } from '../resource/resource.js';
import {
  BILLING,
  type Billing,
  CHECKPOINT_VAULT,
  type CheckpointVault,
  EXTEND_INFO,
  type ExtendInfo,
  EXTRA_INFO,
  type ExtraInfo,
  OPERATION_DEFINITION,
  type OperationDefinition,
  PARAMETERS,
  type Parameters,
  POLICY_VAULT,
  type PolicyVault,
  RESTORE_MAPPING,
  type RestoreMapping,
  TASK_EXTRA_INFO,
  type TaskExtraInfo,
  TRIGGER,
  type Trigger,
  VAULT_RESOURCE,
  type VaultResource,
} from './schemas.js';
import { BASE_FIELDS, type ContractFields } from '../resource/field.js';

const ro = { readOnly: true } as const;

/** Vault attributes. */
export interface VaultAttributes extends BaseAttributes {
  description?: string;
  /**
   * Binds volumes created from then on whose metadata matches `bindRules` (cinderbox reads a volume's metadata
   * as its tags): the project's oldest matching auto-bind vault with room takes each new volume.
   */
  autoBind?: boolean;
  /** Grows the vault (`billing.size`) to fit a backup that would overflow it, instead of failing it with 6114. */
  autoExpand?: boolean;
  backupPolicyId?: string;
  billing?: Billing;
  /** Tags a new volume must carry (as metadata) to be auto-bound; an empty value matches any value, no tags any volume. */
  bindRules?: { tags?: Array<{ key: string; value: string }> };
  createdAt?: string;
  locked?: boolean;
  projectId?: string;
  providerId?: string;
  resources?: VaultResource[];
  tags?: Array<{ key: string; value: string }>;
  userId?: string;
  smnNotify?: boolean;
  threshold?: number;
  /**
   * cinderbox extension: the backup target (`serve --backup-target NAME=…`) the vault's backups go to; set at
   * creation only (default: the server's default target).
   */
  backupTarget?: string;
  /**
   * cinderbox extension: days each new backup of the vault is immutable (1-36500; null = none); set at creation
   * only. Until then no API deletes the backup (see the server README, Immutable backups).
   */
  lockDays?: number | null;
}
export interface Vault extends VaultAttributes {}

/**
 * A backup vault (`/vaults`).
 *
 * @example
 * ```ts
 * const v = await conn.cbr.createVault({ name: 'disks', resources: [],
 *   billing: { consistentLevel: 'crash_consistent', objectType: 'disk', protectType: 'backup', size: 100 } });
 * ```
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: attribute accessors are installed from `fields`
export class Vault extends Resource<VaultAttributes> {
  static override readonly displayName: string = 'Vault';
  static override readonly resourceKey: string | undefined = 'vault';
  static override readonly resourcesKey: string | undefined = 'vaults';
  static override readonly basePath: string = '/vaults';
  static override readonly allow = { create: true, fetch: true, commit: true, delete: true, list: true };
  static override readonly queryParameters = {
    limit: 'limit',
    marker: 'marker',
    offset: 'offset',
    cloudType: 'cloud_type',
    id: 'id',
    name: 'name',
    objectType: 'object_type',
    policyId: 'policy_id',
    protectType: 'protect_type',
    // otcextensions sent `resources_ids`; the API reads `resource_ids`.
    resourceIds: 'resource_ids',
    status: 'status',
  };
  static override readonly fields = {
    ...BASE_FIELDS,
    description: { wire: 'description', type: 'string' },
    autoBind: { wire: 'auto_bind', type: 'boolean' },
    autoExpand: { wire: 'auto_expand', type: 'boolean' },
    backupPolicyId: { wire: 'backup_policy_id', type: 'string' },
    billing: { wire: 'billing', type: 'object', codec: nestedCodec(BILLING) },
    bindRules: { wire: 'bind_rules', type: 'object' },
    createdAt: { wire: 'created_at', type: 'string', ...ro },
    locked: { wire: 'locked', type: 'boolean' },
    projectId: { wire: 'project_id', type: 'string', ...ro },
    providerId: { wire: 'provider_id', type: 'string', ...ro },
    resources: { wire: 'resources', type: 'array', codec: nestedCodec(VAULT_RESOURCE) },
    tags: { wire: 'tags', type: 'array' },
    userId: { wire: 'user_id', type: 'string', ...ro },
    smnNotify: { wire: 'smn_notify', type: 'boolean' },
    threshold: { wire: 'threshold', type: 'integer' },
    backupTarget: { wire: 'backup_target', type: 'string' },
    lockDays: { wire: 'lock_days', type: 'integer' },
  } as const satisfies ContractFields<Static<typeof C.Vault>>;
}

/** Policy attributes. */
export interface PolicyAttributes extends BaseAttributes {
  enabled?: boolean;
  /** `backup` | `replication`. */
  operationType?: string;
  operationDefinition?: OperationDefinition;
  trigger?: Trigger;
  associatedVaults?: PolicyVault[];
}
export interface Policy extends PolicyAttributes {}

/**
 * A backup/replication policy (`/policies`).
 *
 * @example
 * ```ts
 * await conn.cbr.createPolicy({ name: 'daily', operationType: 'backup', operationDefinition: { maxBackups: 7 },
 *   trigger: { properties: { pattern: ['FREQ=DAILY;INTERVAL=1;BYHOUR=2;BYMINUTE=0'] } } });
 * ```
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: attribute accessors are installed from `fields`
export class Policy extends Resource<PolicyAttributes> {
  static override readonly displayName: string = 'Policy';
  static override readonly resourceKey: string | undefined = 'policy';
  static override readonly resourcesKey: string | undefined = 'policies';
  static override readonly basePath: string = '/policies';
  static override readonly allow = { create: true, fetch: true, commit: true, delete: true, list: true };
  static override readonly queryParameters = {
    limit: 'limit',
    marker: 'marker',
    offset: 'offset',
    operationType: 'operation_type',
    vaultId: 'vault_id',
  };
  static override readonly fields = {
    ...BASE_FIELDS,
    enabled: { wire: 'enabled', type: 'boolean' },
    operationType: { wire: 'operation_type', type: 'string' },
    operationDefinition: { wire: 'operation_definition', type: 'object', codec: nestedCodec(OPERATION_DEFINITION) },
    trigger: { wire: 'trigger', type: 'object', codec: nestedCodec(TRIGGER) },
    associatedVaults: { wire: 'associated_vaults', type: 'array', codec: nestedCodec(POLICY_VAULT), ...ro },
  } as const satisfies ContractFields<Static<typeof C.Policy>>;
}

/** Checkpoint attributes. */
export interface CheckpointAttributes extends BaseAttributes {
  createdAt?: string;
  extraInfo?: ExtraInfo;
  /** Request only. */
  parameters?: Parameters;
  projectId?: string;
  /** protecting, available, error, deleting, deleted, error-deleting. */
  status?: string;
  vault?: CheckpointVault;
  /** Request only. */
  vaultId?: string;
}
export interface Checkpoint extends CheckpointAttributes {}

/**
 * A restore point (`/checkpoints`): creating one backs up a vault's resources.
 *
 * @example
 * ```ts
 * const cp = await conn.cbr.createCheckpoint({ vaultId: v.id, parameters: { name: 'manual', incremental: false } });
 * await conn.cbr.waitForCheckpoint(cp);
 * ```
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: attribute accessors are installed from `fields`
export class Checkpoint extends Resource<CheckpointAttributes> {
  static override readonly displayName: string = 'Checkpoint';
  static override readonly resourceKey: string | undefined = 'checkpoint';
  static override readonly basePath: string = '/checkpoints';
  static override readonly allow = { create: true, fetch: true, commit: false, delete: false, list: false };
  static override readonly fields = {
    ...BASE_FIELDS,
    createdAt: { wire: 'created_at', type: 'string', ...ro },
    extraInfo: { wire: 'extra_info', type: 'object', codec: nestedCodec(EXTRA_INFO), ...ro },
    parameters: { wire: 'parameters', type: 'object', codec: nestedCodec(PARAMETERS) },
    projectId: { wire: 'project_id', type: 'string', ...ro },
    status: { wire: 'status', type: 'string', ...ro },
    vault: { wire: 'vault', type: 'object', codec: nestedCodec(CHECKPOINT_VAULT), ...ro },
    vaultId: { wire: 'vault_id', type: 'string' },
  } as const satisfies ContractFields<Static<typeof C.Checkpoint>, 'name' | 'parameters' | 'vault_id'>;
}

/** CBR backup attributes. */
export interface CbrBackupAttributes extends BaseAttributes {
  checkpointId?: string;
  children?: Array<Record<string, unknown>>;
  createdAt?: string;
  description?: string;
  expiredAt?: string;
  extendInfo?: ExtendInfo;
  imageType?: string;
  parentId?: string;
  projectId?: string;
  protectedAt?: string;
  providerId?: string;
  replicationRecords?: unknown[];
  resourceAz?: string;
  resourceId?: string;
  resourceName?: string;
  resourceSize?: number;
  resourceType?: string;
  status?: string;
  updatedAt?: string;
  vaultId?: string;
}
export interface CbrBackup extends CbrBackupAttributes {}

/**
 * A CBR backup (`/backups`; created by checkpoints, listed, restored, shared, deleted).
 *
 * @example
 * ```ts
 * for await (const b of conn.cbr.backups({ vaultId: v.id })) console.log(b.name, b.status, b.resourceSize);
 * ```
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: attribute accessors are installed from `fields`
export class CbrBackup extends Resource<CbrBackupAttributes> {
  static override readonly displayName: string = 'Backup';
  static override readonly resourceKey: string | undefined = 'backup';
  static override readonly resourcesKey: string | undefined = 'backups';
  static override readonly basePath: string = '/backups';
  static override readonly allow = { create: false, fetch: true, commit: false, delete: true, list: true };
  static override readonly queryParameters = {
    limit: 'limit',
    marker: 'marker',
    offset: 'offset',
    checkpointId: 'checkpoint_id',
    dec: 'dec',
    endTime: 'end_time',
    imageType: 'image_type',
    memberStatus: 'member_status',
    name: 'name',
    ownType: 'own_type',
    parentId: 'parent_id',
    resourceAz: 'resource_az',
    resourceId: 'resource_id',
    resourceName: 'resource_name',
    resourceType: 'resource_type',
    sort: 'sort',
    startTime: 'start_time',
    status: 'status',
    usedPercent: 'used_percent',
    vaultId: 'vault_id',
  };
  static override readonly fields = {
    ...BASE_FIELDS,
    checkpointId: { wire: 'checkpoint_id', type: 'string', ...ro },
    children: { wire: 'children', type: 'array', ...ro },
    createdAt: { wire: 'created_at', type: 'string', ...ro },
    description: { wire: 'description', type: 'string', ...ro },
    expiredAt: { wire: 'expired_at', type: 'string', ...ro },
    extendInfo: { wire: 'extend_info', type: 'object', codec: nestedCodec(EXTEND_INFO), ...ro },
    imageType: { wire: 'image_type', type: 'string', ...ro },
    parentId: { wire: 'parent_id', type: 'string', ...ro },
    projectId: { wire: 'project_id', type: 'string', ...ro },
    protectedAt: { wire: 'protected_at', type: 'string', ...ro },
    providerId: { wire: 'provider_id', type: 'string', ...ro },
    replicationRecords: { wire: 'replication_records', type: 'array', ...ro },
    resourceAz: { wire: 'resource_az', type: 'string', ...ro },
    resourceId: { wire: 'resource_id', type: 'string', ...ro },
    resourceName: { wire: 'resource_name', type: 'string', ...ro },
    resourceSize: { wire: 'resource_size', type: 'integer', ...ro },
    resourceType: { wire: 'resource_type', type: 'string', ...ro },
    status: { wire: 'status', type: 'string', ...ro },
    updatedAt: { wire: 'updated_at', type: 'string', ...ro },
    vaultId: { wire: 'vault_id', type: 'string', ...ro },
  } as const satisfies ContractFields<Static<typeof C.Backup>>;
}

/** Share member attributes. */
export interface MemberAttributes extends BaseAttributes {
  backupId?: string;
  createdAt?: string;
  destProjectId?: string;
  imageId?: string;
  /** pending, accepted, rejected. */
  status?: string;
  updatedAt?: string;
  vaultId?: string;
}
export interface Member extends MemberAttributes {}

/**
 * A project a backup is shared with (`/backups/{backup_id}/members`; the path id is the project id).
 *
 * @example
 * ```ts
 * await conn.cbr.addMembers(backup, [otherProjectId]);
 * ```
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: attribute accessors are installed from `fields`
export class Member extends Resource<MemberAttributes> {
  static override readonly displayName: string = 'Member';
  static override readonly resourceKey: string | undefined = 'member';
  static override readonly resourcesKey: string | undefined = 'members';
  static override readonly basePath: string = '/backups/{backup_id}/members';
  static override readonly allow = { create: false, fetch: true, commit: false, delete: true, list: true };
  static override readonly queryParameters = {
    limit: 'limit',
    marker: 'marker',
    offset: 'offset',
    destProjectId: 'dest_project_id',
    imageId: 'image_id',
    sort: 'sort',
    status: 'status',
    vaultId: 'vault_id',
  };
  static override readonly fields = {
    ...BASE_FIELDS,
    backupId: { wire: 'backup_id', type: 'string', ...ro },
    createdAt: { wire: 'created_at', type: 'string', ...ro },
    destProjectId: { wire: 'dest_project_id', type: 'string', ...ro },
    imageId: { wire: 'image_id', type: 'string', ...ro },
    status: { wire: 'status', type: 'string' },
    updatedAt: { wire: 'updated_at', type: 'string', ...ro },
    vaultId: { wire: 'vault_id', type: 'string' },
  } as const satisfies ContractFields<Static<typeof C.Member>, 'name'>;
}

/** Restore request attributes. */
export interface RestoreAttributes extends BaseAttributes {
  backupId?: string;
  mappings?: RestoreMapping[];
  powerOn?: boolean;
  resourceId?: string;
  serverId?: string;
  volumeId?: string;
}
export interface Restore extends RestoreAttributes {}

/**
 * A restore request (`POST /backups/{backup_id}/restore`, 202 without a body).
 *
 * @example
 * ```ts
 * await conn.cbr.restoreData(backup, { volumeId: target.id });
 * ```
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: attribute accessors are installed from `fields`
export class Restore extends Resource<RestoreAttributes> {
  static override readonly displayName: string = 'Restore';
  static override readonly resourceKey: string | undefined = 'restore';
  static override readonly basePath: string = '/backups/{backup_id}/restore';
  static override readonly allow = { create: true, fetch: false, commit: false, delete: false, list: false };
  static override readonly fields = {
    ...Resource.fields,
    backupId: { wire: 'backup_id', type: 'string', ...ro },
    mappings: { wire: 'mappings', type: 'array', codec: nestedCodec(RESTORE_MAPPING) },
    powerOn: { wire: 'power_on', type: 'boolean' },
    resourceId: { wire: 'resource_id', type: 'string' },
    serverId: { wire: 'server_id', type: 'string' },
    volumeId: { wire: 'volume_id', type: 'string' },
  } as const;
}

/** Task (operation log) attributes. */
export interface TaskAttributes extends BaseAttributes {
  checkpointId?: string;
  createdAt?: string;
  endedAt?: string;
  errorInfo?: { code?: string; message?: string };
  extraInfo?: TaskExtraInfo;
  /** backup, restore, delete, vault_delete, remove_resource, replication, sync. */
  operationType?: string;
  policyId?: string;
  projectId?: string;
  providerId?: string;
  startedAt?: string;
  /** success, skipped, failed, running, timeout, waiting. */
  status?: string;
  updatedAt?: string;
  vaultId?: string;
  vaultName?: string;
}
export interface Task extends TaskAttributes {}

/**
 * An operation log (`/operation-logs`).
 *
 * @example
 * ```ts
 * const failed = await conn.cbr.tasks({ status: 'failed', vaultId: v.id }).toArray();
 * ```
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: attribute accessors are installed from `fields`
export class Task extends Resource<TaskAttributes> {
  static override readonly displayName: string = 'Task';
  static override readonly resourceKey: string | undefined = 'operation_log';
  static override readonly resourcesKey: string | undefined = 'operation_logs';
  static override readonly basePath: string = '/operation-logs';
  static override readonly allow = { create: false, fetch: true, commit: false, delete: false, list: true };
  // otcextensions only knew operation_log_id/project_id and filtered the rest client-side; these are the API's.
  static override readonly queryParameters = {
    limit: 'limit',
    marker: 'marker',
    offset: 'offset',
    operationType: 'operation_type',
    status: 'status',
    providerId: 'provider_id',
    resourceId: 'resource_id',
    resourceName: 'resource_name',
    vaultId: 'vault_id',
    vaultName: 'vault_name',
    startTime: 'start_time',
    endTime: 'end_time',
  };
  static override readonly fields = {
    ...Resource.fields,
    checkpointId: { wire: 'checkpoint_id', type: 'string', ...ro },
    createdAt: { wire: 'created_at', type: 'string', ...ro },
    endedAt: { wire: 'ended_at', type: 'string', ...ro },
    errorInfo: { wire: 'error_info', type: 'object', ...ro },
    extraInfo: { wire: 'extra_info', type: 'object', codec: nestedCodec(TASK_EXTRA_INFO), ...ro },
    operationType: { wire: 'operation_type', type: 'string', ...ro },
    policyId: { wire: 'policy_id', type: 'string', ...ro },
    projectId: { wire: 'project_id', type: 'string', ...ro },
    providerId: { wire: 'provider_id', type: 'string', ...ro },
    startedAt: { wire: 'started_at', type: 'string', ...ro },
    status: { wire: 'status', type: 'string', ...ro },
    updatedAt: { wire: 'updated_at', type: 'string', ...ro },
    vaultId: { wire: 'vault_id', type: 'string', ...ro },
    vaultName: { wire: 'vault_name', type: 'string', ...ro },
  } as const;
}
