import { inVersionRange, type VersionedBody } from '@cinderbox/api-schema';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { badRequest } from '../../domain/errors.js';
import type { ApiVersion } from './api-version.js';

/**
 * Request bodies are validated here, not by fastify route schemas: the schema depends on the microversion
 * (Cinder's `@validation.schema(min, max)`), and ajv must never coerce, strip or default what clients send.
 */
const ajv = new Ajv({ coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false, strict: false });

const compiled = new WeakMap<object, ValidateFunction>();

function compile(schema: object): ValidateFunction {
  let fn = compiled.get(schema);
  if (!fn) {
    fn = ajv.compile(schema);
    compiled.set(schema, fn);
  }
  return fn;
}

function fieldOf(e: ErrorObject): string {
  if (e.keyword === 'required') return String(e.params.missingProperty);
  if (e.keyword === 'additionalProperties') return String(e.params.additionalProperty);
  const parts = e.instancePath.split('/').filter(Boolean);
  return parts[parts.length - 1] ?? '';
}

function valueAt(body: unknown, pointer: string): unknown {
  let cur: unknown = body;
  for (const p of pointer.split('/').filter(Boolean)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return cur;
}

/** Throws Cinder's 400 text (`Invalid input for field/attribute X. Value: V. <reason>`) when `body` does not match. */
export function validateBody<T>(schema: object, body: unknown): T {
  const fn = compile(schema);
  if (!fn(body)) {
    const e = fn.errors?.[0];
    if (!e) throw badRequest('Invalid input received.');
    if (e.keyword === 'additionalProperties') {
      throw badRequest(`Additional properties are not allowed ('${String(e.params.additionalProperty)}' was unexpected)`);
    }
    if (e.keyword === 'required') {
      throw badRequest(`Invalid input for field/attribute ${fieldOf(e)}. Value: None. '${fieldOf(e)}' is a required property`);
    }
    const value = valueAt(body, e.instancePath);
    throw badRequest(`Invalid input for field/attribute ${fieldOf(e)}. Value: ${JSON.stringify(value)}. ${e.message ?? 'is invalid'}`);
  }
  return body as T;
}

/** Picks the body schema whose microversion range holds `v` (ranges are inclusive, as in Cinder). */
export function schemaFor(v: ApiVersion, bodies: readonly VersionedBody[]): object {
  const found = bodies.find((b) => inVersionRange(v.toString(), b.versions));
  if (!found) throw new Error(`no schema for version ${v.toString()}`);
  return found.schema;
}

/** Cinder's lenient boolean parsing (`strutils.bool_from_string(strict=True)`) for query values and `force`. */
export function parseBoolean(value: unknown, name: string): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase();
    if (['1', 't', 'true', 'on', 'y', 'yes'].includes(v)) return true;
    if (['0', 'f', 'false', 'off', 'n', 'no'].includes(v)) return false;
  }
  throw badRequest(`Invalid value '${String(value)}' for ${name}: must be a boolean.`);
}

// The contract states the patterns; route modules that still hold their own schemas take them from here.
export { DESCRIPTION_PATTERN, NAME_PATTERN } from '@cinderbox/api-schema';
