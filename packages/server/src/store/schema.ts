import type { Generated } from 'kysely';

/**
 * Table types. The same schema runs on SQLite and PostgreSQL: text ids, integer flags (0/1), timestamps as
 * stored-time text (see domain/time.ts), JSON as text. Sizes in GiB are integers; byte counts are bigint
 * on PostgreSQL and are read back through Number().
 */
export interface Database {
  domains: DomainTable;
  projects: ProjectTable;
  users: UserTable;
  roles: RoleTable;
  role_assignments: RoleAssignmentTable;
  tokens: TokenTable;
  volume_types: VolumeTypeTable;
  volumes: VolumeTable;
  volume_metadata: MetadataTable & { volume_id: string };
  volume_admin_metadata: MetadataTable & { volume_id: string };
  volume_attachments: VolumeAttachmentTable;
  snapshots: SnapshotTable;
  snapshot_metadata: MetadataTable & { snapshot_id: string };
  quotas: QuotaTable;
  quota_usages: QuotaUsageTable;
  tasks: TaskTable;
  node_state: NodeStateTable;
  backups: BackupTable;
  backup_metadata: MetadataTable & { backup_id: string };
  cbr_vaults: CbrVaultTable;
  cbr_vault_resources: CbrVaultResourceTable;
  cbr_vault_tags: CbrVaultTagTable;
  cbr_policies: CbrPolicyTable;
  cbr_policy_bindings: CbrPolicyBindingTable;
  cbr_checkpoints: CbrCheckpointTable;
  cbr_backups: CbrBackupTable;
  cbr_members: CbrMemberTable;
  cbr_operation_logs: CbrOperationLogTable;
  transfers: TransferTable;
  messages: MessageTable;
  qos_specs: QosSpecsTable;
  qos_specs_keys: QosSpecsKeyTable;
  volume_type_projects: VolumeTypeProjectTable;
  volume_type_encryption: VolumeTypeEncryptionTable;
  default_volume_types: DefaultVolumeTypeTable;
  services: ServiceTable;
  write_barriers: WriteBarrierTable;
  write_barrier_acks: WriteBarrierAckTable;
  quota_classes: QuotaClassTable;
  group_types: GroupTypeTable;
  group_type_specs: GroupTypeSpecTable;
  groups: GroupTable;
  group_volume_types: GroupVolumeTypeTable;
  group_snapshots: GroupSnapshotTable;
  repo_stats: RepoStatsTable;
  repo_stats_samples: RepoStatsSampleTable;
  repo_jobs: RepoJobTable;
  repo_backup_runs: RepoBackupRunTable;
}

export interface GroupTypeTable {
  id: string;
  name: string;
  description: string | null;
  is_public: number;
  created_at: string;
  updated_at: string | null;
}

export interface GroupTypeSpecTable {
  group_type_id: string;
  key: string;
  value: string;
}

export interface GroupTable {
  id: string;
  project_id: string;
  user_id: string;
  name: string | null;
  description: string | null;
  status: string;
  availability_zone: string;
  group_type_id: string;
  group_snapshot_id: string | null;
  source_group_id: string | null;
  created_at: string;
  updated_at: string | null;
}

export interface GroupVolumeTypeTable {
  group_id: string;
  volume_type_id: string;
}

export interface GroupSnapshotTable {
  id: string;
  project_id: string;
  user_id: string;
  group_id: string;
  group_type_id: string;
  name: string | null;
  description: string | null;
  status: string;
  created_at: string;
  updated_at: string | null;
}

export interface DomainTable {
  id: string;
  name: string;
  description: string;
  enabled: number;
  created_at: string;
}

export interface ProjectTable {
  id: string;
  name: string;
  domain_id: string;
  description: string;
  enabled: number;
  parent_id: string | null;
  is_domain: number;
  tags: string; // JSON array
  options: string; // JSON object
  extra: string; // JSON object of unknown attributes Keystone keeps
  created_at: string;
}

export interface UserTable {
  id: string;
  name: string;
  domain_id: string;
  default_project_id: string | null;
  password_hash: string | null;
  email: string | null;
  description: string | null;
  enabled: number;
  options: string; // JSON
  extra: string; // JSON
  password_expires_at: string | null;
  created_at: string;
}

export interface RoleTable {
  id: string;
  name: string;
  domain_id: string | null;
  description: string | null;
  created_at: string;
}

export interface RoleAssignmentTable {
  project_id: string;
  user_id: string;
  role_id: string;
}

export interface TokenTable {
  /** SHA-256 of the token; the token itself is never stored. */
  token_hash: string;
  user_id: string;
  project_id: string | null;
  methods: string; // JSON array
  audit_id: string;
  /** Audit id of the token this one was re-scoped from, for audit_ids[1]. */
  parent_audit_id: string | null;
  issued_at: string;
  expires_at: string;
  revoked: number;
}

export interface VolumeTypeTable {
  id: string;
  name: string;
  description: string | null;
  is_public: number;
  extra_specs: string; // JSON
  created_at: string;
  /** The QoS specs associated with the type (migration 0011); optional on insert, so a new type has none. */
  qos_specs_id: Generated<string | null>;
}

export interface VolumeTypeProjectTable {
  volume_type_id: string;
  project_id: string;
  created_at: string;
}

export interface VolumeTypeEncryptionTable {
  volume_type_id: string;
  encryption_id: string;
  provider: string;
  control_location: string;
  cipher: string | null;
  key_size: number | null;
  created_at: string;
  updated_at: string | null;
}

export interface DefaultVolumeTypeTable {
  project_id: string;
  volume_type_id: string;
  created_at: string;
  updated_at: string | null;
}

export interface VolumeTable {
  id: string;
  project_id: string;
  user_id: string;
  name: string | null;
  description: string | null;
  size: number; // GiB
  status: string;
  previous_status: string | null;
  attach_status: string; // attached | detached | attaching | detaching
  migration_status: string | null;
  availability_zone: string;
  volume_type_id: string;
  snapshot_id: string | null;
  source_volid: string | null;
  backup_id: string | null;
  bootable: number;
  multiattach: number;
  /** `host@backend#pool` owning the bytes. */
  host: string;
  /** Driver name recorded at creation; a volume keeps its driver. */
  driver: string;
  /** Backend object name (file name inside the backend directory). */
  provider_location: string | null;
  use_quota: number;
  created_at: string;
  updated_at: string | null;
  /** The volume's generic group (0013); read and written by the group repository only. */
  group_id?: string | null;
}

export interface MetadataTable {
  key: string;
  value: string;
}

export interface VolumeAttachmentTable {
  id: string;
  volume_id: string;
  instance_uuid: string | null;
  host_name: string | null;
  mountpoint: string | null;
  attach_mode: string;
  attach_status: string;
  attached_at: string | null;
  connector: string | null; // JSON
  connection_info: string | null; // JSON
  created_at: string;
}

export interface SnapshotTable {
  id: string;
  project_id: string;
  user_id: string;
  volume_id: string;
  name: string | null;
  description: string | null;
  size: number; // GiB
  status: string;
  progress: string;
  volume_type_id: string | null;
  use_quota: number;
  provider_location: string | null;
  /** Internal snapshots (backup bases) are invisible to every API. */
  hidden: number;
  created_at: string;
  updated_at: string | null;
  /** The group snapshot the snapshot was taken for (0013); read and written by the group repository only. */
  group_snapshot_id?: string | null;
}

export interface TransferTable {
  id: string;
  volume_id: string;
  display_name: string | null;
  salt: string;
  crypt_hash: string;
  no_snapshots: number;
  source_project_id: string;
  destination_project_id: string | null;
  accepted: number;
  deleted: number;
  created_at: string;
  updated_at: string | null;
  deleted_at: string | null;
}

export interface MessageTable {
  id: string;
  project_id: string;
  request_id: string;
  resource_type: string | null;
  resource_uuid: string | null;
  event_id: string;
  action_id: string;
  detail_id: string;
  message_level: string;
  created_at: string;
  expires_at: string;
}

export interface QuotaTable {
  project_id: string;
  resource: string;
  hard_limit: number;
}

export interface QuotaUsageTable {
  project_id: string;
  resource: string;
  in_use: number;
}

export interface TaskTable {
  id: string;
  kind: string;
  resource_type: string;
  resource_id: string;
  payload: string; // JSON
  /** pending | running | done | failed */
  state: string;
  /** Node id holding the lease while running. */
  owner: string | null;
  lease_until: string | null;
  /** The node that must run it (its volume is on that node's local backend); null = any node (0021). */
  node: string | null;
  attempts: number;
  last_error: string | null;
  created_at: string;
  updated_at: string;
}

export interface NodeStateTable {
  key: string;
  value: string;
}

export type Seq = Generated<number>;

export interface BackupTable {
  id: string;
  project_id: string;
  user_id: string;
  volume_id: string;
  snapshot_id: string | null;
  name: string | null;
  description: string | null;
  /** Namespace of the manifest inside the backup repository. */
  container: string;
  availability_zone: string | null;
  /** creating | available | deleting | error | error_deleting | restoring */
  status: string;
  fail_reason: string | null;
  size: number; // GiB
  object_count: number;
  parent_id: string | null;
  data_timestamp: string;
  /** "<container>/<id>" of the manifest; null until the backup committed. */
  locator: string | null;
  stored_bytes: number;
  data_bytes: number;
  /** JSON {metadata, bootable} of the source volume, applied on restore. */
  volume_info: string;
  host: string | null;
  created_at: string;
  updated_at: string | null;
}

export interface CbrVaultTable {
  id: string;
  project_id: string;
  user_id: string;
  name: string;
  description: string;
  /** available | deleting | error */
  status: string;
  object_type: string;
  protect_type: string;
  consistent_level: string;
  cloud_type: string;
  charging_mode: string;
  size: number; // GB
  auto_bind: number;
  bind_rules: string; // JSON
  auto_expand: number;
  locked: number;
  smn_notify: number;
  threshold: number;
  created_at: string;
  updated_at: string | null;
  /** The backup target this vault's backups go to (0016). */
  backup_target: string;
  /** Days of retention (Object Lock) each new backup of the vault gets; null = none (0019). */
  lock_days: number | null;
}

export interface CbrVaultResourceTable {
  resource_id: string;
  vault_id: string;
  project_id: string;
  type: string;
  name: string;
  extra_info: string; // JSON
  /** available | error | protecting | restoring | removing */
  protect_status: string;
  created_at: string;
}

export interface CbrVaultTagTable {
  vault_id: string;
  key: string;
  value: string;
}

export interface CbrPolicyTable {
  id: string;
  project_id: string;
  name: string;
  operation_type: string;
  enabled: number;
  operation_definition: string; // JSON
  trigger_id: string;
  patterns: string; // JSON string[]
  start_time: string;
  created_at: string;
  updated_at: string | null;
}

export interface CbrPolicyBindingTable {
  vault_id: string;
  policy_id: string;
  project_id: string;
  operation_type: string;
  /** The next trigger time not yet run (stored time); null when the policy has no future run. */
  next_run_at: string | null;
  created_at: string;
  /** Replication bindings: the vault runs copy to (0020). */
  destination_vault_id?: string | null;
}

export interface CbrCheckpointTable {
  id: string;
  project_id: string;
  vault_id: string;
  /** protecting | available | error */
  status: string;
  name: string;
  description: string;
  incremental: number;
  auto_trigger: number;
  policy_id: string | null;
  retention_duration: number;
  skipped: string; // JSON SkippedResource[]
  created_at: string;
  updated_at: string | null;
}

export interface CbrBackupTable {
  id: string;
  project_id: string;
  vault_id: string;
  checkpoint_id: string;
  policy_id: string | null;
  name: string;
  description: string;
  resource_id: string;
  resource_name: string;
  resource_type: string;
  resource_az: string;
  resource_size: number; // GB
  image_type: string;
  /** protecting | available | restoring | deleting | error */
  status: string;
  auto_trigger: number;
  incremental: number;
  bootable: number;
  driver: string;
  /** The hidden driver snapshot the backup reads; kept as its changed-block tracking base (see cbt_base_id). */
  snapshot_id: string;
  parent_locator: string | null;
  locator: string | null;
  stored_bytes: number;
  data_bytes: number;
  new_chunks: number;
  progress: number;
  fail_code: string | null;
  fail_reason: string | null;
  expired_at: string | null;
  protected_at: string | null;
  created_at: string;
  updated_at: string | null;
  /** The base this backup keeps (= snapshot_id until removed, then null); migration 0007. */
  cbt_base_id: string | null;
  /** 0/1: the base may be compared against (from the commit until its removal starts). */
  cbt_base_usable: number;
  /** The backup target holding the manifest and chunks (0016). */
  backup_target: string;
  /** End of the backup's retention (stored time; null = not locked): no API deletes it before (0019). */
  locked_until: string | null;
}

export interface CbrMemberTable {
  id: string;
  backup_id: string;
  project_id: string;
  dest_project_id: string;
  /** pending | accepted | rejected */
  status: string;
  vault_id: string | null;
  image_id: string | null;
  created_at: string;
  updated_at: string | null;
}

export interface CbrOperationLogTable {
  id: string;
  project_id: string;
  /** backup | restore | delete | vault_delete */
  operation_type: string;
  /** waiting | running | success | failed | skipped */
  status: string;
  checkpoint_id: string | null;
  policy_id: string | null;
  vault_id: string | null;
  vault_name: string | null;
  provider_id: string;
  resource_id: string | null;
  resource_name: string | null;
  error_code: string;
  error_message: string;
  extra_info: string; // JSON
  started_at: string | null;
  ended_at: string | null;
  created_at: string;
  updated_at: string | null;
}

/** Columns added by migrations 0005 and 0006 (merged into the BackupTable declaration above). */
export interface BackupTable {
  /** Hidden driver snapshot of the volume this backup read: the changed-block tracking base (see 0005). */
  cbt_base_id: string | null;
  /** 1 while the base may be compared against (from the commit until its removal starts; see 0006). */
  cbt_base_usable: number;
  /** The backup target holding the manifest and chunks (0016; `default` = the data directory's repository). */
  backup_target: string;
  /** End of the backup's retention (stored time; null = not locked): no API deletes it before (0019). */
  locked_until: string | null;
}

/** Columns of a CBR replica (0020-cbr-replication; null on other backups), merged into CbrBackupTable. */
export interface CbrBackupTable {
  replication_record_id: string | null;
  source_backup_id: string | null;
  source_project_id: string | null;
  source_vault_id: string | null;
  source_checkpoint_id: string | null;
  source_region: string | null;
  destination_region: string | null;
}

export interface QosSpecsTable {
  id: string;
  name: string;
  /** `front-end`, `back-end` or `both`. */
  consumer: string;
  created_at: string;
  updated_at: string | null;
}

export interface QosSpecsKeyTable {
  specs_id: string;
  key: string;
  value: string | null;
}

/** A cross-node write barrier on one volume (0025): writes through every node's data API wait while it stands. */
export interface WriteBarrierTable {
  id: string;
  volume_id: string;
  /** The node that raised it (the one taking the snapshots). */
  node: string;
  /** After this a barrier left by a dead node is ignored, and removed by the next lift. */
  expires_at: string;
}

/** A node's acknowledgement that its writes to a barrier's volumes drained (0025). */
export interface WriteBarrierAckTable {
  barrier_id: string;
  node: string;
  acked_at: string;
}

export interface ServiceTable {
  host: string;
  binary: string;
  availability_zone: string;
  disabled: number;
  disabled_reason: string | null;
  frozen: number;
  created_at: string;
  updated_at: string | null;
  /** `<uuid> <pid> <hostname>` of the process writing the heartbeats; null once it stopped cleanly (0021). */
  instance: string | null;
  /** A volume service's `{total_gb, free_gb}` JSON at its last heartbeat (0021). */
  capacity: string | null;
  /** A backup service's default target as `{name, repo_id, location}` JSON (0023). */
  backup_target: string | null;
  /** The node's API URL (0027), on its scheduler row. */
  api_url?: string | null;
  /** When its process stopped cleanly or was found dead (0028): the row is `down` whatever its heartbeat's age. */
  stopped_at?: string | null;
}

export interface QuotaClassTable {
  class_name: string;
  resource: string;
  hard_limit: number;
}

/** Per backup target: running counters and the last verify/gc (migration 0022). */
export interface RepoStatsTable {
  target: string;
  logical_bytes: number;
  stored_bytes: number;
  chunk_count: number;
  backup_count: number;
  last_verify_at: string | null;
  last_verify_ok: number | null;
  last_verify_full: number | null;
  last_verify_checked: number | null;
  last_verify_errors: number | null;
  last_verify_message: string | null;
  last_gc_at: string | null;
  last_gc_removed_chunks: number | null;
  last_gc_freed_bytes: number | null;
  updated_at: string | null;
}

export interface RepoStatsSampleTable {
  id: string;
  target: string;
  at: string;
  logical_bytes: number;
  stored_bytes: number;
  chunk_count: number;
}

export interface RepoJobTable {
  id: string;
  kind: string;
  target: string;
  status: string;
  progress: number;
  /** JSON of the job's options. */
  params: string;
  /** JSON of the verify/gc result once succeeded. */
  result: string | null;
  error: string | null;
  project_id: string;
  node: string;
  /** `target/kind` while running, null after: unique, so one running job per kind and target. */
  lock_key: string | null;
  started_at: string;
  finished_at: string | null;
}

export interface RepoBackupRunTable {
  id: string;
  target: string;
  backup_id: string;
  finished_at: string;
  size_bytes: number;
  millis: number;
}
