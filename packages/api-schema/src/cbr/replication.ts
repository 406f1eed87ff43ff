import { type Static, Type } from 'typebox';
import { Nullable, Text } from './common.js';

export const CheckpointReplicate = Type.Object({
  vault_id: Text(1, 255),
  destination_vault_id: Text(1, 255),
  destination_region: Text(1, 255),
  destination_project_id: Text(1, 255),
  auto_trigger: Type.Optional(Type.Boolean()),
});
export type CheckpointReplicate = Static<typeof CheckpointReplicate>;
export const CheckpointReplicateBody = Type.Object({ replicate: CheckpointReplicate });

export const BackupReplicate = Type.Object({
  destination_vault_id: Text(1, 255),
  destination_region: Text(1, 255),
  destination_project_id: Text(1, 255),
  name: Type.Optional(Nullable(Text(1, 64))),
  description: Type.Optional(Nullable(Text(0, 255))),
});
export type BackupReplicate = Static<typeof BackupReplicate>;
export const BackupReplicateBody = Type.Object({ replicate: BackupReplicate });

// --- responses ---

export const CheckpointReplication = Type.Object({
  backups: Type.Array(Type.Object({ backup_id: Type.String(), replication_record_id: Type.String() })),
  destination_project_id: Type.String(),
  destination_region: Type.String(),
  destination_vault_id: Type.String(),
  project_id: Type.String(),
  provider_id: Type.String(),
  source_region: Type.String(),
  vault_id: Type.String(),
});
export const CheckpointReplicationBody = Type.Object({ replication: CheckpointReplication });

export const BackupReplication = Type.Object({
  backup_id: Type.String(),
  destination_project_id: Type.String(),
  destination_region: Type.String(),
  destination_vault_id: Type.String(),
  project_id: Type.String(),
  provider_id: Type.String(),
  replication_record_id: Type.String(),
  source_region: Type.String(),
});
export const BackupReplicationBody = Type.Object({ replication: BackupReplication });

export const ReplicationCapabilities = Type.Object({
  regions: Type.Array(Type.Object({ name: Type.String(), replication_destinations: Type.Array(Type.String()) })),
});

/** A replication record as backups show it (`replication_records`). */
export const ReplicationRecord = Type.Object({
  id: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String(),
  updated_at: Type.String(),
  status: Type.String(),
  project_id: Type.Union([Type.String(), Type.Null()]),
  vault_id: Type.Union([Type.String(), Type.Null()]),
  source_backup_id: Type.Union([Type.String(), Type.Null()]),
  source_checkpoint_id: Type.Union([Type.String(), Type.Null()]),
  source_project_id: Type.Union([Type.String(), Type.Null()]),
  source_region: Type.Union([Type.String(), Type.Null()]),
  destination_backup_id: Type.String(),
  destination_checkpoint_id: Type.String(),
  destination_project_id: Type.String(),
  destination_region: Type.Union([Type.String(), Type.Null()]),
  destination_vault_id: Type.String(),
  extra_info: Type.Object({
    progress: Type.Number(),
    fail_code: Type.String(),
    fail_reason: Type.String(),
    new_chunks: Type.Integer({ description: 'cinderbox: chunks the copy added to the destination repository' }),
    stored_bytes: Type.Integer(),
  }),
});
export type ReplicationRecord = Static<typeof ReplicationRecord>;
