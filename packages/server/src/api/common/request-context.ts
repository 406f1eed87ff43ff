import type { AuthContext } from '../../domain/auth-context.js';
import type { ApiVersion } from './api-version.js';
import type { Dialect } from './errors.js';

export interface RequestState {
  requestId: string;
  dialect: Dialect;
  /** Set by the auth hook on protected routes. */
  auth: AuthContext | null;
  /** Negotiated microversion on /v3 routes; null elsewhere. */
  apiVersion: ApiVersion | null;
  /** Absolute base URL (scheme://host[:port]) for links and the catalog. */
  baseUrl: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    cb: RequestState;
  }
  interface FastifyContextConfig {
    /** Routes that answer without a token (version documents, token issue). */
    public?: boolean;
    /**
     * The token may also come as `?token=` (only the event stream: browsers' EventSource cannot send headers).
     * Query strings end up in logs and histories, so no other route accepts it.
     */
    queryToken?: boolean;
  }
}
