/**
 * Auth middleware: adds `X-Auth-Token`, re-authenticates once on 401.
 * @packageDocumentation
 */
import { HeaderMap } from '../headers.js';
import { isOneShotBody } from '../request.js';
import type { Middleware } from '../types.js';

/**
 * Supplies tokens to the pipeline. Implementations make concurrent `getToken` calls share one
 * Keystone request (single flight).
 *
 * @example
 * ```ts
 * const fixed: TokenProvider = { getToken: async () => 'tok', invalidate() {}, canReauthenticate: false };
 * ```
 */
export interface TokenProvider {
  /** Returns a valid token, authenticating when needed. */
  getToken(signal?: AbortSignal): Promise<string>;
  /**
   * The cached token when it is still valid, without waiting (undefined: call {@link getToken}). Optional; it
   * spares every call the two promise hops of `getToken` once a token is in hand.
   */
  currentToken?(): string | undefined;
  /** Forgets `token` (if it is still the current one) so the next call re-authenticates. */
  invalidate(token: string): void;
  /** Whether a fresh token can be obtained (false for a fixed token). */
  readonly canReauthenticate: boolean;
}

/**
 * Sets `X-Auth-Token`; on a 401, invalidates the token and retries exactly once with a new one.
 *
 * @example
 * ```ts
 * pipeline.use('auth', authMiddleware(keystone));
 * ```
 */
export function authMiddleware(provider: TokenProvider): Middleware {
  return async (req, next) => {
    if (req.skipAuth) return next(req);
    const token = provider.currentToken?.() ?? (await provider.getToken(req.signal));
    const first = { ...req, headers: new HeaderMap(req.headers) };
    first.headers.set('x-auth-token', token);
    const res = await next(first);
    if (res.status !== 401 || !provider.canReauthenticate) return res;
    provider.invalidate(token);
    // A streamed body has been consumed: report the 401; the next call authenticates afresh.
    if (isOneShotBody(req.rawBody)) return res;
    const fresh = await provider.getToken(req.signal);
    const second = { ...req, headers: new HeaderMap(req.headers) };
    second.headers.set('x-auth-token', fresh);
    return next(second);
  };
}
