import type { AuthContext } from '../domain/auth-context.js';
import { badRequest, policyForbidden } from '../domain/errors.js';
import { PER_TYPE_RESOURCES, QUOTA_RESOURCES, type QuotaService, type QuotaUsage } from './quotas.js';

/** Keys Cinder accepts in a quota_set body without treating them as resources. */
const NON_QUOTA_KEYS = new Set(['id', 'tenant_id']);
const DB_MAX_INT = 0x7fffffff;

/**
 * Cinder's policy `system_reader_or_project_reader` (with the legacy `admin_or_owner` still honoured, as Zed
 * does by default): an admin may read any project, everyone else only their own.
 */
function requireReader(ctx: AuthContext, projectId: string, rule: string): void {
  if (ctx.isAdmin) return;
  if (ctx.projectId !== projectId) throw policyForbidden(rule);
}

function requireAdmin(ctx: AuthContext, rule: string): void {
  if (!ctx.isAdmin) throw policyForbidden(rule);
}

/** Use cases behind `os-quota-sets`, `os-quota-class-sets` and `limits`: policy, key validation, per-type keys. */
export class QuotaSetService {
  constructor(private readonly quotas: QuotaService) {}

  /** Every resource key, in the order Cinder lists them: the project-wide ones, then per volume type. */
  async resourceKeys(): Promise<string[]> {
    const keys: string[] = [...QUOTA_RESOURCES];
    for (const name of await this.quotas.volumeTypes.names()) for (const r of PER_TYPE_RESOURCES) keys.push(`${r}_${name}`);
    return keys;
  }

  private async defaults(): Promise<Record<string, number>> {
    const base = await this.quotas.effectiveDefaults();
    const out: Record<string, number> = {};
    for (const k of await this.resourceKeys()) out[k] = base[k] ?? -1;
    return out;
  }

  private async limitsOf(projectId: string): Promise<Record<string, number>> {
    const stored = await this.quotas.limits(projectId);
    const out: Record<string, number> = {};
    for (const k of await this.resourceKeys()) out[k] = stored[k] ?? -1;
    return out;
  }

  async show(ctx: AuthContext, projectId: string): Promise<Record<string, number>> {
    requireReader(ctx, projectId, 'volume_extension:quotas:show');
    return this.limitsOf(projectId);
  }

  async showUsage(ctx: AuthContext, projectId: string): Promise<Record<string, QuotaUsage>> {
    requireReader(ctx, projectId, 'volume_extension:quotas:show');
    const [limits, usage] = await Promise.all([this.limitsOf(projectId), this.quotas.usage(projectId)]);
    const out: Record<string, QuotaUsage> = {};
    for (const [k, limit] of Object.entries(limits)) out[k] = { limit, in_use: usage[k] ?? 0, reserved: 0 };
    return out;
  }

  async defaultsFor(ctx: AuthContext, projectId: string): Promise<Record<string, number>> {
    requireReader(ctx, projectId, 'volume_extension:quotas:show');
    return this.defaults();
  }

  /**
   * Validates the whole body before writing anything (unknown keys 400, values integers in [-1, 2^31-1],
   * integer strings accepted as Cinder's `int(str(v))` does), then checks policy, then writes.
   */
  async update(ctx: AuthContext, projectId: string, body: Record<string, unknown>): Promise<Record<string, number>> {
    const known = new Set(await this.resourceKeys());
    const values: Record<string, number> = {};
    const badKeys: string[] = [];
    for (const [key, raw] of Object.entries(body)) {
      if (NON_QUOTA_KEYS.has(key)) continue;
      if (!known.has(key)) {
        badKeys.push(key);
        continue;
      }
      values[key] = quotaInteger(raw, key);
    }
    if (badKeys.length > 0) throw badRequest(`Invalid input received: Bad key(s) in quota set: ${badKeys.join(', ')}`);
    requireAdmin(ctx, 'volume_extension:quotas:update');
    if (projectId.length > 255) throw badRequest('Invalid input received: quota_set_name has more than 255 characters.');
    await this.quotas.setLimits(projectId, values);
    return this.limitsOf(projectId);
  }

  async reset(ctx: AuthContext, projectId: string): Promise<void> {
    requireAdmin(ctx, 'volume_extension:quotas:delete');
    await this.quotas.resetLimits(projectId);
  }

  /** A quota class: its own limits over the defaults (the `default` class is the defaults). */
  async showClass(ctx: AuthContext, className = 'default'): Promise<Record<string, number>> {
    requireAdmin(ctx, 'volume_extension:quota_classes:get');
    return this.classView(className);
  }

  private async classView(className: string): Promise<Record<string, number>> {
    const [defaults, own] = await Promise.all([this.defaults(), this.quotas.classLimits(className)]);
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(defaults)) out[k] = own[k] ?? v;
    return out;
  }

  /**
   * Cinder's quota class update: policy first, the class name 1–255 characters, every known key validated as an
   * integer in [-1, 2^31-1] before anything is written; unknown keys are ignored, as Cinder does.
   */
  async updateClass(ctx: AuthContext, className: string, body: Record<string, unknown>): Promise<Record<string, number>> {
    requireAdmin(ctx, 'volume_extension:quota_classes:update');
    if (className.length < 1 || className.length > 255)
      throw badRequest('Invalid input received: quota_class_name has a length outside 1 to 255 characters.');
    const known = new Set(await this.resourceKeys());
    const values: Record<string, number> = {};
    for (const [key, raw] of Object.entries(body)) if (known.has(key)) values[key] = quotaInteger(raw, key);
    await this.quotas.setClassLimits(className, values);
    return this.classView(className);
  }

  /** Limits of the caller's project (or, for an admin, of `projectId`) with the usage the limits API reports. */
  async limitsWithUsage(ctx: AuthContext, projectId: string | null): Promise<{ limits: Record<string, number>; usage: Record<string, number> }> {
    const target = ctx.isAdmin && projectId ? projectId : ctx.projectId;
    if (!target) throw policyForbidden('limits_extension:used_limits');
    const [limits, usage] = await Promise.all([this.limitsOf(target), this.quotas.usage(target)]);
    return { limits, usage };
  }
}

function quotaInteger(raw: unknown, key: string): number {
  let n: number;
  if (typeof raw === 'number' && Number.isInteger(raw)) n = raw;
  else if (typeof raw === 'string' && /^\s*[+-]?\d+\s*$/.test(raw)) n = Number(raw.trim());
  else throw badRequest(`${key} must be an integer`);
  if (n < -1) throw badRequest(`${key} must be >= -1`);
  if (n > DB_MAX_INT) throw badRequest(`${key} must be <= ${DB_MAX_INT}`);
  return n;
}
