/**
 * Checks recorded HTTP exchanges against the contract: the operation a request reached, its request body and
 * query at the microversion it was sent with, and the response body for the status it got (errors against the
 * API's error body). A field the contract marks as added by a later microversion must not appear in a response.
 */
import {
  API_MOUNTS,
  type ApiName,
  CbrErrorSchema,
  CinderFaultSchema,

  inVersionRange,
  KeystoneErrorSchema,
  MICROVERSION_KEYWORD,
  type Operation,
  type VersionRange,
} from '@cinderbox/api-schema';
import { Ajv, type ValidateFunction } from 'ajv';
import type { RequestOptions, TestResponse, TestServer } from '../../../test-support/harness.js';

export interface Exchange {
  method: string;
  /** As sent, with its query string. */
  path: string;
  /** The microversion sent; undefined means none (3.0 for Block Storage). */
  mv?: string;
  requestBody?: unknown;
  status: number;
  responseBody: unknown;
}

/** A request helper with the test server's signature that keeps every exchange it makes. */
export function recorder(ts: TestServer): { request: TestServer['request']; exchanges: Exchange[] } {
  const exchanges: Exchange[] = [];
  const request = async (method: string, path: string, opts: RequestOptions = {}): Promise<TestResponse> => {
    const res = await ts.request(method, path, opts);
    exchanges.push({ method, path, ...(opts.mv ? { mv: opts.mv } : {}), ...(opts.body !== undefined ? { requestBody: opts.body } : {}), status: res.status, responseBody: res.body });
    return res;
  };
  return { request, exchanges };
}

const ajv = new Ajv({ strict: false, allErrors: true, coerceTypes: false });
const compiled = new WeakMap<object, ValidateFunction>();
function validate(schema: object, value: unknown): string | null {
  let fn = compiled.get(schema);
  if (!fn) compiled.set(schema, (fn = ajv.compile(schema)));
  if (fn(value)) return null;
  return (fn.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`).join('; ');
}

const ERRORS: Record<ApiName, object> = { 'block-storage': CinderFaultSchema, cbr: CbrErrorSchema, identity: KeystoneErrorSchema };

function apiOf(path: string): ApiName {
  for (const api of ['cbr', 'identity'] as const) if (path === API_MOUNTS[api] || path.startsWith(`${API_MOUNTS[api]}/`)) return api;
  return 'block-storage';
}

interface Template {
  op: Operation;
  re: RegExp;
  params: number;
}

/** Finds the operation a concrete path and method reached: literal segments win over parameters (`volumes/detail`). */
export class ContractIndex {
  private readonly templates: Template[];
  constructor(operations: readonly Operation[]) {
    this.templates = operations
      .map((op) => {
        const pattern = op.path.replace(/\/$/, '').replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+');
        return { op, re: new RegExp(`^${pattern}/?$`), params: (op.path.match(/\{/g) ?? []).length };
      })
      .sort((a, b) => a.params - b.params);
  }
  find(api: ApiName, method: string, path: string): Operation | undefined {
    let p = path.slice(API_MOUNTS[api].length) || '/';
    if (api === 'block-storage') p = p.replace(/^\/v2\//, '/v3/');
    return this.templates.find((t) => t.op.api === api && t.op.method === method && t.re.test(p))?.op;
  }
}

/** Paths of fields present in `value` that `schema` marks as added after `mv` (or removed before it). */
function outOfRangeFields(schema: unknown, value: unknown, mv: string, at = ''): string[] {
  if (!schema || typeof schema !== 'object' || value === null || typeof value !== 'object') return [];
  const s = schema as { properties?: Record<string, unknown>; items?: unknown; additionalProperties?: unknown };
  const out: string[] = [];
  if (Array.isArray(value)) {
    value.forEach((v, i) => out.push(...outOfRangeFields(s.items, v, mv, `${at}/${i}`)));
    return out;
  }
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const ps = s.properties?.[k] as Record<string, unknown> | undefined;
    if (!ps) continue;
    const range = ps[MICROVERSION_KEYWORD] as VersionRange | undefined;
    if (range && !inVersionRange(mv, range)) out.push(`${at}/${k} (${range.min ?? ''}–${range.max ?? ''})`);
    out.push(...outOfRangeFields(ps, v, mv, `${at}/${k}`));
  }
  return out;
}

function queryOf(path: string): Record<string, string> | null {
  const i = path.indexOf('?');
  if (i < 0) return null;
  return Object.fromEntries(new URLSearchParams(path.slice(i + 1)));
}

/** What is wrong with one exchange by the contract, or an empty list; `operationId` is the operation it reached. */
export function checkExchange(index: ContractIndex, x: Exchange): { operationId: string | null; problems: string[] } {
  const bare = x.path.split('?')[0]!;
  const api = apiOf(bare);
  const where = `${x.method} ${x.path}${x.mv ? ` @${x.mv}` : ''} → ${x.status}`;
  const op = index.find(api, x.method, bare);
  if (!op) return { operationId: null, problems: [`${where}: no operation in the contract`] };
  const problems: string[] = [];
  const mv = api === 'block-storage' ? (x.mv === undefined ? '3.0' : x.mv === 'latest' ? null : x.mv) : null;
  const ok = x.status < 400;
  if (ok && mv && op.versions && !inVersionRange(mv, op.versions)) problems.push(`${where}: answered below/above the operation's range ${JSON.stringify(op.versions)}`);
  if (ok) {
    const bodySchema = op.bodies && mv ? op.bodies.find((b) => inVersionRange(mv, b.versions))?.schema : op.body;
    if (x.requestBody !== undefined && bodySchema) {
      const err = validate(bodySchema, x.requestBody);
      if (err) problems.push(`${where}: request body: ${err}`);
    } else if (x.requestBody !== undefined && !bodySchema) problems.push(`${where}: the contract has no request body for ${op.id}`);
    const query = queryOf(x.path);
    if (query && op.query) {
      const err = validate(op.query, query);
      if (err) problems.push(`${where}: query: ${err}`);
    } else if (query && !op.query) problems.push(`${where}: the contract has no query for ${op.id}`);
    const response = op.responses.find((r) => r.status === x.status);
    if (!response) problems.push(`${where}: status ${x.status} is not among ${op.id}'s responses (${op.responses.map((r) => r.status).join(', ')})`);
    else if (response.body) {
      const err = validate(response.body, x.responseBody);
      if (err) problems.push(`${where}: response body: ${err}`);
      if (mv) for (const f of outOfRangeFields(response.body, x.responseBody, mv)) problems.push(`${where}: response field ${f} is outside its microversion range`);
    }
  } else if (x.responseBody !== null) {
    const err = validate(ERRORS[api], x.responseBody);
    if (err) problems.push(`${where}: error body: ${err}`);
  }
  return { operationId: op.id, problems };
}

