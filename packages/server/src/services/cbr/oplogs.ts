import { randomUUID } from 'node:crypto';
import type { AuthContext } from '../../domain/auth-context.js';
import type { OperationLog } from '../../domain/cbr.js';
import type { Scope } from '../../domain/ports/metadata-store.js';
import { type CbrContext, DISK_PROVIDER_ID, queryTime, UUID_RE } from './context.js';
import { operationLogNotFound } from './errors.js';
import { type Page, pageOf, type PageRequest } from './paging.js';

/** One operation log (CBR task) entry. */
export type OperationLogRecord = OperationLog;

export interface NewOperationLog {
  projectId: string;
  operationType: 'backup' | 'restore' | 'delete' | 'vault_delete' | 'replication';
  status: 'waiting' | 'running' | 'success' | 'failed' | 'skipped';
  checkpointId?: string | null;
  policyId?: string | null;
  vaultId: string | null;
  vaultName: string | null;
  resource?: { id: string; name: string; type: string } | null;
  extra: Record<string, unknown>;
  error?: { code: string; message: string };
}

/** A log changes only until it has ended. */
const OPEN = ['waiting', 'running'];

/** Operation logs ("tasks"): one per backup, restore, delete and vault deletion, with status, progress and timing. */
export class OperationLogs {
  constructor(private readonly c: CbrContext) {}

  private get logs() {
    return this.c.stores.operationLogs;
  }

  async record(scope: Scope, l: NewOperationLog): Promise<string> {
    const id = randomUUID();
    const now = this.c.now();
    const extra: Record<string, unknown> = { ...l.extra, common: { progress: l.status === 'success' ? 100 : 0, request_id: '', task_id: id } };
    if (l.resource) Object.assign(extra, { resource: { ...l.resource, extra_info: {} } });
    await this.logs.insert(scope, {
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
      extra_info: extra,
      started_at: l.status === 'waiting' ? null : now,
      ended_at: ['success', 'failed', 'skipped'].includes(l.status) ? now : null,
      created_at: now,
      updated_at: null,
    });
    return id;
  }

  async started(id: string): Promise<void> {
    const now = this.c.now();
    await this.logs.update(this.c.root, id, ['waiting'], { status: 'running', started_at: now, updated_at: now });
  }

  async progress(id: string, pct: number): Promise<void> {
    const log = await this.logs.byId(this.c.root, id);
    if (!log) return;
    const extra = { ...log.extra_info, common: { ...(log.extra_info.common ?? {}), progress: pct } };
    await this.logs.update(this.c.root, id, OPEN, { extra_info: extra, updated_at: this.c.now() });
  }

  /** Final state; `extra` is merged into extra_info. Only a log still waiting or running changes. */
  async finish(
    scope: Scope,
    id: string,
    outcome: { ok: true; extra?: Record<string, unknown> } | { ok: false; code: string; message: string },
  ): Promise<void> {
    const log = await this.logs.byId(scope, id);
    if (!log) return;
    const extra = { ...log.extra_info };
    if (outcome.ok) {
      Object.assign(extra, outcome.extra ?? {});
      extra.common = { ...(extra.common ?? {}), progress: 100 };
    }
    const now = this.c.now();
    await this.logs.update(scope, id, OPEN, {
      status: outcome.ok ? 'success' : 'failed',
      error_code: outcome.ok ? '' : outcome.code,
      error_message: outcome.ok ? '' : outcome.message.slice(0, 1000),
      extra_info: extra,
      started_at: log.started_at ?? now,
      ended_at: now,
      updated_at: now,
    });
  }

  async get(ctx: AuthContext, id: string): Promise<OperationLog> {
    const projectId = this.c.project(ctx);
    const log = UUID_RE.test(id) ? await this.logs.get(this.c.root, projectId, id) : undefined;
    if (!log) throw operationLogNotFound(id);
    return log;
  }

  async list(ctx: AuthContext, q: Record<string, string | string[]>, page: PageRequest): Promise<Page<OperationLog>> {
    const projectId = this.c.project(ctx);
    const one = (k: string): string | undefined => {
      const v = q[k];
      return Array.isArray(v) ? v[v.length - 1] : v;
    };
    const many = (k: string): string[] => {
      const v = q[k];
      return v === undefined ? [] : Array.isArray(v) ? v : [v];
    };
    // The contract checked both against its enumerations (api/cbr/validation.ts).
    const types = many('operation_type');
    const statuses = many('status');
    const equal: Record<string, string> = {};
    for (const k of ['provider_id', 'resource_id', 'resource_name', 'vault_id', 'vault_name'] as const) {
      const v = one(k);
      if (v !== undefined) equal[k] = v;
    }
    const start = one('start_time');
    const end = one('end_time');
    const rows = await this.logs.list(this.c.root, projectId, {
      operation_types: types,
      statuses,
      equal,
      ...(start !== undefined ? { created_from: queryTime(start, 'start_time') } : {}),
      ...(end !== undefined ? { created_to: queryTime(end, 'end_time') } : {}),
    });
    return pageOf(rows, page);
  }
}
