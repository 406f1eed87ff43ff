/**
 * Assembles the default pipeline.
 * @packageDocumentation
 */
import type { Sleep } from '../util/abort.js';
import { createFetchHandler, type FetchLike } from './fetch-handler.js';
import { authMiddleware, type TokenProvider } from './middleware/auth.js';
import { errorsMiddleware } from './middleware/errors.js';
import { loggingMiddleware } from './middleware/logging.js';
import { microversionMiddleware } from './middleware/microversion.js';
import { requestIdMiddleware } from './middleware/request-id.js';
import { retryMiddleware } from './middleware/retry.js';
import { timeoutMiddleware } from './middleware/timeout.js';
import { createNodeHttpHandler } from './node-http-handler.js';
import { Pipeline } from './pipeline.js';
import type { Logger, RetryPolicy } from './types.js';

/** Options for {@link createPipeline}. */
export interface PipelineOptions {
  /**
   * fetch implementation. When absent, JSON calls go over keep-alive connections through undici's
   * `Agent.request` (http and https; a fraction of global fetch's CPU per request) and only raw/streamed bodies
   * use global fetch; pass `fetch` to route everything
   * through it (e.g. a proxy-aware or instrumented fetch).
   */
  fetch?: FetchLike | undefined;
  userAgent?: string | undefined;
  tokenProvider?: TokenProvider | undefined;
  retry?: Partial<RetryPolicy> | undefined;
  timeoutMs?: number | undefined;
  logger?: Logger | undefined;
  globalRequestId?: string | undefined;
  /** Injected sleep for retry backoff (tests). */
  sleep?: Sleep | undefined;
  /** Injected randomness for jitter (tests). */
  random?: (() => number) | undefined;
}

/**
 * Builds the default stack, outermost first:
 * `requestId → errors → retry → timeout → auth → microversion → logging → fetch`.
 *
 * @example
 * ```ts
 * const p = createPipeline({ tokenProvider, logger: console });
 * p.names(); // ['requestId', 'errors', 'retry', 'timeout', 'auth', 'microversion', 'logging']
 * ```
 */
export function createPipeline(options: PipelineOptions = {}): Pipeline {
  const viaFetch = createFetchHandler(options.fetch, options.userAgent);
  const terminal =
    options.fetch === undefined ? createNodeHttpHandler({ userAgent: options.userAgent, fallback: viaFetch }) : viaFetch;
  const p = new Pipeline(terminal);
  p.use('requestId', requestIdMiddleware(options.globalRequestId));
  p.use('errors', errorsMiddleware());
  p.use(
    'retry',
    retryMiddleware(options.retry, {
      ...(options.sleep ? { sleep: options.sleep } : {}),
      ...(options.random ? { random: options.random } : {}),
    }),
  );
  p.use('timeout', timeoutMiddleware(options.timeoutMs));
  if (options.tokenProvider) p.use('auth', authMiddleware(options.tokenProvider));
  p.use('microversion', microversionMiddleware());
  if (options.logger) p.use('logging', loggingMiddleware(options.logger));
  return p;
}
