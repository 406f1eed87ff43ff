export { isRepoError, RepoError, type RepoErrorCode } from './errors.js';
export { type BackupStats, Manifest, type ManifestHeader, makeLocator, parseLocator } from './manifest.js';
export type { BackupProfile } from './backup-writer.js';
export { type Compression, COMPRESSIONS, DEFAULT_CHUNK_SIZE, type OpenOptions } from './repo-open.js';
export type { RestoreProfile } from './restore-reader.js';
export {
  type BackupOptions,
  BackupRepository,
  type BackupResult,
  type GcOptions,
  type GcResult,
  type Progress,
  type RestoreOptions,
  verifyReport,
  type RestoreResult,
  type VerifyOptions,
  type VerifyProblem,
  type VerifyResult,
} from './repository.js';
