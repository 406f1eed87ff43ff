export { isRepoError, RepoError, type RepoErrorCode } from './errors.js';
export { type BackupStats, Manifest, type ManifestHeader, makeLocator, parseLocator } from './manifest.js';
export {
  type BackupOptions,
  type BackupProfile,
  type RestoreProfile,
  BackupRepository,
  type BackupResult,
  type Compression,
  COMPRESSIONS,
  DEFAULT_CHUNK_SIZE,
  type GcOptions,
  type GcResult,
  type OpenOptions,
  type Progress,
  type RestoreOptions,
  verifyReport,
  type RestoreResult,
  type VerifyOptions,
  type VerifyProblem,
  type VerifyResult,
} from './repository.js';
