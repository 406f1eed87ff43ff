import { badRequest, overLimit } from '../domain/errors.js';
import type { MetadataStore, Scope } from '../domain/ports/metadata-store.js';
import type { QuotaStore } from '../domain/ports/quota-store.js';
import type { QuotaClassStore } from '../domain/ports/service-store.js';
import type { VolumeTypeService } from './volume-types.js';

export const QUOTA_RESOURCES = ['volumes', 'snapshots', 'gigabytes', 'backups', 'backup_gigabytes', 'per_volume_gigabytes', 'groups'] as const;
/** Per-volume-type resources (`snapshots___DEFAULT__`, …) are reported for the default type and are unlimited. */
export const PER_TYPE_RESOURCES = ['volumes', 'snapshots', 'gigabytes'] as const;
export type QuotaResource = (typeof QUOTA_RESOURCES)[number];

export interface QuotaUsage {
  limit: number;
  in_use: number;
  reserved: number;
}

function overQuotaMessage(resource: string, requested: number, limit: number, inUse: number): string {
  switch (resource) {
    case 'snapshots':
      return `SnapshotLimitExceeded: Maximum number of snapshots allowed (${limit}) exceeded`;
    case 'volumes':
      return `VolumeLimitExceeded: Maximum number of volumes allowed (${limit}) exceeded for quota 'volumes'.`;
    case 'backups':
      return `BackupLimitExceeded: Maximum number of backups allowed (${limit}) exceeded`;
    case 'backup_gigabytes':
      return `VolumeBackupSizeExceedsAvailableQuota: Requested backup exceeds allowed Backup gigabytes quota. Requested ${requested}G, quota is ${limit}G and ${inUse}G has been consumed.`;
    case 'gigabytes':
      return `VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed gigabytes quota. Requested ${requested}G, quota is ${limit}G and ${inUse}G has been consumed.`;
    default:
      return `UnexpectedOverQuota: Unexpected over quota on ${resource}.`;
  }
}

/**
 * Quota limits and usage. Usage is a counter per (project, resource) moved by conditional updates inside the
 * caller's transaction (`in_use + delta <= limit` in the statement that increments), so concurrent creates
 * cannot overshoot, on SQLite or on PostgreSQL under READ COMMITTED, and a rolled-back request leaves no
 * reservation behind.
 */
export class QuotaService {
  constructor(
    private readonly store: MetadataStore,
    private readonly repo: QuotaStore,
    private readonly defaults: Record<string, number>,
    /** Per-type quota keys follow the type catalogue. */
    readonly volumeTypes: VolumeTypeService,
    /** Quota classes; the `default` class's limits override the configured defaults, as in Cinder. */
    private readonly classes?: QuotaClassStore,
  ) {}

  /** The limits stored for a quota class (resources without a row follow the defaults). */
  async classLimits(className: string, scope: Scope = this.store.root): Promise<Record<string, number>> {
    return this.classes ? this.classes.limits(scope, className) : {};
  }

  async setClassLimits(className: string, values: Record<string, number>): Promise<void> {
    const classes = this.classes;
    if (!classes) throw new Error('quota classes are not wired');
    await this.store.transaction(async (tx) => {
      for (const [resource, limit] of Object.entries(values)) await classes.setLimit(tx, className, resource, limit);
    });
  }

  /** The configured defaults with the `default` quota class on top: what a project without its own limits gets. */
  async effectiveDefaults(scope: Scope = this.store.root): Promise<Record<string, number>> {
    return { ...this.defaultLimits(), ...(await this.classLimits('default', scope)) };
  }

  defaultLimits(): Record<string, number> {
    const out: Record<string, number> = { ...this.defaults };
    for (const r of PER_TYPE_RESOURCES) out[`${r}___DEFAULT__`] = -1;
    return out;
  }

  async limits(projectId: string, scope: Scope = this.store.root): Promise<Record<string, number>> {
    return { ...(await this.effectiveDefaults(scope)), ...(await this.repo.limits(scope as Scope, projectId)) };
  }

  usage(projectId: string, scope: Scope = this.store.root): Promise<Record<string, number>> {
    return this.repo.usage(scope as Scope, projectId);
  }

  /** Throws 413 overLimit when any positive delta would exceed its limit; negative deltas release. */
  async reserve(tx: Scope, projectId: string, deltas: Record<string, number>): Promise<void> {
    const scope = tx as Scope;
    const limits = await this.limits(projectId, scope);
    const perVolume = limits.per_volume_gigabytes ?? -1;
    if (deltas.volume_size !== undefined && perVolume >= 0 && deltas.volume_size > perVolume) {
      throw overLimit(`VolumeSizeExceedsLimit: Requested volume size ${deltas.volume_size}G is larger than maximum allowed limit ${perVolume}G.`);
    }
    // Rows are locked in one order for every request, so two transactions reserving the same resources cannot
    // deadlock on PostgreSQL; the refusal names the first refused resource in the caller's order, as before.
    const refused = new Set<string>();
    for (const resource of Object.keys(deltas).sort()) {
      const delta = deltas[resource]!;
      if (resource === 'volume_size' || delta === 0) continue;
      if (!(await this.repo.add(scope, projectId, resource, delta, limits[resource] ?? -1))) refused.add(resource);
    }
    if (refused.size === 0) return;
    // The caller's transaction rolls back what the other resources took.
    const resource = Object.keys(deltas).find((r) => refused.has(r))!;
    const used = (await this.repo.usage(scope, projectId))[resource] ?? 0;
    throw overLimit(overQuotaMessage(resource, deltas[resource]!, limits[resource] ?? -1, used));
  }

  async release(tx: Scope, projectId: string, deltas: Record<string, number>): Promise<void> {
    const negative: Record<string, number> = {};
    for (const [k, v] of Object.entries(deltas)) if (k !== 'volume_size') negative[k] = -Math.abs(v);
    await this.reserve(tx, projectId, negative);
  }

  /** Sets explicit limits; `-1` means unlimited. A limit below current usage is refused, as Cinder does. */
  async setLimits(projectId: string, values: Record<string, number>): Promise<void> {
    await this.store.transaction(async (tx) => {
      const usage = await this.repo.usage(tx, projectId);
      for (const [resource, limit] of Object.entries(values)) {
        const used = usage[resource] ?? 0;
        if (limit >= 0 && limit < used && resource !== 'per_volume_gigabytes') {
          throw badRequest(`Quota ${resource} limit must be equal or greater than existing resources. Current usage is ${used} and the requested limit is ${limit}.`);
        }
        await this.repo.setLimit(tx, projectId, resource, limit);
      }
    });
  }

  async resetLimits(projectId: string): Promise<void> {
    await this.repo.resetLimits(this.store.root, projectId);
  }
}
