import { randomUUID } from 'node:crypto';
import { cbrContract } from '@cinderbox/api-schema';
import type { AuthContext } from '../../domain/auth-context.js';
import { type Vault, type VaultResource, type VaultTag, vaultLifecycle, vaultResourceLifecycle } from '../../domain/cbr.js';
import { isLocked } from '../../domain/immutability.js';
import { ensureAllowed } from '../../domain/lifecycle.js';
import { keystoneTime } from '../../domain/time.js';
import type { VaultFilter } from '../../domain/ports/cbr-store.js';
import type { Scope } from '../../domain/ports/metadata-store.js';
import { type CbrContext, DISK_TYPE, SERVER_TYPE, UUID_RE } from './context.js';
import { diskNotFound, invalid, missing, refused, transit, vaultNotFound } from './errors.js';
import type { OperationLogs } from './oplogs.js';
import type { ReplicationService } from './replication.js';
import { type Page, pageOf, type PageRequest } from './paging.js';
import { firstRunAfter, type PolicyService } from './policies.js';

// The contract's limits: it refuses a request over them; these also bound what state adds up to.
export const MAX_VAULT_RESOURCES = cbrContract.MAX_VAULT_RESOURCES;
const MAX_CAPACITY = cbrContract.MAX_VAULT_SIZE;
const MAX_TAGS = cbrContract.MAX_VAULT_TAGS;

export interface ResourceInfo {
  resource: VaultResource;
  /** GB of the volume now (0 when it is gone). */
  size: number;
  backupCount: number;
  backupBytes: number;
}

export interface VaultRecord {
  vault: Vault;
  resources: ResourceInfo[];
  tags: VaultTag[];
  backupPolicyId: string | null;
  usedBytes: number;
}

type ResourceInput = cbrContract.ResourceCreate;
type TagInput = { key: string; value?: string | null };

/**
 * Bodies arrive checked against the contract (`@cinderbox/api-schema`, api/cbr/validation.ts): shapes, types,
 * lengths, enums and required fields are not checked again here. What stays are the rules that need state or the
 * configuration (a disk that exists, a vault's room, a configured backup target, what this cloud supports).
 */
export type VaultCreateInput = cbrContract.VaultCreate;
export type VaultUpdateInput = cbrContract.VaultUpdate;

function tag(t: TagInput): VaultTag {
  return { key: t.key, value: t.value ?? '' };
}

function bindRules(v: { tags?: TagInput[] | undefined }): Record<string, unknown> {
  return v.tags !== undefined ? { tags: v.tags.map(tag) } : {};
}

/**
 * Whether a new disk matches a vault's `bind_rules`. Block storage volumes have no tags of their own, so a
 * volume's metadata stands for its tags: every rule tag must be a metadata key with that value (a rule with an
 * empty value matches the key with any value). A vault without rule tags matches every new disk.
 */
export function matchesBindRules(rules: Record<string, unknown>, metadata: Record<string, string>): boolean {
  const tags = Array.isArray(rules.tags) ? (rules.tags as VaultTag[]) : [];
  return tags.every((t) => Object.hasOwn(metadata, t.key) && (t.value === '' || metadata[t.key] === t.value));
}

/**
 * `auto_expand`: grows a vault whose backups would exceed its capacity to the whole GB count that holds
 * `neededBytes`, up to the largest capacity a vault may have. False (nothing changed) when that is not enough.
 */
export async function expandToFit(c: CbrContext, tx: Scope, v: Vault, neededBytes: number): Promise<boolean> {
  if (!v.auto_expand) return false;
  const size = Math.max(v.size, Math.ceil(neededBytes / c.options.gigabyte));
  if (size > MAX_CAPACITY) return false;
  if (size !== v.size) await c.stores.vaults.update(tx, v.id, { size, updated_at: c.now() });
  return true;
}

export class VaultService {
  constructor(
    private readonly c: CbrContext,
    private readonly policies: PolicyService,
    private readonly oplogs: OperationLogs,
    private readonly replication?: ReplicationService,
  ) {}

  private get vaults() {
    return this.c.stores.vaults;
  }

  async records(list: Vault[], scope: Scope = this.c.root): Promise<VaultRecord[]> {
    if (list.length === 0) return [];
    const ids = list.map((r) => r.id);
    const [resources, tags, binds, usage] = await Promise.all([
      this.vaults.resources(scope, ids),
      this.vaults.tags(scope, ids),
      this.c.stores.policies.bindingsOfVaults(scope, ids),
      this.c.stores.backups.usage(scope, ids),
    ]);
    const sizeOf = await this.c.disks.sizes(
      scope,
      resources.map((r) => r.resource_id),
    );
    return list.map((vault) => {
      const mine = usage.filter((s) => s.vault_id === vault.id);
      return {
        vault,
        resources: resources
          .filter((r) => r.vault_id === vault.id)
          .map((r) => {
            const rs = mine.filter((s) => s.resource_id === r.resource_id);
            return {
              resource: r,
              size: sizeOf.get(r.resource_id) ?? 0,
              backupCount: rs.reduce((a, s) => a + s.count, 0),
              backupBytes: rs.reduce((a, s) => a + s.bytes, 0),
            };
          }),
        tags: tags.filter((t) => t.vault_id === vault.id).map((t) => ({ key: t.key, value: t.value })),
        backupPolicyId: binds.find((b) => b.vault_id === vault.id && b.operation_type === 'backup')?.policy_id ?? null,
        usedBytes: mine.reduce((a, s) => a + s.bytes, 0),
      };
    });
  }

  async record(vault: Vault, scope: Scope = this.c.root): Promise<VaultRecord> {
    return (await this.records([vault], scope))[0]!;
  }

  async get(ctx: AuthContext, id: string): Promise<VaultRecord> {
    return this.record(await this.c.vault(this.c.root, this.c.project(ctx), id));
  }

  async list(ctx: AuthContext, q: Record<string, string | undefined>, page: PageRequest): Promise<Page<VaultRecord>> {
    const projectId = this.c.project(ctx);
    const resourceIds = (q.resource_ids ?? q.resources_ids)?.split(',').filter(Boolean);
    const filter: VaultFilter = {};
    for (const k of ['id', 'name', 'object_type', 'protect_type', 'cloud_type', 'status', 'policy_id'] as const) {
      const v = q[k];
      if (v !== undefined) filter[k] = v;
    }
    if (resourceIds && resourceIds.length > 0) filter.resource_ids = resourceIds;
    const rows = await this.vaults.list(this.c.root, projectId, filter);
    const p = pageOf(rows, page);
    return { ...p, items: await this.records(p.items) };
  }

  /** Checks and inserts resources into `vault` inside `tx`; returns their ids. */
  /**
   * `auto_bind` at volume create, in the volume's own transaction: the project's oldest available disk vault with
   * `auto_bind` whose rules match the volume's metadata (see {@link matchesBindRules}) and that has room takes
   * it. A volume no vault matches is simply left unbound; binding never makes a volume create fail.
   */
  async autoBind(tx: Scope, volume: { id: string; project_id: string; name: string | null }, metadata: Record<string, string>): Promise<string | null> {
    const candidates = (await this.vaults.list(tx, volume.project_id, {}))
      .filter((v) => v.auto_bind && v.status === 'available' && v.object_type === 'disk' && v.protect_type === 'backup' && matchesBindRules(v.bind_rules, metadata))
      .sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id < b.id ? -1 : 1));
    for (const v of candidates) {
      if ((await this.vaults.countResources(tx, v.id)) >= MAX_VAULT_RESOURCES) continue;
      const added = await this.vaults.insertResources(tx, [
        {
          resource_id: volume.id,
          vault_id: v.id,
          project_id: v.project_id,
          type: DISK_TYPE,
          name: volume.name ?? '',
          extra_info: {},
          protect_status: 'available',
          created_at: this.c.now(),
        },
      ]);
      return added.includes(volume.id) ? v.id : null;
    }
    return null;
  }

  private async addResourcesTx(tx: Scope, vault: Vault, raw: ResourceInput[]): Promise<string[]> {
    const seen = new Set<string>();
    const rows: VaultResource[] = [];
    // A replication vault only receives replicas (OTC: it protects no resource of its own).
    if (vault.protect_type === 'replication' && raw.length > 0)
      throw refused('6102', `Vault ${vault.id} is a replication vault: it holds replicas of other vaults' backups, not resources.`);
    for (const r of raw) {
      if (r.type === SERVER_TYPE)
        throw refused('6102', 'Servers (OS::Nova::Server) cannot be protected: this cloud has no compute service. Use disk vaults.');
      if (r.type !== DISK_TYPE) throw refused('6102', `Resource type ${r.type} is not supported by a ${vault.object_type} vault.`);
      if (seen.has(r.id)) throw refused('6104', `Resource ${r.id} is listed more than once.`);
      seen.add(r.id);
      const name = r.name ?? null;
      const extra = r.extra_info ?? {};
      const volume = UUID_RE.test(r.id) ? await this.c.disks.get(tx, r.id) : undefined;
      if (!volume || volume.project_id !== vault.project_id) throw diskNotFound(r.id);
      const other = await this.vaults.resource(tx, r.id);
      if (other) throw refused('6103', `Resource ${r.id} is already protected by vault ${other.vault_id}.`);
      rows.push({
        resource_id: r.id,
        vault_id: vault.id,
        project_id: vault.project_id,
        type: DISK_TYPE,
        name: name ?? volume.name ?? '',
        extra_info: extra,
        protect_status: 'available',
        created_at: this.c.now(),
      });
    }
    if ((await this.vaults.countResources(tx, vault.id)) + rows.length > MAX_VAULT_RESOURCES)
      throw refused('6100', `A vault holds at most ${MAX_VAULT_RESOURCES} resources.`);
    const added = await this.vaults.insertResources(tx, rows);
    const lost = rows.find((r) => !added.includes(r.resource_id));
    if (lost) {
      const other = await this.vaults.resource(tx, lost.resource_id);
      throw refused('6103', `Resource ${lost.resource_id} is already protected by vault ${other?.vault_id ?? 'another vault'}.`);
    }
    return rows.map((r) => r.resource_id);
  }

  private async bindTx(tx: Scope, vault: Vault, policyId: string, destinationVaultId?: string): Promise<void> {
    const p = await this.policies.row(tx, vault.project_id, policyId);
    // A replication policy goes on the backup vault whose backups it copies, with the vault they go to.
    const replicationOfBackups = p.operation_type === 'replication' && vault.protect_type === 'backup' && this.replication;
    // A replication vault is only ever a destination: it has nothing to back up, and replicas are not replicated.
    if (vault.protect_type === 'replication')
      throw refused('6127', `Vault ${vault.id} is a replication vault: policies go on the backup vault whose backups are replicated to it.`);
    if (p.operation_type !== vault.protect_type && !replicationOfBackups)
      throw refused('6127', `A ${p.operation_type} policy cannot be applied to a ${vault.protect_type} vault.`);
    const destination = replicationOfBackups
      ? await this.replication!.bindingDestination(tx, vault.project_id, p.operation_definition, vault, destinationVaultId)
      : null;
    // One policy per operation type and vault: binding another backup policy replaces the previous one.
    await this.c.stores.policies.bind(tx, {
      vault_id: vault.id,
      policy_id: p.id,
      project_id: vault.project_id,
      operation_type: p.operation_type,
      next_run_at: firstRunAfter(p, this.c.nowDate()),
      created_at: this.c.now(),
      destination_vault_id: destination,
    });
  }

  async create(ctx: AuthContext, input: VaultCreateInput): Promise<VaultRecord> {
    const projectId = this.c.project(ctx);
    const name = input.name;
    const description = input.description ?? '';
    const b = input.billing;
    const objectType = b.object_type;
    if (objectType === 'server')
      throw refused('6116', 'Object type server is not supported: this cloud has no compute service. Use object_type disk.');
    if (objectType !== 'disk') throw refused('6116', `Object type ${objectType} is not supported (use disk).`);
    const protectType = b.protect_type ?? b.operation_type;
    if (protectType === 'replication') {
      if (!this.replication?.enabled) throw refused('6116', 'Replication vaults are not supported: this cloud has a single region (serve --region NAME=TARGET).');
      if (input.auto_bind) throw refused('6116', 'A replication vault cannot auto-bind resources: it holds replicas only.');
    } else if (protectType !== 'backup') throw refused('6116', 'billing.protect_type must be backup or replication.');
    const consistent = b.consistent_level ?? 'crash_consistent';
    if (consistent !== 'crash_consistent')
      throw refused('6116', 'Only crash_consistent backups are supported for disks.');
    const size = b.size;
    const tags = (input.tags ?? []).map(tag);
    // A set rule JSON Schema cannot state (uniqueItems compares whole tags, values included).
    if (new Set(tags.map((t) => t.key)).size !== tags.length) throw invalid('Tag keys must be unique.');
    let target = this.c.targets.defaultName;
    if (input.backup_target !== undefined && input.backup_target !== null) {
      target = input.backup_target;
      if (!this.c.targets.info(target)) {
        const known = this.c.targets.list().map((t) => t.name).join(', ');
        throw invalid(`backup_target ${JSON.stringify(target)} is not a configured backup target (configured: ${known}).`);
      }
    }
    const lockDays = input.lock_days ?? null;
    const now = this.c.now();
    const row: Vault = {
      id: randomUUID(),
      project_id: projectId,
      user_id: ctx.userId,
      name,
      description,
      status: 'available',
      object_type: 'disk',
      protect_type: protectType,
      consistent_level: 'crash_consistent',
      cloud_type: 'public',
      charging_mode: 'post_paid',
      size,
      auto_bind: input.auto_bind ?? false,
      bind_rules: input.bind_rules ? bindRules(input.bind_rules) : {},
      auto_expand: input.auto_expand ?? false,
      locked: input.locked ?? false,
      smn_notify: true,
      threshold: 80,
      created_at: now,
      updated_at: null,
      backup_target: target,
      lock_days: lockDays,
    };
    await this.c.metadata.transaction(async (tx) => {
      await this.vaults.insert(tx, row);
      await this.addResourcesTx(tx, row, input.resources);
      await this.vaults.putTags(tx, row.id, tags);
      if (input.backup_policy_id !== undefined && input.backup_policy_id !== null)
        await this.bindTx(tx, row, input.backup_policy_id);
    });
    return this.get(ctx, row.id);
  }

  async update(ctx: AuthContext, id: string, input: VaultUpdateInput): Promise<VaultRecord> {
    const projectId = this.c.project(ctx);
    await this.c.metadata.transaction(async (tx) => {
      const v = await this.c.vault(tx, projectId, id);
      ensureAllowed(vaultLifecycle, 'update', v);
      const set: Partial<Vault> = { updated_at: this.c.now() };
      if (input.name !== undefined) set.name = input.name;
      if (input.billing !== undefined) {
        if (input.billing.size !== undefined) {
          const size = input.billing.size;
          if (size * this.c.options.gigabyte < (await this.c.usedBytes(tx, v.id)))
            throw refused('6101', `The vault already stores more than ${size} GB; choose a larger capacity.`);
          set.size = size;
        }
      }
      if (input.auto_bind === true && v.protect_type === 'replication')
        throw refused('6116', 'A replication vault cannot auto-bind resources: it holds replicas only.');
      if (input.auto_bind !== undefined) set.auto_bind = input.auto_bind;
      if (input.bind_rules !== undefined) set.bind_rules = bindRules(input.bind_rules);
      if (input.auto_expand !== undefined) set.auto_expand = input.auto_expand;
      if (input.smn_notify !== undefined) set.smn_notify = input.smn_notify;
      if (input.threshold !== undefined) set.threshold = input.threshold;
      if (input.locked !== undefined) {
        const locked = input.locked;
        if (!locked && v.locked) throw refused('6110', 'A locked vault cannot be unlocked.');
        set.locked = locked;
      }
      await this.vaults.update(tx, id, set);
    });
    return this.get(ctx, id);
  }

  /** Deletes the vault and all its backups (a task removes the manifests, then the rows). */
  async delete(ctx: AuthContext, id: string): Promise<void> {
    const projectId = this.c.project(ctx);
    await this.c.inTx(async (tx, enqueue) => {
      const v = await this.c.vault(tx, projectId, id);
      if (v.locked) throw refused('6111', 'A locked vault cannot be deleted.');
      ensureAllowed(vaultLifecycle, 'delete', v);
      // Moved first, checked after: the guarded update waits for a checkpoint or restore holding the vault row,
      // and the check then sees the backups it started (the transaction rolls back on the refusal).
      await transit(vaultLifecycle, 'delete', id, vaultNotFound(id), (from, to) =>
        this.vaults.transition(tx, id, from, to, { updated_at: this.c.now() }),
      );
      if (await this.c.stores.backups.busyInVault(tx, id))
        throw refused('6111', 'The vault cannot be deleted while backups in it are being made, restored or deleted.');
      const now = this.c.now();
      const lockedUntil = (await this.c.stores.backups.ofVault(tx, id)).reduce<string | null>(
        (max, b) => (isLocked(b, now) && (max === null || b.locked_until! > max) ? b.locked_until : max),
        null,
      );
      if (lockedUntil !== null)
        throw refused('6111', `The vault holds immutable backups until ${keystoneTime(lockedUntil)}; it cannot be deleted before their retention ends.`);
      const logId = await this.oplogs.record(tx, {
        projectId,
        operationType: 'vault_delete',
        status: 'waiting',
        vaultId: v.id,
        vaultName: v.name,
        extra: {},
      });
      await enqueue('cbr.vault.delete', 'cbr_vault', id, { logId });
    });
  }

  async addResources(ctx: AuthContext, id: string, resources: ResourceInput[]): Promise<string[]> {
    const projectId = this.c.project(ctx);
    return this.c.metadata.transaction(async (tx) => {
      const v = await this.c.vault(tx, projectId, id);
      ensureAllowed(vaultLifecycle, 'modify', v);
      return this.addResourcesTx(tx, v, resources);
    });
  }

  private async inVault(tx: Scope, vaultId: string, ids: string[]): Promise<VaultResource[]> {
    const rows = (await this.vaults.resources(tx, [vaultId])).filter((r) => ids.includes(r.resource_id));
    for (const id of ids) if (!rows.some((r) => r.resource_id === id)) throw refused('6135', `Resource ${id} is not in vault ${vaultId}.`);
    for (const r of rows) ensureAllowed(vaultResourceLifecycle, 'detach', { id: r.resource_id, status: r.protect_status });
    return rows;
  }

  /** Backups of removed resources stay in the vault (they are deleted with it or one by one). */
  async removeResources(ctx: AuthContext, id: string, ids: string[]): Promise<string[]> {
    const projectId = this.c.project(ctx);
    return this.c.metadata.transaction(async (tx) => {
      await this.c.vault(tx, projectId, id);
      await this.inVault(tx, id, ids);
      await this.vaults.removeResources(tx, id, ids);
      return ids;
    });
  }

  /** Moves resources and their backups (manifests stay where they are: a backup row keeps its locator). */
  async migrateResources(ctx: AuthContext, id: string, ids: string[], destinationId: string): Promise<string[]> {
    const projectId = this.c.project(ctx);
    return this.c.metadata.transaction(async (tx) => {
      await this.c.vault(tx, projectId, id);
      const dest = await this.c.vault(tx, projectId, destinationId);
      if (dest.id === id) throw invalid('destination_vault_id must differ from the source vault.');
      ensureAllowed(vaultLifecycle, 'modify', dest);
      await this.inVault(tx, id, ids);
      if ((await this.vaults.countResources(tx, dest.id)) + ids.length > MAX_VAULT_RESOURCES)
        throw refused('6100', `A vault holds at most ${MAX_VAULT_RESOURCES} resources.`);
      await this.vaults.moveResources(tx, id, dest.id, ids);
      await this.c.stores.backups.moveToVault(tx, id, dest.id, ids, this.c.now());
      return ids;
    });
  }

  async associatePolicy(ctx: AuthContext, id: string, policyId: string, destinationVaultId?: string): Promise<void> {
    const projectId = this.c.project(ctx);
    await this.c.metadata.transaction(async (tx) => {
      const v = await this.c.vault(tx, projectId, id);
      ensureAllowed(vaultLifecycle, 'modify', v);
      await this.bindTx(tx, v, policyId, destinationVaultId);
    });
  }

  async dissociatePolicy(ctx: AuthContext, id: string, policyId: string): Promise<void> {
    const projectId = this.c.project(ctx);
    await this.c.metadata.transaction(async (tx) => {
      await this.c.vault(tx, projectId, id);
      await this.policies.row(tx, projectId, policyId);
      if (!(await this.c.stores.policies.unbind(tx, id, policyId)))
        throw missing('6002', `Policy ${policyId} is not applied to vault ${id}.`);
    });
  }

  // --- tags (the /vault/{id}/tags family) ---

  async tags(ctx: AuthContext, id: string): Promise<{ key: string; value: string }[]> {
    return (await this.get(ctx, id)).tags;
  }

  async setTags(ctx: AuthContext, id: string, action: 'create' | 'delete', raw: TagInput[]): Promise<void> {
    const projectId = this.c.project(ctx);
    const tags = raw.map(tag);
    await this.c.metadata.transaction(async (tx) => {
      await this.c.vault(tx, projectId, id);
      for (const t of tags) {
        if (action === 'delete') {
          // A delete without a value (or with an empty one) removes the key whatever its value.
          await this.vaults.deleteTag(tx, id, t.key, t.value !== '' ? t.value : undefined);
          continue;
        }
        await this.vaults.putTags(tx, id, [t]);
      }
      if ((await this.vaults.countTags(tx, id)) > MAX_TAGS) throw invalid(`A vault has at most ${MAX_TAGS} tags.`);
    });
  }

  async deleteTag(ctx: AuthContext, id: string, key: string): Promise<void> {
    const projectId = this.c.project(ctx);
    await this.c.metadata.transaction(async (tx) => {
      await this.c.vault(tx, projectId, id);
      if ((await this.vaults.deleteTag(tx, id, key)) === 0) throw missing('6105', `Vault ${id} has no tag ${key}.`);
    });
  }

  async projectTags(ctx: AuthContext): Promise<{ key: string; values: string[] }[]> {
    const projectId = this.c.project(ctx);
    const rows = await this.vaults.projectTags(this.c.root, projectId);
    const out = new Map<string, Set<string>>();
    for (const r of rows) {
      if (!out.has(r.key)) out.set(r.key, new Set());
      out.get(r.key)!.add(r.value);
    }
    return [...out].map(([key, values]) => ({ key, values: [...values] }));
  }
}

