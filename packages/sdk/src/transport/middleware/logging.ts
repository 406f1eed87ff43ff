/**
 * Logging middleware with credential redaction.
 * @packageDocumentation
 */
import { redactBody, redactHeaders } from '../redact.js';
import type { Logger, Middleware, RawBody } from '../types.js';

function describeRaw(body: RawBody): string {
  if (typeof body === 'string') return `<${Buffer.byteLength(body)} bytes>`;
  if (body instanceof Uint8Array) return `<${body.byteLength} bytes>`;
  if (body instanceof Blob) return `<${body.size} bytes>`;
  return '<stream>';
}

/**
 * Logs each attempt (method, URL, redacted headers and body) and its response (status, request id, duration).
 * Tokens, passwords, secrets and `backup_url` never reach the logger.
 *
 * @example
 * ```ts
 * pipeline.use('logging', loggingMiddleware(console));
 * ```
 */
export function loggingMiddleware(logger: Logger, now: () => number = Date.now): Middleware {
  return async (req, next) => {
    const started = now();
    logger.debug(`REQ ${req.method} ${req.url}`, {
      headers: redactHeaders(req.headers),
      ...(req.body === undefined ? {} : { body: redactBody(req.body) }),
      ...(req.rawBody === undefined ? {} : { rawBody: describeRaw(req.rawBody) }),
    });
    try {
      const res = await next(req);
      logger.debug(`RESP ${res.status} ${req.method} ${req.url}`, {
        requestId: res.$metadata.requestId,
        durationMs: now() - started,
        headers: redactHeaders(res.headers),
      });
      return res;
    } catch (e) {
      logger.debug(`FAIL ${req.method} ${req.url}: ${e instanceof Error ? e.message : String(e)}`, {
        durationMs: now() - started,
      });
      throw e;
    }
  };
}
