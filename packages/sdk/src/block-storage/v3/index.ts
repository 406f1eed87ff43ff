/**
 * Block Storage v3: proxy and resources.
 * @packageDocumentation
 */

export {
  Attachment,
  type AttachmentAttributes,
  type AttachmentConnector,
  ATTACHMENT_COMPLETE_MICROVERSION,
  ATTACHMENTS_MIN_MICROVERSION,
} from '../resources/attachment.js';
export { Backup, type BackupAttributes, type BackupProgress, type BackupRecord, type RestoreResult } from '../resources/backup.js';
export {
  Group,
  type GroupAttributes,
  GROUP_SNAPSHOTS_MIN_MICROVERSION,
  GROUP_TYPES_MIN_MICROVERSION,
  GROUPS_MIN_MICROVERSION,
  GroupSnapshot,
  type GroupSnapshotAttributes,
  GroupType,
  type GroupTypeAttributes,
} from '../resources/group.js';
export { type Extension } from '../resources/extension.js';
export { Message, type MessageAttributes, MESSAGES_MIN_MICROVERSION } from '../resources/message.js';
export { ManageableSnapshot, type ManageableSnapshotAttributes } from '../resources/manageable-snapshot.js';
export { ManageableVolume, type ManageableVolumeAttributes } from '../resources/manageable-volume.js';
export {
  AvailabilityZone,
  type AvailabilityZoneAttributes,
  VolumeType,
  type VolumeTypeAttributes,
  type VolumeTypeEncryption,
} from '../resources/volume-type.js';
export type { DefaultVolumeType } from '../proxy-base.js';
export { type Pool, type PoolCapabilities } from '../resources/pool.js';
export { type Limits, QuotaSet, type QuotaSetAttributes, type QuotaValue, type ResourceFilter } from '../resources/quota-set.js';
export { type QoSAssociation, type QoSConsumer, QoSSpec, type QoSSpecAttributes } from '../resources/qos-spec.js';
export type {
  BackendCapabilities,
  Host,
  HostResourceUsage,
  LogLevelTarget,
  QuotaClassSet,
  Service,
  ServiceLogLevels,
  ServiceUpdateResult,
} from '../resources/service.js';
export { Snapshot, type SnapshotAttributes, SnapshotDetail } from '../resources/snapshot.js';
export { Transfer, type TransferAttributes } from '../resources/transfer.js';
export { type ConnectionInfo, Volume, type VolumeAttributes, type VolumeSummary } from '../resources/volume.js';
export {
  BlockStorageV3,
  type ByteRange,
  type DataDownload,
  type RepositoryGcResult,
  type RepositoryProblem,
  type RepositoryVerifyResult,
} from './proxy.js';
