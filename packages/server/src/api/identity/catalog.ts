import { createHash } from 'node:crypto';

const SERVICES = [
  { type: 'identity', name: 'keystone', path: () => '/identity/v3' },
  { type: 'block-storage', name: 'cinder', path: (p: string) => `/v3/${p}` },
  { type: 'volumev3', name: 'cinderv3', path: (p: string) => `/v3/${p}` },
  { type: 'volumev2', name: 'cinderv2', path: (p: string) => `/v2/${p}` },
  { type: 'cbr', name: 'cbr', path: (p: string) => `/cbr/v3/${p}` },
] as const;

const INTERFACES = ['public', 'internal', 'admin'] as const;

// Stable ids, so a client caching the catalog sees the same service across tokens and restarts.
const stableId = (...parts: string[]) => createHash('sha256').update(parts.join('/')).digest('hex').slice(0, 32);

/** The catalog of a project-scoped token: every service on this one server, all interfaces alike. */
export function buildCatalog(baseUrl: string, region: string, projectId: string) {
  return SERVICES.map((s) => ({
    id: stableId('service', s.type),
    type: s.type,
    name: s.name,
    endpoints: INTERFACES.map((iface) => ({
      id: stableId('endpoint', s.type, iface),
      interface: iface,
      region,
      region_id: region,
      url: `${baseUrl}${s.path(projectId)}`,
    })),
  }));
}
