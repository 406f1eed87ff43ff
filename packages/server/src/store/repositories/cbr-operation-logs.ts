import type { OperationLogRepository } from '../../domain/ports/cbr-store.js';
import { executor } from '../metadata-store.js';
import type { CbrOperationLogTable } from '../schema.js';
import { operationLogOf, operationLogRow } from './cbr-rows.js';

export function cbrOperationLogRepository(): OperationLogRepository {
  return {
    async get(scope, projectId, id) {
      const r = await executor(scope)
        .selectFrom('cbr_operation_logs')
        .selectAll()
        .where('id', '=', id)
        .where('project_id', '=', projectId)
        .executeTakeFirst();
      return r && operationLogOf(r);
    },

    async byId(scope, id) {
      const r = await executor(scope).selectFrom('cbr_operation_logs').selectAll().where('id', '=', id).executeTakeFirst();
      return r && operationLogOf(r);
    },

    async list(scope, projectId, f) {
      let q = executor(scope).selectFrom('cbr_operation_logs').selectAll().where('project_id', '=', projectId);
      if (f.operation_types.length > 0) q = q.where('operation_type', 'in', f.operation_types);
      if (f.statuses.length > 0) q = q.where('status', 'in', f.statuses);
      for (const [k, v] of Object.entries(f.equal) as [keyof typeof f.equal, string | undefined][])
        if (v !== undefined) q = q.where(k, '=', v);
      if (f.created_from !== undefined) q = q.where('created_at', '>=', f.created_from);
      if (f.created_to !== undefined) q = q.where('created_at', '<=', f.created_to);
      const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
      return rows.map(operationLogOf);
    },

    async insert(scope, log) {
      await executor(scope).insertInto('cbr_operation_logs').values(operationLogRow(log) as CbrOperationLogTable).execute();
    },

    async update(scope, id, from, changes) {
      const res = await executor(scope)
        .updateTable('cbr_operation_logs')
        .set(operationLogRow(changes))
        .where('id', '=', id)
        .where('status', 'in', [...from])
        .executeTakeFirst();
      return Number(res.numUpdatedRows) > 0;
    },
  };
}
