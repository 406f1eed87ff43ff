import { type Static, Type } from 'typebox';
import { code, commaList, FreeObject, Nullable, pageQuery, Query, QueryTime } from './common.js';
import { ReplicationRecord } from './replication.js';

export const BACKUP_STATUSES = ['available', 'protecting', 'deleting', 'restoring', 'error', 'waiting_protect', 'waiting_delete', 'waiting_restore'] as const;
export const BACKUP_SORT_KEYS = ['created_at', 'updated_at', 'name', 'status', 'protected_at', 'id'] as const;
export const MEMBER_STATUSES = ['pending', 'accepted', 'rejected'] as const;
export const OWN_TYPES = ['private', 'shared', 'all_granted'] as const;
/** Most projects one share request names. */
export const MAX_MEMBERS_PER_REQUEST = 10;

const sortItem = `(${BACKUP_SORT_KEYS.join('|')})(:(asc|desc))?`;

export const BackupListQuery = Type.Object({
  ...pageQuery,
  checkpoint_id: Query(Type.String()),
  parent_id: Query(Type.String()),
  resource_id: Query(Type.String()),
  resource_name: Query(Type.String()),
  resource_type: Query(Type.String()),
  resource_az: Query(Type.String()),
  vault_id: Query(Type.String()),
  name: Query(Type.String()),
  image_type: Query(Type.String()),
  /** Repeatable (`status=available&status=error`) and comma-separated. */
  status: Query(Type.String({ pattern: commaList(BACKUP_STATUSES), description: `one or more of ${BACKUP_STATUSES.join(', ')}, comma-separated` })),
  member_status: Query(Type.Enum(MEMBER_STATUSES)),
  own_type: Query(Type.Enum(OWN_TYPES)),
  start_time: Query(QueryTime),
  end_time: Query(QueryTime),
  used_percent: Query(Type.String({ pattern: '^(100|[1-9][0-9]?)$', description: 'an integer 1-100' })),
  dec: Query(Type.String()),
  sort: Query(
    Type.String({
      maxLength: 255,
      pattern: `^(|${sortItem}(,${sortItem})*)$`,
      description: `key[:asc|desc],… with keys ${BACKUP_SORT_KEYS.join(', ')}`,
    }),
  ),
});

/** Restore onto an existing disk: the backed-up one by default. */
export const BackupRestore = Type.Object({
  volume_id: Type.Optional(Nullable(Type.String({ maxLength: 255 }))),
  /** Huawei's name for the restore target; volume_id wins when both are given. */
  resource_id: Type.Optional(Nullable(Type.String({ maxLength: 255 }))),
  server_id: Type.Optional(Nullable(Type.String({ maxLength: 255 }))),
  power_on: Type.Optional(Type.Boolean()),
  mappings: Type.Optional(Type.Array(Type.Object({ backup_id: Type.String(), volume_id: Type.String() }))),
});
export type BackupRestore = Static<typeof BackupRestore>;
export const BackupRestoreBody = Type.Object({ restore: BackupRestore });

/** A project id that cannot be shared with is 6704. */
export const MembersCreateBody = Type.Object({
  members: Type.Array(Type.String({ pattern: '^[0-9a-f]{32}$', description: 'a project id', ...code('6704') }), {
    minItems: 1,
    maxItems: MAX_MEMBERS_PER_REQUEST,
    description: `1-${MAX_MEMBERS_PER_REQUEST} project ids`,
  }),
});

/**
 * Not wrapped. `vault_id` (the receiving project's disk vault) is required when accepting; openstacksdk sends
 * `"vault_id": null` otherwise.
 */
export const MemberUpdateBody = Type.Object(
  {
    status: Type.Enum(MEMBER_STATUSES),
    vault_id: Type.Optional(Nullable(Type.String({ maxLength: 255 }))),
  },
  {
    if: { properties: { status: { const: 'accepted' } }, required: ['status'] },
    then: { properties: { vault_id: { type: 'string', description: 'the id of a disk vault, when accepting' } }, required: ['vault_id'] },
  },
);
export type MemberUpdate = Static<typeof MemberUpdateBody>;

export const MemberListQuery = Type.Object({
  ...pageQuery,
  dest_project_id: Query(Type.String()),
  image_id: Query(Type.String()),
  status: Query(Type.String()),
  vault_id: Query(Type.String()),
  sort: Query(Type.String({ maxLength: 255 })),
});

// --- responses ---

export const Member = Type.Object({
  id: Type.String(),
  backup_id: Type.String(),
  dest_project_id: Type.String(),
  status: Type.Enum(MEMBER_STATUSES),
  vault_id: Type.String(),
  image_id: Type.String(),
  created_at: Type.String(),
  updated_at: Type.String(),
});
export type Member = Static<typeof Member>;

export const ExtendInfo = Type.Object({
  auto_trigger: Type.Boolean(),
  bootable: Type.Boolean(),
  incremental: Type.Boolean(),
  snapshot_id: Type.String(),
  support_lld: Type.Boolean(),
  supported_restore_mode: Type.Enum(['na', 'snapshot', 'backup']),
  os_images_data: Type.Array(Type.Object({ image_id: Type.String() })),
  contain_system_disk: Type.Boolean(),
  encrypted: Type.Boolean(),
  system_disk: Type.Boolean(),
  architecture: Type.String(),
  progress: Type.Number({ minimum: 0, maximum: 100 }),
  stored_bytes: Type.Integer({ description: 'cinderbox: bytes this backup added to the repository' }),
  new_chunks: Type.Integer({ description: 'cinderbox: chunks this backup added to the repository' }),
  locked_until: Nullable(Type.String({ description: 'cinderbox: immutable until then' })),
  error_code: Type.Optional(Type.String()),
  error_message: Type.Optional(Type.String()),
});

export const Backup = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  checkpoint_id: Type.String(),
  vault_id: Type.String(),
  project_id: Type.String(),
  provider_id: Type.String(),
  parent_id: Type.Null(),
  resource_id: Type.String(),
  resource_name: Type.String(),
  resource_type: Type.String(),
  resource_az: Type.String(),
  resource_size: Type.Integer({ description: 'GB' }),
  image_type: Type.Enum(['backup', 'replication']),
  status: Type.Enum(BACKUP_STATUSES),
  created_at: Type.String(),
  updated_at: Type.String(),
  protected_at: Nullable(Type.String()),
  expired_at: Nullable(Type.String()),
  children: Type.Array(FreeObject),
  replication_records: Type.Array(ReplicationRecord),
  enterprise_project_id: Type.String(),
  extend_info: ExtendInfo,
  /** On a backup shared with the caller: the caller's share of it. */
  members: Type.Optional(Type.Array(Member)),
});
export type Backup = Static<typeof Backup>;

export const BackupBody = Type.Object({ backup: Backup });
export const BackupList = Type.Object({ backups: Type.Array(Backup), count: Type.Integer(), offset: Type.Integer(), limit: Type.Integer() });
export const MemberBody = Type.Object({ member: Member });
export const MemberList = Type.Object({ members: Type.Array(Member), count: Type.Integer() });
