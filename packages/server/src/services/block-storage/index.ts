import type { Logger } from 'pino';
import type { BackupRepository } from '../../backup-repo/index.js';
import type { ServerConfig } from '../../config/config.js';
import type { VolumeDriver } from '../../domain/ports/volume-driver.js';
import type { Clock } from '../../domain/time.js';
import type { Db } from '../../store/database.js';
import type { TaskQueue } from '../../domain/ports/task-queue.js';
import type { QuotaService } from '../quotas.js';
import { BackupProgress } from './backup-progress.js';
import { BackupService } from './backup-service.js';
import { backupTaskHandlers } from './backup-tasks.js';
import { Core } from './core.js';
import { ManageService } from './manage-service.js';
import { manageTaskHandlers } from './manage-tasks.js';
import { SnapshotService } from './snapshot-service.js';
import { blockStorageTaskHandlers } from './task-handlers.js';
import { VolumeActions } from './volume-actions.js';
import { VolumeData } from './volume-data.js';
import { VolumeService } from './volume-service.js';

export type { SnapshotCreateInput } from './snapshot-service.js';
export { checkMetadataProperties } from './snapshot-service.js';
export type { ListRequest, ListResult, Microversion, SnapshotRecord, SortSpec, VolumeRecord } from './types.js';
export { MAX_LIMIT } from './types.js';
export type { AttachInput, ConnectionInfo } from './volume-actions.js';
export type { ByteSource } from './volume-data.js';
export type { VolumeCreateInput, VolumeUpdateInput } from './volume-service.js';
export type { BackupCreateInput, BackupProgressView, BackupRecord } from './backup-service.js';
export { BackupService, SnapshotService, VolumeActions, VolumeData, VolumeService };

export type { ManageSnapshotInput, ManageVolumeInput } from './manage-service.js';
export type { ManageableEntry, ManageableQuery } from './manageable.js';
export { ManageService };

export interface BlockStorageServices {
  manage: ManageService;
  volumes: VolumeService;
  volumeActions: VolumeActions;
  volumeData: VolumeData;
  snapshots: SnapshotService;
  backups: BackupService;
  drivers: Map<string, VolumeDriver>;
}

export function createBlockStorageServices(deps: {
  db: Db;
  clock: Clock;
  config: ServerConfig;
  logger: Logger;
  drivers: Map<string, VolumeDriver>;
  tasks: TaskQueue;
  quotas: QuotaService;
  backupRepo: BackupRepository;
}): BlockStorageServices {
  const core = new Core(deps);
  for (const h of blockStorageTaskHandlers(core)) deps.tasks.register(h);
  for (const h of manageTaskHandlers(core)) deps.tasks.register(h);
  const volumes = new VolumeService(core);
  const backupProgress = new BackupProgress();
  for (const h of backupTaskHandlers(core, deps.backupRepo, backupProgress)) deps.tasks.register(h);
  return {
    manage: new ManageService(core, volumes),
    volumes,
    volumeActions: new VolumeActions(core, volumes),
    volumeData: new VolumeData(core),
    snapshots: new SnapshotService(core),
    backups: new BackupService(core, volumes, deps.backupRepo, backupProgress),
    drivers: deps.drivers,
  };
}
