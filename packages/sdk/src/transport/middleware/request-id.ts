/**
 * Request-id middleware: sends `X-OpenStack-Request-ID` and records the server's id.
 * @packageDocumentation
 */
import { randomUUID } from 'node:crypto';
import type { Middleware } from '../types.js';

/**
 * Sends `X-OpenStack-Request-ID: req-<uuid>` (or the fixed global id) unless the caller set one,
 * and copies it to `$metadata.clientRequestId`. The server's `x-openstack-request-id` is captured
 * by the fetch handler into `$metadata.requestId` and by the errors step into `HttpError.requestId`.
 *
 * @example
 * ```ts
 * pipeline.use('requestId', requestIdMiddleware('req-0b0c…'));
 * ```
 */
export function requestIdMiddleware(globalRequestId?: string): Middleware {
  return async (req, next) => {
    if (!req.headers.has('x-openstack-request-id')) {
      req.headers.set('x-openstack-request-id', globalRequestId ?? `req-${randomUUID()}`);
    }
    const sent = req.headers.get('x-openstack-request-id') ?? undefined;
    req.context.clientRequestId = sent;
    const res = await next(req);
    res.$metadata.clientRequestId = sent;
    return res;
  };
}
