/**
 * Block storage (Cinder) v2 and v3.
 * @packageDocumentation
 */
export { type Metadata, MetadataClient } from './metadata.js';
export {
  type BackupQuery,
  BlockStorageProxyBase,
  type DeleteOptions,
  type ManageableQuery,
  type ManageSnapshotInput,
  type ManageVolumeInput,
  type Ref,
  type SnapshotQuery,
  type VolumeQuery,
} from './proxy-base.js';
export * from './repository.js';
export { BlockStorageV2 } from './v2/proxy.js';
export * from './v3/index.js';
