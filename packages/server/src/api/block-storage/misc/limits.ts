import type { FastifyInstance } from 'fastify';
import type { QuotaSetService } from '../../../services/quota-sets.js';
import { callerOf, queryOf, versionOf } from './request.js';

/**
 * `GET /limits`: absolute limits from the project's quotas plus the usage `os-used-limits` adds. Rate limits
 * are never configured. From 3.39 an admin may ask about another project with `project_id` (or `tenant_id`).
 */
export function registerLimitRoutes(scope: FastifyInstance, quotaSets: QuotaSetService): void {
  scope.get('/limits', async (request) => {
    const q = queryOf(request);
    const other = versionOf(request).atLeast('3.39') ? (q.project_id ?? q.tenant_id ?? null) : null;
    const { limits, usage } = await quotaSets.limitsWithUsage(callerOf(request), other);
    const used = (k: string) => usage[k] ?? 0;
    return {
      limits: {
        rate: [],
        absolute: {
          maxTotalVolumes: limits.volumes,
          maxTotalSnapshots: limits.snapshots,
          maxTotalVolumeGigabytes: limits.gigabytes,
          maxTotalBackups: limits.backups,
          maxTotalBackupGigabytes: limits.backup_gigabytes,
          totalVolumesUsed: used('volumes'),
          totalGigabytesUsed: used('gigabytes'),
          totalSnapshotsUsed: used('snapshots'),
          totalBackupsUsed: used('backups'),
          totalBackupGigabytesUsed: used('backup_gigabytes'),
        },
      },
    };
  });
}
