import { type Static, Type } from 'typebox';
import { code, FreeObject, Nullable, pageQuery, Query, Tag, TagView, Text } from './common.js';

/** Largest vault capacity, GB. */
export const MAX_VAULT_SIZE = 10_485_760;
/** Most resources one vault holds (and one addresources call adds). */
export const MAX_VAULT_RESOURCES = 256;
/** Most tags on one vault. */
export const MAX_VAULT_TAGS = 20;
/** Longest immutability a vault may give its backups (cinderbox extension), days. */
export const MAX_LOCK_DAYS = 36_500;

export const OBJECT_TYPES = ['server', 'disk', 'turbo'] as const;
export const PROTECT_TYPES = ['backup', 'replication'] as const;
export const CONSISTENT_LEVELS = ['crash_consistent', 'app_consistent'] as const;
export const VAULT_STATUSES = ['available', 'lock', 'frozen', 'deleting', 'error'] as const;
export const PROTECT_STATUSES = ['available', 'error', 'protecting', 'restoring', 'removing'] as const;

/** Capacity: an invalid one is CBR's 6101 (invalid capacity), not the generic parameter error. */
const Size = Type.Integer({ minimum: 1, maximum: MAX_VAULT_SIZE, description: `GB, 1-${MAX_VAULT_SIZE}`, ...code('6101') });

/** Resource types other than the documented ones are 6102 (type not supported). */
export const ResourceCreate = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 255 }),
  type: Type.String({ minLength: 1, maxLength: 255, description: 'OS::Cinder::Volume, OS::Nova::Server or OS::Sfs::Turbo' }),
  name: Type.Optional(Nullable(Text(0, 255))),
  extra_info: Type.Optional(Nullable(Type.Object({ exclude_volumes: Type.Optional(Type.Array(Type.String())) }))),
});
export type ResourceCreate = Static<typeof ResourceCreate>;

const Tags = Type.Array(Tag, { minItems: 1, maxItems: MAX_VAULT_TAGS, description: `1-${MAX_VAULT_TAGS} tags` });
const BindRules = Type.Object({ tags: Type.Optional(Type.Array(Tag)) }, { description: 'tag filter for auto_bind' });

export const BillingCreate = Type.Object({
  object_type: Type.Enum(OBJECT_TYPES, code('6116')),
  size: Size,
  protect_type: Type.Optional(Type.Enum(PROTECT_TYPES, code('6116'))),
  /** openstacksdk's BillingSpec names protect_type so; accepted as its alias. */
  operation_type: Type.Optional(Type.Enum(PROTECT_TYPES, code('6116'))),
  consistent_level: Type.Optional(Type.Enum(CONSISTENT_LEVELS, code('6116'))),
  cloud_type: Type.Optional(Type.Enum(['public'])),
  charging_mode: Type.Optional(Type.Enum(['post_paid'])),
  is_auto_renew: Type.Optional(Type.Boolean()),
  is_auto_pay: Type.Optional(Type.Boolean()),
  console_url: Type.Optional(Text(1, 255)),
});

export const VaultCreate = Type.Object({
  name: Text(1, 64),
  description: Type.Optional(Nullable(Text(0, 64))),
  billing: BillingCreate,
  resources: Type.Array(ResourceCreate, { description: 'send [] for none' }),
  backup_policy_id: Type.Optional(Nullable(Text(1, 64))),
  tags: Type.Optional(Nullable(Tags)),
  auto_bind: Type.Optional(Type.Boolean()),
  bind_rules: Type.Optional(Nullable(BindRules)),
  auto_expand: Type.Optional(Type.Boolean()),
  locked: Type.Optional(Type.Boolean()),
  /** cinderbox extension: a configured backup target (default: the server's default target). */
  backup_target: Type.Optional(Nullable(Text(1, 63))),
  /** cinderbox extension: days each new backup of the vault stays immutable. */
  lock_days: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: MAX_LOCK_DAYS, description: `days, 1-${MAX_LOCK_DAYS}` }))),
});
export type VaultCreate = Static<typeof VaultCreate>;

export const VaultUpdate = Type.Object({
  name: Type.Optional(Text(1, 64)),
  billing: Type.Optional(Type.Object({ size: Type.Optional(Size) })),
  auto_bind: Type.Optional(Type.Boolean()),
  bind_rules: Type.Optional(BindRules),
  auto_expand: Type.Optional(Type.Boolean()),
  smn_notify: Type.Optional(Type.Boolean()),
  threshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'percent, 1-100' })),
  locked: Type.Optional(Type.Boolean()),
});
export type VaultUpdate = Static<typeof VaultUpdate>;

export const VaultCreateBody = Type.Object({ vault: VaultCreate });
export const VaultUpdateBody = Type.Object({ vault: VaultUpdate });

/** Resource ids of a vault action: listing one twice is 6104. */
const ResourceIds = Type.Array(Type.String({ minLength: 1, maxLength: 255 }), {
  minItems: 1,
  uniqueItems: true,
  description: 'a non-empty list of resource ids, each once',
  ...code({ uniqueItems: '6104' }),
});

export const AddResourcesBody = Type.Object({
  resources: Type.Array(ResourceCreate, { minItems: 1, maxItems: MAX_VAULT_RESOURCES, description: `1-${MAX_VAULT_RESOURCES} resources` }),
});
export const RemoveResourcesBody = Type.Object({ resource_ids: ResourceIds });
export const MigrateResourcesBody = Type.Object({ resource_ids: ResourceIds, destination_vault_id: Type.String({ minLength: 1, maxLength: 255 }) });
export const AssociatePolicyBody = Type.Object({
  policy_id: Type.String({ minLength: 1, maxLength: 255 }),
  /** A replication policy's binding names the vault (in the policy's destination region) its runs copy to. */
  destination_vault_id: Type.Optional(Text(1, 255)),
});
export const DissociatePolicyBody = Type.Object({ policy_id: Type.String({ minLength: 1, maxLength: 255 }) });

export const TagCreateBody = Type.Object({ tag: Tag });
export const TagActionBody = Type.Object({
  action: Type.Enum(['create', 'delete']),
  tags: Type.Array(Tag, { minItems: 1, description: 'a non-empty list of tags' }),
});

export const VaultListQuery = Type.Object({
  ...pageQuery,
  id: Query(Type.String()),
  name: Query(Type.String()),
  object_type: Query(Type.String()),
  protect_type: Query(Type.String()),
  cloud_type: Query(Type.String()),
  status: Query(Type.String()),
  policy_id: Query(Type.String()),
  resource_ids: Query(Type.String({ description: 'comma-separated resource ids' })),
  /** openstacksdk's spelling of resource_ids. */
  resources_ids: Query(Type.String()),
});

// --- responses ---

export const Billing = Type.Object({
  allocated: Type.Integer({ description: 'GB' }),
  charging_mode: Type.String(),
  cloud_type: Type.String(),
  consistent_level: Type.Enum(CONSISTENT_LEVELS),
  object_type: Type.Enum(OBJECT_TYPES),
  order_id: Type.String(),
  product_id: Type.String(),
  protect_type: Type.Enum(PROTECT_TYPES),
  size: Type.Integer({ description: 'GB' }),
  spec_code: Type.String(),
  status: Type.Enum(VAULT_STATUSES),
  storage_unit: Type.String(),
  used: Type.Integer({ description: 'MB' }),
  frozen_scene: Type.String(),
});

export const VaultResource = Type.Object({
  id: Type.String(),
  name: Type.String(),
  type: Type.String(),
  protect_status: Type.Enum(PROTECT_STATUSES),
  size: Type.Integer({ description: 'GB' }),
  backup_size: Type.Integer({ description: 'MB' }),
  backup_count: Type.Integer(),
  extra_info: FreeObject,
});

export const Vault = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  project_id: Type.String(),
  user_id: Type.String(),
  provider_id: Type.String(),
  created_at: Type.String(),
  updated_at: Type.String(),
  billing: Billing,
  resources: Type.Array(VaultResource),
  tags: Type.Array(TagView),
  auto_bind: Type.Boolean(),
  bind_rules: FreeObject,
  auto_expand: Type.Boolean(),
  locked: Type.Boolean(),
  smn_notify: Type.Boolean(),
  threshold: Type.Integer(),
  backup_policy_id: Nullable(Type.String()),
  backup_target: Type.String({ description: 'cinderbox extension: where the backups are stored' }),
  lock_days: Nullable(Type.Integer({ description: 'cinderbox extension: days each new backup is immutable' })),
  enterprise_project_id: Type.String(),
  sys_lock_source_service: Type.String(),
});
export type Vault = Static<typeof Vault>;

export const VaultBody = Type.Object({ vault: Vault });
export const VaultList = Type.Object({ vaults: Type.Array(Vault), count: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() });
export const AddResourcesResult = Type.Object({ add_resource_ids: Type.Array(Type.String()) });
export const RemoveResourcesResult = Type.Object({ remove_resource_ids: Type.Array(Type.String()) });
export const MigrateResourcesResult = Type.Object({ migrated_resources: Type.Array(Type.String()) });
export const AssociatePolicyResult = Type.Object({
  associate_policy: Type.Object({ vault_id: Type.String(), policy_id: Type.String(), destination_vault_id: Type.Optional(Type.String()) }),
});
export const DissociatePolicyResult = Type.Object({ dissociate_policy: Type.Object({ vault_id: Type.String(), policy_id: Type.String() }) });
export const VaultTags = Type.Object({ tags: Type.Array(TagView) });
export const ProjectTags = Type.Object({ tags: Type.Array(Type.Object({ key: Type.String(), values: Type.Array(Type.String()) })) });
