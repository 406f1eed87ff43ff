import { type Static, Type } from 'typebox';
import { FreeObject, Nullable, Text, WORD_NAME } from './common.js';
import { PROTECT_STATUSES } from './vaults.js';

export const CHECKPOINT_STATUSES = ['available', 'deleting', 'protecting', 'deleted', 'error-deleting', 'error'] as const;
/** Most resources one checkpoint names in `resource_details`. */
export const MAX_CHECKPOINT_RESOURCES = 256;

const ResourceDetail = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 255 }),
  type: Type.Optional(Type.String({ maxLength: 255 })),
  name: Type.Optional(Nullable(Text(0, 255))),
  extra_info: Type.Optional(Nullable(FreeObject)),
});

export const CheckpointParameters = Type.Object({
  auto_trigger: Type.Optional(Type.Boolean()),
  incremental: Type.Optional(Type.Boolean()),
  description: Type.Optional(Nullable(Type.String({ maxLength: 255, description: 'at most 255 characters' }))),
  name: Type.Optional(Nullable(Type.String({ pattern: WORD_NAME, description: '1-64 letters, digits, underscores or hyphens' }))),
  /** Ids of resources already in the vault; absent: the whole vault. */
  resources: Type.Optional(Nullable(Type.Array(Type.String()))),
  /** An array on the wire; openstacksdk's Parameters declares one object, which is taken as a list of one. */
  resource_details: Type.Optional(
    Nullable(Type.Union([Type.Array(ResourceDetail, { maxItems: MAX_CHECKPOINT_RESOURCES }), ResourceDetail])),
  ),
});
export type CheckpointParameters = Static<typeof CheckpointParameters>;

export const CheckpointCreate = Type.Object({
  vault_id: Type.String({ minLength: 1, maxLength: 255 }),
  parameters: Type.Optional(Nullable(CheckpointParameters)),
});
export type CheckpointCreate = Static<typeof CheckpointCreate>;
export const CheckpointCreateBody = Type.Object({ checkpoint: CheckpointCreate });

// --- responses ---

export const SkippedResource = Type.Object({
  id: Type.String(),
  type: Type.String(),
  name: Type.String(),
  code: Type.String({ description: 'a BackupService.NNNN code' }),
  reason: Type.String(),
});

export const Checkpoint = Type.Object({
  id: Type.String(),
  project_id: Type.String(),
  status: Type.Enum(CHECKPOINT_STATUSES),
  created_at: Type.String(),
  vault: Type.Object({
    id: Type.String(),
    name: Type.String(),
    resources: Type.Array(
      Type.Object({
        id: Type.String(),
        name: Type.String(),
        type: Type.String(),
        protect_status: Type.Enum(PROTECT_STATUSES),
        resource_size: Type.Integer(),
        backup_size: Type.Integer({ description: 'MB' }),
        backup_count: Type.Integer(),
        extra_info: FreeObject,
      }),
    ),
    skipped_resources: Type.Array(SkippedResource),
  }),
  extra_info: Type.Object({ name: Type.String(), description: Type.String(), retention_duration: Type.Integer({ description: 'days; -1 = forever' }) }),
});
export type Checkpoint = Static<typeof Checkpoint>;

export const CheckpointBody = Type.Object({ checkpoint: Checkpoint });
