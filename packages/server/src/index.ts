export { loadConfig, redactedDatabaseUrl, type ServerConfig, type ConfigInput } from './config/config.js';
export { startServer, type RunningServer, type StartOptions } from './main.js';
export { openOfflineRepository, type OfflineRepository } from './backup-repo-open.js';
export type { GcResult, Progress as RepoProgress, VerifyResult } from './backup-repo/index.js';
export { verifyReport } from './backup-repo/index.js';
export { copyDataDirDatabase, CopyError, type CopyProgress, type CopySummary } from './store/copy.js';
