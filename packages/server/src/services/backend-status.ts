import { statfs } from 'node:fs/promises';
import { backendHostName, type ServerConfig } from '../config/config.js';
import type { AuthContext } from '../domain/auth-context.js';
import { policyForbidden } from '../domain/errors.js';
import { storedTime, type Clock } from '../domain/time.js';

export interface ServiceEntry {
  binary: 'cinder-scheduler' | 'cinder-volume' | 'cinder-backup';
  /** `host` for scheduler and backup, `host@backend` for a volume service, as Cinder shows them. */
  host: string;
  zone: string;
  status: 'enabled' | 'disabled';
  state: 'up' | 'down';
  updatedAt: string;
}

export interface PoolEntry {
  /** `host@backend#pool` */
  name: string;
  backendName: string;
  poolName: string;
  totalCapacityGb: number;
  freeCapacityGb: number;
  updatedAt: string;
}

/**
 * Cinder's host filter (`db.sqlalchemy.api._filter_host`): `h` matches `h`, `h@…` and `h#…`;
 * `h@b` matches `h@b` and `h@b#…`; a value with `#` matches only itself.
 */
function hostMatches(host: string, wanted: string): boolean {
  if (host === wanted) return true;
  if (wanted.includes('#')) return false;
  if (host.startsWith(`${wanted}#`)) return true;
  return !wanted.includes('@') && host.startsWith(`${wanted}@`);
}

function gib(bytes: number): number {
  return Math.round((bytes / 1024 ** 3) * 100) / 100;
}

/**
 * What the admin-only `os-services` and `scheduler-stats` APIs report. cinderbox runs the scheduler, volume
 * and backup roles in this one process, so every service is up while the API answers.
 */
export class BackendStatusService {
  constructor(
    private readonly config: ServerConfig,
    private readonly clock: Clock,
  ) {}

  listServices(ctx: AuthContext, filters: { host?: string; binary?: string } = {}): ServiceEntry[] {
    if (!ctx.isAdmin) throw policyForbidden('volume_extension:services:index');
    const now = storedTime(this.clock.now());
    const base = { zone: this.config.availabilityZone, status: 'enabled', state: 'up', updatedAt: now } as const;
    const all: ServiceEntry[] = [
      { binary: 'cinder-scheduler', host: this.config.serviceHost, ...base },
      ...this.config.backends.map((b): ServiceEntry => ({ binary: 'cinder-volume', host: backendHostName(this.config, b).split('#')[0]!, ...base })),
      { binary: 'cinder-backup', host: this.config.serviceHost, ...base },
    ];
    return all.filter((s) => (filters.binary === undefined || s.binary === filters.binary) && (filters.host === undefined || hostMatches(s.host, filters.host)));
  }

  async listPools(ctx: AuthContext, filters: { name?: string } = {}): Promise<PoolEntry[]> {
    if (!ctx.isAdmin) throw policyForbidden('scheduler_extension:scheduler_stats:get_pools');
    // Every backend keeps its files under the data directory, so they share its filesystem's capacity.
    const fs = await statfs(this.config.dataDir);
    const total = gib(fs.blocks * fs.bsize);
    const free = gib(fs.bavail * fs.bsize);
    const now = storedTime(this.clock.now());
    return this.config.backends
      .map((b) => ({ name: backendHostName(this.config, b), backendName: b.name, poolName: b.pool, totalCapacityGb: total, freeCapacityGb: free, updatedAt: now }))
      .filter((p) => filters.name === undefined || p.name === filters.name);
  }
}
