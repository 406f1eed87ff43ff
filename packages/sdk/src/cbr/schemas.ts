/**
 * Nested CBR v3 objects (otcextensions' nested resource classes) with the API's JSON names. Where otcextensions
 * declared a wrong name (`Vault.resources` → `resource`, `BillingSpec.protect_type` → `operation_type`,
 * `Task.extra_info.resource` → `resource_info`), the API name is sent and both are read.
 * @packageDocumentation
 */
import type { cbrContract as C } from '@cinderbox/api-schema';
import type { Static } from 'typebox';
import type { ContractNested, NestedSchema } from '../resource/nested.js';

/** `include_volumes[]` of a server resource (Huawei/Swiss clouds). */
export interface IncludeVolumes {
  id: string;
  osVersion?: string;
}
export const INCLUDE_VOLUMES: NestedSchema = { id: 'id', osVersion: 'os_version' };

/** `extra_info` of a resource: disks to leave out or (Swiss) to include. */
export interface ResourceExtraInfo {
  excludeVolumes?: string[];
  includeVolumes?: IncludeVolumes[];
}
export const RESOURCE_EXTRA_INFO: NestedSchema = {
  excludeVolumes: 'exclude_volumes',
  includeVolumes: { wire: 'include_volumes', of: INCLUDE_VOLUMES },
};

/** One entry of `parameters.resource_details` (an array on the wire; otcextensions declared one object). */
export interface ResourceDetails {
  id: string;
  /** Wire `type`: `OS::Nova::Server`, `OS::Cinder::Volume`, `OS::Sfs::Turbo`. */
  resourceType: string;
  name?: string;
  extraInfo?: ResourceExtraInfo;
}
export const RESOURCE_DETAILS: NestedSchema = {
  id: 'id',
  resourceType: 'type',
  name: 'name',
  extraInfo: { wire: 'extra_info', of: RESOURCE_EXTRA_INFO },
} satisfies ContractNested<C.CheckpointParameters['resource_details']>;

/** Checkpoint creation `parameters`. */
export interface Parameters {
  autoTrigger?: boolean;
  description?: string;
  /** Default true. */
  incremental?: boolean;
  /** Backup name. */
  name?: string;
  /** Ids of resources already in the vault (omitted = the whole vault). */
  resources?: string[];
  resourceDetails?: ResourceDetails[];
}
export const PARAMETERS: NestedSchema = {
  autoTrigger: 'auto_trigger',
  description: 'description',
  incremental: 'incremental',
  name: 'name',
  resources: 'resources',
  resourceDetails: { wire: 'resource_details', of: RESOURCE_DETAILS },
} satisfies ContractNested<C.CheckpointParameters>;

/** A resource of a checkpoint's vault. */
export interface CheckpointResource {
  id: string;
  name?: string;
  type?: string;
  protectStatus?: string;
  resourceSize?: number | string;
  backupSize?: number | string;
  backupCount?: number | string;
  extraInfo?: unknown;
}
export const CHECKPOINT_RESOURCE: NestedSchema = {
  id: 'id',
  name: 'name',
  type: 'type',
  protectStatus: 'protect_status',
  resourceSize: 'resource_size',
  backupSize: 'backup_size',
  backupCount: 'backup_count',
  extraInfo: 'extra_info',
} satisfies ContractNested<C.Checkpoint['vault']['resources']>;

/** A resource a checkpoint skipped (already being backed up, …). */
export interface SkippedResource {
  id: string;
  type?: string;
  name?: string;
  /** BackupService error code. */
  code?: string;
  reason?: string;
}
export const SKIPPED_RESOURCE: NestedSchema = { id: 'id', type: 'type', name: 'name', code: 'code', reason: 'reason' } satisfies ContractNested<C.Checkpoint['vault']['skipped_resources']>;

/** `checkpoint.vault`. */
export interface CheckpointVault {
  id: string;
  name?: string;
  /** Wire `resources` (otcextensions read `resource`). */
  resources?: CheckpointResource[];
  skippedResources?: SkippedResource[];
}
export const CHECKPOINT_VAULT: NestedSchema = {
  id: 'id',
  name: 'name',
  resources: { wire: 'resources', aliases: ['resource'], of: CHECKPOINT_RESOURCE },
  skippedResources: { wire: 'skipped_resources', of: SKIPPED_RESOURCE },
} satisfies ContractNested<C.Checkpoint['vault']>;

/** `checkpoint.extra_info`. */
export interface ExtraInfo {
  name?: string;
  description?: string;
  /** Days; -1 = forever. */
  retentionDuration?: number;
}
export const EXTRA_INFO: NestedSchema = { name: 'name', description: 'description', retentionDuration: 'retention_duration' } satisfies ContractNested<C.Checkpoint['extra_info']>;

/** Vault billing. */
export interface Billing {
  allocated?: number;
  chargingMode?: string;
  cloudType?: string;
  consistentLevel?: string;
  consoleUrl?: string;
  extraInfo?: { combinedOrderEcsNum?: number; combinedOrderId?: string };
  frozenScene?: string;
  isAutoPay?: boolean;
  isAutoRenew?: boolean;
  /** `server` | `disk` | `turbo`. */
  objectType?: string;
  orderId?: string;
  periodNum?: number;
  periodType?: string;
  productId?: string;
  /** `backup` | `replication` (wire `protect_type`; otcextensions declared `operation_type`). */
  protectType?: string;
  /** GB. */
  size?: number;
  specCode?: string;
  status?: string;
  storageUnit?: string;
  /** MB. */
  used?: number;
}
export const BILLING: NestedSchema = {
  allocated: 'allocated',
  chargingMode: 'charging_mode',
  cloudType: 'cloud_type',
  consistentLevel: 'consistent_level',
  consoleUrl: 'console_url',
  extraInfo: { wire: 'extra_info', of: { combinedOrderEcsNum: 'combined_order_ecs_num', combinedOrderId: 'combined_order_id' } },
  frozenScene: 'frozen_scene',
  isAutoPay: 'is_auto_pay',
  isAutoRenew: 'is_auto_renew',
  objectType: 'object_type',
  orderId: 'order_id',
  periodNum: 'period_num',
  periodType: 'period_type',
  productId: 'product_id',
  protectType: { wire: 'protect_type', aliases: ['operation_type'] },
  size: 'size',
  specCode: 'spec_code',
  status: 'status',
  storageUnit: 'storage_unit',
  used: 'used',
  // extra_info, period_num and period_type are OTC's prepaid-order keys: cinderbox neither takes nor shows them.
} satisfies ContractNested<C.Vault['billing'] & Static<typeof C.BillingCreate>, 'extra_info' | 'period_num' | 'period_type'>;

/** A resource of a vault. */
export interface VaultResource {
  id: string;
  /** `OS::Nova::Server` | `OS::Cinder::Volume` | `OS::Sfs::Turbo`. */
  type: string;
  name?: string;
  protectStatus?: string;
  size?: number;
  backupSize?: number;
  backupCount?: number;
  extraInfo?: ResourceExtraInfo;
}
export const VAULT_RESOURCE: NestedSchema = {
  id: 'id',
  type: 'type',
  name: 'name',
  protectStatus: 'protect_status',
  size: 'size',
  backupSize: 'backup_size',
  backupCount: 'backup_count',
  extraInfo: { wire: 'extra_info', of: RESOURCE_EXTRA_INFO },
} satisfies ContractNested<C.Vault['resources']>;

/** Policy retention rules. */
export interface OperationDefinition {
  maxBackups?: number;
  retentionDurationDays?: number;
  dayBackups?: number;
  weekBackups?: number;
  monthBackups?: number;
  yearBackups?: number;
  /** `UTC+01:00`; required with day/week/month/year backups. */
  timezone?: string;
  destinationRegion?: string;
  destinationProjectId?: string;
}
export const OPERATION_DEFINITION: NestedSchema = {
  maxBackups: 'max_backups',
  retentionDurationDays: 'retention_duration_days',
  dayBackups: 'day_backups',
  weekBackups: 'week_backups',
  monthBackups: 'month_backups',
  yearBackups: 'year_backups',
  timezone: 'timezone',
  destinationRegion: 'destination_region',
  destinationProjectId: 'destination_project_id',
} satisfies ContractNested<C.Policy['operation_definition']>;

/** Policy trigger: RRULE patterns. */
export interface Trigger {
  id?: string;
  name?: string;
  type?: string;
  properties: { pattern: string[]; startTime?: string };
}
export const TRIGGER: NestedSchema = {
  id: 'id',
  name: 'name',
  type: 'type',
  properties: { wire: 'properties', of: { pattern: 'pattern', startTime: 'start_time' } },
} satisfies ContractNested<C.Policy['trigger']>;

/** A vault a policy is applied to. */
export interface PolicyVault {
  vaultId: string;
  destinationVaultId?: string;
}
export const POLICY_VAULT: NestedSchema = { vaultId: 'vault_id', destinationVaultId: 'destination_vault_id' } satisfies ContractNested<C.Policy['associated_vaults']>;

/** Backup `extend_info`. */
export interface ExtendInfo {
  appConsistency?: {
    appConsistency?: string;
    errorCode?: string;
    errorMessage?: string;
    errorStatus?: string;
  };
  architecture?: string;
  autoTrigger?: boolean;
  bootable?: boolean;
  containSystemDisk?: boolean;
  encrypted?: boolean;
  incremental?: boolean;
  osImagesData?: Array<{ imageId?: string }>;
  progress?: number;
  snapshotId?: string;
  supportLld?: boolean;
  supportedRestoreMode?: string;
  systemDisk?: boolean;
  /** cinderbox extension: end of the backup's retention (immutable backups); absent or null when not locked. */
  lockedUntil?: string | null;
}
export const EXTEND_INFO: NestedSchema = {
  appConsistency: {
    wire: 'app_consistency',
    of: {
      appConsistency: 'app_consistency',
      errorCode: 'app_consistency_error_code',
      errorMessage: 'app_consistency_error_message',
      errorStatus: { wire: 'app_consistency_error_status', aliases: ['app_consistency_status'] },
    },
  },
  architecture: 'architecture',
  autoTrigger: 'auto_trigger',
  bootable: 'bootable',
  containSystemDisk: 'contain_system_disk',
  encrypted: 'encrypted',
  incremental: 'incremental',
  osImagesData: { wire: 'os_images_data', of: { imageId: 'image_id' } },
  progress: 'progress',
  snapshotId: 'snapshot_id',
  supportLld: 'support_lld',
  supportedRestoreMode: 'supported_restore_mode',
  systemDisk: 'system_disk',
  lockedUntil: 'locked_until',
  // app_consistency is what OTC's CBR shows for application-consistent server backups; cinderbox backs up volumes only.
} satisfies ContractNested<Static<typeof C.ExtendInfo>, 'app_consistency'>;

/** Restore mapping of a disk backup to a target volume. */
export interface RestoreMapping {
  backupId: string;
  volumeId: string;
}
export const RESTORE_MAPPING: NestedSchema = { backupId: 'backup_id', volumeId: 'volume_id' } satisfies ContractNested<C.BackupRestore['mappings']>;

/** Task (operation log) `extra_info`. */
export interface TaskExtraInfo {
  backup?: Record<string, unknown>;
  common?: { progress?: number; requestId?: string; taskId?: string };
  delete?: { backupId?: string; backupName?: string };
  sync?: Record<string, unknown>;
  removeResources?: Record<string, unknown>;
  /** Wire `resource` (otcextensions: `resource_info`). */
  resource?: { id?: string; name?: string; type?: string; extraInfo?: unknown };
  restore?: { backupId?: string; backupName?: string; targetResourceId?: string; targetResourceName?: string };
  vaultDelete?: { failCount?: number; totalCount?: number };
}
export const TASK_EXTRA_INFO: NestedSchema = {
  backup: {
    wire: 'backup',
    of: {
      appConsistencyErrorCode: 'app_consistency_error_code',
      appConsistencyErrorMessage: 'app_consistency_error_message',
      appConsistencyStatus: 'app_consistency_status',
      backupId: 'backup_id',
      backupName: 'backup_name',
      incremental: 'incremental',
    },
  },
  common: { wire: 'common', of: { progress: 'progress', requestId: 'request_id', taskId: 'task_id' } },
  delete: { wire: 'delete', of: { backupId: 'backup_id', backupName: 'backup_name' } },
  sync: {
    wire: 'sync',
    of: { syncBackupNum: 'sync_backup_num', deleteBackupNum: 'delete_backup_num', errSyncBackupNum: 'err_sync_backup_num' },
  },
  removeResources: {
    wire: 'remove_resources',
    of: { failCount: 'fail_count', totalCount: 'total_count', resources: { wire: 'resources', of: { extraInfo: 'extra_info' } } },
  },
  resource: { wire: 'resource', aliases: ['resource_info'], of: { extraInfo: 'extra_info' } },
  restore: {
    wire: 'restore',
    of: {
      backupId: 'backup_id',
      backupName: 'backup_name',
      targetResourceId: 'target_resource_id',
      targetResourceName: 'target_resource_name',
    },
  },
  vaultDelete: { wire: 'vault_delete', of: { failCount: 'fail_count', totalCount: 'total_count' } },
} satisfies ContractNested<C.OperationLog['extra_info']>;
