/**
 * Where the backup repository is opened now lives in wiring.ts, with the other adapters; these names stay for
 * the CLI and the tests that import them from here.
 */
export {
  backupRepoDir,
  chunkWorkerAddon,
  type OfflineRepository,
  openBackupRepository,
  openOfflineRepository,
} from './wiring.js';
