import { randomUUID } from 'node:crypto';
import type { cbrContract } from '@cinderbox/api-schema';
import type { AuthContext } from '../../domain/auth-context.js';
import { parseStoredTime, storedTime } from '../../domain/time.js';
import type { Policy } from '../../domain/cbr.js';
import type { Scope } from '../../domain/ports/metadata-store.js';
import { type CbrContext, UUID_RE } from './context.js';
import { invalid, policyNotFound, refused } from './errors.js';
import { parseRetention, type Retention } from './retention.js';
import { nextFire, parseRules, type Rule } from './rrule.js';

export interface PolicyRecord {
  policy: Policy;
  retention: Retention;
  vaultIds: string[];
  /** Replication bindings: bound vault id → destination vault id. */
  destinations?: Record<string, string>;
}

/** Bodies checked against the contract (api/cbr/validation.ts); what needs stored state or parsing is checked here. */
export type PolicyCreateInput = cbrContract.PolicyCreate;
export type PolicyUpdateInput = cbrContract.PolicyUpdate;
type TriggerInput = cbrContract.PolicyCreate['trigger'];

const MAX_POLICIES = 32;

export function rulesOf(p: Policy): Rule[] {
  return parseRules(p.patterns);
}

/** The first trigger time of `p` after `after`, as stored text (null: the pattern never fires). */
export function firstRunAfter(p: Policy, after: Date): string | null {
  const t = nextFire(rulesOf(p), parseStoredTime(p.start_time), after);
  return t === null ? null : storedTime(t);
}

/** What policies need of replication: checking a replication policy's destination (replication.ts). */
export interface ReplicationDestinations {
  policyDestination(projectId: string, def: Record<string, unknown>): { destination_region: string; destination_project_id: string };
}

export class PolicyService {
  constructor(
    private readonly c: CbrContext,
    private readonly replication?: ReplicationDestinations,
  ) {}

  private get policies() {
    return this.c.stores.policies;
  }

  async row(scope: Scope, projectId: string, id: string): Promise<Policy> {
    const p = UUID_RE.test(id) ? await this.policies.get(scope, projectId, id) : undefined;
    if (!p) throw policyNotFound(id);
    return p;
  }

  private async records(policies: Policy[]): Promise<PolicyRecord[]> {
    if (policies.length === 0) return [];
    const binds = await this.policies.bindingsOfPolicies(
      this.c.root,
      policies.map((p) => p.id),
    );
    return policies.map((policy) => ({
      policy,
      retention: parseRetention(policy.operation_definition),
      vaultIds: binds.filter((b) => b.policy_id === policy.id).map((b) => b.vault_id),
      destinations: Object.fromEntries(
        binds.filter((b) => b.policy_id === policy.id && b.destination_vault_id).map((b) => [b.vault_id, b.destination_vault_id!]),
      ),
    }));
  }

  async get(ctx: AuthContext, id: string): Promise<PolicyRecord> {
    return (await this.records([await this.row(this.c.root, this.c.project(ctx), id)]))[0]!;
  }

  async list(ctx: AuthContext, q: { operation_type?: string | undefined; vault_id?: string | undefined }): Promise<PolicyRecord[]> {
    const projectId = this.c.project(ctx);
    return this.records(
      await this.policies.list(this.c.root, projectId, {
        ...(q.operation_type !== undefined ? { operation_type: q.operation_type } : {}),
        ...(q.vault_id !== undefined ? { vault_id: q.vault_id } : {}),
      }),
    );
  }

  private parseTrigger(trigger: TriggerInput): { patterns: string[]; startTime: string | null } {
    const props = trigger.properties;
    // The rule grammar and the spacing of the times it yields: beyond what a schema states.
    parseRules(props.pattern);
    let startTime: string | null = null;
    if (props.start_time !== undefined && props.start_time !== null) {
      const text = props.start_time.trim().replace(' ', 'T');
      const d = new Date(/(Z|[+-]\d{2}:\d{2})$/.test(text) ? text : `${text}Z`);
      if (Number.isNaN(d.getTime())) throw invalid('trigger.properties.start_time is not a valid time.');
      startTime = storedTime(d);
    }
    return { patterns: props.pattern, startTime };
  }

  async create(ctx: AuthContext, input: PolicyCreateInput): Promise<PolicyRecord> {
    const projectId = this.c.project(ctx);
    const name = input.name;
    if (input.operation_type === 'replication' && !this.replication)
      throw refused('6117', 'Replication policies are not supported: this cloud has a single region.');
    const replicationTo =
      input.operation_type === 'replication' ? this.replication!.policyDestination(projectId, input.operation_definition) : {};
    const retention = parseRetention(input.operation_definition);
    const { patterns, startTime } = this.parseTrigger(input.trigger);
    const now = this.c.now();
    const policy: Policy = {
      id: randomUUID(),
      project_id: projectId,
      name,
      operation_type: input.operation_type,
      enabled: input.enabled !== false,
      operation_definition: { ...retention, ...replicationTo },
      trigger_id: randomUUID().replace(/-/g, ''),
      patterns,
      start_time: startTime ?? now,
      created_at: now,
      updated_at: null,
    };
    await this.c.metadata.transaction(async (tx) => {
      if ((await this.policies.count(tx, projectId)) >= MAX_POLICIES)
        throw refused('6001', `The policy quota (${MAX_POLICIES}) has been reached.`);
      await this.policies.insert(tx, policy);
    });
    return this.get(ctx, policy.id);
  }

  /** Trigger or enabled changes move the schedule of every vault bound to the policy (no backlog is created). */
  async update(ctx: AuthContext, id: string, input: PolicyUpdateInput): Promise<PolicyRecord> {
    const projectId = this.c.project(ctx);
    await this.c.metadata.transaction(async (tx) => {
      const p = await this.row(tx, projectId, id);
      const set: Partial<Policy> = { updated_at: this.c.now() };
      if (input.name !== undefined) set.name = input.name;
      if (input.enabled !== undefined) set.enabled = input.enabled;
      if (input.operation_definition !== undefined) {
        // An update names only what changes; the rest of the definition stays.
        const o = input.operation_definition;
        const merged: Record<string, unknown> = { ...p.operation_definition, ...o };
        if (o.retention_duration_days !== undefined && o.max_backups === undefined) merged.max_backups = -1;
        if (o.max_backups !== undefined && o.retention_duration_days === undefined) merged.retention_duration_days = -1;
        const replicationTo =
          p.operation_type === 'replication' && this.replication ? this.replication.policyDestination(projectId, merged) : {};
        if (
          'destination_region' in replicationTo &&
          replicationTo.destination_region !== p.operation_definition.destination_region &&
          (await this.policies.bindingsOfPolicies(tx, [p.id])).length > 0
        )
          throw refused('6003', 'The destination region of a policy applied to vaults cannot change; dissociate it first.');
        set.operation_definition = { ...parseRetention(merged), ...replicationTo };
      }
      let rescheduled = false;
      if (input.trigger !== undefined) {
        const t = this.parseTrigger(input.trigger);
        set.patterns = t.patterns;
        set.start_time = t.startTime ?? this.c.now();
        rescheduled = true;
      }
      if (set.enabled === true && !p.enabled) rescheduled = true;
      await this.policies.update(tx, id, set);
      if (rescheduled) await this.policies.reschedule(tx, id, firstRunAfter({ ...p, ...set }, this.c.nowDate()));
    });
    return this.get(ctx, id);
  }

  async delete(ctx: AuthContext, id: string): Promise<void> {
    const projectId = this.c.project(ctx);
    await this.c.metadata.transaction(async (tx) => {
      await this.row(tx, projectId, id);
      await this.policies.remove(tx, id);
    });
  }
}
