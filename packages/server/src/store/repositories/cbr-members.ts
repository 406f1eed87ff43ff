import type { Member } from '../../domain/cbr.js';
import type { MemberRepository, Transition } from '../../domain/ports/cbr-store.js';
import { guardedTransition } from '../guarded.js';
import { executor } from '../metadata-store.js';
import { memberOf } from './cbr-rows.js';

export function cbrMemberRepository(): MemberRepository {
  return {
    async get(scope, backupId, memberId) {
      const r = await executor(scope)
        .selectFrom('cbr_members')
        .selectAll()
        .where('backup_id', '=', backupId)
        .where((eb) => eb.or([eb('dest_project_id', '=', memberId), eb('id', '=', memberId)]))
        .executeTakeFirst();
      return r && memberOf(r);
    },

    async of(scope, backupId, destProjectId) {
      const r = await executor(scope)
        .selectFrom('cbr_members')
        .selectAll()
        .where('backup_id', '=', backupId)
        .where('dest_project_id', '=', destProjectId)
        .executeTakeFirst();
      return r && memberOf(r);
    },

    async list(scope, backupId, f) {
      let q = executor(scope).selectFrom('cbr_members').selectAll().where('backup_id', '=', backupId);
      for (const k of ['dest_project_id', 'status', 'vault_id', 'image_id'] as const) {
        const v = f[k];
        if (v !== undefined) q = q.where(k, '=', v);
      }
      const rows = await q.orderBy('created_at', f.dir).orderBy('id', f.dir).execute();
      return rows.map(memberOf);
    },

    async insert(scope, member) {
      const rows = await executor(scope)
        .insertInto('cbr_members')
        .values(member)
        .onConflict((oc) => oc.columns(['backup_id', 'dest_project_id']).doNothing())
        .returning('id')
        .execute();
      return rows.length > 0;
    },

    async update(scope, id, changes) {
      if (Object.keys(changes).length === 0) return;
      await executor(scope).updateTable('cbr_members').set(changes).where('id', '=', id).execute();
    },

    async transition(scope, id, from, to, changes = {}): Promise<Transition<Member>> {
      const t = await guardedTransition(executor(scope), 'cbr_members', id, from, to, changes);
      return t.ok ? { ok: true, record: memberOf(t.record) } : t;
    },

    async remove(scope, id) {
      await executor(scope).deleteFrom('cbr_members').where('id', '=', id).execute();
    },

    async projectExists(scope, projectId) {
      const r = await executor(scope).selectFrom('projects').select('id').where('id', '=', projectId).executeTakeFirst();
      return r !== undefined;
    },
  };
}
