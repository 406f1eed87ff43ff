/**
 * Timeout middleware: a per-attempt deadline combined with the caller's AbortSignal.
 * @packageDocumentation
 */
import { AbortError, RequestTimeoutError } from '../../errors.js';
import { isOneShotBody } from '../request.js';
import type { AttemptDeadline, Middleware } from '../types.js';

/**
 * Aborts an attempt after `req.timeoutMs` (or `defaultTimeoutMs`) — through the terminal's own deadline when it
 * * has one (`ENFORCES_DEADLINE`), else through an AbortSignal; a caller abort becomes
 * {@link AbortError}, an elapsed deadline {@link RequestTimeoutError} (retried for idempotent requests).
 *
 * @example
 * ```ts
 * pipeline.use('timeout', timeoutMiddleware(30_000));
 * ```
 */
export function timeoutMiddleware(defaultTimeoutMs = 60_000): Middleware {
  return async (req, next) => {
    // A streamed upload takes as long as the data does: only an explicit timeout applies to it.
    const ms = req.timeoutMs ?? (isOneShotBody(req.rawBody) ? 0 : defaultTimeoutMs);
    const caller = req.signal;
    if (caller?.aborted) throw new AbortError(undefined, { cause: caller.reason });
    if (req.context.terminalDeadline === true && ms > 0 && Number.isFinite(ms)) {
      const deadline: AttemptDeadline = { ms, expired: false };
      try {
        return await next({ ...req, deadline });
      } catch (e) {
        if (caller?.aborted) throw new AbortError(undefined, { cause: caller.reason });
        if (deadline.expired) throw new RequestTimeoutError(`${req.method} ${req.url} timed out after ${ms} ms`, ms);
        throw e;
      }
    }
    const deadline = ms > 0 && Number.isFinite(ms) ? new AbortController() : undefined;
    // Cleared once the response is in hand, so a streamed download is not cut off by the per-attempt limit.
    const timer = deadline ? setTimeout(() => deadline.abort(), ms) : undefined;
    const signals = [caller, deadline?.signal].filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
    try {
      return await next({ ...req, signal });
    } catch (e) {
      if (caller?.aborted) throw new AbortError(undefined, { cause: caller.reason });
      if (deadline?.signal.aborted) {
        throw new RequestTimeoutError(`${req.method} ${req.url} timed out after ${ms} ms`, ms);
      }
      throw e;
    } finally {
      clearTimeout(timer);
    }
  };
}
