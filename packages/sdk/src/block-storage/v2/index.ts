/**
 * Block Storage v2: proxy and resources (shared with v3; v3-only fields stay undefined).
 * @packageDocumentation
 */

export { Backup, type BackupRecord, type RestoreResult } from '../resources/backup.js';
export { ManageableSnapshot } from '../resources/manageable-snapshot.js';
export { QuotaSet } from '../resources/quota-set.js';
export { Snapshot, SnapshotDetail } from '../resources/snapshot.js';
export { Volume } from '../resources/volume.js';
export { BlockStorageV2 } from './proxy.js';
