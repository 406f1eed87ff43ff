/**
 * CBR v3 proxy (`conn.cbr`): otcextensions' `cbr.v3` methods with its JSON-name mistakes fixed and errors raised
 * by the action calls (bind/unbind policy, associate/dissociate resources, add members) instead of raw responses.
 * @packageDocumentation
 */
import { Crud, deleteResource, pathId, type Ref, refTo } from '../resource/crud.js';
import type { ListOptions, Paginator } from '../resource/pagination.js';
import type { FindOptions, Resource, ResourceClass, ResourceInput } from '../resource/resource.js';
import { type WaitForStatusOptions, type WaitResult, waitForStatus } from '../resource/waiter.js';
import type { ServiceClient } from '../service/service-client.js';
import type { CallOptions } from '../transport/types.js';
import { isRecord } from '../util/objects.js';
import { nestedCodec } from '../resource/nested.js';
import { CbrBackup, Checkpoint, Member, Policy, Restore, Task, Vault } from './resources.js';
import { VAULT_RESOURCE, type VaultResource } from './schemas.js';


/** Delete options of CBR resources. */
export interface CbrDeleteOptions extends CallOptions {
  /** Do not fail on 404. Default false. */
  ignoreMissing?: boolean;
}

/** A vault tag (`key`: 1-36 letters, digits, `_` or `-`; `value`: up to 43 characters). */
export interface VaultTag {
  key: string;
  value: string;
}

/** Result of `bindPolicy`/`unbindPolicy`. */
export interface PolicyBinding {
  vaultId: string;
  policyId: string;
}

const vaultResources = nestedCodec(VAULT_RESOURCE);

/** Where `replicateBackup` / `replicateCheckpoint` copy to (the API's `{"replicate": …}` body). */
export interface ReplicationDestination {
  /** Project owning the destination vault (on cinderbox: the caller's own; every region shares its projects). */
  destinationProjectId: string;
  /** A region named by `replicationCapabilities()` other than the backup's own. */
  destinationRegion: string;
  /** A vault in the destination region. */
  destinationVaultId: string;
}

/** Result of `replicateBackup` (the API's `{"replication": …}`). */
export interface BackupReplication {
  backupId: string;
  destinationProjectId: string;
  destinationRegion: string;
  destinationVaultId: string;
  projectId: string;
  providerId: string;
  /** The record the replica lists in `replicationRecords` (and the source backup too). */
  replicationRecordId: string;
  sourceRegion: string;
}

/** Result of `replicateCheckpoint`: one record per backup being replicated. */
export interface CheckpointReplication {
  backups: { backupId: string; replicationRecordId: string }[];
  destinationProjectId: string;
  destinationRegion: string;
  destinationVaultId: string;
  projectId: string;
  providerId: string;
  sourceRegion: string;
  vaultId: string;
}

/** One region of `replicationCapabilities()` and the regions its backups can be replicated to. */
export interface ReplicationRegion {
  name: string;
  replicationDestinations: string[];
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

function destinationBody(d: ReplicationDestination): Record<string, unknown> {
  return {
    destination_project_id: d.destinationProjectId,
    destination_region: d.destinationRegion,
    destination_vault_id: d.destinationVaultId,
  };
}

/**
 * CBR v3. The endpoint comes from the catalog (type `cbr`); the project id is appended when the catalog URL lacks it.
 *
 * @example
 * ```ts
 * const v = await conn.cbr.createVault({ name: 'disks', resources: [{ id: vol.id, type: 'OS::Cinder::Volume' }],
 *   billing: { consistentLevel: 'crash_consistent', objectType: 'disk', protectType: 'backup', size: 40 } });
 * const cp = await conn.cbr.createCheckpoint({ vaultId: v.id, parameters: { name: 'manual' } });
 * const r = await conn.cbr.waitForCheckpoint(cp);
 * ```
 */
export class CbrV3 {
  /** The underlying service client. */
  readonly client: ServiceClient;

  readonly #vaults: Crud<Vault>;
  readonly #policies: Crud<Policy>;
  readonly #backups: Crud<CbrBackup>;

  constructor(client: ServiceClient) {
    this.client = client;
    this.#vaults = new Crud(Vault, client);
    this.#policies = new Crud(Policy, client);
    this.#backups = new Crud(CbrBackup, client);
  }

  #ref<R extends Resource>(cls: ResourceClass<R>, value: Ref<R>): R {
    return refTo(cls, value, this.client);
  }


  async #post(path: string, body: unknown, operation: string, options: CallOptions): Promise<Record<string, unknown>> {
    const res = await this.client.request('POST', path, { ...options, body, operation });
    return isRecord(res.body) ? res.body : {};
  }

  // ---------------------------------------------------------------- vaults

  /** Lists vaults. @example `await conn.cbr.vaults({ objectType: 'disk' }).toArray()` */
  vaults(query: ResourceInput<Vault> = {}, options: ListOptions = {}): Paginator<Vault> {
    return this.#vaults.list(query, options);
  }

  /** GET a vault. @example `await conn.cbr.getVault(id)` */
  getVault(vault: Ref<Vault>, options: CallOptions = {}): Promise<Vault> {
    return this.#vaults.get(vault, options);
  }

  /** Finds a vault by id or name. @example `await conn.cbr.findVault('disks')` */
  findVault(nameOrId: string, options: FindOptions = {}): Promise<Vault | undefined> {
    return this.#vaults.find(nameOrId, options);
  }

  /** Creates a vault (`resources` defaults to `[]`, which the API requires). @example see {@link CbrV3} */
  createVault(attrs: ResourceInput<Vault>, options: CallOptions = {}): Promise<Vault> {
    return Vault.new({ resources: [], ...attrs }, this.client).create(options);
  }

  /** Updates a vault (only changed fields, no `id` in the body). @example `await conn.cbr.updateVault(v, { name: 'x' })` */
  updateVault(vault: Ref<Vault>, attrs: ResourceInput<Vault>, options: CallOptions = {}): Promise<Vault> {
    return this.#vaults.update(vault, attrs, options);
  }

  /** Deletes a vault and its backups. @example `await conn.cbr.deleteVault(v, { ignoreMissing: true })` */
  deleteVault(vault: Ref<Vault>, options: CbrDeleteOptions = {}): Promise<void> {
    return this.#vaults.delete(vault, options);
  }

  /**
   * Applies a policy to a vault. A replication policy also names the vault of its destination region that its
   * runs copy to (`destinationVaultId`).
   *
   * @example
   * ```ts
   * await conn.cbr.bindPolicy(v, p);
   * await conn.cbr.bindPolicy(v, replicationPolicy, { destinationVaultId: remote.id });
   * ```
   */
  async bindPolicy(
    vault: Ref<Vault>,
    policy: Ref<Policy>,
    options: CallOptions & { destinationVaultId?: string } = {},
  ): Promise<PolicyBinding> {
    const { destinationVaultId, ...call } = options;
    const body = await this.#post(
      `/vaults/${pathId(vault, 'vault')}/associatepolicy`,
      {
        policy_id: decodeURIComponent(pathId(policy, 'policy')),
        ...(destinationVaultId !== undefined ? { destination_vault_id: destinationVaultId } : {}),
      },
      'bind policy',
      call,
    );
    return binding(body.associate_policy);
  }

  /** Removes a policy from a vault. @example `await conn.cbr.unbindPolicy(v, p)` */
  async unbindPolicy(vault: Ref<Vault>, policy: Ref<Policy>, options: CallOptions = {}): Promise<PolicyBinding> {
    const body = await this.#post(
      `/vaults/${pathId(vault, 'vault')}/dissociatepolicy`,
      { policy_id: decodeURIComponent(pathId(policy, 'policy')) },
      'unbind policy',
      options,
    );
    return binding(body.dissociate_policy);
  }

  /**
   * Adds resources to a vault; returns the added ids.
   *
   * @example
   * ```ts
   * await conn.cbr.associateResources(v, [{ id: vol.id, type: 'OS::Cinder::Volume' }]);
   * ```
   */
  async associateResources(
    vault: Ref<Vault>,
    resources: Array<Partial<VaultResource> & Record<string, unknown>>,
    options: CallOptions = {},
  ): Promise<string[]> {
    const body = await this.#post(
      `/vaults/${pathId(vault, 'vault')}/addresources`,
      { resources: vaultResources.encode(resources) },
      'associate resources',
      options,
    );
    return stringList(body.add_resource_ids);
  }

  /** Removes resources (by id) from a vault; returns the removed ids. @example `await conn.cbr.dissociateResources(v, [vol.id])` */
  async dissociateResources(vault: Ref<Vault>, resourceIds: string[], options: CallOptions = {}): Promise<string[]> {
    const body = await this.#post(
      `/vaults/${pathId(vault, 'vault')}/removeresources`,
      { resource_ids: resourceIds },
      'dissociate resources',
      options,
    );
    return stringList(body.remove_resource_ids);
  }

  /**
   * Moves resources (volume ids) and their backups from a vault to another; returns the moved ids.
   * @example `await conn.cbr.migrateResources(v, [vol.id], other)`
   */
  async migrateResources(
    vault: Ref<Vault>,
    resourceIds: string[],
    destination: Ref<Vault>,
    options: CallOptions = {},
  ): Promise<string[]> {
    const body = await this.#post(
      `/vaults/${pathId(vault, 'vault')}/migrateresources`,
      { resource_ids: resourceIds, destination_vault_id: decodeURIComponent(pathId(destination, 'vault')) },
      'migrate resources',
      options,
    );
    return stringList(body.migrated_resources);
  }

  // ---------------------------------------------------------------- vault tags

  /** A vault's tags. @example `const tags = await conn.cbr.vaultTags(v)` */
  async vaultTags(vault: Ref<Vault>, options: CallOptions = {}): Promise<VaultTag[]> {
    const res = await this.client.request('GET', `/vault/${pathId(vault, 'vault')}/tags`, { ...options, operation: 'list vault tags' });
    const tags = isRecord(res.body) && Array.isArray(res.body.tags) ? res.body.tags : [];
    return tags.filter(isRecord).map((t) => ({ key: String(t.key ?? ''), value: String(t.value ?? '') }));
  }

  /** Every tag key of the project's vaults with the values in use. @example `await conn.cbr.projectVaultTags()` */
  async projectVaultTags(options: CallOptions = {}): Promise<{ key: string; values: string[] }[]> {
    const res = await this.client.request('GET', '/vault/tags', { ...options, operation: 'list project vault tags' });
    const tags = isRecord(res.body) && Array.isArray(res.body.tags) ? res.body.tags : [];
    return tags
      .filter(isRecord)
      .map((t) => ({ key: String(t.key ?? ''), values: Array.isArray(t.values) ? t.values.map(String) : [] }));
  }

  /**
   * Adds tags to a vault in one batch (a key already there gets the new value).
   * @example `await conn.cbr.addVaultTags(v, [{ key: 'env', value: 'prod' }])`
   */
  async addVaultTags(vault: Ref<Vault>, tags: VaultTag[], options: CallOptions = {}): Promise<void> {
    await this.#post(`/vault/${pathId(vault, 'vault')}/tags/action`, { action: 'create', tags }, 'add vault tags', options);
  }

  /**
   * Removes tags from a vault in one batch, by key (with a value: only if the tag has that value).
   * @example `await conn.cbr.removeVaultTags(v, [{ key: 'env' }])`
   */
  async removeVaultTags(vault: Ref<Vault>, tags: Array<{ key: string; value?: string }>, options: CallOptions = {}): Promise<void> {
    await this.#post(`/vault/${pathId(vault, 'vault')}/tags/action`, { action: 'delete', tags }, 'remove vault tags', options);
  }

  /**
   * Adds one tag to a vault (`POST /vault/{id}/tags`); a key already there gets the new value.
   * @example `await conn.cbr.addVaultTag(v, { key: 'env', value: 'prod' })`
   */
  async addVaultTag(vault: Ref<Vault>, tag: VaultTag, options: CallOptions = {}): Promise<void> {
    await this.#post(`/vault/${pathId(vault, 'vault')}/tags`, { tag }, 'add vault tag', options);
  }

  /**
   * Removes one tag of a vault by key (`DELETE /vault/{id}/tags/{key}`); 404 when the vault has no such tag.
   * @example `await conn.cbr.removeVaultTag(v, 'env')`
   */
  async removeVaultTag(vault: Ref<Vault>, key: string, options: CallOptions = {}): Promise<void> {
    await this.client.request('DELETE', `/vault/${pathId(vault, 'vault')}/tags/${encodeURIComponent(key)}`, {
      ...options,
      operation: 'remove vault tag',
    });
  }

  // ---------------------------------------------------------------- policies

  /** Lists policies. @example `await conn.cbr.policies({ operationType: 'backup' }).toArray()` */
  policies(query: ResourceInput<Policy> = {}, options: ListOptions = {}): Paginator<Policy> {
    return this.#policies.list(query, options);
  }

  /** GET a policy. @example `await conn.cbr.getPolicy(id)` */
  getPolicy(policy: Ref<Policy>, options: CallOptions = {}): Promise<Policy> {
    return this.#policies.get(policy, options);
  }

  /** Finds a policy by id or name (the API has no name filter: listed and matched). @example `await conn.cbr.findPolicy('daily')` */
  findPolicy(nameOrId: string, options: FindOptions = {}): Promise<Policy | undefined> {
    return this.#policies.find(nameOrId, options);
  }

  /** Creates a policy. @example see {@link Policy} */
  createPolicy(attrs: ResourceInput<Policy>, options: CallOptions = {}): Promise<Policy> {
    return this.#policies.create(attrs, options);
  }

  /** Updates a policy (changed fields only). @example `await conn.cbr.updatePolicy(p, { enabled: false })` */
  updatePolicy(policy: Ref<Policy>, attrs: ResourceInput<Policy>, options: CallOptions = {}): Promise<Policy> {
    return this.#policies.update(policy, attrs, options);
  }

  /** Deletes a policy. @example `await conn.cbr.deletePolicy(p)` */
  deletePolicy(policy: Ref<Policy>, options: CbrDeleteOptions = {}): Promise<void> {
    return this.#policies.delete(policy, options);
  }

  // ---------------------------------------------------------------- checkpoints

  /** Creates a checkpoint (backs up the vault's resources). @example see {@link Checkpoint} */
  createCheckpoint(attrs: ResourceInput<Checkpoint>, options: CallOptions = {}): Promise<Checkpoint> {
    return Checkpoint.new(attrs, this.client).create(options);
  }

  /** GET a checkpoint. @example `await conn.cbr.getCheckpoint(id)` */
  getCheckpoint(checkpoint: Ref<Checkpoint>, options: CallOptions = {}): Promise<Checkpoint> {
    return this.#ref(Checkpoint, checkpoint).fetch(options);
  }

  /**
   * Waits for a checkpoint to become `available`; `error` and `error-deleting` are failures (otcextensions ignored
   * the latter). Finite default timeout; returns a result instead of throwing unless `throwOnFailure`.
   *
   * @example
   * ```ts
   * const r = await conn.cbr.waitForCheckpoint(cp, { waitTimeoutMs: 600_000 });
   * ```
   */
  waitForCheckpoint(
    checkpoint: Ref<Checkpoint>,
    options: WaitForStatusOptions = {},
  ): Promise<WaitResult<Checkpoint>> {
    return waitForStatus(this.#ref(Checkpoint, checkpoint), {
      failures: ['error', 'error-deleting'],
      ...options,
    });
  }

  // ---------------------------------------------------------------- backups

  /** Lists backups. @example `await conn.cbr.backups({ vaultId: v.id, status: 'available' }).toArray()` */
  backups(query: ResourceInput<CbrBackup> = {}, options: ListOptions = {}): Paginator<CbrBackup> {
    return this.#backups.list(query, options);
  }

  /** GET a backup. @example `await conn.cbr.getBackup(id)` */
  getBackup(backup: Ref<CbrBackup>, options: CallOptions = {}): Promise<CbrBackup> {
    return this.#backups.get(backup, options);
  }

  /** Finds a backup by id or name. @example `await conn.cbr.findBackup('manualbk_1234')` */
  findBackup(nameOrId: string, options: FindOptions = {}): Promise<CbrBackup | undefined> {
    return this.#backups.find(nameOrId, options);
  }

  /** Deletes a backup. @example `await conn.cbr.deleteBackup(b)` */
  deleteBackup(backup: Ref<CbrBackup>, options: CbrDeleteOptions = {}): Promise<void> {
    return this.#backups.delete(backup, options);
  }

  /**
   * Restores a backup (202, no body): `volumeId` for a disk backup, `serverId` + `mappings` for a server backup.
   *
   * @example
   * ```ts
   * await conn.cbr.restoreData(b, { volumeId: target.id });
   * ```
   */
  async restoreData(
    backup: Ref<CbrBackup>,
    attrs: ResourceInput<Restore>,
    options: CallOptions = {},
  ): Promise<Restore> {
    const backupId = pathId(backup, 'backup');
    const restore = Restore.new(attrs, this.client);
    await restore.create({ ...options, basePath: `/backups/${backupId}/restore` });
    restore.applyServerBody({ backup_id: decodeURIComponent(backupId) });
    return restore;
  }

  // ---------------------------------------------------------------- replication

  /**
   * The regions and where each one's backups can be replicated to (`GET /replication-capabilities`).
   *
   * @example
   * ```ts
   * const regions = await conn.cbr.replicationCapabilities();
   * // [{ name: 'eu-de', replicationDestinations: ['eu-nl'] }, …]
   * ```
   */
  async replicationCapabilities(options: CallOptions = {}): Promise<ReplicationRegion[]> {
    const res = await this.client.request('GET', '/replication-capabilities', { ...options, operation: 'replication capabilities' });
    const regions = isRecord(res.body) && Array.isArray(res.body.regions) ? res.body.regions.filter(isRecord) : [];
    return regions.map((r) => ({
      name: str(r.name),
      replicationDestinations: Array.isArray(r.replication_destinations) ? r.replication_destinations.map(str) : [],
    }));
  }

  /**
   * Replicates a backup into a vault of another region (a durable task): the replica appears in that vault with
   * `imageType: 'replication'` and becomes `available` when the copy is done; only the chunks the destination
   * lacks are copied.
   *
   * @example
   * ```ts
   * const r = await conn.cbr.replicateBackup(b, {
   *   destinationProjectId: projectId, destinationRegion: 'eu-nl', destinationVaultId: remote.id, name: 'offsite' });
   * const [replica] = await conn.cbr.backups({ vaultId: remote.id, imageType: 'replication' }).toArray();
   * ```
   */
  async replicateBackup(
    backup: Ref<CbrBackup>,
    attrs: ReplicationDestination & { name?: string; description?: string },
    options: CallOptions = {},
  ): Promise<BackupReplication> {
    const replicate: Record<string, unknown> = destinationBody(attrs);
    if (attrs.name !== undefined) replicate.name = attrs.name;
    if (attrs.description !== undefined) replicate.description = attrs.description;
    const body = await this.#post(`/backups/${pathId(backup, 'backup')}/replicate`, { replicate }, 'replicate backup', options);
    const r = isRecord(body.replication) ? body.replication : {};
    return {
      backupId: str(r.backup_id),
      destinationProjectId: str(r.destination_project_id),
      destinationRegion: str(r.destination_region),
      destinationVaultId: str(r.destination_vault_id),
      projectId: str(r.project_id),
      providerId: str(r.provider_id),
      replicationRecordId: str(r.replication_record_id),
      sourceRegion: str(r.source_region),
    };
  }

  /**
   * Replicates a vault's restore points (`POST /checkpoints/replicate`): every available backup of `vaultId` not
   * yet replicated to the destination vault.
   *
   * @example
   * ```ts
   * const r = await conn.cbr.replicateCheckpoint({ vaultId: v.id,
   *   destinationProjectId: projectId, destinationRegion: 'eu-nl', destinationVaultId: remote.id });
   * console.log(r.backups.length, 'backups being replicated');
   * ```
   */
  async replicateCheckpoint(
    attrs: ReplicationDestination & { vaultId: string; autoTrigger?: boolean },
    options: CallOptions = {},
  ): Promise<CheckpointReplication> {
    const replicate: Record<string, unknown> = { vault_id: attrs.vaultId, ...destinationBody(attrs) };
    if (attrs.autoTrigger !== undefined) replicate.auto_trigger = attrs.autoTrigger;
    const body = await this.#post('/checkpoints/replicate', { replicate }, 'replicate checkpoint', options);
    const r = isRecord(body.replication) ? body.replication : {};
    const backups = Array.isArray(r.backups) ? r.backups.filter(isRecord) : [];
    return {
      backups: backups.map((b) => ({ backupId: str(b.backup_id), replicationRecordId: str(b.replication_record_id) })),
      destinationProjectId: str(r.destination_project_id),
      destinationRegion: str(r.destination_region),
      destinationVaultId: str(r.destination_vault_id),
      projectId: str(r.project_id),
      providerId: str(r.provider_id),
      sourceRegion: str(r.source_region),
      vaultId: str(r.vault_id),
    };
  }

  // ---------------------------------------------------------------- members

  #membersPath(backup: Ref<CbrBackup>): string {
    return `/backups/${pathId(backup, 'backup')}/members`;
  }

  /** Lists the projects a backup is shared with. @example `await conn.cbr.members(b).toArray()` */
  members(backup: Ref<CbrBackup>, query: ResourceInput<Member> = {}, options: ListOptions = {}): Paginator<Member> {
    return Member.list(this.client, query, { ...options, basePath: this.#membersPath(backup) });
  }

  /** GET one share (`member` = the receiving project id). @example `await conn.cbr.getMember(b, projectId)` */
  getMember(backup: Ref<CbrBackup>, member: Ref<Member> | string, options: CallOptions = {}): Promise<Member> {
    return this.#memberRef(member).fetch({ ...options, basePath: this.#membersPath(backup) });
  }

  /**
   * Shares a backup with projects (1–10); returns the created shares from the response (no extra GETs).
   *
   * @example
   * ```ts
   * const [m] = await conn.cbr.addMembers(b, [otherProjectId]);
   * ```
   */
  async addMembers(backup: Ref<CbrBackup>, projectIds: string[], options: CallOptions = {}): Promise<Member[]> {
    const body = await this.#post(this.#membersPath(backup), { members: projectIds }, 'add members', options);
    const list = Array.isArray(body.members) ? body.members.filter(isRecord) : [];
    return list.map((m) => new Member(m, { synchronized: true, client: this.client }));
  }

  /**
   * The receiving project accepts (with the vault to put it in), rejects or resets a share. The body is the API's
   * unwrapped `{status, vault_id}`, without `id` and without a `vault_id: null`.
   *
   * @example
   * ```ts
   * await other.cbr.updateMember(b, myProjectId, { status: 'accepted', vaultId: v.id });
   * ```
   */
  async updateMember(
    backup: Ref<CbrBackup>,
    member: Ref<Member> | string,
    change: { status: 'accepted' | 'pending' | 'rejected'; vaultId?: string },
    options: CallOptions = {},
  ): Promise<Member> {
    const m = this.#memberRef(member);
    const body: Record<string, unknown> = { status: change.status };
    if (change.vaultId !== undefined) body.vault_id = change.vaultId;
    const res = await this.client.request('PUT', `${this.#membersPath(backup)}/${this.#memberId(m)}`, {
      ...options,
      body,
      operation: 'update member',
    });
    return m.applyResponse(res);
  }

  /** Stops sharing a backup with a project. @example `await conn.cbr.deleteMember(b, projectId)` */
  deleteMember(backup: Ref<CbrBackup>, member: Ref<Member> | string, options: CbrDeleteOptions = {}): Promise<void> {
    const m = this.#memberRef(member);
    return deleteResource(
      new Member({ id: decodeURIComponent(this.#memberId(m)) }, { synchronized: true, client: this.client }),
      { ...options, basePath: this.#membersPath(backup) },
    );
  }

  #memberRef(member: Ref<Member>): Member {
    return this.#ref(Member, member);
  }

  /** The path id of a share is the receiving project id (a listed Member's `id` is the record id). */
  #memberId(m: Member): string {
    return encodeURIComponent(m.destProjectId ?? m.id ?? '');
  }

  // ---------------------------------------------------------------- tasks

  /** Lists operation logs (server-side filters). @example `await conn.cbr.tasks({ operationType: 'backup' }).toArray()` */
  tasks(query: ResourceInput<Task> = {}, options: ListOptions = {}): Paginator<Task> {
    return Task.list(this.client, query, options);
  }

  /** GET an operation log. @example `await conn.cbr.getTask(id)` */
  getTask(task: Ref<Task>, options: CallOptions = {}): Promise<Task> {
    return this.#ref(Task, task).fetch(options);
  }
}

function binding(value: unknown): PolicyBinding {
  const rec = isRecord(value) ? value : {};
  return { vaultId: String(rec.vault_id ?? ''), policyId: String(rec.policy_id ?? '') };
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}
