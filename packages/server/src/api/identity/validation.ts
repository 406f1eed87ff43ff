import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { badRequest } from '../../domain/errors.js';
import { setOwn } from '../../domain/own.js';

// Keystone validates with jsonschema and never coerces; its 400s read "Invalid input for field 'x': …".
const ajv = new Ajv({ coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false, strict: false });
const compiled = new WeakMap<object, ValidateFunction>();

function pathOf(e: ErrorObject): string {
  const parts = e.instancePath.split('/').filter(Boolean).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  return parts.join('/');
}

function valueAt(body: unknown, pointer: string): unknown {
  let cur: unknown = body;
  for (const p of pointer.split('/').filter(Boolean)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return cur;
}

function describe(e: ErrorObject, body: unknown): string {
  const value = JSON.stringify(valueAt(body, e.instancePath)) ?? 'None';
  switch (e.keyword) {
    case 'required':
      return `'${String(e.params.missingProperty)}' is a required property`;
    case 'additionalProperties':
      return `Additional properties are not allowed ('${String(e.params.additionalProperty)}' was unexpected)`;
    case 'type':
      return `${value} is not of type '${String(e.params.type)}'`;
    case 'minLength':
      return `${value} is too short`;
    case 'maxLength':
      return `${value} is too long`;
    case 'pattern':
      return `${value} does not match '${String(e.params.pattern)}'`;
    case 'enum':
      return `${value} is not one of ${JSON.stringify(e.params.allowedValues)}`;
    case 'minItems':
      return `${value} is too short`;
    default:
      return `${value} ${e.message ?? 'is invalid'}`;
  }
}

/** Checks `body` against `schema`; throws a Keystone-style 400 naming the field. */
export function checkBody<T>(schema: object, body: unknown): T {
  let fn = compiled.get(schema);
  if (!fn) {
    fn = ajv.compile(schema);
    compiled.set(schema, fn);
  }
  if (!fn(body)) {
    const e = fn.errors?.[0];
    if (!e) throw badRequest('The request body is not valid.');
    const path = pathOf(e);
    const message = describe(e, body);
    throw badRequest(path ? `Invalid input for field '${path}': ${message}` : `Invalid input: ${message}`);
  }
  return body as T;
}

/** Keystone's query flags: present means true unless the value says false. */
export function flag(query: Record<string, unknown>, key: string): boolean {
  if (!(key in query)) return false;
  const v = query[key];
  return !(typeof v === 'string' && ['0', 'false', 'f', 'no', 'off'].includes(v.toLowerCase()));
}

/** A single-valued string query parameter; repeating it is a 400 rather than a silent pick. */
export function queryString(query: Record<string, unknown>, key: string): string | undefined {
  const v = query[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw badRequest(`Query parameter '${key}' must be given once.`);
  return v;
}

export function queryBool(query: Record<string, unknown>, key: string): boolean | undefined {
  const v = queryString(query, key);
  if (v === undefined) return undefined;
  const l = v.toLowerCase();
  if (['1', 'true', 't', 'yes', 'y', 'on'].includes(l)) return true;
  if (['0', 'false', 'f', 'no', 'n', 'off'].includes(l)) return false;
  throw badRequest(`Invalid value for query parameter '${key}': ${v} is not a boolean.`);
}

/** Body keys Keystone does not model are kept as extra attributes; `id` and `links` are never client-set. */
export function extrasOf(obj: Record<string, unknown>, known: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (!known.includes(k) && k !== 'id' && k !== 'links') setOwn(out, k, v);
  }
  return out;
}
