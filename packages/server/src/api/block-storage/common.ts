import type { FastifyRequest } from 'fastify';
import type { AuthContext } from '../../domain/auth-context.js';
import { badRequest, notFound } from '../../domain/errors.js';
import { type ListRequest, MAX_LIMIT, type SortSpec } from '../../services/block-storage/index.js';
import { type ApiVersion, BASE_VERSION } from '../common/api-version.js';
import { parseBoolean } from '../common/validation.js';
import { setOwn } from '../../domain/own.js';

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** v2 has no microversions: it behaves as 3.0 and never shows MV-gated fields. */
export function mvOf(request: FastifyRequest): ApiVersion {
  return request.cb.apiVersion ?? BASE_VERSION;
}

export function authOf(request: FastifyRequest): AuthContext {
  const auth = request.cb.auth;
  if (!auth) throw new Error('route reached without authentication');
  return auth;
}

/** A path id that is empty or not a UUID names nothing: 404 before anything else is looked at. */
export function pathId(request: FastifyRequest, what: 'Volume' | 'Snapshot', name = 'id'): string {
  const raw = (request.params as Record<string, string | undefined>)[name] ?? '';
  if (!UUID_RE.test(raw)) throw notFound(`${what} ${raw} could not be found.`);
  return raw.toLowerCase();
}

/** Action bodies hold exactly one key, the action name. */
export function parseAction(body: unknown, known: readonly string[]): { name: string; value: unknown } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('Malformed request body');
  const keys = Object.keys(body);
  if (keys.length !== 1) throw badRequest('Malformed request body');
  const name = keys[0]!;
  if (!known.includes(name)) throw badRequest(`There is no such action: ${name}`);
  return { name, value: (body as Record<string, unknown>)[name] };
}

export function requireObject(body: unknown, key: string): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('Malformed request body');
  const v = (body as Record<string, unknown>)[key];
  if (v === undefined) throw badRequest(`Missing required element '${key}' in request body.`);
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw badRequest(`Malformed request body: '${key}' must be an object.`);
  return v as Record<string, unknown>;
}

function single(v: unknown): string | undefined {
  if (Array.isArray(v)) return v.length === 0 ? undefined : String(v[v.length - 1]);
  return v === undefined ? undefined : String(v);
}

function intParam(name: string, v: string, max: number): number {
  if (!/^-?\d+$/.test(v.trim())) throw badRequest(`${name} param must be an integer`);
  const n = Number(v);
  if (n < 0) throw badRequest(`${name} param must be positive`);
  if (n > max) throw badRequest(`${name} param must be less than ${max}`);
  return n;
}

function dirOf(d: string): 'asc' | 'desc' {
  const v = d.trim().toLowerCase();
  if (v !== 'asc' && v !== 'desc') throw badRequest("Unknown sort direction, must be 'desc' or 'asc'.");
  return v;
}

const PAGINATION_KEYS = ['limit', 'marker', 'offset', 'sort', 'sort_key', 'sort_dir', 'with_count'];

/** Cinder's list parameters (spec §2.5); everything else is handed to the service as filters. */
export function parseListRequest(request: FastifyRequest): ListRequest {
  const q = (request.query ?? {}) as Record<string, unknown>;
  const mv = mvOf(request);
  const get = (k: string) => single(q[k]);
  const limitS = get('limit');
  const offsetS = get('offset');
  const limit = limitS === undefined ? null : intParam('limit', limitS, Number.MAX_SAFE_INTEGER);
  const offset = offsetS === undefined ? null : intParam('offset', offsetS, 2147483647);
  const marker = get('marker') ?? null;
  const sortS = get('sort');
  const sortKey = get('sort_key');
  const sortDir = get('sort_dir');
  let sort: SortSpec[] = [];
  if (sortS !== undefined) {
    if (sortKey !== undefined || sortDir !== undefined)
      throw badRequest(
        "The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used with the 'sort' parameter.",
      );
    sort = sortS
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((s) => {
        const [key, dir] = s.split(':');
        return { key: key!.trim(), dir: dir === undefined ? 'desc' : dirOf(dir) };
      });
  } else if (sortKey !== undefined || sortDir !== undefined) {
    sort = [{ key: (sortKey ?? 'created_at').trim(), dir: sortDir === undefined ? 'desc' : dirOf(sortDir) }];
  }
  let withCount = false;
  const wc = get('with_count');
  if (wc !== undefined && mv.atLeast('3.45')) withCount = parseBoolean(wc, 'with_count');
  const filters: Record<string, string> = {};
  for (const [k, v] of Object.entries(q)) {
    if (PAGINATION_KEYS.includes(k)) continue;
    const s = single(v);
    if (s !== undefined) setOwn(filters, k, s);
  }
  return { limit: limit === null ? null : Math.min(limit, MAX_LIMIT), marker, offset, sort, withCount, filters };
}

export function queryFilters(request: FastifyRequest): Record<string, string> {
  return parseListRequest(request).filters;
}

/** `/v3`, `/v3/{pid}` or `/v2/{pid}`: the prefix the request came in on, reused in links. */
export function urlPrefix(request: FastifyRequest): { version: 'v2' | 'v3'; projectId: string | null } {
  const params = request.params as Record<string, string | undefined>;
  return { version: request.url.startsWith('/v2/') ? 'v2' : 'v3', projectId: params.project_id ?? null };
}

export function selfLinks(request: FastifyRequest, collection: string, id: string): { rel: string; href: string }[] {
  const { version, projectId } = urlPrefix(request);
  const p = projectId ? `/${projectId}` : '';
  const base = request.cb.baseUrl;
  return [
    { rel: 'self', href: `${base}/${version}${p}/${collection}/${id}` },
    { rel: 'bookmark', href: `${base}${p}/${collection}/${id}` },
  ];
}

/** The `<coll>_links` next link: present when the page is full; the original query with the marker replaced. */
export function nextLinks(
  request: FastifyRequest,
  collection: string,
  detail: boolean,
  ids: string[],
  limit: number,
): { rel: string; href: string }[] | null {
  return ids.length === 0 ? null : nextLinksAfter(request, collection, detail, ids.length, ids[ids.length - 1]!, limit);
}

/** `nextLinks` for a page known by its size and last id (a page the store rendered as one text). */
export function nextLinksAfter(
  request: FastifyRequest,
  collection: string,
  detail: boolean,
  n: number,
  lastId: string,
  limit: number,
): { rel: string; href: string }[] | null {
  if (n === 0 || n < limit) return null;
  const { version, projectId } = urlPrefix(request);
  const params = new URLSearchParams();
  const q = (request.query ?? {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(q)) {
    if (k === 'marker') continue;
    for (const item of Array.isArray(v) ? v : [v]) params.append(k, String(item));
  }
  params.append('marker', lastId);
  const p = projectId ? `/${projectId}` : '';
  return [
    {
      rel: 'next',
      href: `${request.cb.baseUrl}/${version}${p}/${collection}${detail ? '/detail' : ''}?${params.toString()}`,
    },
  ];
}
