import type { Logger } from 'pino';
import type { ServerConfig } from '../../config/config.js';
import type { BackupTargets } from '../../domain/ports/backup-targets.js';
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
import { Core, type ServiceAvailability } from './core.js';
import { GroupService, groupTaskHandlers } from './group-service.js';
import { ManageService } from './manage-service.js';
import { MessageService } from './message-service.js';
import { manageTaskHandlers } from './manage-tasks.js';
import { SnapshotService } from './snapshot-service.js';
import { blockStorageTaskHandlers } from './task-handlers.js';
import { QosSpecsService } from './qos-specs-service.js';
import type { PeerNodes } from '../peer-nodes.js';
import { RetypeService, retypeTaskHandlers } from './retype-service.js';
import { TransferService } from './transfer-service.js';
import { AttachmentService } from './attachment-service.js';
import { VolumeActions } from './volume-actions.js';
import { VolumeData } from './volume-data.js';
import { VolumeService } from './volume-service.js';

export type { SnapshotCreateInput } from './snapshot-service.js';
export { checkMetadataProperties } from './snapshot-service.js';
export type { ListRequest, ListResult, Microversion, SnapshotRecord, SortSpec, VolumeRecord } from './types.js';
export type { JsonField } from '../../domain/ports/block-storage-store.js';
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
export { AttachmentService };
export type { AttachmentCreateInput, AttachmentRecord } from './attachment-service.js';
export { MessageService };

export type { QosAssociation } from './qos-specs-service.js';
export { QosSpecsService };

export type { MigrationPolicy } from './retype-service.js';
export { RetypeService };
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
  attachments: AttachmentService;
  /** User messages; its reaper runs between start() and stop() (the composition root's). */
  messages: MessageService;
  qosSpecs: QosSpecsService;
  /** os-retype and os-migrate_volume. */
  retype: RetypeService;
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
  /** Where backups go: the default target and those a backup's container or a vault names. */
  backupTargets: BackupTargets;
  backupsStore: BackupsStore;
  /** How backups read volumes and snapshots (drivers/volume/block-source.ts). */
  blockSources: BlockSources;
  availability?: ServiceAvailability;
  peers?: PeerNodes;
}): BlockStorageServices {
  const core = new Core(deps);
  const backupData = new BackupDataPath({
    store: deps.store,
    bases: deps.backupsStore.bases,
    repo: deps.backupTargets.repo(deps.backupTargets.defaultName),
    sources: deps.blockSources,
    logger: deps.logger,
  });
  // Cinder's and CBR's bases alike: a volume that leaves takes every hidden snapshot of it along.
  const dropBases = (driver: VolumeDriver, volumeId: string) => backupData.bases.dropVolumeBases(driver, volumeId);
  for (const h of blockStorageTaskHandlers(core, dropBases)) deps.tasks.register(h);
  for (const h of manageTaskHandlers(core, dropBases)) deps.tasks.register(h);
  const [moveTask, dropMovedSourceTask] = retypeTaskHandlers(core, dropBases);
  deps.tasks.register(moveTask);
  deps.tasks.register(dropMovedSourceTask);
  for (const h of groupTaskHandlers(core)) deps.tasks.register(h);
  const volumes = new VolumeService(core);
  const backupProgress = new BackupProgress();
  const backupDeps = { core, store: deps.store, backups: deps.backupsStore, data: backupData, targets: deps.backupTargets };
  for (const h of backupTaskHandlers({ ...backupDeps, progress: backupProgress })) deps.tasks.register(h);
  return {
    manage: new ManageService(core, volumes),
    volumes,
    volumeActions: new VolumeActions(core, volumes),
    volumeData: new VolumeData(core),
    snapshots: new SnapshotService(core),
    backups: new BackupService(core, volumes, deps.store, deps.backupsStore, deps.backupTargets, backupProgress),
    transfers: new TransferService(core),
    attachments: new AttachmentService(core),
    messages: new MessageService(core),
    qosSpecs: new QosSpecsService(core),
    retype: new RetypeService(core),
    groups: new GroupService(core, volumes),
    drivers: deps.drivers,
    core,
    backupData,
  };
}
