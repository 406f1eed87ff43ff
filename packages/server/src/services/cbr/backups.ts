import { randomUUID } from 'node:crypto';
import type { cbrContract } from '@cinderbox/api-schema';
import type { AuthContext } from '../../domain/auth-context.js';
import {
  type CbrBackup,
  cbrBackupLifecycle,
  cbrDiskLifecycle,
  type Member,
  memberAction,
  memberLifecycle,
  vaultLifecycle,
  vaultResourceLifecycle,
} from '../../domain/cbr.js';
import { ensureAllowed, fromStatuses, refusal } from '../../domain/lifecycle.js';
import type { BackupSortKey } from '../../domain/ports/cbr-store.js';
import type { Scope } from '../../domain/ports/metadata-store.js';
import { type CbrContext, queryTime, UUID_RE } from './context.js';
import { startDeleteTx } from './deletion.js';
import { backupNotFound, diskNotFound, invalid, memberNotFound, refused, transit, vaultNotFound } from './errors.js';
import type { OperationLogs } from './oplogs.js';
import { type Page, pageOf, type PageRequest } from './paging.js';
import type { CbrRestorePayload } from './tasks.js';

/** A backup's share with another project, as the member API shows it. */
export type MemberRecord = Member;

export interface BackupView {
  backup: CbrBackup;
  /** The caller's share record when the backup belongs to another project. */
  membership: Member | null;
  /** Replicas copied from it (its `replication_records`); absent where not looked up. */
  replicas?: CbrBackup[];
}


type Query = Record<string, string | string[] | undefined>;

function one(q: Query, k: string): string | undefined {
  const v = q[k];
  return Array.isArray(v) ? v[v.length - 1] : v;
}

function many(q: Query, k: string): string[] {
  const v = q[k];
  return v === undefined ? [] : Array.isArray(v) ? v : v.split(',');
}

/** `key[:asc|desc],…`, its keys and directions already checked against the contract's pattern. */
function parseSort(s: string | undefined): { key: BackupSortKey; dir: 'asc' | 'desc' }[] {
  if (s === undefined || s === '') return [{ key: 'created_at', dir: 'desc' }];
  return s.split(',').map((part) => {
    const [key, dir = 'desc'] = part.split(':');
    return { key: key as BackupSortKey, dir: dir as 'asc' | 'desc' };
  });
}

/** CBR backups: their own records (never Cinder's `backups` rows), listed, restored, deleted and shared here. */
export class CbrBackupService {
  constructor(
    private readonly c: CbrContext,
    private readonly oplogs: OperationLogs,
  ) {}

  private get backups() {
    return this.c.stores.backups;
  }

  private get shares() {
    return this.c.stores.members;
  }

  private async ownRow(scope: Scope, projectId: string, id: string): Promise<CbrBackup> {
    const b = UUID_RE.test(id) ? await this.backups.get(scope, projectId, id) : undefined;
    if (!b) throw backupNotFound(id);
    return b;
  }

  /** Own backups, and (with disk sharing on) backups shared with the caller's project that it has not rejected. */
  private async visible(scope: Scope, projectId: string, id: string): Promise<BackupView> {
    const b = UUID_RE.test(id) ? await this.backups.byId(scope, id) : undefined;
    if (b && b.project_id === projectId) return { backup: b, membership: null };
    if (b && this.c.options.shareDiskBackups) {
      const m = await this.shares.of(scope, id, projectId);
      if (m && m.status !== 'rejected') return { backup: b, membership: m };
    }
    throw backupNotFound(id);
  }

  async get(ctx: AuthContext, id: string): Promise<BackupView> {
    const v = await this.visible(this.c.root, this.c.project(ctx), id);
    return v.membership ? v : { ...v, replicas: await this.backups.replicasOf(this.c.root, [v.backup.id]) };
  }

  async list(ctx: AuthContext, q: Query, page: PageRequest): Promise<Page<BackupView>> {
    const projectId = this.c.project(ctx);
    // Enumerations, patterns and ranges of the query are the contract's (api/cbr/validation.ts).
    const ownType = one(q, 'own_type') ?? 'private';
    const memberStatus = one(q, 'member_status');
    const sort = parseSort(one(q, 'sort'));
    const shared = this.c.options.shareDiskBackups && ownType !== 'private';
    const equal: Record<string, string> = {};
    for (const k of ['checkpoint_id', 'resource_id', 'resource_name', 'resource_type', 'resource_az', 'vault_id', 'name', 'image_type'] as const) {
      const v = one(q, k);
      if (v !== undefined) equal[k] = v;
    }
    const statuses = many(q, 'status');
    const start = one(q, 'start_time');
    const end = one(q, 'end_time');
    const usedPercent = one(q, 'used_percent');
    const minShare = usedPercent !== undefined ? Number(usedPercent) / 100 : null;
    const dec = one(q, 'dec');
    let rows = await this.backups.list(this.c.root, {
      projectId,
      own: shared ? (ownType as 'private' | 'shared' | 'all_granted') : 'private',
      ...(memberStatus !== undefined ? { member_status: memberStatus } : {}),
      equal,
      statuses,
      ...(start !== undefined ? { created_from: queryTime(start, 'start_time') } : {}),
      ...(end !== undefined ? { created_to: queryTime(end, 'end_time') } : {}),
      // Disk backups have no parent (only a server backup's per-disk children do), and none is a DEC backup.
      nothing: one(q, 'parent_id') !== undefined || (dec !== undefined && dec !== 'false'),
      sort,
    });
    if (minShare !== null) {
      const vaults = await this.c.stores.vaults.list(this.c.root, projectId, {});
      const cap = new Map(vaults.map((v) => [v.id, this.c.capacityBytes(v)]));
      rows = rows.filter((r) => r.backup.stored_bytes >= (cap.get(r.backup.vault_id) ?? Infinity) * minShare!);
    }
    const p = pageOf(
      rows.map((r) => ({ id: r.backup.id, backup: r.backup, membership: r.membership })),
      page,
    );
    const own = p.items.filter((i) => i.membership === null).map((i) => i.backup.id);
    const replicas = await this.backups.replicasOf(this.c.root, own);
    return {
      ...p,
      items: p.items.map(({ backup, membership }) =>
        membership ? { backup, membership } : { backup, membership, replicas: replicas.filter((r) => r.source_backup_id === backup.id) },
      ),
    };
  }

  async delete(ctx: AuthContext, id: string): Promise<void> {
    const projectId = this.c.project(ctx);
    await this.c.inTx(async (tx, enqueue) => {
      const b = await this.ownRow(tx, projectId, id);
      const vault = await this.c.stores.vaults.byId(tx, b.vault_id);
      if (vault?.locked && b.auto_trigger) throw refused('6220', 'Automatic backups in a locked vault cannot be deleted.');
      await startDeleteTx(this.c, this.oplogs, tx, enqueue, b);
    });
  }

  /**
   * Restores onto an existing volume: the original disk by default, or `volume_id`. The target must be available
   * and at least the backup's size; it goes through `restoring-backup` to `available`, as Cinder's restore does.
   */
  async restore(ctx: AuthContext, id: string, input: cbrContract.BackupRestore): Promise<void> {
    const projectId = this.c.project(ctx);
    const target = input.volume_id ?? input.resource_id;
    await this.c.inTx(async (tx, enqueue) => {
      const { backup: b, membership } = await this.visible(tx, projectId, id);
      if (membership && membership.status !== 'accepted')
        throw refused('2005', 'Accept the shared backup before restoring it.');
      if (membership && (target === undefined || target === null))
        throw invalid('volume_id is required to restore a backup shared from another project.');
      ensureAllowed(cbrBackupLifecycle, 'restore', b);
      if (b.locator === null) throw refused('2005', `Backup ${id} is ${b.status}; only available backups can be restored.`);
      const vault = await this.c.stores.vaults.byId(tx, b.vault_id);
      if (vault) {
        ensureAllowed(vaultLifecycle, 'restoreFrom', vault);
        // Holds the vault row against a racing vault delete, as a checkpoint does.
        await transit(vaultLifecycle, 'restoreFrom', vault.id, vaultNotFound(vault.id), (from, to) =>
          this.c.stores.vaults.transition(tx, vault.id, from, to, { updated_at: vault.updated_at }),
        );
      }
      const volumeId = target ?? b.resource_id;
      const v = UUID_RE.test(volumeId) ? await this.c.disks.get(tx, volumeId) : undefined;
      if (!v || v.project_id !== projectId) throw diskNotFound(volumeId);
      ensureAllowed(cbrDiskLifecycle, 'restoreTarget', v);
      if (v.size < b.resource_size)
        throw refused('2001', `Disk ${v.id} (${v.size} GB) is smaller than the backup (${b.resource_size} GB).`);
      const resource = await this.c.stores.vaults.resource(tx, v.id);
      if (resource) ensureAllowed(vaultResourceLifecycle, 'restore', { id: v.id, status: resource.protect_status });
      await transit(cbrDiskLifecycle, 'restoreTarget', v.id, diskNotFound(v.id), (from, to) =>
        this.c.disks.transition(tx, v.id, from, to, { previous_status: 'available' }),
      );
      await transit(cbrBackupLifecycle, 'restore', b.id, backupNotFound(b.id), (from, to) =>
        this.backups.transition(tx, b.id, from, to, { updated_at: this.c.now() }),
      );
      if (resource && !(await this.c.stores.vaults.setProtectStatus(tx, v.id, fromStatuses(vaultResourceLifecycle, 'restore'), 'restoring'))) {
        const now = await this.c.stores.vaults.resource(tx, v.id);
        throw refusal(vaultResourceLifecycle, 'restore', { id: v.id, status: now?.protect_status ?? 'removing' });
      }
      const logId = await this.oplogs.record(tx, {
        projectId,
        operationType: 'restore',
        status: 'waiting',
        checkpointId: b.checkpoint_id,
        vaultId: membership ? null : (vault?.id ?? null),
        vaultName: membership ? null : (vault?.name ?? null),
        resource: { id: v.id, name: v.name ?? '', type: b.resource_type },
        extra: {
          restore: { backup_id: b.id, backup_name: b.name, target_resource_id: v.id, target_resource_name: v.name ?? '' },
        },
      });
      const payload: CbrRestorePayload = { logId, volumeId: v.id, resourceId: resource ? v.id : null };
      await enqueue('cbr.restore', 'cbr_backup', b.id, payload);
    });
  }

  // --- share members ---

  private sharingAllowed(b: CbrBackup): void {
    if (!this.c.options.shareDiskBackups)
      throw refused('6700', 'Only server backups can be shared; disk backup sharing is disabled on this cloud.');
    ensureAllowed(cbrBackupLifecycle, 'share', b);
  }

  async addMembers(ctx: AuthContext, id: string, raw: string[]): Promise<Member[]> {
    const projectId = this.c.project(ctx);
    return this.c.metadata.transaction(async (tx) => {
      const b = await this.ownRow(tx, projectId, id);
      this.sharingAllowed(b);
      const out: Member[] = [];
      for (const dest of raw) {
        if (dest === projectId) throw refused('6704', `${dest} is not a project this backup can be shared with.`);
        if (!(await this.shares.projectExists(tx, dest))) throw refused('6704', `Project ${dest} does not exist.`);
        const dup = await this.shares.of(tx, id, dest);
        if (dup || out.some((m) => m.dest_project_id === dest)) throw refused('6703', `The backup is already shared with project ${dest}.`);
        const m: Member = {
          id: randomUUID(),
          backup_id: id,
          project_id: projectId,
          dest_project_id: dest,
          status: 'pending',
          vault_id: null,
          image_id: null,
          created_at: this.c.now(),
          updated_at: null,
        };
        if (!(await this.shares.insert(tx, m))) throw refused('6703', `The backup is already shared with project ${dest}.`);
        out.push(m);
      }
      return out;
    });
  }

  async members(ctx: AuthContext, id: string, q: Query, page: PageRequest): Promise<Page<Member>> {
    const projectId = this.c.project(ctx);
    const { backup: b, membership } = await this.visible(this.c.root, projectId, id);
    // Both a member's own filter and the query's dest_project_id apply: a member sees its own share only.
    const filters: { dest_project_id?: string; status?: string; vault_id?: string; image_id?: string } = {};
    for (const k of ['dest_project_id', 'status', 'vault_id', 'image_id'] as const) {
      const v = one(q, k);
      if (v !== undefined) filters[k] = v;
    }
    const sort = one(q, 'sort');
    const dir = sort?.endsWith(':asc') ? 'asc' : 'desc';
    let rows = await this.shares.list(this.c.root, b.id, { ...filters, dir });
    if (membership) rows = rows.filter((m) => m.dest_project_id === projectId);
    return pageOf(rows, page);
  }

  private async memberRow(scope: Scope, backupId: string, memberId: string): Promise<Member> {
    // The path names the receiving project; the record id is accepted too (openstacksdk may send it).
    const m = await this.shares.get(scope, backupId, memberId);
    if (!m) throw memberNotFound(memberId);
    return m;
  }

  async member(ctx: AuthContext, id: string, memberId: string): Promise<Member> {
    const projectId = this.c.project(ctx);
    const { backup: b, membership } = await this.visible(this.c.root, projectId, id);
    const m = await this.memberRow(this.c.root, b.id, memberId);
    if (membership && m.dest_project_id !== projectId) throw memberNotFound(memberId);
    return m;
  }

  /** Only the receiving project answers a share: accepted (into one of its disk vaults), rejected or pending. */
  async updateMember(ctx: AuthContext, id: string, memberId: string, input: cbrContract.MemberUpdate): Promise<Member> {
    const projectId = this.c.project(ctx);
    const action = memberAction(input.status);
    return this.c.metadata.transaction(async (tx) => {
      const b = UUID_RE.test(id) ? await this.backups.byId(tx, id) : undefined;
      if (!b || !this.c.options.shareDiskBackups) throw backupNotFound(id);
      const m = await this.memberRow(tx, b.id, memberId);
      if (m.dest_project_id !== projectId) {
        if (b.project_id === projectId) throw refused('6705', 'Only the receiving project can accept or reject a share.');
        throw backupNotFound(id);
      }
      ensureAllowed(memberLifecycle, action, { id: m.id, status: m.status });
      let vaultId: string | null = m.vault_id;
      if (action === 'accept') {
        // The contract requires it with `accepted`.
        const v = await this.c.vault(tx, projectId, input.vault_id!);
        if (v.object_type !== 'disk') throw refused('6102', 'A shared disk backup is accepted into a disk vault.');
        vaultId = v.id;
      }
      if (action === 'keepPending') return m;
      return transit(memberLifecycle, action, m.id, memberNotFound(memberId), (from, to) =>
        this.shares.transition(tx, m.id, from, to, { vault_id: vaultId, updated_at: this.c.now() }),
      );
    });
  }

  async deleteMember(ctx: AuthContext, id: string, memberId: string): Promise<void> {
    const projectId = this.c.project(ctx);
    await this.c.metadata.transaction(async (tx) => {
      const b = await this.ownRow(tx, projectId, id);
      const m = await this.memberRow(tx, b.id, memberId);
      await this.shares.remove(tx, m.id);
    });
  }
}
