import type { Migration, MigrationProvider } from 'kysely';
import { initial } from './0001-initial.js';
import { defaultVolumeType } from './0002-default-volume-type.js';
import { backups } from './0003-backups.js';
import { cbr } from './0004-cbr.js';
import { backupCbtBase } from './0005-backup-cbt-base.js';
import { backupCbtBaseUsable } from './0006-backup-cbt-base-usable.js';
import { cbrBackupCbtBase } from './0007-cbr-backup-cbt-base.js';
import { transfers } from './0008-transfers.js';
import { messages } from './0009-messages.js';
import { qosSpecs } from './0011-qos-specs.js';
import { backupTargets } from './0016-backup-targets.js';
import { volumeTypes } from './0010-volume-types.js';
import { attachments } from './0014-attachments.js';
import { services } from './0015-services.js';
import { groups } from './0013-groups.js';
import { immutableBackups } from './0019-immutable-backups.js';
import { cbrReplication } from './0020-cbr-replication.js';
import { clusterNodes } from './0021-cluster-nodes.js';
import { repoConsole } from './0022-repo-console.js';
import { backupTargetIdentity } from './0023-backup-target-identity.js';
import { listIndexes } from './0024-list-indexes.js';
import { writeBarriers } from './0025-write-barriers.js';
import { nodeApiUrl } from './0027-node-api-url.js';
import { serviceStoppedAt } from './0028-service-stopped-at.js';
import { mixedSortIndexes } from './0029-mixed-sort-indexes.js';
import { volumesDriverIndex } from './0031-volumes-driver-index.js';
import { snapshotMetadataJson } from './0032-snapshot-metadata-json.js';
import { snapshotDetailHead } from './0033-snapshot-detail-head.js';

/** In-code provider: no directory scanning, so the compiled server and tsx runs see the same list. */
const MIGRATIONS: Record<string, Migration> = {
  '0001-initial': initial,
  '0002-default-volume-type': defaultVolumeType,
  '0003-backups': backups,
  '0004-cbr': cbr,
  '0005-backup-cbt-base': backupCbtBase,
  '0006-backup-cbt-base-usable': backupCbtBaseUsable,
  '0007-cbr-backup-cbt-base': cbrBackupCbtBase,
  '0008-transfers': transfers,
  '0009-messages': messages,
  '0011-qos-specs': qosSpecs,
  '0010-volume-types': volumeTypes,
  '0014-attachments': attachments,
  '0016-backup-targets': backupTargets,
  '0015-services': services,
  '0013-groups': groups,
  '0019-immutable-backups': immutableBackups,
  '0020-cbr-replication': cbrReplication,
  '0021-cluster-nodes': clusterNodes,
  '0022-repo-console': repoConsole,
  '0023-backup-target-identity': backupTargetIdentity,
  '0024-list-indexes': listIndexes,
  '0025-write-barriers': writeBarriers,
  '0027-node-api-url': nodeApiUrl,
  '0028-service-stopped-at': serviceStoppedAt,
  '0029-mixed-sort-indexes': mixedSortIndexes,
  '0031-volumes-driver-index': volumesDriverIndex,
  '0032-snapshot-metadata-json': snapshotMetadataJson,
  '0033-snapshot-detail-head': snapshotDetailHead,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => MIGRATIONS,
};
