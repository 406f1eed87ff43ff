export * from './backups.js';
export * from './checkpoints.js';
export * from './common.js';
export * from './operation-logs.js';
export * from './operations.js';
export * from './policies.js';
export * from './replication.js';
export * from './vaults.js';
