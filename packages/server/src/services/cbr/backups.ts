import { randomUUID } from 'node:crypto';
import type { AuthContext } from '../../domain/auth-context.js';
import type { Executor } from '../../store/database.js';
import type { CbrBackupTable, CbrMemberTable } from '../../store/schema.js';
import { UUID_RE } from '../block-storage/core.js';
import { type CbrContext, queryTime } from './context.js';
import { startDeleteTx } from './deletion.js';
import { backupNotFound, diskNotFound, invalid, memberNotFound, refused } from './errors.js';
import type { OperationLogs } from './oplogs.js';
import { type Page, pageOf, type PageRequest } from './paging.js';
import type { CbrRestorePayload } from './tasks.js';

/** A backup's share with another project, as the member API shows it. */
export type MemberRecord = CbrMemberTable;

export interface BackupView {
  row: CbrBackupTable;
  /** The caller's share record when the backup belongs to another project. */
  membership: CbrMemberTable | null;
}

const STATUSES = ['available', 'protecting', 'deleting', 'restoring', 'error', 'waiting_protect', 'waiting_delete', 'waiting_restore'];
const SORT_KEYS = ['created_at', 'updated_at', 'name', 'status', 'protected_at', 'id'] as const;
const MEMBER_STATUSES = ['pending', 'accepted', 'rejected'];
const PROJECT_RE = /^[0-9a-f]{32}$/;

type Query = Record<string, string | string[] | undefined>;

function one(q: Query, k: string): string | undefined {
  const v = q[k];
  return Array.isArray(v) ? v[v.length - 1] : v;
}

function many(q: Query, k: string): string[] {
  const v = q[k];
  return v === undefined ? [] : Array.isArray(v) ? v : v.split(',');
}

function parseSort(s: string | undefined): { key: (typeof SORT_KEYS)[number]; dir: 'asc' | 'desc' }[] {
  if (s === undefined || s === '') return [{ key: 'created_at', dir: 'desc' }];
  if (s.length > 255) throw invalid('sort is at most 255 characters.');
  return s.split(',').map((part) => {
    const [key, dir = 'desc'] = part.split(':');
    if (!SORT_KEYS.includes(key as (typeof SORT_KEYS)[number])) throw invalid(`Invalid sort key ${key}; use ${SORT_KEYS.join(', ')}.`);
    if (dir !== 'asc' && dir !== 'desc') throw invalid(`Invalid sort direction ${dir}; use asc or desc.`);
    return { key: key as (typeof SORT_KEYS)[number], dir };
  });
}

/** CBR backups: their own records (never Cinder's `backups` rows), listed, restored, deleted and shared here. */
export class CbrBackupService {
  constructor(
    private readonly c: CbrContext,
    private readonly oplogs: OperationLogs,
  ) {}

  private async ownRow(exec: Executor, projectId: string, id: string): Promise<CbrBackupTable> {
    const b = UUID_RE.test(id)
      ? await exec.selectFrom('cbr_backups').selectAll().where('id', '=', id).where('project_id', '=', projectId).executeTakeFirst()
      : undefined;
    if (!b) throw backupNotFound(id);
    return b;
  }

  /** Own backups, and (with disk sharing on) backups shared with the caller's project that it has not rejected. */
  private async visible(exec: Executor, projectId: string, id: string): Promise<BackupView> {
    const b = UUID_RE.test(id) ? await exec.selectFrom('cbr_backups').selectAll().where('id', '=', id).executeTakeFirst() : undefined;
    if (b && b.project_id === projectId) return { row: b, membership: null };
    if (b && this.c.options.shareDiskBackups) {
      const m = await exec
        .selectFrom('cbr_members')
        .selectAll()
        .where('backup_id', '=', id)
        .where('dest_project_id', '=', projectId)
        .executeTakeFirst();
      if (m && m.status !== 'rejected') return { row: b, membership: m };
    }
    throw backupNotFound(id);
  }

  async get(ctx: AuthContext, id: string): Promise<BackupView> {
    return this.visible(this.c.db, this.c.project(ctx), id);
  }

  async list(ctx: AuthContext, q: Query, page: PageRequest): Promise<Page<BackupView>> {
    const projectId = this.c.project(ctx);
    const ownType = one(q, 'own_type') ?? 'private';
    if (!['private', 'shared', 'all_granted'].includes(ownType)) throw invalid('own_type must be private, shared or all_granted.');
    const memberStatus = one(q, 'member_status');
    if (memberStatus !== undefined && !MEMBER_STATUSES.includes(memberStatus))
      throw invalid('member_status must be pending, accepted or rejected.');
    const sort = parseSort(one(q, 'sort'));
    const shared = this.c.options.shareDiskBackups && ownType !== 'private';
    let query = this.c.db
      .selectFrom('cbr_backups')
      .leftJoin('cbr_members', (j) =>
        j.onRef('cbr_members.backup_id', '=', 'cbr_backups.id').on('cbr_members.dest_project_id', '=', projectId),
      )
      .selectAll('cbr_backups')
      .select([
        'cbr_members.id as m_id',
        'cbr_members.status as m_status',
        'cbr_members.vault_id as m_vault_id',
        'cbr_members.created_at as m_created_at',
        'cbr_members.updated_at as m_updated_at',
        'cbr_members.project_id as m_project_id',
      ]);
    query = query.where((eb) => {
      const own = eb('cbr_backups.project_id', '=', projectId);
      if (!shared) return own;
      const theirs = memberStatus !== undefined ? eb('cbr_members.status', '=', memberStatus) : eb('cbr_members.status', '<>', 'rejected');
      if (ownType === 'shared') return theirs;
      return eb.or([own, eb('cbr_members.status', '=', 'accepted')]);
    });
    if (!shared && memberStatus !== undefined) {
      query = query.where((eb) =>
        eb.exists(
          eb
            .selectFrom('cbr_members as mm')
            .select('mm.id')
            .whereRef('mm.backup_id', '=', 'cbr_backups.id')
            .where('mm.status', '=', memberStatus),
        ),
      );
    }
    for (const k of ['checkpoint_id', 'resource_id', 'resource_name', 'resource_type', 'resource_az', 'vault_id', 'name', 'image_type'] as const) {
      const v = one(q, k);
      if (v !== undefined) query = query.where(`cbr_backups.${k}`, '=', v);
    }
    const parent = one(q, 'parent_id');
    // Disk backups have no parent (only a server backup's per-disk children do).
    if (parent !== undefined) query = query.where('cbr_backups.id', '=', '00000000-0000-0000-0000-000000000000');
    const statuses = many(q, 'status');
    for (const s of statuses) if (!STATUSES.includes(s)) throw invalid(`status ${s} is invalid.`);
    if (statuses.length > 0) query = query.where('cbr_backups.status', 'in', statuses);
    const start = one(q, 'start_time');
    if (start !== undefined) query = query.where('cbr_backups.created_at', '>=', queryTime(start, 'start_time'));
    const end = one(q, 'end_time');
    if (end !== undefined) query = query.where('cbr_backups.created_at', '<=', queryTime(end, 'end_time'));
    const usedPercent = one(q, 'used_percent');
    let minShare: number | null = null;
    if (usedPercent !== undefined) {
      if (!/^\d+$/.test(usedPercent) || Number(usedPercent) < 1 || Number(usedPercent) > 100)
        throw invalid('used_percent must be 1-100.');
      minShare = Number(usedPercent) / 100;
    }
    const dec = one(q, 'dec');
    if (dec !== undefined && dec !== 'false') query = query.where('cbr_backups.id', '=', '00000000-0000-0000-0000-000000000000');
    // updated_at and protected_at may be NULL: SQLite sorts NULLs first ascending, PostgreSQL last; say which.
    for (const s of sort) query = query.orderBy(`cbr_backups.${s.key}`, (ob) => (s.dir === 'asc' ? ob.asc().nullsFirst() : ob.desc().nullsLast()));
    if (!sort.some((s) => s.key === 'id')) query = query.orderBy('cbr_backups.id', sort[0]!.dir);
    let rows = await query.execute();
    if (minShare !== null) {
      const vaults = await this.c.db.selectFrom('cbr_vaults').select(['id', 'size']).where('project_id', '=', projectId).execute();
      const cap = new Map(vaults.map((v) => [v.id, v.size * this.c.options.gigabyte]));
      rows = rows.filter((r) => Number(r.stored_bytes) >= (cap.get(r.vault_id) ?? Infinity) * minShare!);
    }
    const p = pageOf(rows, page);
    return {
      ...p,
      items: p.items.map((r) => {
        const { m_id, m_status, m_vault_id, m_created_at, m_updated_at, m_project_id, ...row } = r;
        const membership: CbrMemberTable | null =
          row.project_id !== projectId && m_id
            ? {
                id: m_id,
                backup_id: row.id,
                project_id: m_project_id ?? row.project_id,
                dest_project_id: projectId,
                status: m_status ?? 'pending',
                vault_id: m_vault_id ?? null,
                image_id: null,
                created_at: m_created_at ?? row.created_at,
                updated_at: m_updated_at ?? null,
              }
            : null;
        return { row: row as CbrBackupTable, membership };
      }),
    };
  }

  async delete(ctx: AuthContext, id: string): Promise<void> {
    const projectId = this.c.project(ctx);
    await this.c.core.inTx(async (tx, enqueue) => {
      const b = await this.ownRow(tx, projectId, id);
      const vault = await tx.selectFrom('cbr_vaults').select(['locked', 'status']).where('id', '=', b.vault_id).executeTakeFirst();
      if (vault?.locked && b.auto_trigger) throw refused('6220', 'Automatic backups in a locked vault cannot be deleted.');
      if (b.status === 'protecting') throw refused('6203', `Backup ${id} is still being made.`);
      await startDeleteTx(this.c, this.oplogs, tx, enqueue, b);
    });
  }

  /**
   * Restores onto an existing volume: the original disk by default, or `volume_id`. The target must be available
   * and at least the backup's size; it goes through `restoring-backup` to `available`, as Cinder's restore does.
   */
  async restore(ctx: AuthContext, id: string, input: { volume_id?: unknown; resource_id?: unknown }): Promise<void> {
    const projectId = this.c.project(ctx);
    const target = input.volume_id ?? input.resource_id;
    if (target !== undefined && target !== null && typeof target !== 'string') throw invalid('volume_id must be a disk id.');
    await this.c.core.inTx(async (tx, enqueue) => {
      const { row: b, membership } = await this.visible(tx, projectId, id);
      if (membership && membership.status !== 'accepted')
        throw refused('2005', 'Accept the shared backup before restoring it.');
      if (membership && (target === undefined || target === null))
        throw invalid('volume_id is required to restore a backup shared from another project.');
      if (b.status === 'restoring') throw refused('2010', `Backup ${id} is already being restored.`);
      if (b.status !== 'available' || b.locator === null)
        throw refused('2005', `Backup ${id} is ${b.status}; only available backups can be restored.`);
      const vault = await tx.selectFrom('cbr_vaults').select('status').where('id', '=', b.vault_id).executeTakeFirst();
      if (vault && vault.status !== 'available') throw refused('6202', 'The backup\'s vault is not available.');
      const volumeId = (target as string | undefined) ?? b.resource_id;
      const v = await this.c.core.volumeRow(tx, volumeId);
      if (!v || v.project_id !== projectId) throw diskNotFound(volumeId);
      if (v.status === 'backing-up') throw refused('2002', `Disk ${v.id} is being backed up.`);
      if (v.status === 'restoring-backup') throw refused('2010', `Disk ${v.id} is already being restored.`);
      if (v.status !== 'available')
        throw refused('7003', `Disk ${v.id} is ${v.status}; a restore needs an available disk (detach it first).`);
      if (v.size < b.resource_size)
        throw refused('2001', `Disk ${v.id} (${v.size} GB) is smaller than the backup (${b.resource_size} GB).`);
      const resource = await tx.selectFrom('cbr_vault_resources').selectAll().where('resource_id', '=', v.id).executeTakeFirst();
      if (resource && resource.protect_status !== 'available' && resource.protect_status !== 'error')
        throw refused(resource.protect_status === 'protecting' ? '2002' : '2010', `Disk ${v.id} is ${resource.protect_status}.`);
      const moved = await tx
        .updateTable('volumes')
        .set({ status: 'restoring-backup', previous_status: 'available', updated_at: this.c.now() })
        .where('id', '=', v.id)
        .where('status', '=', 'available')
        .executeTakeFirst();
      if (Number(moved.numUpdatedRows) === 0) throw refused('7003', `Disk ${v.id} changed status; try again.`);
      const claimed = await tx
        .updateTable('cbr_backups')
        .set({ status: 'restoring', updated_at: this.c.now() })
        .where('id', '=', b.id)
        .where('status', '=', 'available')
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) === 0) throw refused('2005', `Backup ${id} changed status; try again.`);
      if (resource)
        await tx.updateTable('cbr_vault_resources').set({ protect_status: 'restoring' }).where('resource_id', '=', v.id).execute();
      const vaultRow = await tx.selectFrom('cbr_vaults').select(['id', 'name']).where('id', '=', b.vault_id).executeTakeFirst();
      const logId = await this.oplogs.record(tx, {
        projectId,
        operationType: 'restore',
        status: 'waiting',
        checkpointId: b.checkpoint_id,
        vaultId: membership ? null : (vaultRow?.id ?? null),
        vaultName: membership ? null : (vaultRow?.name ?? null),
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

  private sharingAllowed(b: CbrBackupTable): void {
    if (!this.c.options.shareDiskBackups)
      throw refused('6700', 'Only server backups can be shared; disk backup sharing is disabled on this cloud.');
    if (b.status !== 'available') throw refused('6702', 'Only available backups can be shared.');
  }

  async addMembers(ctx: AuthContext, id: string, raw: unknown): Promise<CbrMemberTable[]> {
    const projectId = this.c.project(ctx);
    if (!Array.isArray(raw) || raw.length === 0 || raw.length > 10) throw invalid('members must be a list of 1-10 project ids.');
    return this.c.db.transaction().execute(async (tx) => {
      const b = await this.ownRow(tx, projectId, id);
      this.sharingAllowed(b);
      const out: CbrMemberTable[] = [];
      for (const dest of raw) {
        if (typeof dest !== 'string' || !PROJECT_RE.test(dest) || dest === projectId)
          throw refused('6704', `${String(dest)} is not a project this backup can be shared with.`);
        const exists = await tx.selectFrom('projects').select('id').where('id', '=', dest).executeTakeFirst();
        if (!exists) throw refused('6704', `Project ${dest} does not exist.`);
        const dup = await tx.selectFrom('cbr_members').select('id').where('backup_id', '=', id).where('dest_project_id', '=', dest).executeTakeFirst();
        if (dup || out.some((m) => m.dest_project_id === dest)) throw refused('6703', `The backup is already shared with project ${dest}.`);
        const m: CbrMemberTable = {
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
        await tx.insertInto('cbr_members').values(m).execute();
        out.push(m);
      }
      return out;
    });
  }

  async members(ctx: AuthContext, id: string, q: Query, page: PageRequest): Promise<Page<CbrMemberTable>> {
    const projectId = this.c.project(ctx);
    const { row: b, membership } = await this.visible(this.c.db, projectId, id);
    let query = this.c.db.selectFrom('cbr_members').selectAll().where('backup_id', '=', b.id);
    if (membership) query = query.where('dest_project_id', '=', projectId);
    for (const k of ['dest_project_id', 'status', 'vault_id', 'image_id'] as const) {
      const v = one(q, k);
      if (v !== undefined) query = query.where(k, '=', v);
    }
    const sort = one(q, 'sort');
    const dir = sort?.endsWith(':asc') ? 'asc' : 'desc';
    return pageOf(await query.orderBy('created_at', dir).orderBy('id', dir).execute(), page);
  }

  private async memberRow(exec: Executor, backupId: string, memberId: string): Promise<CbrMemberTable> {
    // The path names the receiving project; the record id is accepted too (openstacksdk may send it).
    const m = await exec
      .selectFrom('cbr_members')
      .selectAll()
      .where('backup_id', '=', backupId)
      .where((eb) => eb.or([eb('dest_project_id', '=', memberId), eb('id', '=', memberId)]))
      .executeTakeFirst();
    if (!m) throw memberNotFound(memberId);
    return m;
  }

  async member(ctx: AuthContext, id: string, memberId: string): Promise<CbrMemberTable> {
    const projectId = this.c.project(ctx);
    const { row: b, membership } = await this.visible(this.c.db, projectId, id);
    const m = await this.memberRow(this.c.db, b.id, memberId);
    if (membership && m.dest_project_id !== projectId) throw memberNotFound(memberId);
    return m;
  }

  /** Only the receiving project answers a share: accepted (into one of its disk vaults), rejected or pending. */
  async updateMember(ctx: AuthContext, id: string, memberId: string, input: { status?: unknown; vault_id?: unknown }): Promise<CbrMemberTable> {
    const projectId = this.c.project(ctx);
    if (typeof input.status !== 'string' || !MEMBER_STATUSES.includes(input.status))
      throw invalid('status must be accepted, pending or rejected.');
    const status = input.status;
    return this.c.db.transaction().execute(async (tx) => {
      const b = UUID_RE.test(id) ? await tx.selectFrom('cbr_backups').selectAll().where('id', '=', id).executeTakeFirst() : undefined;
      if (!b || !this.c.options.shareDiskBackups) throw backupNotFound(id);
      const m = await this.memberRow(tx, b.id, memberId);
      if (m.dest_project_id !== projectId) {
        if (b.project_id === projectId) throw refused('6705', 'Only the receiving project can accept or reject a share.');
        throw backupNotFound(id);
      }
      let vaultId: string | null = m.vault_id;
      if (status === 'accepted') {
        if (typeof input.vault_id !== 'string') throw invalid('vault_id is required when accepting a shared backup.');
        const v = await this.c.vault(tx, projectId, input.vault_id);
        if (v.object_type !== 'disk') throw refused('6102', 'A shared disk backup is accepted into a disk vault.');
        vaultId = v.id;
      }
      await tx
        .updateTable('cbr_members')
        .set({ status, vault_id: vaultId, updated_at: this.c.now() })
        .where('id', '=', m.id)
        .execute();
      return { ...m, status, vault_id: vaultId, updated_at: this.c.now() };
    });
  }

  async deleteMember(ctx: AuthContext, id: string, memberId: string): Promise<void> {
    const projectId = this.c.project(ctx);
    await this.c.db.transaction().execute(async (tx) => {
      const b = await this.ownRow(tx, projectId, id);
      const m = await this.memberRow(tx, b.id, memberId);
      await tx.deleteFrom('cbr_members').where('id', '=', m.id).execute();
    });
  }
}
