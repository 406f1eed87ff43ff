import { randomUUID } from 'node:crypto';
import type { AuthContext } from '../../domain/auth-context.js';
import type { Executor } from '../../store/database.js';
import type { CbrOperationLogTable } from '../../store/schema.js';
import { UUID_RE } from '../block-storage/core.js';
import { type CbrContext, DISK_PROVIDER_ID, jsonParse, queryTime } from './context.js';
import { invalid, operationLogNotFound } from './errors.js';
import { type Page, pageOf, type PageRequest } from './paging.js';

/** One operation log (CBR task) entry. */
export type OperationLogRecord = CbrOperationLogTable;

export interface NewOperationLog {
  projectId: string;
  operationType: 'backup' | 'restore' | 'delete' | 'vault_delete';
  status: 'waiting' | 'running' | 'success' | 'failed' | 'skipped';
  checkpointId?: string | null;
  policyId?: string | null;
  vaultId: string | null;
  vaultName: string | null;
  resource?: { id: string; name: string; type: string } | null;
  extra: Record<string, unknown>;
  error?: { code: string; message: string };
}

const OPERATION_TYPES = ['backup', 'restore', 'delete', 'vault_delete', 'remove_resource', 'sync', 'replication'];
const STATUSES = ['success', 'skipped', 'failed', 'running', 'timeout', 'waiting'];

/** Operation logs ("tasks"): one per backup, restore, delete and vault deletion, with status, progress and timing. */
export class OperationLogs {
  constructor(private readonly c: CbrContext) {}

  async record(exec: Executor, l: NewOperationLog): Promise<string> {
    const id = randomUUID();
    const now = this.c.now();
    const extra = { ...l.extra, common: { progress: l.status === 'success' ? 100 : 0, request_id: '', task_id: id } };
    if (l.resource) Object.assign(extra, { resource: { ...l.resource, extra_info: {} } });
    await exec
      .insertInto('cbr_operation_logs')
      .values({
        id,
        project_id: l.projectId,
        operation_type: l.operationType,
        status: l.status,
        checkpoint_id: l.checkpointId ?? null,
        policy_id: l.policyId ?? null,
        vault_id: l.vaultId,
        vault_name: l.vaultName,
        provider_id: DISK_PROVIDER_ID,
        resource_id: l.resource?.id ?? null,
        resource_name: l.resource?.name ?? null,
        error_code: l.error?.code ?? '',
        error_message: l.error?.message ?? '',
        extra_info: JSON.stringify(extra),
        started_at: l.status === 'waiting' ? null : now,
        ended_at: ['success', 'failed', 'skipped'].includes(l.status) ? now : null,
        created_at: now,
        updated_at: null,
      })
      .execute();
    return id;
  }

  async started(id: string): Promise<void> {
    const now = this.c.now();
    await this.c.db
      .updateTable('cbr_operation_logs')
      .set({ status: 'running', started_at: now, updated_at: now })
      .where('id', '=', id)
      .where('status', '=', 'waiting')
      .execute();
  }

  async progress(id: string, pct: number): Promise<void> {
    const row = await this.c.db.selectFrom('cbr_operation_logs').select('extra_info').where('id', '=', id).executeTakeFirst();
    if (!row) return;
    const extra = jsonParse<Record<string, any>>(row.extra_info, {});
    extra.common = { ...(extra.common ?? {}), progress: pct };
    await this.c.db
      .updateTable('cbr_operation_logs')
      .set({ extra_info: JSON.stringify(extra), updated_at: this.c.now() })
      .where('id', '=', id)
      .where('status', 'in', ['waiting', 'running'])
      .execute();
  }

  /** Final state; `extra` is merged into extra_info. Only a log still waiting or running changes. */
  async finish(
    exec: Executor,
    id: string,
    outcome: { ok: true; extra?: Record<string, unknown> } | { ok: false; code: string; message: string },
  ): Promise<void> {
    const row = await exec.selectFrom('cbr_operation_logs').select(['extra_info', 'started_at']).where('id', '=', id).executeTakeFirst();
    if (!row) return;
    const extra = jsonParse<Record<string, any>>(row.extra_info, {});
    if (outcome.ok) {
      Object.assign(extra, outcome.extra ?? {});
      extra.common = { ...(extra.common ?? {}), progress: 100 };
    }
    const now = this.c.now();
    await exec
      .updateTable('cbr_operation_logs')
      .set({
        status: outcome.ok ? 'success' : 'failed',
        error_code: outcome.ok ? '' : outcome.code,
        error_message: outcome.ok ? '' : outcome.message.slice(0, 1000),
        extra_info: JSON.stringify(extra),
        started_at: row.started_at ?? now,
        ended_at: now,
        updated_at: now,
      })
      .where('id', '=', id)
      .where('status', 'in', ['waiting', 'running'])
      .execute();
  }

  async get(ctx: AuthContext, id: string): Promise<CbrOperationLogTable> {
    const projectId = this.c.project(ctx);
    const row = UUID_RE.test(id)
      ? await this.c.db
          .selectFrom('cbr_operation_logs')
          .selectAll()
          .where('id', '=', id)
          .where('project_id', '=', projectId)
          .executeTakeFirst()
      : undefined;
    if (!row) throw operationLogNotFound(id);
    return row;
  }

  async list(ctx: AuthContext, q: Record<string, string | string[]>, page: PageRequest): Promise<Page<CbrOperationLogTable>> {
    const projectId = this.c.project(ctx);
    const one = (k: string): string | undefined => {
      const v = q[k];
      return Array.isArray(v) ? v[v.length - 1] : v;
    };
    const many = (k: string): string[] => {
      const v = q[k];
      return v === undefined ? [] : Array.isArray(v) ? v : [v];
    };
    let query = this.c.db.selectFrom('cbr_operation_logs').selectAll().where('project_id', '=', projectId);
    const types = many('operation_type');
    for (const t of types) if (!OPERATION_TYPES.includes(t)) throw invalid(`operation_type ${t} is invalid.`);
    if (types.length > 0) query = query.where('operation_type', 'in', types);
    const statuses = many('status');
    for (const s of statuses) if (!STATUSES.includes(s)) throw invalid(`status ${s} is invalid.`);
    if (statuses.length > 0) query = query.where('status', 'in', statuses);
    for (const k of ['provider_id', 'resource_id', 'resource_name', 'vault_id', 'vault_name'] as const) {
      const v = one(k);
      if (v !== undefined) query = query.where(k, '=', v);
    }
    const start = one('start_time');
    if (start !== undefined) query = query.where('created_at', '>=', queryTime(start, 'start_time'));
    const end = one('end_time');
    if (end !== undefined) query = query.where('created_at', '<=', queryTime(end, 'end_time'));
    const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
    return pageOf(rows, page);
  }
}
