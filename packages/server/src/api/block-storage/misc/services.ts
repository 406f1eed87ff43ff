import type { FastifyInstance } from 'fastify';
import type { BackendStatusService, PoolEntry, ServiceEntry } from '../../../services/backend-status.js';
import type { ApiVersion } from '../../common/api-version.js';
import { parseBoolean } from '../../common/validation.js';
import { callerOf, queryOf, versionOf } from './request.js';

/** The `os-services` view with `os-extended-services` loaded, as Cinder shows it at each microversion. */
function serviceView(s: ServiceEntry, v: ApiVersion): Record<string, unknown> {
  const out: Record<string, unknown> = {
    binary: s.binary,
    host: s.host,
    zone: s.zone,
    status: s.status,
    state: s.state,
    updated_at: s.updatedAt,
  };
  if (v.atLeast('3.49') && s.binary === 'cinder-volume') out.backend_state = 'up';
  if (v.atLeast('3.7')) out.cluster = null;
  out.disabled_reason = null;
  if (s.binary === 'cinder-volume') {
    out.replication_status = 'disabled';
    out.active_backend_id = null;
    out.frozen = false;
  }
  return out;
}

function poolCapabilities(p: PoolEntry): Record<string, unknown> {
  return {
    pool_name: p.poolName,
    volume_backend_name: p.backendName,
    vendor_name: 'Open Source',
    driver_version: '1.0.0',
    storage_protocol: 'local',
    total_capacity_gb: p.totalCapacityGb,
    free_capacity_gb: p.freeCapacityGb,
    reserved_percentage: 0,
    QoS_support: false,
    thin_provisioning_support: true,
    thick_provisioning_support: false,
    max_over_subscription_ratio: '1.0',
    multiattach: false,
    backend_state: 'up',
    timestamp: p.updatedAt,
  };
}

/** Admin-only views of the running services and their pools. */
export function registerServiceRoutes(scope: FastifyInstance, status: BackendStatusService): void {
  scope.get('/os-services', async (request) => {
    const q = queryOf(request);
    const services = status.listServices(callerOf(request), { host: q.host, binary: q.binary });
    const v = versionOf(request);
    return { services: services.map((s) => serviceView(s, v)) };
  });

  scope.get('/scheduler-stats/get_pools', async (request) => {
    const ctx = callerOf(request);
    const q = queryOf(request);
    const detail = q.detail === undefined ? false : parseBoolean(q.detail, 'detail');
    // Pool filters exist from 3.28; below that Cinder drops them.
    const name = versionOf(request).atLeast('3.28') ? q.name : undefined;
    const pools = await status.listPools(ctx, { name });
    return { pools: pools.map((p) => (detail ? { name: p.name, capabilities: poolCapabilities(p) } : { name: p.name })) };
  });
}
