import type { Logger } from 'pino';
import type { ServerConfig } from '../../config/config.js';
import type { BlockStorageStore } from '../../domain/ports/block-storage-store.js';
import type { MetadataStore } from '../../domain/ports/metadata-store.js';
import type { VolumeDriver } from '../../domain/ports/volume-driver.js';
import type { Clock } from '../../domain/time.js';
import type { QuotaService } from '../quotas.js';
import { dropVolumeBases } from './backup-bases.js';
import { BackupProgress } from './backup-progress.js';
import { BackupService } from './backup-service.js';
import { backupTaskHandlers } from './backup-tasks.js';
import { Core, type TaskQueueWithHandlers } from './core.js';
import { LegacyCore } from './legacy-core.js';
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
  store: MetadataStore;
  repos: BlockStorageStore;
  clock: Clock;
  config: ServerConfig;
  logger: Logger;
  drivers: Map<string, VolumeDriver>;
  tasks: TaskQueueWithHandlers;
  quotas: QuotaService;
  /** The backup repository (its port, domain/ports/backup-store.ts, is on its way; typed by what the service takes). */
  backupRepo: ConstructorParameters<typeof BackupService>[2];
}): BlockStorageServices {
  const core = new Core(deps);
  // The backup services still speak the kysely-shaped core until their repository form is merged.
  const legacy = new LegacyCore(core);
  const dropBases = (driver: VolumeDriver, volumeId: string) => dropVolumeBases(legacy, driver, volumeId);
  for (const h of blockStorageTaskHandlers(core, dropBases)) deps.tasks.register(h);
  for (const h of manageTaskHandlers(core, dropBases)) deps.tasks.register(h);
  const volumes = new VolumeService(core);
  const backupProgress = new BackupProgress();
  for (const h of backupTaskHandlers(legacy, deps.backupRepo, backupProgress)) deps.tasks.register(h);
  return {
    manage: new ManageService(core, volumes),
    volumes,
    volumeActions: new VolumeActions(core, volumes),
    volumeData: new VolumeData(core),
    snapshots: new SnapshotService(core),
    backups: new BackupService(legacy, volumes, deps.backupRepo, backupProgress),
    drivers: deps.drivers,
  };
}
