/**
 * List query mapping: client names → server names, client-side filters.
 * @packageDocumentation
 */
import { InvalidRequestError } from '../errors.js';
import type { QueryValue } from '../transport/request.js';
import type { FieldMap } from './field.js';
import { snakeCase } from './field.js';

/** Client query name → server name. @example `{ allProjects: 'all_tenants', volumeId: 'volume_id' }` */
export type QueryMap = Readonly<Record<string, string>>;

/**
 * Splits a list query into server parameters (renamed through the query map; client name, its
 * snake_case or the server name are accepted) and client-side filters (known attributes the server
 * does not filter on). `rawQuery` entries pass through untouched (e.g. `'name~'`). Anything else is
 * rejected instead of being silently ignored.
 *
 * @example
 * ```ts
 * splitQuery(Snapshot, { allProjects: true, size: 1 }); // server { all_tenants: true }, clientFilters { size: 1 }
 * ```
 */
export function splitQuery(
  cls: { queryParameters: QueryMap; fields: FieldMap; displayName: string },
  query: Record<string, unknown>,
): { server: Record<string, QueryValue>; clientFilters: Record<string, unknown> } {
  const server: Record<string, QueryValue> = {};
  const clientFilters: Record<string, unknown> = {};
  const byName = new Map<string, string>();
  for (const [client, wire] of Object.entries(cls.queryParameters)) {
    byName.set(client, wire);
    byName.set(snakeCase(client), wire);
    byName.set(wire, wire);
  }
  const attrByName = new Map<string, string>();
  for (const [attr, def] of Object.entries(cls.fields)) {
    attrByName.set(attr, attr);
    attrByName.set(snakeCase(attr), attr);
    attrByName.set(def.wire, attr);
  }
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (key === 'rawQuery') {
      Object.assign(server, value as Record<string, QueryValue>);
      continue;
    }
    const wire = byName.get(key);
    if (wire !== undefined) {
      server[wire] = toQueryValue(value);
      continue;
    }
    const attr = attrByName.get(key);
    if (attr !== undefined) {
      clientFilters[attr] = value;
      continue;
    }
    throw new InvalidRequestError(
      `unknown ${cls.displayName} list parameter ${key}; known: ${Object.keys(cls.queryParameters).join(', ')} (use rawQuery for others)`,
    );
  }
  return { server, clientFilters };
}

function toQueryValue(value: unknown): QueryValue {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.map(String);
  if (value === null) return null;
  return JSON.stringify(value);
}
