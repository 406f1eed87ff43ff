import type { Kysely } from 'kysely';
import { type Backup, type BackupChanges, type BackupStatus, parseVolumeInfo } from '../../domain/backup.js';
import type {
  BackupBase,
  BackupBasesStore,
  BackupsStore,
  Transition,
} from '../../domain/ports/backups-store.js';
import type { Scope } from '../../domain/ports/metadata-store.js';
import type { Executor } from '../database.js';
import { BACKUPS_LIST, listRows } from '../list-query.js';
import { prepared } from '../prepared.js';
import { guardedTransition } from '../guarded.js';
import { executor } from '../metadata-store.js';
import type { BackupTable } from '../schema.js';
import { deleteAllMetadata, readMetadata, readMetadataMany, writeMetadata } from './metadata.js';
import { Params, dialectOf, runRaw } from '../raw-sql.js';

/** PostgreSQL hands bigint columns back as strings; SQLite as numbers. */
const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));

export function toBackup(r: BackupTable): Backup {
  return {
    id: r.id,
    project_id: r.project_id,
    user_id: r.user_id,
    volume_id: r.volume_id,
    snapshot_id: r.snapshot_id,
    name: r.name,
    description: r.description,
    container: r.container,
    availability_zone: r.availability_zone,
    status: r.status as BackupStatus,
    fail_reason: r.fail_reason,
    size: num(r.size),
    object_count: num(r.object_count),
    parent_id: r.parent_id,
    data_timestamp: r.data_timestamp,
    locator: r.locator,
    stored_bytes: num(r.stored_bytes),
    data_bytes: num(r.data_bytes),
    volume_info: parseVolumeInfo(r.volume_info),
    host: r.host,
    created_at: r.created_at,
    updated_at: r.updated_at,
    cbt_base_id: r.cbt_base_id,
    cbt_base_usable: num(r.cbt_base_usable) === 1,
    backup_target: r.backup_target,
    locked_until: r.locked_until ?? null,
  };
}

function toRow(b: Backup): BackupTable {
  const { volume_info, cbt_base_usable, ...rest } = b;
  return { ...rest, volume_info: JSON.stringify(volume_info), cbt_base_usable: cbt_base_usable ? 1 : 0 };
}

function toColumns(c: BackupChanges): Partial<BackupTable> {
  const { volume_info, cbt_base_usable, ...rest } = c;
  const out: Partial<BackupTable> = { ...rest };
  if (volume_info !== undefined) out.volume_info = JSON.stringify(volume_info);
  if (cbt_base_usable !== undefined) out.cbt_base_usable = cbt_base_usable ? 1 : 0;
  return out;
}

const db = (scope: Scope): Executor => executor(scope);


/** Cinder and CBR bases live in two tables with the same two columns (migrations 0005/0006 and 0007). */
const BASE_TABLE = { backup: 'backups', cbr: 'cbr_backups' } as const;

const bases: BackupBasesStore = {
  async markUnusable(scope, backupId, baseId, owner = 'backup') {
    await db(scope)
      .updateTable(BASE_TABLE[owner])
      .set({ cbt_base_usable: 0 })
      .where('id', '=', backupId)
      .where('cbt_base_id', '=', baseId)
      .execute();
  },
  async forget(scope, backupId, baseId, owner = 'backup') {
    await db(scope)
      .updateTable(BASE_TABLE[owner])
      .set({ cbt_base_id: null })
      .where('id', '=', backupId)
      .where('cbt_base_id', '=', baseId)
      .execute();
  },
  async ofVolume(scope, volumeId) {
    const cinder = await db(scope)
      .selectFrom('backups')
      .select(['id', 'cbt_base_id'])
      .where('volume_id', '=', volumeId)
      .where('cbt_base_id', 'is not', null)
      .execute();
    // A CBR backup gives its disk back once its snapshot exists and reads it afterwards: a running one removes
    // its own base when it sees the disk deleting or gone (services/cbr/tasks.ts), so it is left to it here.
    const cbr = await db(scope)
      .selectFrom('cbr_backups')
      .select(['id', 'cbt_base_id'])
      .where('resource_id', '=', volumeId)
      .where('cbt_base_id', 'is not', null)
      .where('status', '<>', 'protecting')
      .execute();
    return [
      ...cinder.map((r): BackupBase => ({ owner: 'backup', backupId: r.id, baseId: r.cbt_base_id! })),
      ...cbr.map((r): BackupBase => ({ owner: 'cbr', backupId: r.id, baseId: r.cbt_base_id! })),
    ];
  },
  async olderThan(scope, q) {
    if (q.owner === 'cbr') {
      const rows = await db(scope)
        .selectFrom('cbr_backups')
        .select(['id', 'cbt_base_id'])
        .where('resource_id', '=', q.volumeId)
        .where('vault_id', '=', q.vaultId)
        .where('cbt_base_id', 'is not', null)
        .where('id', '<>', q.exceptBackupId)
        .where('created_at', '<=', q.createdAt)
        .where('status', '<>', 'protecting')
        .execute();
      return rows.map((r): BackupBase => ({ owner: 'cbr', backupId: r.id, baseId: r.cbt_base_id! }));
    }
    const rows = await db(scope)
      .selectFrom('backups')
      .select(['id', 'cbt_base_id'])
      .where('volume_id', '=', q.volumeId)
      .where('cbt_base_id', 'is not', null)
      .where('id', '<>', q.exceptBackupId)
      .where('created_at', '<=', q.createdAt)
      .where('status', '<>', 'creating')
      .execute();
    return rows.map((r): BackupBase => ({ owner: 'backup', backupId: r.id, baseId: r.cbt_base_id! }));
  },
};


/** The Cinder backups' repository: backups, backup_metadata, and the bases and volume moves named above. */
const backupById = prepared<{ id: string }, BackupTable>((exec, arg) =>
  exec.selectFrom('backups').selectAll().where('id', '=', arg('id')),
);

export function createBackupsStore(): BackupsStore {
  return {
    bases,

    async get(scope, id) {
      const row = (await backupById(db(scope), { id }))[0];
      return row && toBackup(row);
    },

    async insert(scope, backup) {
      // The primary key decides between racing inserts of one id (two imports can both pass a check first).
      const res = await db(scope)
        .insertInto('backups')
        .values(toRow(backup))
        .onConflict((oc) => oc.column('id').doNothing())
        .executeTakeFirst();
      return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
    },

    async update(scope, id, changes) {
      const exec = db(scope);
      const set = toColumns(changes);
      if (Object.keys(set).length > 0) await exec.updateTable('backups').set(set).where('id', '=', id).execute();
      const row = await exec.selectFrom('backups').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toBackup(row);
    },

    async transition(scope, id, from, to, changes = {}): Promise<Transition<Backup>> {
      const t = await guardedTransition(db(scope), 'backups', id, from, to, toColumns(changes));
      return t.ok ? { ok: true, record: toBackup(t.record) } : t;
    },

    async remove(scope, id) {
      const exec = db(scope);
      const res = await exec.deleteFrom('backups').where('id', '=', id).executeTakeFirst();
      await deleteAllMetadata(exec, 'backup', id);
      return Number(res.numDeletedRows) > 0;
    },

    async list(scope, q) {
      const page = await listRows(db(scope), BACKUPS_LIST, q);
      if (!page) return { ok: false, reason: 'marker' };
      return { ok: true, items: page.rows.map((r) => toBackup(r as unknown as BackupTable)), count: page.count };
    },

    async hasDependents(scope, id) {
      const child = await db(scope).selectFrom('backups').select('id').where('parent_id', '=', id).executeTakeFirst();
      return child !== undefined;
    },

    async withDependents(scope, ids) {
      if (ids.length === 0) return new Set();
      // One statement whatever the page size (store/raw-sql.ts): the detail list asks this for every page.
      const exec = db(scope);
      const p = new Params(dialectOf(exec));
      const rows = await runRaw<{ parent_id: string }>(exec, `select "parent_id" from "backups" where ${p.inList('"parent_id"', ids)}`, p.values);
      return new Set(rows.map((r) => r.parent_id));
    },

    async latestForIncremental(scope, q) {
      let query = db(scope)
        .selectFrom('backups')
        .selectAll()
        .where('volume_id', '=', q.volumeId)
        .where('project_id', '=', q.projectId)
        .where('status', '=', 'available')
        .where('locator', 'is not', null);
      if (q.before !== null) query = query.where('data_timestamp', '<', q.before);
      const row = await query
        .orderBy('data_timestamp', 'desc')
        .orderBy('created_at', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row && toBackup(row);
    },

    metadata: (scope, id) => readMetadata(db(scope), 'backup', id),
    metadataOf: (scope, ids) => readMetadataMany(db(scope), 'backup', ids),
    replaceMetadata: (scope, id, items) => writeMetadata(db(scope), 'backup', id, items, true),
  };
}
