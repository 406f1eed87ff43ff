import type { CbrBackup, Member } from '../../domain/cbr.js';
import type { CbrBackupRepository, Transition } from '../../domain/ports/cbr-store.js';
import { guardedTransition } from '../guarded.js';
import { executor } from '../metadata-store.js';
import type { CbrBackupTable } from '../schema.js';
import { backupOf, backupRow } from './cbr-rows.js';

const NO_ID = '00000000-0000-0000-0000-000000000000';

export function cbrBackupRepository(): CbrBackupRepository {
  return {
    async byId(scope, id) {
      const r = await executor(scope).selectFrom('cbr_backups').selectAll().where('id', '=', id).executeTakeFirst();
      return r && backupOf(r);
    },

    async get(scope, projectId, id) {
      const r = await executor(scope).selectFrom('cbr_backups').selectAll().where('id', '=', id).where('project_id', '=', projectId).executeTakeFirst();
      return r && backupOf(r);
    },

    async list(scope, f) {
      const projectId = f.projectId;
      const shared = f.own !== 'private';
      let q = executor(scope)
        .selectFrom('cbr_backups')
        .leftJoin('cbr_members', (j) =>
          j.onRef('cbr_members.backup_id', '=', 'cbr_backups.id').on('cbr_members.dest_project_id', '=', projectId),
        )
        .selectAll('cbr_backups')
        .select([
          'cbr_members.id as m_id',
          'cbr_members.status as m_status',
          'cbr_members.vault_id as m_vault_id',
          'cbr_members.image_id as m_image_id',
          'cbr_members.created_at as m_created_at',
          'cbr_members.updated_at as m_updated_at',
          'cbr_members.project_id as m_project_id',
        ]);
      const memberStatus = f.member_status;
      q = q.where((eb) => {
        const own = eb('cbr_backups.project_id', '=', projectId);
        if (!shared) return own;
        const theirs = memberStatus !== undefined ? eb('cbr_members.status', '=', memberStatus) : eb('cbr_members.status', '<>', 'rejected');
        if (f.own === 'shared') return theirs;
        return eb.or([own, eb('cbr_members.status', '=', 'accepted')]);
      });
      if (!shared && memberStatus !== undefined) {
        q = q.where((eb) =>
          eb.exists(
            eb
              .selectFrom('cbr_members as mm')
              .select('mm.id')
              .whereRef('mm.backup_id', '=', 'cbr_backups.id')
              .where('mm.status', '=', memberStatus),
          ),
        );
      }
      for (const [k, v] of Object.entries(f.equal) as [keyof typeof f.equal, string | undefined][])
        if (v !== undefined) q = q.where(`cbr_backups.${k}`, '=', v);
      if (f.nothing) q = q.where('cbr_backups.id', '=', NO_ID);
      if (f.statuses.length > 0) q = q.where('cbr_backups.status', 'in', f.statuses);
      if (f.created_from !== undefined) q = q.where('cbr_backups.created_at', '>=', f.created_from);
      if (f.created_to !== undefined) q = q.where('cbr_backups.created_at', '<=', f.created_to);
      // updated_at and protected_at may be NULL: SQLite sorts NULLs first ascending, PostgreSQL last; say which.
      for (const s of f.sort)
        q = q.orderBy(`cbr_backups.${s.key}`, (ob) => (s.dir === 'asc' ? ob.asc().nullsFirst() : ob.desc().nullsLast()));
      if (!f.sort.some((s) => s.key === 'id')) q = q.orderBy('cbr_backups.id', f.sort[0]?.dir ?? 'desc');
      const rows = await q.execute();
      return rows.map((r) => {
        const { m_id, m_status, m_vault_id, m_image_id, m_created_at, m_updated_at, m_project_id, ...row } = r;
        const backup = backupOf(row as CbrBackupTable);
        const membership: Member | null =
          backup.project_id !== projectId && m_id
            ? {
                id: m_id,
                backup_id: backup.id,
                project_id: m_project_id ?? backup.project_id,
                dest_project_id: projectId,
                status: m_status ?? 'pending',
                vault_id: m_vault_id ?? null,
                image_id: m_image_id ?? null,
                created_at: m_created_at ?? backup.created_at,
                updated_at: m_updated_at ?? null,
              }
            : null;
        return { backup, membership };
      });
    },

    async ofCheckpoint(scope, checkpointId) {
      const rows = await executor(scope).selectFrom('cbr_backups').selectAll().where('checkpoint_id', '=', checkpointId).orderBy('resource_name').execute();
      return rows.map(backupOf);
    },

    async ofVault(scope, vaultId) {
      const rows = await executor(scope).selectFrom('cbr_backups').selectAll().where('vault_id', '=', vaultId).execute();
      return rows.map(backupOf);
    },

    async busyInVault(scope, vaultId) {
      const r = await executor(scope)
        .selectFrom('cbr_backups')
        .select('id')
        .where('vault_id', '=', vaultId)
        .where('status', 'in', ['protecting', 'restoring', 'deleting'])
        .executeTakeFirst();
      return r !== undefined;
    },

    async usedBytes(scope, vaultId) {
      const r = await executor(scope)
        .selectFrom('cbr_backups')
        .select((eb) => eb.fn.sum<number>('stored_bytes').as('n'))
        .where('vault_id', '=', vaultId)
        .where('status', '<>', 'error')
        .executeTakeFirst();
      return Number(r?.n ?? 0);
    },

    async usage(scope, vaultIds) {
      if (vaultIds.length === 0) return [];
      const rows = await executor(scope)
        .selectFrom('cbr_backups')
        .select((eb) => ['vault_id', 'resource_id', eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('stored_bytes').as('bytes')])
        .where('vault_id', 'in', [...vaultIds])
        .where('status', '<>', 'error')
        .groupBy(['vault_id', 'resource_id'])
        .execute();
      return rows.map((r) => ({ vault_id: r.vault_id, resource_id: r.resource_id, count: Number(r.n), bytes: Number(r.bytes ?? 0) }));
    },

    async byLocator(scope, locator) {
      const r = await executor(scope).selectFrom('cbr_backups').selectAll().where('locator', '=', locator).executeTakeFirst();
      return r && backupOf(r);
    },

    async latestLocator(scope, vaultId, resourceId) {
      const r = await executor(scope)
        .selectFrom('cbr_backups')
        .select('locator')
        .where('vault_id', '=', vaultId)
        .where('resource_id', '=', resourceId)
        .where('status', 'in', ['available', 'restoring'])
        .where('locator', 'is not', null)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst();
      return r?.locator ?? null;
    },

    async insert(scope, backup) {
      await executor(scope).insertInto('cbr_backups').values(backupRow(backup) as CbrBackupTable).execute();
    },

    async replicasOf(scope, ids) {
      if (ids.length === 0) return [];
      const rows = await executor(scope)
        .selectFrom('cbr_backups')
        .selectAll()
        .where('source_backup_id', 'in', [...ids])
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(backupOf);
    },

    async transition(scope, id, from, to, changes = {}): Promise<Transition<CbrBackup>> {
      const t = await guardedTransition(executor(scope), 'cbr_backups', id, from, to, backupRow(changes));
      return t.ok ? { ok: true, record: backupOf(t.record) } : t;
    },

    async setProgress(scope, id, progress) {
      await executor(scope).updateTable('cbr_backups').set({ progress }).where('id', '=', id).execute();
    },

    async moveToVault(scope, fromVaultId, toVaultId, ids, now) {
      if (ids.length === 0) return;
      await executor(scope)
        .updateTable('cbr_backups')
        .set({ vault_id: toVaultId, updated_at: now })
        .where('vault_id', '=', fromVaultId)
        .where('resource_id', 'in', [...ids])
        .execute();
    },

    async remove(scope, id) {
      await executor(scope).deleteFrom('cbr_members').where('backup_id', '=', id).execute();
      await executor(scope).deleteFrom('cbr_backups').where('id', '=', id).execute();
    },
  };
}
