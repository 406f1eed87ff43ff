import type { AuthContext } from '../../domain/auth-context.js';
import { badRequest } from '../../domain/errors.js';
import type { ListFilter as Filter, ListWhere as ListScope } from '../../domain/ports/block-storage-store.js';
import type { Microversion } from './types.js';
import { setOwn } from '../../domain/own.js';

const TRUE = ['1', 't', 'true', 'on', 'y', 'yes'];
const FALSE = ['0', 'f', 'false', 'off', 'n', 'no'];

function boolOf(v: string): boolean | null {
  const s = v.trim().toLowerCase();
  if (TRUE.includes(s)) return true;
  if (FALSE.includes(s)) return false;
  return null;
}

/**
 * Cinder's metadata filter value is a Python dict literal (`{'k': 'v'}`). Anything that is not a flat
 * string dict matches nothing, as in Cinder.
 */
export function parseMetadataFilter(v: string): Record<string, string> | null {
  const text = v.trim();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    try {
      parsed = JSON.parse(text.replace(/'/g, '"').replace(/\bu"/g, '"'));
    } catch {
      return null;
    }
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(parsed)) {
    if (typeof val !== 'string' && typeof val !== 'number' && typeof val !== 'boolean') return null;
    setOwn(out, k, String(val));
  }
  return out;
}

export interface FilterPolicy {
  /** Filters a non-admin may pass from 3.31 on (the resource_filters allow-list). */
  allowed: readonly string[];
  /** Below 3.31 the non-admin allow-list is hard-coded per resource and MV-gated. */
  legacyAllowed(mv: Microversion): readonly string[];
  /** API filter key → how it filters; null = a known key that cannot match here. */
  translate(key: string, value: string, like: boolean): Filter[] | null;
  /** Model columns admins may filter on. */
  columns: ReadonlySet<string>;
  /** all_tenants parsed strictly (400) or leniently (unparseable = false). */
  strictAllTenants: boolean;
}

/** Applies the project scope, all_tenants and the allow-list rules of spec §2.6 to a list's query keys. */
export function resolveFilters(
  ctx: AuthContext,
  mv: Microversion,
  params: Record<string, string>,
  policy: FilterPolicy,
): ListScope {
  const p = { ...params };
  let allTenants = false;
  if ('all_tenants' in p) {
    const b = boolOf(p.all_tenants ?? '');
    if (b === null && policy.strictAllTenants && ctx.isAdmin)
      throw badRequest(`all_tenants must be a boolean, got '${p.all_tenants}'.`);
    allTenants = b === true && ctx.isAdmin;
    delete p.all_tenants;
  }
  let projectId: string | null = ctx.projectId;
  if (allTenants) projectId = null;
  if (ctx.isAdmin && 'project_id' in p) {
    projectId = p.project_id ?? null;
    delete p.project_id;
  }
  const filters: Filter[] = [];
  if (!ctx.isAdmin) {
    const likeOk = mv.atLeast('3.34');
    const strict = mv.atLeast('3.31');
    const allowed = strict ? policy.allowed : policy.legacyAllowed(mv);
    const invalid: string[] = [];
    for (const key of Object.keys(p)) {
      const base = key.endsWith('~') ? key.slice(0, -1) : key;
      const ok = allowed.includes(base) && (base === key || likeOk);
      if (!ok) {
        invalid.push(key);
        delete p[key];
      }
    }
    if (strict && invalid.length > 0)
      throw badRequest(`Invalid filters ${invalid.join(', ')} are found in query options.`);
  }
  for (const [key, value] of Object.entries(p)) {
    const like = key.endsWith('~') && mv.atLeast('3.34');
    const base = like ? key.slice(0, -1) : key;
    const f = policy.translate(base, value, like);
    if (f) {
      filters.push(...f);
      continue;
    }
    if (policy.columns.has(base)) {
      filters.push(like ? { kind: 'like', column: base, value } : { kind: 'eq', column: base, value });
    } else {
      // An admin naming something that is not a column gets an empty list, as in Cinder.
      filters.push({ kind: 'none' });
    }
  }
  return { projectId, filters };
}

/**
 * Name and description filters as every Cinder list takes them (also under their v1 `display_` names): exact,
 * or a substring match with the `~` suffix (`like`). Undefined for any other key.
 */
export function textFilter(key: string, value: string, like: boolean): Filter[] | undefined {
  const column =
    key === 'name' || key === 'display_name'
      ? 'name'
      : key === 'description' || key === 'display_description'
        ? 'description'
        : undefined;
  if (column === undefined) return undefined;
  return [like ? { kind: 'like', column, value } : { kind: 'eq', column, value }];
}

export function boolFilter(column: string, value: string): Filter {
  const b = boolOf(value);
  return b === null ? { kind: 'none' } : { kind: 'eq', column, value: b };
}

const CMP: Record<string, '<' | '<=' | '>' | '>=' | '=' | '<>'> = {
  gt: '>',
  gte: '>=',
  lt: '<',
  lte: '<=',
  eq: '=',
  neq: '<>',
};

/** `created_at=gt:2020-01-01T00:00:00,lt:...` (3.60). */
export function timeFilters(column: string, value: string): Filter[] {
  const out: Filter[] = [];
  for (const part of value.split(',')) {
    const m = /^(gt|gte|lt|lte|eq|neq):(.+)$/.exec(part.trim());
    if (!m) throw badRequest(`Invalid input received: Invalid filter value ${value} for ${column}.`);
    const d = new Date(m[2]!.endsWith('Z') || /[+-]\d\d:?\d\d$/.test(m[2]!) ? m[2]! : `${m[2]!}Z`);
    if (Number.isNaN(d.getTime()))
      throw badRequest(`Invalid input received: Invalid filter value ${value} for ${column}.`);
    out.push({ kind: 'cmp', column, op: CMP[m[1]!]!, value: `${d.toISOString().slice(0, 23)}000` });
  }
  return out;
}
