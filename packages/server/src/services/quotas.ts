import { badRequest, overLimit } from '../domain/errors.js';
import type { Db, Executor } from '../store/database.js';
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
 * Quota limits and usage. Usage is a counter per (project, resource) moved by guarded updates inside the
 * caller's transaction (`in_use + delta <= limit`), so concurrent creates cannot overshoot and a rolled-back
 * request leaves no reservation behind.
 */
export class QuotaService {
  constructor(
    private readonly db: Db,
    private readonly defaults: Record<string, number>,
    /** Per-type quota keys follow the type catalogue. */
    readonly volumeTypes: VolumeTypeService,
  ) {}

  defaultLimits(): Record<string, number> {
    const out: Record<string, number> = { ...this.defaults };
    for (const r of PER_TYPE_RESOURCES) out[`${r}___DEFAULT__`] = -1;
    return out;
  }

  async limits(projectId: string, exec: Executor = this.db): Promise<Record<string, number>> {
    const rows = await exec.selectFrom('quotas').select(['resource', 'hard_limit']).where('project_id', '=', projectId).execute();
    const out = this.defaultLimits();
    for (const r of rows) out[r.resource] = Number(r.hard_limit);
    return out;
  }

  async usage(projectId: string, exec: Executor = this.db): Promise<Record<string, number>> {
    const rows = await exec.selectFrom('quota_usages').select(['resource', 'in_use']).where('project_id', '=', projectId).execute();
    const out: Record<string, number> = {};
    for (const r of rows) out[r.resource] = Number(r.in_use);
    return out;
  }

  /** Throws 413 overLimit when any positive delta would exceed its limit; negative deltas release. */
  async reserve(exec: Executor, projectId: string, deltas: Record<string, number>): Promise<void> {
    const limits = await this.limits(projectId, exec);
    const perVolume = limits.per_volume_gigabytes ?? -1;
    if (deltas.volume_size !== undefined && perVolume >= 0 && deltas.volume_size > perVolume) {
      throw overLimit(`VolumeSizeExceedsLimit: Requested volume size ${deltas.volume_size}G is larger than maximum allowed limit ${perVolume}G.`);
    }
    for (const [resource, delta] of Object.entries(deltas)) {
      if (resource === 'volume_size' || delta === 0) continue;
      await exec
        .insertInto('quota_usages')
        .values({ project_id: projectId, resource, in_use: 0 })
        .onConflict((oc) => oc.columns(['project_id', 'resource']).doNothing())
        .execute();
      const limit = limits[resource] ?? -1;
      let q = exec
        .updateTable('quota_usages')
        .set((eb) => ({ in_use: eb('in_use', '+', delta) }))
        .where('project_id', '=', projectId)
        .where('resource', '=', resource);
      if (delta > 0 && limit >= 0) q = q.where((eb) => eb(eb('in_use', '+', delta), '<=', limit));
      const res = await q.executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) {
        const used = (await this.usage(projectId, exec))[resource] ?? 0;
        throw overLimit(overQuotaMessage(resource, delta, limit, used));
      }
    }
  }

  async release(exec: Executor, projectId: string, deltas: Record<string, number>): Promise<void> {
    const negative: Record<string, number> = {};
    for (const [k, v] of Object.entries(deltas)) if (k !== 'volume_size') negative[k] = -Math.abs(v);
    await this.reserve(exec, projectId, negative);
  }

  /** Sets explicit limits; `-1` means unlimited. A limit below current usage is refused, as Cinder does. */
  async setLimits(projectId: string, values: Record<string, number>): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      const usage = await this.usage(projectId, tx);
      for (const [resource, limit] of Object.entries(values)) {
        const used = usage[resource] ?? 0;
        if (limit >= 0 && limit < used && resource !== 'per_volume_gigabytes') {
          throw badRequest(`Quota ${resource} limit must be equal or greater than existing resources. Current usage is ${used} and the requested limit is ${limit}.`);
        }
        await tx
          .insertInto('quotas')
          .values({ project_id: projectId, resource, hard_limit: limit })
          .onConflict((oc) => oc.columns(['project_id', 'resource']).doUpdateSet({ hard_limit: limit }))
          .execute();
      }
    });
  }

  async resetLimits(projectId: string): Promise<void> {
    await this.db.deleteFrom('quotas').where('project_id', '=', projectId).execute();
  }
}
