/**
 * Admin views of the block-storage deployment: services (`/os-services`), hosts (`/os-hosts`), a backend's
 * capabilities (`/capabilities/{host}`) and quota classes (`/os-quota-class-sets`).
 * @packageDocumentation
 */
import type { CapabilitiesBody, HostBody, HostResourceBody, Service as ServiceSchema } from '@cinderbox/api-schema';
import type { Static } from 'typebox';
import { wireRecord } from '../../resource/field.js';
import { isRecord } from '../../util/objects.js';

/** A Cinder service: the scheduler, one volume service per backend (`host@backend`), the backup service. */
export interface Service {
  /** `cinder-scheduler`, `cinder-volume` or `cinder-backup`. */
  binary: string;
  /** `node` for the scheduler and backup, `node@backend` for a volume service. */
  host: string;
  /** Availability zone. */
  zone: string;
  /** `enabled` or `disabled` (disabled services take no new work). */
  status: string;
  /** `up` or `down`, from the age of the service's last heartbeat. */
  state: string;
  /** The last heartbeat. */
  updatedAt: string | null;
  /** Why it was disabled (`frozen` after a freeze). */
  disabledReason: string | null;
  /** Volume services: whether the backend is frozen (no management operations on its volumes). */
  frozen?: boolean;
  /** 3.7+: the cluster (null outside one). */
  cluster?: string | null;
  /** 3.49+, volume services: the backend's own state. */
  backendState?: string;
}

/** What `PUT /os-services/enable|disable|disable-log-reason` answers. */
export interface ServiceUpdateResult {
  host: string;
  binary: string;
  status: string;
  disabled: boolean;
  disabledReason?: string;
}

/** The log levels of one service (3.32), by logger prefix (`cinder` is the root). */
export interface ServiceLogLevels {
  host: string;
  binary: string;
  /** Prefix → `DEBUG`, `INFO`, `WARNING`, `ERROR` or `CRITICAL`. */
  levels: Record<string, string>;
}

/** Which services a log-level call addresses: all (default), a binary (`cinder-api` included), a server. */
export interface LogLevelTarget {
  binary?: string;
  server?: string;
  /** Logger name prefix; empty or absent for the root. */
  prefix?: string;
}

/** One entry of `GET /os-hosts`. */
export interface Host {
  hostName: string;
  /** The binary (Cinder's topic). */
  service: string;
  zone: string;
  /** `available` or `unavailable` (heartbeat). */
  serviceStatus: string;
  /** `enabled` or `disabled`. */
  serviceState: string;
  lastUpdate: string | null;
}

/** One row of `GET /os-hosts/{host}`: the `(total)` row for the host, then one per project with a volume there. */
export interface HostResourceUsage {
  host: string;
  /** A project id, or `(total)`. */
  project: string;
  volumeCount: number;
  totalVolumeGb: number;
  snapshotCount: number;
  totalSnapshotGb: number;
}

/** `GET /capabilities/{host}`: what a backend reports of itself. */
export interface BackendCapabilities {
  namespace: string;
  vendorName: string | null;
  volumeBackendName: string | null;
  poolName: string | null;
  driverVersion: string | null;
  storageProtocol: string | null;
  displayName: string | null;
  description: string | null;
  visibility: string | null;
  replicationTargets: unknown[];
  /** Capability name → `{title, description, type}`. */
  properties: Record<string, unknown>;
}

/** A quota class's limits (`default` is what projects without their own limits get), per resource key. */
export interface QuotaClassSet {
  /** The class name. */
  id: string;
  /** Resource → limit (`-1` unlimited); per-type keys such as `volumes_<type>` included. */
  limits: Record<string, number>;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const strOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** @internal */
export function serviceFrom(v: unknown): Service {
  const r = wireRecord<Static<typeof ServiceSchema>>(v);
  const out: Service = {
    binary: str(r.binary),
    host: str(r.host),
    zone: str(r.zone),
    status: str(r.status),
    state: str(r.state),
    updatedAt: strOrNull(r.updated_at),
    disabledReason: strOrNull(r.disabled_reason),
  };
  if (typeof r.frozen === 'boolean') out.frozen = r.frozen;
  if ('cluster' in r) out.cluster = strOrNull(r.cluster);
  if (typeof r.backend_state === 'string') out.backendState = r.backend_state;
  return out;
}

/** @internal */
export function hostFrom(v: unknown): Host {
  const r = wireRecord<HostBody>(v);
  return {
    hostName: str(r.host_name),
    service: str(r.service),
    zone: str(r.zone),
    serviceStatus: str(r['service-status']),
    serviceState: str(r['service-state']),
    lastUpdate: strOrNull(r['last-update']),
  };
}

/** @internal */
export function hostUsageFrom(v: unknown): HostResourceUsage {
  const r = wireRecord<HostResourceBody['resource']>(wireRecord<HostResourceBody>(v).resource);
  return {
    host: str(r.host),
    project: str(r.project),
    volumeCount: Number(r.volume_count ?? 0),
    totalVolumeGb: Number(r.total_volume_gb ?? 0),
    snapshotCount: Number(r.snapshot_count ?? 0),
    totalSnapshotGb: Number(r.total_snapshot_gb ?? 0),
  };
}

/** @internal */
export function capabilitiesFrom(v: unknown): BackendCapabilities {
  const r = wireRecord<CapabilitiesBody>(v);
  return {
    namespace: str(r.namespace),
    vendorName: strOrNull(r.vendor_name),
    volumeBackendName: strOrNull(r.volume_backend_name),
    poolName: strOrNull(r.pool_name),
    driverVersion: strOrNull(r.driver_version),
    storageProtocol: strOrNull(r.storage_protocol),
    displayName: strOrNull(r.display_name),
    description: strOrNull(r.description),
    visibility: strOrNull(r.visibility),
    replicationTargets: Array.isArray(r.replication_targets) ? r.replication_targets : [],
    properties: isRecord(r.properties) ? r.properties : {},
  };
}

/** @internal */
export function quotaClassFrom(name: string, v: unknown): QuotaClassSet {
  const r = isRecord(v) ? v : {};
  const limits: Record<string, number> = {};
  for (const [k, val] of Object.entries(r)) if (k !== 'id' && typeof val === 'number') limits[k] = val;
  return { id: typeof r.id === 'string' ? r.id : name, limits };
}
