import type { Logger } from 'pino';
import type { ServerConfig } from '../../config/config.js';
import type { BackupStore } from '../../domain/ports/backup-store.js';
import type { BackupsStore } from '../../domain/ports/backups-store.js';
import type { BlockSources } from '../../domain/ports/block-source.js';
import type { BlockStorageStore } from '../../domain/ports/block-storage-store.js';
import type { MetadataStore } from '../../domain/ports/metadata-store.js';
import type { TaskQueue } from '../../domain/ports/task-queue.js';
import type { VolumeDriver } from '../../domain/ports/volume-driver.js';
import type { Clock } from '../../domain/time.js';
import { BackupDataPath } from '../backup-data-path.js';
import type { QuotaService } from '../quotas.js';
import { BackupProgress } from './backup-progress.js';
import { BackupService } from './backup-service.js';
import { backupTaskHandlers } from './backup-tasks.js';
import { Core } from './core.js';
import { GroupService, groupTaskHandlers } from './group-service.js';
import { ManageService } from './manage-service.js';
import { MessageService } from './message-service.js';
import { manageTaskHandlers } from './manage-tasks.js';
import { SnapshotService } from './snapshot-service.js';
import { blockStorageTaskHandlers } from './task-handlers.js';
import { QosSpecsService } from './qos-specs-service.js';
import { TransferService } from './transfer-service.js';
import { VolumeActions } from './volume-actions.js';
import { VolumeData } from './volume-data.js';
import { VolumeService } from './volume-service.js';

export type { SnapshotCreateInput } from './snapshot-service.js';
export { checkMetadataProperties } from './snapshot-service.js';
export type { ListRequest, ListResult, Microversion, SnapshotRecord, SortSpec, VolumeRecord } from './types.js';
export { MAX_LIMIT } from './types.js';
export type { AttachInput, ConnectionInfo } from './volume-actions.js';
export type { ByteSource, UploadRange } from './volume-data.js';
export type { VolumeCreateInput, VolumeUpdateInput } from './volume-service.js';
export type { BackupCreateInput, BackupProgressView, BackupRecord } from './backup-service.js';
export { BackupService, SnapshotService, VolumeActions, VolumeData, VolumeService };

export type { ManageSnapshotInput, ManageVolumeInput } from './manage-service.js';
export type { ManageableEntry, ManageableQuery } from './manageable.js';
export { ManageService };

export type { TransferCreateInput } from './transfer-service.js';
export { TransferService };
export { MessageService };

export type { QosAssociation } from './qos-specs-service.js';
export { QosSpecsService };

export type { GroupRecord } from './group-service.js';
export { GroupService };

export interface BlockStorageServices {
  manage: ManageService;
  volumes: VolumeService;
  volumeActions: VolumeActions;
  volumeData: VolumeData;
  snapshots: SnapshotService;
  backups: BackupService;
  transfers: TransferService;
  /** User messages; its reaper runs between start() and stop() (the composition root's). */
  messages: MessageService;
  qosSpecs: QosSpecsService;
  /** Generic volume groups, group types and group snapshots. */
  groups: GroupService;
  drivers: Map<string, VolumeDriver>;
  /** The one core; CBR is built on it too. */
  core: Core;
  /** The one backup data path and base bookkeeping; CBR backups use it too. */
  backupData: BackupDataPath;
}

export function createBlockStorageServices(deps: {
  store: MetadataStore;
  repos: BlockStorageStore;
  clock: Clock;
  config: ServerConfig;
  logger: Logger;
  drivers: Map<string, VolumeDriver>;
  tasks: TaskQueue;
  quotas: QuotaService;
  backupRepo: BackupStore;
  backupsStore: BackupsStore;
  /** How backups read volumes and snapshots (drivers/volume/block-source.ts). */
  blockSources: BlockSources;
}): BlockStorageServices {
  const core = new Core(deps);
  const backupData = new BackupDataPath({
    store: deps.store,
    bases: deps.backupsStore.bases,
    repo: deps.backupRepo,
    sources: deps.blockSources,
    logger: deps.logger,
  });
  // Cinder's and CBR's bases alike: a volume that leaves takes every hidden snapshot of it along.
  const dropBases = (driver: VolumeDriver, volumeId: string) => backupData.bases.dropVolumeBases(driver, volumeId);
  for (const h of blockStorageTaskHandlers(core, dropBases)) deps.tasks.register(h);
  for (const h of manageTaskHandlers(core, dropBases)) deps.tasks.register(h);
  for (const h of groupTaskHandlers(core)) deps.tasks.register(h);
  const volumes = new VolumeService(core);
  const backupProgress = new BackupProgress();
  const backupDeps = { core, store: deps.store, backups: deps.backupsStore, data: backupData, repo: deps.backupRepo };
  for (const h of backupTaskHandlers({ ...backupDeps, progress: backupProgress })) deps.tasks.register(h);
  return {
    manage: new ManageService(core, volumes),
    volumes,
    volumeActions: new VolumeActions(core, volumes),
    volumeData: new VolumeData(core),
    snapshots: new SnapshotService(core),
    backups: new BackupService(core, volumes, deps.store, deps.backupsStore, deps.backupRepo, backupProgress),
    transfers: new TransferService(core),
    messages: new MessageService(core),
    qosSpecs: new QosSpecsService(core),
    groups: new GroupService(core, volumes),
    drivers: deps.drivers,
    core,
    backupData,
  };
}
