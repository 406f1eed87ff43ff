/**
 * CBR v3 (Cloud Backup and Recovery): vaults, policies, checkpoints, backups, restores, share members, tasks.
 * @packageDocumentation
 */
export {
  type BackupReplication,
  type CbrDeleteOptions,
  CbrV3,
  type CheckpointReplication,
  type PolicyBinding,
  type ReplicationDestination,
  type ReplicationRegion,
  type VaultTag,
} from './proxy.js';
export {
  CbrBackup,
  type CbrBackupAttributes,
  Checkpoint,
  type CheckpointAttributes,
  Member,
  type MemberAttributes,
  Policy,
  type PolicyAttributes,
  Restore,
  type RestoreAttributes,
  Task,
  type TaskAttributes,
  Vault,
  type VaultAttributes,
} from './resources.js';
export type {
  Billing,
  CheckpointResource,
  CheckpointVault,
  ExtendInfo,
  ExtraInfo,
  IncludeVolumes,
  OperationDefinition,
  Parameters,
  PolicyVault,
  ResourceDetails,
  ResourceExtraInfo,
  RestoreMapping,
  SkippedResource,
  TaskExtraInfo,
  Trigger,
  VaultResource,
} from './schemas.js';
