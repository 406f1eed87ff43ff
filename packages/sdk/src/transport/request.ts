/**
 * Builds pipeline requests from call options.
 * @packageDocumentation
 */
import { HeaderMap } from './headers.js';
import type { CallOptions, HttpMethod, HttpRequest, RawBody, ResponseType } from './types.js';

/** Query values; arrays repeat the key, undefined is skipped. */
export type QueryValue = string | number | boolean | undefined | null | ReadonlyArray<string | number | boolean>;

/** Extra fields for {@link buildRequest}. */
export interface BuildRequestInit extends CallOptions {
  query?: Record<string, QueryValue> | undefined;
  body?: unknown;
  microversion?: string | undefined;
  microversionService?: string | undefined;
  skipAuth?: boolean | undefined;
  rawBody?: RawBody | undefined;
  responseType?: ResponseType | undefined;
}

/** Whether a raw body can only be read once (streams), so the request cannot be replayed. */
export function isOneShotBody(body: RawBody | undefined): boolean {
  return !(body === undefined || typeof body === 'string' || body instanceof Uint8Array || body instanceof Blob);
}

/**
 * Appends query parameters to a URL (booleans as `true`/`false`).
 *
 * @example
 * ```ts
 * withQuery('http://h/v3/snapshots', { limit: 10, all_tenants: true }); // ...?limit=10&all_tenants=true
 * ```
 */
export function withQuery(url: string, query: Record<string, QueryValue> | undefined): string {
  if (!query) return url;
  // Parsing a URL costs more than the rest of a request's preparation: skip it when nothing is appended.
  if (!Object.values(query).some((v) => v !== undefined && v !== null)) return url;
  const u = new URL(url);
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) for (const v of value) u.searchParams.append(key, String(v));
    else u.searchParams.set(key, String(value));
  }
  return u.toString();
}

/**
 * Creates an {@link HttpRequest} for the pipeline.
 *
 * @example
 * ```ts
 * await pipeline.handle(buildRequest('GET', 'http://h/', { skipAuth: true }));
 * ```
 */
export function buildRequest(method: HttpMethod, url: string, init: BuildRequestInit = {}): HttpRequest {
  const headers = new HeaderMap(init.headers);
  if (init.requestId) headers.set('x-openstack-request-id', init.requestId);
  return {
    method,
    url: withQuery(url, init.query),
    headers,
    body: init.body,
    rawBody: init.rawBody,
    responseType: init.responseType,
    signal: init.signal,
    timeoutMs: init.timeoutMs,
    retry: init.retry,
    microversion: init.microversion,
    microversionService: init.microversionService,
    skipAuth: init.skipAuth,
    context: {},
  };
}
