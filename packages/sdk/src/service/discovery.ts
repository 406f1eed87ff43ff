/**
 * Version discovery: the root versions document of a versioned endpoint.
 * @packageDocumentation
 */
import { isRecord } from '../util/objects.js';

/** One entry of a versions document. */
export interface VersionEntry {
  /** `v3.0`, `v2.0`. */
  id: string;
  status: string | undefined;
  /** Maximum microversion (`3.70`), or undefined when the API has none. */
  maxMicroversion: string | undefined;
  minMicroversion: string | undefined;
  /** The entry's `self` link. */
  selfUrl: string | undefined;
}

/**
 * Splits an endpoint URL into its unversioned root, the version segment and what follows it
 * (usually the project id).
 *
 * @example
 * ```ts
 * splitVersionedUrl('http://h:8776/v3/abc'); // { root: 'http://h:8776', version: 'v3', suffix: 'abc' }
 * ```
 */
export function splitVersionedUrl(url: string): { root: string; version: string | undefined; suffix: string } {
  const u = new URL(url);
  const parts = u.pathname.split('/').filter(Boolean);
  const idx = parts.findIndex((p) => /^v\d+(\.\d+)?$/.test(p));
  if (idx < 0) return { root: url.replace(/\/+$/, ''), version: undefined, suffix: '' };
  const rootPath = parts.slice(0, idx).join('/');
  return {
    root: `${u.origin}${rootPath ? `/${rootPath}` : ''}`,
    version: parts[idx],
    suffix: parts.slice(idx + 1).join('/'),
  };
}

/**
 * Parses a versions document (`{"versions": [...]}` or `{"version": {...}}`; the `values` wrapping
 * of Keystone is accepted).
 *
 * @example
 * ```ts
 * parseVersions({ versions: [{ id: 'v3.0', version: '3.70', min_version: '3.0', links: [] }] })[0]?.maxMicroversion; // '3.70'
 * ```
 */
export function parseVersions(body: unknown): VersionEntry[] {
  if (!isRecord(body)) return [];
  let list: unknown = body.versions ?? (body.version === undefined ? undefined : [body.version]);
  if (isRecord(list) && Array.isArray(list.values)) list = list.values;
  if (!Array.isArray(list)) return [];
  return list.filter(isRecord).map((v) => {
    const links = Array.isArray(v.links) ? v.links.filter(isRecord) : [];
    const self = links.find((l) => l.rel === 'self');
    const max = typeof v.version === 'string' && v.version ? v.version : undefined;
    const min = typeof v.min_version === 'string' && v.min_version ? v.min_version : undefined;
    return {
      id: String(v.id ?? ''),
      status: typeof v.status === 'string' ? v.status : undefined,
      maxMicroversion: max,
      minMicroversion: min,
      selfUrl: typeof self?.href === 'string' ? self.href : undefined,
    };
  });
}

/** Picks the entry for a major version (`3` matches `v3.0`). @example `pickVersion(entries, 3)` */
export function pickVersion(entries: readonly VersionEntry[], major: number): VersionEntry | undefined {
  return entries.find((e) => new RegExp(`^v${major}(\\.\\d+)?$`).test(e.id));
}
