/**
 * Retry middleware: exponential backoff with full jitter, honouring `Retry-After`.
 * @packageDocumentation
 */
import { AbortError, isSdkError, NetworkError, RequestTimeoutError } from '../../errors.js';
import { sleep as realSleep, type Sleep } from '../../util/abort.js';
import { cloneRequest } from '../pipeline.js';
import { isOneShotBody } from '../request.js';
import type { HttpMethod, HttpResponse, Middleware, RetryPolicy } from '../types.js';

/** Default retry policy. @example `{ ...DEFAULT_RETRY_POLICY, maxAttempts: 5 }` */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 3,
  baseDelayMs: 250,
  maxDelayMs: 20_000,
  maxRetryAfterMs: 60_000,
  statuses: [429, 502, 503, 504],
  alwaysRetryStatuses: [429],
  retryAfterStatuses: [413],
};

const IDEMPOTENT: ReadonlySet<HttpMethod> = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);

/** Injectable randomness and sleep, so tests are deterministic. */
export interface RetryDeps {
  sleep?: Sleep;
  random?: () => number;
  now?: () => number;
}

/**
 * Parses `Retry-After` (delta seconds or an HTTP date) into seconds.
 *
 * @example
 * ```ts
 * parseRetryAfter('2'); // 2
 * ```
 */
export function parseRetryAfter(value: string | null, now: () => number = Date.now): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Number(value);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, (date - now()) / 1000);
}

/**
 * Computes the delay before attempt `attempt + 1` (attempt is 1-based): full jitter over
 * `min(maxDelay, base * 2^(attempt-1))`, raised to `Retry-After` when the server sent one.
 *
 * @example
 * ```ts
 * backoffDelay(DEFAULT_RETRY_POLICY, 1, undefined, () => 0.5); // 125
 * ```
 */
export function backoffDelay(
  policy: RetryPolicy,
  attempt: number,
  retryAfterSeconds: number | undefined,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  const jittered = Math.floor(random() * ceiling);
  if (retryAfterSeconds === undefined) return jittered;
  return Math.min(policy.maxRetryAfterMs, Math.max(jittered, Math.ceil(retryAfterSeconds * 1000)));
}

/**
 * Retries idempotent requests (GET/HEAD/PUT/DELETE, or any request marked `retry.idempotent`) on
 * network errors, per-attempt timeouts and the policy's statuses; 429 is retried for every method, and so is
 * a 413 with a positive `Retry-After` (Cinder's rate limiter; its quota 413 says `Retry-After: 0` and is final).
 *
 * @example
 * ```ts
 * pipeline.use('retry', retryMiddleware({ maxAttempts: 4 }, { sleep: async () => {} }));
 * ```
 */
export function retryMiddleware(defaults: Partial<RetryPolicy> = {}, deps: RetryDeps = {}): Middleware {
  const wait = deps.sleep ?? realSleep;
  const random = deps.random ?? Math.random;
  const base: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...defaults };
  return async (req, next) => {
    if (req.retry === false || isOneShotBody(req.rawBody)) return next(req);
    const policy: RetryPolicy = req.retry ? { ...base, ...req.retry } : base;
    const idempotent = policy.idempotent ?? IDEMPOTENT.has(req.method);
    let totalDelay = 0;
    for (let attempt = 1; ; attempt++) {
      let res: HttpResponse | undefined;
      let failure: unknown;
      try {
        res = await next(cloneRequest(req));
      } catch (e) {
        failure = e;
      }
      const last = attempt >= policy.maxAttempts;
      if (res) {
        res.$metadata.attempts = attempt;
        res.$metadata.totalRetryDelayMs = totalDelay;
        const retryAfter = parseRetryAfter(res.headers.get('retry-after'));
        const retryStatus =
          policy.alwaysRetryStatuses.includes(res.status) ||
          (retryAfter !== undefined && retryAfter > 0 && policy.retryAfterStatuses.includes(res.status)) ||
          (idempotent &&
            (policy.statuses.includes(res.status) || (policy.retryOnConflict === true && res.status === 409)));
        if (!retryStatus || last) return res;
        const delay = backoffDelay(policy, attempt, retryAfter, random);
        totalDelay += delay;
        await wait(delay, req.signal);
        continue;
      }
      if (isSdkError(failure) && failure instanceof AbortError) throw failure;
      if (req.signal?.aborted) throw new AbortError(undefined, { cause: req.signal.reason });
      const transient = failure instanceof RequestTimeoutError || !isSdkError(failure);
      if (!transient) throw failure;
      if (!idempotent || last) {
        if (failure instanceof RequestTimeoutError) throw failure;
        throw new NetworkError(`${req.method} ${req.url} failed after ${attempt} attempt(s): ${describe(failure)}`, {
          cause: failure,
        });
      }
      const delay = backoffDelay(policy, attempt, undefined, random);
      totalDelay += delay;
      await wait(delay, req.signal);
    }
  };
}

function describe(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${e.message} (${cause.message})` : e.message;
  }
  return String(e);
}
