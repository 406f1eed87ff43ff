import type { BackupStore } from '../../domain/ports/backup-store.js';
import type { CoreDeps } from '../block-storage/core.js';
import { legacyCore } from '../block-storage/legacy-core.js';
import { CbrBackupService } from './backups.js';
import { CheckpointService } from './checkpoints.js';
import { CbrContext, type CbrOptions, cbrOptionsFromEnv } from './context.js';
import { OperationLogs } from './oplogs.js';
import { PolicyService } from './policies.js';
import { CbrScheduler } from './scheduler.js';
import { cbrTaskHandlers } from './tasks.js';
import { VaultService } from './vaults.js';

export type { CbrOptions } from './context.js';
export { cbrOptionsFromEnv };
export type { BackupView, MemberRecord } from './backups.js';
export type { OperationLogRecord } from './oplogs.js';
export type { CheckpointRecord, SkippedResource } from './checkpoints.js';
export type { PolicyRecord } from './policies.js';
export type { ResourceInfo, VaultRecord } from './vaults.js';
export type { Page, PageRequest } from './paging.js';
export { parsePage } from './paging.js';

export interface CbrServices {
  context: CbrContext;
  vaults: VaultService;
  policies: PolicyService;
  checkpoints: CheckpointService;
  backups: CbrBackupService;
  operationLogs: OperationLogs;
  scheduler: CbrScheduler;
}

/**
 * CBR on top of the block-storage plumbing (volume lookups, transactions + task dispatch, drivers) and the shared
 * backup repository. Registers the CBR task handlers; the caller starts and stops the scheduler.
 */
export function createCbrServices(deps: CoreDeps & { backupRepo: BackupStore; options?: Partial<CbrOptions> }): CbrServices {
  const core = legacyCore(deps);
  const context = new CbrContext(core, deps.backupRepo, { ...cbrOptionsFromEnv(), ...deps.options });
  const operationLogs = new OperationLogs(context);
  for (const h of cbrTaskHandlers(context, operationLogs)) deps.tasks.register(h);
  const policies = new PolicyService(context);
  const checkpoints = new CheckpointService(context, operationLogs);
  return {
    context,
    vaults: new VaultService(context, policies, operationLogs),
    policies,
    checkpoints,
    backups: new CbrBackupService(context, operationLogs),
    operationLogs,
    scheduler: new CbrScheduler(context, checkpoints, operationLogs),
  };
}
