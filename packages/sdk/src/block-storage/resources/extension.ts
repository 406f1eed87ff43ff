/**
 * API extensions (`GET /extensions`): the descriptors of the extensions the Block Storage API loads.
 * @packageDocumentation
 */
import { isRecord } from '../../util/objects.js';

/** One extension descriptor. */
export interface Extension {
  /** Short name used in paths and attribute prefixes, e.g. `os-hosts`. */
  alias: string;
  /** Display name, e.g. `Hosts`. */
  name: string;
  description: string;
  /** ISO date of the extension's last change. */
  updated: string;
  links: unknown[];
}

/** Maps one extension descriptor. @internal */
export function extensionFrom(v: unknown): Extension {
  const r = isRecord(v) ? v : {};
  return {
    alias: String(r.alias ?? ''),
    name: String(r.name ?? ''),
    description: String(r.description ?? ''),
    updated: String(r.updated ?? ''),
    links: Array.isArray(r.links) ? r.links : [],
  };
}
