import type { BlockStorageStore } from '../../domain/ports/block-storage-store.js';
import { groupsRepository } from './groups.js';
import { hiddenSnapshotLookup } from './hidden-snapshots.js';
import { metadataRepository } from './metadata.js';
import { snapshotsRepository } from './snapshots.js';
import { attachmentsRepository } from './volume-attachments.js';
import { volumeTypeLookup } from './volume-type-names.js';
import { messagesRepository } from './messages.js';
import { qosSpecsRepository } from './qos-specs.js';
import { transfersRepository } from './transfers.js';
import { volumesRepository } from './volumes.js';

/**
 * The block-storage repositories. They hold no state: every call names its scope (the store or a transaction),
 * so one set serves SQLite and PostgreSQL alike.
 */
export function blockStorageStore(): BlockStorageStore {
  return {
    volumes: volumesRepository,
    snapshots: snapshotsRepository,
    attachments: attachmentsRepository,
    metadata: metadataRepository,
    volumeTypes: volumeTypeLookup,
    hiddenSnapshots: hiddenSnapshotLookup,
    transfers: transfersRepository,
    messages: messagesRepository,
    qosSpecs: qosSpecsRepository,
    groups: groupsRepository,
  };
}
