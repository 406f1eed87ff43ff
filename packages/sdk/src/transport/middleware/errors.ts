/**
 * Errors middleware: turns final responses with status ≥ 400 into typed errors.
 * @packageDocumentation
 */
import { errorFromResponse } from '../../errors.js';
import type { Middleware } from '../types.js';
import { parseRetryAfter } from './retry.js';

/**
 * Throws {@link HttpError} subclasses (NotFoundError, …) for error statuses, carrying the request id.
 *
 * @example
 * ```ts
 * pipeline.use('errors', errorsMiddleware());
 * ```
 */
export function errorsMiddleware(): Middleware {
  return async (req, next) => {
    const res = await next(req);
    if (res.status < 400) return res;
    throw errorFromResponse({
      status: res.status,
      method: req.method,
      url: req.url,
      requestId: res.$metadata.requestId,
      body: res.body,
      retryAfter: parseRetryAfter(res.headers.get('retry-after')),
      attempts: res.$metadata.attempts,
    });
  };
}
