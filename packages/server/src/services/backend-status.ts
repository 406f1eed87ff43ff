import { statfs } from 'node:fs/promises';
import { backendHostName, type ServerConfig } from '../config/config.js';
import type { AuthContext } from '../domain/auth-context.js';
import { notFound, policyForbidden } from '../domain/errors.js';
import type { MetadataStore } from '../domain/ports/metadata-store.js';
import type { VolumeDriver } from '../domain/ports/volume-driver.js';
import type { HostUsage, ServiceStore } from '../domain/ports/service-store.js';
import { storedTime, type Clock } from '../domain/time.js';
import { BACKEND_STORAGE_PROTOCOL, BACKEND_VENDOR_NAME } from '../domain/volume-type.js';
import { hostMatches } from './service-hosts.js';
import type { ServiceEntry, ServiceRegistry } from './service-registry.js';


export interface PoolEntry {
  /** `host@backend#pool` */
  name: string;
  backendName: string;
  poolName: string;
  totalCapacityGb: number;
  freeCapacityGb: number;
  updatedAt: string;
}

function gib(bytes: number): number {
  return Math.round((bytes / 1024 ** 3) * 100) / 100;
}

export type { ServiceEntry };

/** Version cinderbox reports for its volume drivers (Cinder drivers each carry their own). */
export const DRIVER_VERSION = '1.0.0';

/** What `GET /capabilities/{host}` answers, as Cinder's capabilities view builds it. */
export interface BackendCapabilities {
  namespace: string;
  vendor_name: string;
  volume_backend_name: string;
  pool_name: string;
  driver_version: string;
  storage_protocol: string;
  display_name: string | null;
  description: string | null;
  visibility: string | null;
  replication_targets: unknown[];
  properties: Record<string, { title: string; description: string; type: string }>;
}

/** Cinder's `os-hosts` list entry. */
export interface HostEntry {
  host_name: string;
  service: string;
  zone: string;
  'service-status': 'available' | 'unavailable';
  'service-state': 'enabled' | 'disabled';
  'last-update': string | null;
}

/**
 * What the admin-only `os-services`, `os-hosts`, `capabilities` and `scheduler-stats` APIs report: services from
 * the services table (heartbeats, switches; see service-registry.ts), pools and capabilities from the configured
 * backends.
 */
export class BackendStatusService {
  constructor(
    private readonly config: ServerConfig,
    private readonly clock: Clock,
    private readonly registry: ServiceRegistry,
    private readonly data: { store: MetadataStore; services: ServiceStore; drivers?: ReadonlyMap<string, Pick<VolumeDriver, 'capacity'>> },
  ) {}

  listServices(ctx: AuthContext, filters: { host?: string; binary?: string } = {}): Promise<ServiceEntry[]> {
    return this.registry.list(ctx, filters);
  }

  /** `os-hosts`: one entry per service, by Cinder's topic names (the binaries), optionally in one zone. */
  async listHosts(ctx: AuthContext, zone?: string): Promise<HostEntry[]> {
    if (!ctx.isAdmin) throw policyForbidden('volume_extension:hosts');
    return (await this.registry.entries())
      .filter((s) => !zone || s.zone === zone)
      .map((s) => ({
        host_name: s.host,
        service: s.binary,
        zone: s.zone,
        'service-status': s.state === 'up' ? 'available' : 'unavailable',
        'service-state': s.status,
        'last-update': s.updatedAt,
      }));
  }

  /** `os-hosts/{host}`: the host must run a volume service (Cinder's 404 "Host not found" otherwise). */
  async showHost(ctx: AuthContext, host: string): Promise<HostUsage> {
    if (!ctx.isAdmin) throw policyForbidden('volume_extension:hosts');
    const services = await this.registry.entries();
    if (!services.some((s) => s.binary === 'cinder-volume' && s.host === host)) throw notFound('Host not found');
    return this.data.services.hostUsage(this.data.store.root, host);
  }

  /** `capabilities/{host}`: the volume service `host` (or `host@backend`) names; Cinder's 404 when none. */
  async capabilities(ctx: AuthContext, host: string): Promise<BackendCapabilities> {
    if (!ctx.isAdmin) throw policyForbidden('volume_extension:capabilities');
    const svc = (await this.registry.entries()).find((s) => s.binary === 'cinder-volume' && hostMatches(s.host, host));
    const backendName = svc?.host.split('@')[1];
    const backend = this.config.backends.find((b) => b.name === backendName);
    if (!svc || !backend) throw notFound(`Can't find service: ${host}`);
    return {
      namespace: `OS::Storage::Capabilities::${svc.host}`,
      vendor_name: BACKEND_VENDOR_NAME,
      volume_backend_name: backend.name,
      pool_name: backend.pool,
      driver_version: DRIVER_VERSION,
      storage_protocol: BACKEND_STORAGE_PROTOCOL,
      display_name: null,
      description: null,
      visibility: null,
      replication_targets: [],
      properties: {
        thin_provisioning: { title: 'Thin Provisioning', description: 'Sets thin provisioning.', type: 'boolean' },
        compression: { title: 'Compression', description: 'Enables compression.', type: 'boolean' },
        qos: { title: 'QoS', description: 'Enables QoS.', type: 'boolean' },
        replication_enabled: { title: 'Replication', description: 'Enables replication.', type: 'boolean' },
      },
    };
  }

  async listPools(ctx: AuthContext, filters: { name?: string } = {}): Promise<PoolEntry[]> {
    if (!ctx.isAdmin) throw policyForbidden('scheduler_extension:scheduler_stats:get_pools');
    // File backends keep their files under the data directory, so they share its filesystem's capacity.
    const fs = await statfs(this.config.dataDir);
    const local = { total: fs.blocks * fs.bsize, free: fs.bavail * fs.bsize };
    const now = storedTime(this.clock.now());
    // A backend with storage of its own (an RBD pool) reports that; one that cannot say falls back to the local figure.
    const own = await Promise.all(
      this.config.backends.map(async (b) => {
        const { total, free } = (await storageCapacity(this.data.drivers?.get(b.name))) ?? local;
        return { name: backendHostName(this.config, b), backendName: b.name, poolName: b.pool, totalCapacityGb: gib(total), freeCapacityGb: gib(free), updatedAt: now };
      }),
    );
    // Other nodes' pools, as their volume services last reported them; Cinder's scheduler forgets a service that
    // is down, and so does this list. Backends are named alike on every node, so the pool name is this node's.
    const others: PoolEntry[] = [];
    for (const s of await this.registry.entries()) {
      if (s.binary !== 'cinder-volume' || s.state !== 'up' || !s.capacity || s.host.split('@')[0] === this.config.serviceHost) continue;
      const backend = this.config.backends.find((b) => b.name === s.host.split('@')[1]);
      if (!backend) continue;
      others.push({
        name: `${s.host}#${backend.pool}`,
        backendName: backend.name,
        poolName: backend.pool,
        totalCapacityGb: s.capacity.totalGb,
        freeCapacityGb: s.capacity.freeGb,
        updatedAt: s.updatedAt ?? now,
      });
    }
    return [...own, ...others].filter((p) => filters.name === undefined || p.name === filters.name);
  }
}

/** How long get_pools waits for a backend's storage to report before using the local figure. */
const CAPACITY_TIMEOUT_MS = 10_000;

async function storageCapacity(driver: Pick<VolumeDriver, 'capacity'> | undefined): Promise<{ total: number; free: number } | null> {
  if (!driver?.capacity) return null;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), CAPACITY_TIMEOUT_MS);
    timer.unref();
  });
  try {
    return await Promise.race([driver.capacity().catch(() => null), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
