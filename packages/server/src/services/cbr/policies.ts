import { randomUUID } from 'node:crypto';
import type { AuthContext } from '../../domain/auth-context.js';
import { parseStoredTime, storedTime } from '../../domain/time.js';
import type { Executor } from '../../store/database.js';
import type { CbrPolicyTable } from '../../store/schema.js';
import { UUID_RE } from '../block-storage/core.js';
import { type CbrContext, jsonParse } from './context.js';
import { invalid, policyNotFound, refused } from './errors.js';
import { parseRetention, type Retention } from './retention.js';
import { nextFire, parseRules, type Rule } from './rrule.js';

export interface PolicyRecord {
  row: CbrPolicyTable;
  retention: Retention;
  patterns: string[];
  vaultIds: string[];
}

export interface PolicyInput {
  name?: string;
  operation_type?: string;
  enabled?: boolean;
  operation_definition?: unknown;
  trigger?: { properties?: { pattern?: unknown; start_time?: unknown } };
}

const NAME_RE = /^[\p{L}\p{N}_-]{1,64}$/u;
const MAX_POLICIES = 32;

export function rulesOf(p: CbrPolicyTable): Rule[] {
  return parseRules(jsonParse<string[]>(p.patterns, []));
}

/** The first trigger time of `p` after `after`, as stored text (null: the pattern never fires). */
export function firstRunAfter(p: CbrPolicyTable, after: Date): string | null {
  const t = nextFire(rulesOf(p), parseStoredTime(p.start_time), after);
  return t === null ? null : storedTime(t);
}

function checkName(v: unknown): string {
  if (typeof v !== 'string' || !NAME_RE.test(v))
    throw invalid('Policy name must be 1-64 characters: letters, digits, underscores and hyphens.');
  return v;
}

export class PolicyService {
  constructor(private readonly c: CbrContext) {}

  async row(exec: Executor, projectId: string, id: string): Promise<CbrPolicyTable> {
    const p = UUID_RE.test(id)
      ? await exec.selectFrom('cbr_policies').selectAll().where('id', '=', id).where('project_id', '=', projectId).executeTakeFirst()
      : undefined;
    if (!p) throw policyNotFound(id);
    return p;
  }

  private async records(rows: CbrPolicyTable[]): Promise<PolicyRecord[]> {
    if (rows.length === 0) return [];
    const binds = await this.c.db
      .selectFrom('cbr_policy_bindings')
      .select(['policy_id', 'vault_id'])
      .where(
        'policy_id',
        'in',
        rows.map((r) => r.id),
      )
      .orderBy('created_at')
      .execute();
    return rows.map((row) => ({
      row,
      retention: parseRetention(jsonParse(row.operation_definition, {})),
      patterns: jsonParse<string[]>(row.patterns, []),
      vaultIds: binds.filter((b) => b.policy_id === row.id).map((b) => b.vault_id),
    }));
  }

  async get(ctx: AuthContext, id: string): Promise<PolicyRecord> {
    return (await this.records([await this.row(this.c.db, this.c.project(ctx), id)]))[0]!;
  }

  async list(ctx: AuthContext, q: { operation_type?: string; vault_id?: string }): Promise<PolicyRecord[]> {
    const projectId = this.c.project(ctx);
    let query = this.c.db.selectFrom('cbr_policies').selectAll().where('cbr_policies.project_id', '=', projectId);
    if (q.operation_type !== undefined) {
      if (!['backup', 'replication'].includes(q.operation_type)) throw invalid('operation_type must be backup or replication.');
      query = query.where('operation_type', '=', q.operation_type);
    }
    if (q.vault_id !== undefined) {
      const vaultId = q.vault_id;
      query = query.where((eb) =>
        eb.exists(
          eb
            .selectFrom('cbr_policy_bindings as b')
            .select('b.vault_id')
            .whereRef('b.policy_id', '=', 'cbr_policies.id')
            .where('b.vault_id', '=', vaultId),
        ),
      );
    }
    return this.records(await query.orderBy('created_at', 'desc').orderBy('id', 'desc').execute());
  }

  private parseTrigger(trigger: PolicyInput['trigger']): { patterns: string[]; startTime: string | null } {
    if (trigger === null || typeof trigger !== 'object' || Array.isArray(trigger)) throw invalid('trigger must be an object.');
    const props = trigger.properties;
    if (props === null || typeof props !== 'object') throw invalid('trigger.properties must be an object.');
    parseRules(props.pattern);
    let startTime: string | null = null;
    if (props.start_time !== undefined && props.start_time !== null) {
      const text = typeof props.start_time === 'string' ? props.start_time.trim().replace(' ', 'T') : '';
      const d = new Date(/(Z|[+-]\d{2}:\d{2})$/.test(text) ? text : `${text}Z`);
      if (Number.isNaN(d.getTime())) throw invalid('trigger.properties.start_time is not a valid time.');
      startTime = storedTime(d);
    }
    return { patterns: props.pattern as string[], startTime };
  }

  async create(ctx: AuthContext, input: PolicyInput): Promise<PolicyRecord> {
    const projectId = this.c.project(ctx);
    const name = checkName(input.name);
    if (input.operation_type === 'replication')
      throw refused('6117', 'Replication policies are not supported: this cloud has a single region.');
    if (input.operation_type !== 'backup') throw refused('6117', 'operation_type must be backup.');
    if (input.enabled !== undefined && typeof input.enabled !== 'boolean') throw invalid('enabled must be a boolean.');
    const retention = parseRetention(input.operation_definition);
    const { patterns, startTime } = this.parseTrigger(input.trigger);
    const now = this.c.now();
    const row: CbrPolicyTable = {
      id: randomUUID(),
      project_id: projectId,
      name,
      operation_type: 'backup',
      enabled: input.enabled === false ? 0 : 1,
      operation_definition: JSON.stringify(retention),
      trigger_id: randomUUID().replace(/-/g, ''),
      patterns: JSON.stringify(patterns),
      start_time: startTime ?? now,
      created_at: now,
      updated_at: null,
    };
    await this.c.db.transaction().execute(async (tx) => {
      const n = await tx
        .selectFrom('cbr_policies')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('project_id', '=', projectId)
        .executeTakeFirst();
      if (Number(n?.n ?? 0) >= MAX_POLICIES) throw refused('6001', `The policy quota (${MAX_POLICIES}) has been reached.`);
      await tx.insertInto('cbr_policies').values(row).execute();
    });
    return this.get(ctx, row.id);
  }

  /** Trigger or enabled changes move the schedule of every vault bound to the policy (no backlog is created). */
  async update(ctx: AuthContext, id: string, input: PolicyInput): Promise<PolicyRecord> {
    const projectId = this.c.project(ctx);
    await this.c.db.transaction().execute(async (tx) => {
      const p = await this.row(tx, projectId, id);
      const set: Partial<CbrPolicyTable> = { updated_at: this.c.now() };
      if (input.name !== undefined) set.name = checkName(input.name);
      if (input.enabled !== undefined) {
        if (typeof input.enabled !== 'boolean') throw invalid('enabled must be a boolean.');
        set.enabled = input.enabled ? 1 : 0;
      }
      if (input.operation_definition !== undefined) {
        // An update names only what changes; the rest of the definition stays.
        const merged = { ...jsonParse<Record<string, unknown>>(p.operation_definition, {}), ...(input.operation_definition as object) };
        if (input.operation_definition === null || typeof input.operation_definition !== 'object')
          throw invalid('operation_definition must be an object.');
        const o = input.operation_definition as Record<string, unknown>;
        if (o.retention_duration_days !== undefined && o.max_backups === undefined) merged.max_backups = -1;
        if (o.max_backups !== undefined && o.retention_duration_days === undefined) merged.retention_duration_days = -1;
        set.operation_definition = JSON.stringify(parseRetention(merged));
      }
      let rescheduled = false;
      if (input.trigger !== undefined) {
        const t = this.parseTrigger(input.trigger);
        set.patterns = JSON.stringify(t.patterns);
        set.start_time = t.startTime ?? this.c.now();
        rescheduled = true;
      }
      if (set.enabled === 1 && p.enabled === 0) rescheduled = true;
      await tx.updateTable('cbr_policies').set(set).where('id', '=', id).execute();
      if (rescheduled) {
        const updated = { ...p, ...set } as CbrPolicyTable;
        await tx
          .updateTable('cbr_policy_bindings')
          .set({ next_run_at: firstRunAfter(updated, this.c.nowDate()) })
          .where('policy_id', '=', id)
          .execute();
      }
    });
    return this.get(ctx, id);
  }

  async delete(ctx: AuthContext, id: string): Promise<void> {
    const projectId = this.c.project(ctx);
    await this.c.db.transaction().execute(async (tx) => {
      await this.row(tx, projectId, id);
      await tx.deleteFrom('cbr_policy_bindings').where('policy_id', '=', id).execute();
      await tx.deleteFrom('cbr_policies').where('id', '=', id).execute();
    });
  }
}
