import type { cbrContract as C } from '@cinderbox/api-schema';
import type { Static } from 'typebox';
import { replicationRecord } from '../../services/cbr/replication.js';
import type { CbrContext } from '../../services/cbr/context.js';
import type {
  BackupView,
  CheckpointRecord,
  MemberRecord,
  OperationLogRecord,
  PolicyRecord,
  VaultRecord,
} from '../../services/cbr/index.js';

/**
 * Views of CBR objects: the API names of the OTC reference; times in the stored `YYYY-MM-DDTHH:MM:SS.ffffff`. Each
 * returns the contract's response type (`@cinderbox/api-schema`), so a field renamed or dropped on either side fails
 * the build. Records keep statuses as plain strings; the lifecycles (domain/cbr.ts) hold them to the contract's values.
 */

type Vault = Static<typeof C.Vault>;
type Policy = Static<typeof C.Policy>;
type Checkpoint = Static<typeof C.Checkpoint>;
type Backup = Static<typeof C.Backup>;
type Member = Static<typeof C.Member>;
type OperationLog = Static<typeof C.OperationLog>;

const DISK_PROVIDER_ID = 'd1603440-187d-4516-af25-121250c7cc97';

export function vaultView(c: CbrContext, r: VaultRecord): Vault {
  const v = r.vault;
  return {
    id: v.id,
    name: v.name,
    description: v.description,
    project_id: v.project_id,
    user_id: v.user_id,
    provider_id: DISK_PROVIDER_ID,
    created_at: v.created_at,
    updated_at: v.updated_at ?? v.created_at,
    billing: {
      allocated: c.toGb(r.usedBytes),
      charging_mode: v.charging_mode,
      cloud_type: v.cloud_type,
      consistent_level: v.consistent_level as Vault['billing']['consistent_level'],
      object_type: v.object_type as Vault['billing']['object_type'],
      order_id: '',
      product_id: '',
      protect_type: v.protect_type as Vault['billing']['protect_type'],
      size: v.size,
      spec_code: 'vault.backup.volume.normal',
      status: v.status as Vault['billing']['status'],
      storage_unit: '',
      used: c.toMb(r.usedBytes),
      frozen_scene: '',
    },
    resources: r.resources.map((x) => ({
      id: x.resource.resource_id,
      name: x.resource.name,
      type: x.resource.type,
      protect_status: x.resource.protect_status as Vault['resources'][number]['protect_status'],
      size: x.size,
      backup_size: c.toMb(x.backupBytes),
      backup_count: x.backupCount,
      extra_info: x.resource.extra_info,
    })),
    tags: r.tags,
    auto_bind: v.auto_bind,
    bind_rules: v.bind_rules,
    auto_expand: v.auto_expand,
    locked: v.locked,
    smn_notify: v.smn_notify,
    threshold: v.threshold,
    backup_policy_id: r.backupPolicyId,
    // cinderbox extension: where the vault's backups are stored.
    backup_target: v.backup_target,
    // cinderbox extension: days each new backup of the vault is immutable (null: none).
    lock_days: v.lock_days,
    enterprise_project_id: '0',
    sys_lock_source_service: '',
  };
}

export function policyView(p: PolicyRecord): Policy {
  const r = p.retention;
  const def: Policy['operation_definition'] = {
    max_backups: r.max_backups,
    retention_duration_days: r.retention_duration_days,
    day_backups: r.day_backups,
    week_backups: r.week_backups,
    month_backups: r.month_backups,
    year_backups: r.year_backups,
  };
  if (r.timezone !== null) def.timezone = r.timezone;
  const policy = p.policy;
  for (const k of ['destination_region', 'destination_project_id'] as const)
    if (typeof policy.operation_definition[k] === 'string') def[k] = policy.operation_definition[k];
  return {
    id: policy.id,
    name: policy.name,
    enabled: policy.enabled,
    operation_type: policy.operation_type as Policy['operation_type'],
    operation_definition: def,
    trigger: {
      id: policy.trigger_id,
      name: 'default',
      type: 'time',
      properties: { pattern: policy.patterns, start_time: policy.start_time },
    },
    associated_vaults: p.vaultIds.map((vault_id) => ({ vault_id, destination_vault_id: p.destinations?.[vault_id] ?? '' })),
  };
}

export function checkpointView(c: CbrContext, r: CheckpointRecord): Checkpoint {
  const cp = r.checkpoint;
  return {
    id: cp.id,
    project_id: cp.project_id,
    status: cp.status as Checkpoint['status'],
    created_at: cp.created_at,
    vault: {
      id: cp.vault_id,
      name: r.vaultName,
      resources: r.backups.map((b) => ({
        id: b.resource_id,
        name: b.resource_name,
        type: b.resource_type,
        protect_status: b.status === 'protecting' || b.status === 'error' ? b.status : 'available',
        resource_size: b.resource_size,
        backup_size: c.toMb(b.stored_bytes),
        backup_count: b.status === 'available' ? 1 : 0,
        extra_info: {},
      })),
      skipped_resources: cp.skipped,
    },
    extra_info: { name: cp.name, description: cp.description, retention_duration: cp.retention_duration },
  };
}

export function backupView(v: BackupView): Backup {
  const b = v.backup;
  const extend: Backup['extend_info'] = {
    auto_trigger: b.auto_trigger,
    bootable: b.bootable,
    incremental: b.incremental,
    snapshot_id: b.snapshot_id,
    support_lld: false,
    supported_restore_mode: 'backup',
    os_images_data: [],
    contain_system_disk: false,
    encrypted: false,
    system_disk: false,
    architecture: 'x86_64',
    progress: b.status === 'available' ? 100 : b.progress,
    // cinderbox additions: what this backup added to the repository (dedup and incrementals make it small).
    stored_bytes: b.stored_bytes,
    new_chunks: b.new_chunks,
    // Immutable until then (null: not locked); no API deletes it before.
    locked_until: b.locked_until,
  };
  if (b.fail_code !== null) {
    extend.error_code = b.fail_code;
    extend.error_message = b.fail_reason ?? '';
  }
  const out: Backup = {
    id: b.id,
    name: b.name,
    description: b.description,
    checkpoint_id: b.checkpoint_id,
    vault_id: v.membership ? (v.membership.vault_id ?? '') : b.vault_id,
    project_id: b.project_id,
    provider_id: DISK_PROVIDER_ID,
    parent_id: null,
    resource_id: b.resource_id,
    resource_name: b.resource_name,
    resource_type: b.resource_type,
    resource_az: b.resource_az,
    resource_size: b.resource_size,
    image_type: b.image_type as Backup['image_type'],
    status: b.status as Backup['status'],
    created_at: b.created_at,
    updated_at: b.updated_at ?? b.created_at,
    protected_at: b.protected_at,
    expired_at: b.expired_at,
    children: [],
    replication_records: [...(b.source_backup_id ? [b] : []), ...(v.replicas ?? [])].map(replicationRecord),
    enterprise_project_id: '0',
    extend_info: extend,
  };
  if (v.membership) out.members = [memberView(v.membership)];
  return out;
}

export function memberView(m: MemberRecord): Member {
  return {
    id: m.id,
    backup_id: m.backup_id,
    dest_project_id: m.dest_project_id,
    status: m.status as Member['status'],
    vault_id: m.vault_id ?? '',
    image_id: m.image_id ?? '',
    created_at: m.created_at,
    updated_at: m.updated_at ?? m.created_at,
  };
}

export function operationLogView(l: OperationLogRecord): OperationLog {
  return {
    id: l.id,
    operation_type: l.operation_type as OperationLog['operation_type'],
    status: l.status as OperationLog['status'],
    checkpoint_id: l.checkpoint_id ?? '',
    policy_id: l.policy_id ?? '',
    project_id: l.project_id,
    provider_id: l.provider_id,
    vault_id: l.vault_id ?? '',
    vault_name: l.vault_name ?? '',
    created_at: l.created_at,
    updated_at: l.updated_at ?? l.created_at,
    started_at: l.started_at,
    ended_at: l.ended_at,
    error_info: { code: l.error_code, message: l.error_message },
    extra_info: l.extra_info,
  };
}
