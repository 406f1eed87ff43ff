/**
 * Microversion middleware: sets `OpenStack-API-Version`.
 * @packageDocumentation
 */
import type { Middleware } from '../types.js';

/**
 * Adds `OpenStack-API-Version: <service> <version>` when the request names a microversion
 * (block storage uses the service name `volume`).
 *
 * @example
 * ```ts
 * pipeline.use('microversion', microversionMiddleware());
 * ```
 */
export function microversionMiddleware(): Middleware {
  return (req, next) => {
    if (req.microversion && req.microversionService) {
      req.headers.set('openstack-api-version', `${req.microversionService} ${req.microversion}`);
    }
    return next(req);
  };
}
