// The errors are part of the BackupStore port, so services can tell them apart without naming the adapter.
export { isRepoError, RepoError, type RepoErrorCode } from '../domain/ports/backup-store.js';
