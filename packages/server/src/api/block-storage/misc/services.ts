import type { Service as ServiceSchema } from '@cinderbox/api-schema';
import type { Static } from 'typebox';
import {
  serviceDisableLogReason as DISABLE_REASON_SCHEMA,
  serviceEnable as ENABLE_SCHEMA,
  serviceFreeze as FREEZE_SCHEMA,
  serviceGetLog as GET_LOG_SCHEMA,
  serviceSetLog as SET_LOG_SCHEMA,
} from '@cinderbox/api-schema';
import type { FastifyInstance } from 'fastify';
import { type BackendStatusService, DRIVER_VERSION, type PoolEntry, type ServiceEntry } from '../../../services/backend-status.js';
import type { ServiceRegistry } from '../../../services/service-registry.js';
import { BACKEND_STORAGE_PROTOCOL, BACKEND_VENDOR_NAME } from '../../../domain/volume-type.js';
import { badRequest } from '../../../domain/errors.js';
import type { ApiVersion } from '../../common/api-version.js';
import { parseBoolean, validateBody } from '../../common/validation.js';
import { callerOf, queryOf, versionOf } from './request.js';

/** The `os-services` view with `os-extended-services` loaded, as Cinder shows it at each microversion. */
function serviceView(s: ServiceEntry, v: ApiVersion): Static<typeof ServiceSchema> {
  const out: Static<typeof ServiceSchema> = {
    binary: s.binary,
    host: s.host,
    zone: s.zone,
    status: s.status,
    state: s.state,
    updated_at: s.updatedAt,
    // Cinder's key order: the microversion's keys come before disabled_reason.
    ...(v.atLeast('3.49') && s.binary === 'cinder-volume' ? { backend_state: s.state } : {}),
    ...(v.atLeast('3.7') ? { cluster: null } : {}),
    disabled_reason: s.disabledReason,
  };
  if (s.binary === 'cinder-volume') {
    out.replication_status = 'disabled';
    out.active_backend_id = null;
    out.frozen = s.frozen;
  }
  return out;
}

function poolCapabilities(p: PoolEntry): Record<string, unknown> {
  return {
    pool_name: p.poolName,
    volume_backend_name: p.backendName,
    vendor_name: BACKEND_VENDOR_NAME,
    driver_version: DRIVER_VERSION,
    storage_protocol: BACKEND_STORAGE_PROTOCOL,
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

type EnableBody = { host: string; binary?: string; service?: string; disabled_reason?: string };

/** Admin-only views and switches of the services, hosts, backends' capabilities and pools. */
export function registerServiceRoutes(scope: FastifyInstance, status: BackendStatusService, registry: ServiceRegistry): void {
  scope.get('/os-services', async (request) => {
    const q = queryOf(request);
    const services = await status.listServices(callerOf(request), { host: q.host, binary: q.binary });
    const v = versionOf(request);
    return { services: services.map((s) => serviceView(s, v)) };
  });

  scope.put<{ Params: { action: string } }>('/os-services/:action', async (request, reply) => {
    const ctx = callerOf(request);
    const action = request.params.action;
    const v = versionOf(request);
    switch (action) {
      case 'enable':
      case 'disable':
      case 'disable-log-reason': {
        const body = validateBody<EnableBody>(action === 'disable-log-reason' ? DISABLE_REASON_SCHEMA : ENABLE_SCHEMA, request.body);
        if (body.disabled_reason !== undefined && body.disabled_reason.trim() === '')
          throw badRequest('Disabled reason contains invalid characters or is too long');
        // `binary` wins over the deprecated `service`, as in Cinder.
        const binary = body.binary || body.service || '';
        const enabled = action === 'enable';
        await registry.setEnabled(ctx, body.host, binary, enabled, action === 'disable-log-reason' ? body.disabled_reason : undefined);
        const out: Record<string, unknown> = { disabled: !enabled };
        if (action === 'disable-log-reason') out.disabled_reason = body.disabled_reason;
        return { ...out, host: body.host, service: body.service ?? '', binary: body.binary ?? '', status: enabled ? 'enabled' : 'disabled' };
      }
      case 'freeze':
      case 'thaw': {
        const body = validateBody<{ host: string }>(FREEZE_SCHEMA, request.body);
        await registry.setFrozen(ctx, body.host, action === 'freeze');
        reply.code(200);
        return reply.send();
      }
      case 'set-log':
      case 'get-log': {
        if (!v.atLeast('3.32')) break;
        if (action === 'set-log') {
          const body = validateBody<{ binary?: string | null; server?: string | null; prefix?: string | null; level: string | null }>(
            SET_LOG_SCHEMA,
            request.body,
          );
          registry.setLogLevels(ctx, body);
          reply.code(202);
          return reply.send();
        }
        const body = validateBody<{ binary?: string | null; server?: string | null; prefix?: string | null }>(GET_LOG_SCHEMA, request.body ?? {});
        return { log_levels: registry.getLogLevels(ctx, body) };
      }
      default:
        break;
    }
    throw badRequest('Invalid input received: Unknown action');
  });

  scope.get('/os-hosts', async (request) => {
    const q = queryOf(request);
    return { hosts: await status.listHosts(callerOf(request), q.zone) };
  });

  scope.get<{ Params: { host: string } }>('/os-hosts/:host', async (request) => {
    const host = request.params.host;
    const usage = await status.showHost(callerOf(request), host);
    // Cinder's strings, a `(total)` row for the host, then one per project with a volume there.
    const row = (project: string, vc: number, vg: number, sc: number, sg: number) => ({
      resource: { host, project, volume_count: String(vc), total_volume_gb: String(vg), snapshot_count: String(sc), total_snapshot_gb: String(sg) },
    });
    const snapCount = usage.projects.reduce((a, p) => a + p.snapshotCount, 0);
    const snapGb = usage.projects.reduce((a, p) => a + p.snapshotGb, 0);
    return {
      host: [
        row('(total)', usage.volumeCount, usage.volumeGb, snapCount, snapGb),
        ...usage.projects.map((p) => row(p.projectId, p.volumeCount, p.volumeGb, p.snapshotCount, p.snapshotGb)),
      ],
    };
  });

  scope.get<{ Params: { host: string } }>('/capabilities/:host', async (request) => status.capabilities(callerOf(request), request.params.host));

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
