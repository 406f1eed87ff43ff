import { CbrBackupService } from './backups.js';
import { CheckpointService } from './checkpoints.js';
import { CbrContext, type CbrDeps, type CbrOptions, cbrOptionsFromEnv } from './context.js';
import { OperationLogs } from './oplogs.js';
import { PolicyService } from './policies.js';
import { CbrScheduler } from './scheduler.js';
import { cbrTaskHandlers } from './tasks.js';
import { VaultService } from './vaults.js';
import { type Region, ReplicationService, replicationTaskHandler } from './replication.js';

export type { CbrBlockStorageCore, CbrDeps, CbrOptions } from './context.js';
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
  replication: ReplicationService;
}

/**
 * CBR on the block-storage core (drivers, clock, logger: the one `createBlockStorageServices` built), the metadata
 * store with CBR's repositories, block storage's volumes as disks, and the shared backup repository. Registers
 * the CBR task handlers; the caller starts and stops the scheduler.
 */
export function createCbrServices(
  deps: CbrDeps & {
    options?: Partial<CbrOptions>;
    /** Replication regions (`serve --region`), each a backup target. */
    regions?: readonly Region[];
    /** Where a replication between repositories of different formats may put a volume-sized temporary. */
    scratchDir?: string;
  },
): CbrServices {
  const context = new CbrContext(deps, { ...cbrOptionsFromEnv(), ...deps.options });
  const operationLogs = new OperationLogs(context);
  for (const h of cbrTaskHandlers(context, operationLogs)) deps.tasks.register(h);
  deps.tasks.register(replicationTaskHandler(context, operationLogs, deps.scratchDir));
  const regions = deps.regions ?? [];
  const replication = new ReplicationService(context, operationLogs, regions);
  const policies = new PolicyService(context, regions.length > 0 ? replication : undefined);
  const checkpoints = new CheckpointService(context, operationLogs);
  const vaults = new VaultService(context, policies, operationLogs, replication);
  // auto_bind: a new volume joins a matching vault in its own create transaction.
  deps.core.volumeCreatedHooks.push(async (tx, volume, metadata) => {
    await vaults.autoBind(tx, volume, metadata);
  });
  return {
    context,
    vaults,
    policies,
    checkpoints,
    backups: new CbrBackupService(context, operationLogs),
    operationLogs,
    scheduler: new CbrScheduler(context, checkpoints, operationLogs, replication),
    replication,
  };
}
