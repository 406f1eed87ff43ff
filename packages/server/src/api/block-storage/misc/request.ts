import type { FastifyRequest } from 'fastify';
import type { AuthContext } from '../../../domain/auth-context.js';
import { unauthorized } from '../../../domain/errors.js';
import { BASE_VERSION, type ApiVersion } from '../../common/api-version.js';
import { setOwn } from '../../../domain/own.js';

/** The caller of a protected route (the shell's auth hook has run). */
export function callerOf(request: FastifyRequest): AuthContext {
  const auth = request.cb.auth;
  if (!auth) throw unauthorized();
  return auth;
}

/** The negotiated microversion; `/v2` requests behave as 3.0, which is what v3 was built from. */
export function versionOf(request: FastifyRequest): ApiVersion {
  return request.cb.apiVersion ?? BASE_VERSION;
}

/** Query parameters as single strings (the last value wins when a key repeats, as webob's `params` does). */
export function queryOf(request: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((request.query ?? {}) as Record<string, unknown>)) {
    if (typeof v === 'string') setOwn(out, k, v);
    else if (Array.isArray(v) && v.length > 0) setOwn(out, k, String(v[v.length - 1]));
  }
  return out;
}
