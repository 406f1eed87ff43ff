/**
 * Keystone v3 service catalog and endpoint selection.
 * @packageDocumentation
 */
import { EndpointNotFoundError } from '../errors.js';

/** One endpoint of a catalog entry. */
export interface CatalogEndpoint {
  id?: string;
  interface: string;
  region?: string | null;
  region_id?: string | null;
  url: string;
}

/** One service in the catalog. */
export interface CatalogEntry {
  id?: string;
  type: string;
  name?: string;
  endpoints: CatalogEndpoint[];
}

/**
 * Service-type aliases in priority order (service-types-authority). The requested type is tried first,
 * then its aliases, so `block-storage` matches `volumev3` before `volumev2`.
 *
 * @example
 * ```ts
 * SERVICE_TYPE_ALIASES['block-storage']; // ['block-storage', 'volumev3', 'volumev2', 'volume', 'block-store']
 * ```
 */
export const SERVICE_TYPE_ALIASES: Readonly<Record<string, readonly string[]>> = {
  'block-storage': ['block-storage', 'volumev3', 'volumev2', 'volume', 'block-store'],
  identity: ['identity'],
  cbr: ['cbr', 'cbrv3'],
};

/** Returns the requested type followed by its aliases. @example `serviceTypeCandidates('volumev3')[0] // 'volumev3'` */
export function serviceTypeCandidates(serviceType: string): string[] {
  for (const aliases of Object.values(SERVICE_TYPE_ALIASES)) {
    if (aliases.includes(serviceType)) return [serviceType, ...aliases.filter((a) => a !== serviceType)];
  }
  return [serviceType];
}

/** Endpoint filter. */
export interface EndpointFilter {
  /** Official type or any alias. */
  serviceType: string;
  /** Interface or a preference list (`public`, `internal`, `admin`; `publicURL` accepted). Default `public`. */
  interface?: string | readonly string[] | undefined;
  /** Region name or id. */
  region?: string | undefined;
  /** Service name, when several services share a type. */
  serviceName?: string | undefined;
}

/** Normalises `publicURL` → `public`. @example `normalizeInterface('internalURL') // 'internal'` */
export function normalizeInterface(value: string): string {
  return value.replace(/URL$/i, '').toLowerCase();
}

/**
 * The catalog returned with a Keystone token.
 *
 * @example
 * ```ts
 * const url = catalog.endpointFor({ serviceType: 'block-storage', interface: ['internal', 'public'], region: 'RegionOne' });
 * ```
 */
export class ServiceCatalog {
  /** Raw entries. */
  readonly entries: readonly CatalogEntry[];

  constructor(entries: readonly CatalogEntry[]) {
    this.entries = entries;
  }

  /** All matching URLs in priority order (type alias order, then interface preference). */
  endpointsFor(filter: EndpointFilter): string[] {
    const interfaces = (
      filter.interface === undefined
        ? ['public']
        : typeof filter.interface === 'string'
          ? [filter.interface]
          : filter.interface
    ).map(normalizeInterface);
    const out: string[] = [];
    for (const type of serviceTypeCandidates(filter.serviceType)) {
      for (const entry of this.entries) {
        if (entry.type !== type) continue;
        if (filter.serviceName !== undefined && entry.name !== filter.serviceName) continue;
        for (const iface of interfaces) {
          for (const ep of entry.endpoints) {
            if (!ep.url || normalizeInterface(ep.interface) !== iface) continue;
            if (filter.region !== undefined && ep.region !== filter.region && ep.region_id !== filter.region) continue;
            if (!out.includes(ep.url)) out.push(ep.url);
          }
        }
      }
    }
    return out;
  }

  /** The best matching URL; throws {@link EndpointNotFoundError} when none matches. */
  endpointFor(filter: EndpointFilter): string {
    const [first] = this.endpointsFor(filter);
    if (first === undefined) {
      throw new EndpointNotFoundError(
        `no endpoint for service type ${filter.serviceType} (interface ${String(filter.interface ?? 'public')}${filter.region ? `, region ${filter.region}` : ''})`,
      );
    }
    return first;
  }
}
