export {
  S3ObjectStore,
  S3StoreError,
  parseS3Url,
  type S3Credentials,
  type S3FailureReason,
  type S3ObjectStoreOptions,
} from './s3-object-store.js';
