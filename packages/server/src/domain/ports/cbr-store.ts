import type {
  CbrBackup,
  Checkpoint,
  Member,
  OperationLog,
  Policy,
  PolicyBinding,
  Vault,
  VaultResource,
  VaultTag,
} from '../cbr.js';
import type { Scope, Transition } from './metadata-store.js';

export type { Transition };

export interface VaultFilter {
  id?: string;
  name?: string;
  object_type?: string;
  protect_type?: string;
  cloud_type?: string;
  status?: string;
  /** Vaults bound to this policy. */
  policy_id?: string;
  /** Vaults holding any of these resources. */
  resource_ids?: string[];
}

export interface VaultRepository {
  /** The project's vault, or undefined. */
  get(scope: Scope, projectId: string, id: string): Promise<Vault | undefined>;
  /** Any project's vault (a backup's vault, a task's vault). */
  byId(scope: Scope, id: string): Promise<Vault | undefined>;
  /** Newest first. */
  list(scope: Scope, projectId: string, filter: VaultFilter): Promise<Vault[]>;
  insert(scope: Scope, vault: Vault): Promise<void>;
  update(scope: Scope, id: string, changes: Partial<Omit<Vault, 'id'>>): Promise<void>;
  transition(scope: Scope, id: string, from: readonly string[] | null, to: string | null, changes?: Partial<Vault>): Promise<Transition<Vault>>;
  /** Removes the vault with its resources, tags, policy bindings and checkpoints (its backups are gone first). */
  remove(scope: Scope, id: string): Promise<void>;

  // --- resources ---
  /** The resources of these vaults, oldest first. */
  resources(scope: Scope, vaultIds: readonly string[]): Promise<VaultResource[]>;
  /** The vault protecting a resource (a resource is in at most one vault). */
  resource(scope: Scope, resourceId: string): Promise<VaultResource | undefined>;
  countResources(scope: Scope, vaultId: string): Promise<number>;
  /** Adds the resources not yet in any vault; returns the ids it added. */
  insertResources(scope: Scope, resources: readonly VaultResource[]): Promise<string[]>;
  removeResources(scope: Scope, vaultId: string, resourceIds: readonly string[]): Promise<void>;
  moveResources(scope: Scope, fromVaultId: string, toVaultId: string, resourceIds: readonly string[]): Promise<void>;
  /** Moves `protect_status` from one of `from` to `to` (and renames it when `name` is given); false when it was not in `from`. */
  setProtectStatus(scope: Scope, resourceId: string, from: readonly string[] | null, to: string, name?: string): Promise<boolean>;

  // --- tags ---
  /** The tags of these vaults, by key. */
  tags(scope: Scope, vaultIds: readonly string[]): Promise<(VaultTag & { vault_id: string })[]>;
  /** Sets each tag (replacing the value of an existing key). */
  putTags(scope: Scope, vaultId: string, tags: readonly VaultTag[]): Promise<void>;
  /** Deletes the key (only with that value when `value` is given); returns how many went. */
  deleteTag(scope: Scope, vaultId: string, key: string, value?: string): Promise<number>;
  countTags(scope: Scope, vaultId: string): Promise<number>;
  /** All tags of the project's vaults, by key. */
  projectTags(scope: Scope, projectId: string): Promise<VaultTag[]>;
}

export interface PolicyFilter {
  operation_type?: string;
  /** Policies bound to this vault. */
  vault_id?: string;
}

/** A policy due to run for one vault, with the binding's cursor read. */
export interface DueRun {
  policy: Policy;
  vault_id: string;
  next_run_at: string;
  /** Replication runs: the binding's destination vault. */
  destination_vault_id: string | null;
}

export interface PolicyRepository {
  get(scope: Scope, projectId: string, id: string): Promise<Policy | undefined>;
  byId(scope: Scope, id: string): Promise<Policy | undefined>;
  /** Newest first. */
  list(scope: Scope, projectId: string, filter: PolicyFilter): Promise<Policy[]>;
  count(scope: Scope, projectId: string): Promise<number>;
  insert(scope: Scope, policy: Policy): Promise<void>;
  update(scope: Scope, id: string, changes: Partial<Omit<Policy, 'id'>>): Promise<void>;
  /** Removes the policy and its bindings. */
  remove(scope: Scope, id: string): Promise<void>;

  // --- bindings ---
  /** Bindings of these policies, oldest first. */
  bindingsOfPolicies(scope: Scope, policyIds: readonly string[]): Promise<PolicyBinding[]>;
  bindingsOfVaults(scope: Scope, vaultIds: readonly string[]): Promise<PolicyBinding[]>;
  /** Binds, replacing the vault's binding of the same operation type (one policy per type and vault). */
  bind(scope: Scope, binding: PolicyBinding): Promise<void>;
  /** False when the policy was not bound to the vault. */
  unbind(scope: Scope, vaultId: string, policyId: string): Promise<boolean>;
  /** Sets the next run of every vault bound to the policy. */
  reschedule(scope: Scope, policyId: string, nextRunAt: string | null): Promise<void>;
  /** Enabled backup policies whose binding's next run is at or before `now` (stored time), earliest first. */
  due(scope: Scope, now: string): Promise<DueRun[]>;
  /**
   * Moves a binding's cursor from `expected` to `next` (the run is claimed); false when another process
   * moved it first.
   */
  claimRun(scope: Scope, vaultId: string, policyId: string, expected: string, next: string | null): Promise<boolean>;
}

export interface CheckpointRepository {
  get(scope: Scope, projectId: string, id: string): Promise<Checkpoint | undefined>;
  byId(scope: Scope, id: string): Promise<Checkpoint | undefined>;
  insert(scope: Scope, checkpoint: Checkpoint): Promise<void>;
  transition(
    scope: Scope,
    id: string,
    from: readonly string[] | null,
    to: string | null,
    changes?: Partial<Checkpoint>,
  ): Promise<Transition<Checkpoint>>;
}

export type BackupSortKey = 'created_at' | 'updated_at' | 'name' | 'status' | 'protected_at' | 'id';

export interface BackupFilter {
  /** The caller's project. */
  projectId: string;
  /**
   * Which backups: the project's own (`private`); shared with it and not rejected, or in `member_status`
   * (`shared`); its own and the accepted shares (`all_granted`). Without sharing only `private` applies.
   */
  own: 'private' | 'shared' | 'all_granted';
  member_status?: string;
  /** Column equalities. */
  equal: Partial<Record<'checkpoint_id' | 'resource_id' | 'resource_name' | 'resource_type' | 'resource_az' | 'vault_id' | 'name' | 'image_type', string>>;
  statuses: string[];
  /** Stored times, inclusive. */
  created_from?: string;
  created_to?: string;
  /** Filters that match nothing here (a parent id, `dec`): the list is empty. */
  nothing: boolean;
  sort: { key: BackupSortKey; dir: 'asc' | 'desc' }[];
}

/** A backup and, when it belongs to another project, the caller's share record. */
export interface BackupListItem {
  backup: CbrBackup;
  membership: Member | null;
}

/** Stored bytes and count of a vault's non-error backups per resource. */
export interface BackupUsage {
  vault_id: string;
  resource_id: string;
  count: number;
  bytes: number;
}

export interface CbrBackupRepository {
  byId(scope: Scope, id: string): Promise<CbrBackup | undefined>;
  get(scope: Scope, projectId: string, id: string): Promise<CbrBackup | undefined>;
  list(scope: Scope, filter: BackupFilter): Promise<BackupListItem[]>;
  /** A checkpoint's backups by resource name. */
  ofCheckpoint(scope: Scope, checkpointId: string): Promise<CbrBackup[]>;
  ofVault(scope: Scope, vaultId: string): Promise<CbrBackup[]>;
  /** Whether a backup of the vault is being made, restored or deleted. */
  busyInVault(scope: Scope, vaultId: string): Promise<boolean>;
  /** Real stored bytes of the vault: the repository bytes its backups added (error backups excluded). */
  usedBytes(scope: Scope, vaultId: string): Promise<number>;
  usage(scope: Scope, vaultIds: readonly string[]): Promise<BackupUsage[]>;
  /** The backup whose manifest is `locator` (an incremental's parent). */
  byLocator(scope: Scope, locator: string): Promise<CbrBackup | undefined>;
  /** The newest usable backup of a resource in a vault that holds data: an incremental's parent. */
  latestLocator(scope: Scope, vaultId: string, resourceId: string): Promise<string | null>;
  insert(scope: Scope, backup: CbrBackup): Promise<void>;
  /** The replicas copied from these backups (their `replication_records`). */
  replicasOf(scope: Scope, sourceBackupIds: readonly string[]): Promise<CbrBackup[]>;
  transition(
    scope: Scope,
    id: string,
    from: readonly string[] | null,
    to: string | null,
    changes?: Partial<CbrBackup>,
  ): Promise<Transition<CbrBackup>>;
  setProgress(scope: Scope, id: string, progress: number): Promise<void>;
  /** Moves a vault's backups of these resources to another vault. */
  moveToVault(scope: Scope, fromVaultId: string, toVaultId: string, resourceIds: readonly string[], now: string): Promise<void>;
  /** Removes the backup and its share records. */
  remove(scope: Scope, id: string): Promise<void>;
}

export interface MemberFilter {
  /** Only this receiving project (a member sees its own share only). */
  dest_project_id?: string;
  status?: string;
  vault_id?: string;
  image_id?: string;
  dir: 'asc' | 'desc';
}

export interface MemberRepository {
  /** A backup's share by receiving project id or record id (clients send either). */
  get(scope: Scope, backupId: string, memberId: string): Promise<Member | undefined>;
  /** The share of a backup with a receiving project. */
  of(scope: Scope, backupId: string, destProjectId: string): Promise<Member | undefined>;
  list(scope: Scope, backupId: string, filter: MemberFilter): Promise<Member[]>;
  /** False when the backup is already shared with that project. */
  insert(scope: Scope, member: Member): Promise<boolean>;
  update(scope: Scope, id: string, changes: Partial<Omit<Member, 'id'>>): Promise<void>;
  transition(scope: Scope, id: string, from: readonly string[] | null, to: string | null, changes?: Partial<Member>): Promise<Transition<Member>>;
  remove(scope: Scope, id: string): Promise<void>;
  /** Whether a project exists (a share's receiver must). */
  projectExists(scope: Scope, projectId: string): Promise<boolean>;
}

export interface OperationLogFilter {
  operation_types: string[];
  statuses: string[];
  equal: Partial<Record<'provider_id' | 'resource_id' | 'resource_name' | 'vault_id' | 'vault_name', string>>;
  created_from?: string;
  created_to?: string;
}

export interface OperationLogRepository {
  get(scope: Scope, projectId: string, id: string): Promise<OperationLog | undefined>;
  byId(scope: Scope, id: string): Promise<OperationLog | undefined>;
  /** Newest first. */
  list(scope: Scope, projectId: string, filter: OperationLogFilter): Promise<OperationLog[]>;
  insert(scope: Scope, log: OperationLog): Promise<void>;
  /** Changes the log only while its status is one of `from`; false otherwise. */
  update(scope: Scope, id: string, from: readonly string[], changes: Partial<Omit<OperationLog, 'id'>>): Promise<boolean>;
}

/** CBR's repositories, built by store/ from the opened database. */
export interface CbrStores {
  vaults: VaultRepository;
  policies: PolicyRepository;
  checkpoints: CheckpointRepository;
  backups: CbrBackupRepository;
  members: MemberRepository;
  operationLogs: OperationLogRepository;
}

/**
 * What CBR needs of block storage's volumes: a disk's identity, size and status, and its guarded status moves
 * (a checkpoint claims a disk as `backing-up`, a restore as `restoring-backup`). Block storage's volume
 * repository satisfies it (a `Volume` has these fields).
 */
export interface CbrDisk {
  id: string;
  project_id: string;
  name: string | null;
  size: number;
  status: string;
  availability_zone: string;
  bootable: boolean;
  driver: string;
}

export interface CbrDiskAccess {
  get(scope: Scope, id: string): Promise<CbrDisk | undefined>;
  /** Sizes in GB of the disks that still exist. */
  sizes(scope: Scope, ids: readonly string[]): Promise<Map<string, number>>;
  transition(
    scope: Scope,
    id: string,
    from: readonly string[] | null,
    to: string | null,
    changes?: { previous_status?: string | null },
  ): Promise<Transition<CbrDisk>>;
}
