/**
 * Request/response shapes that flow through the middleware pipeline.
 * @packageDocumentation
 */

/** HTTP methods the SDK uses. @example `const m: HttpMethod = 'GET'` */
export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * Retry policy. Delays use exponential backoff with full jitter; `Retry-After` wins when larger.
 *
 * @example
 * ```ts
 * new Connection({ auth, retry: { maxAttempts: 5, baseDelayMs: 200 } });
 * ```
 */
export interface RetryPolicy {
  /** Total attempts including the first (1 = no retries). Default 3. */
  maxAttempts: number;
  /** Base delay for backoff. Default 250 ms. */
  baseDelayMs: number;
  /** Cap for one backoff delay. Default 20 s. */
  maxDelayMs: number;
  /** Cap for an honoured `Retry-After`. Default 60 s. */
  maxRetryAfterMs: number;
  /** Statuses retried for idempotent methods. Default 429, 502, 503, 504. */
  statuses: number[];
  /** Statuses retried for every method (the request was not processed). Default 429. */
  alwaysRetryStatuses: number[];
  /**
   * Statuses retried for every method only when the response carries a positive `Retry-After`. Default 413:
   * Cinder's rate limiter answers 413 with `Retry-After: n` (not processed), its quota errors with `Retry-After: 0`.
   */
  retryAfterStatuses: number[];
  /** Treat the request as idempotent even when the method is POST/PATCH. */
  idempotent?: boolean;
  /** Also retry 409 Conflict (openstacksdk's `retry_on_conflict`). */
  retryOnConflict?: boolean;
}

/** Per-call options accepted by every SDK call. @example `await bs.getSnapshot(id, { signal, timeoutMs: 5000 })` */
export interface CallOptions {
  /** Cancels the call (and any retries/waits). */
  signal?: AbortSignal | undefined;
  /** Per-attempt timeout in milliseconds (default from the connection, 60 s). */
  timeoutMs?: number | undefined;
  /** Retry overrides for this call, or `false` to disable retries. */
  retry?: Partial<RetryPolicy> | false | undefined;
  /** Request id to send as `X-OpenStack-Request-ID` (default: a new `req-<uuid>`). */
  requestId?: string | undefined;
  /** Extra request headers. */
  headers?: Record<string, string> | undefined;
}

/**
 * A non-JSON request body: bytes, text, a Blob, or a stream (web `ReadableStream` or any async iterable of
 * chunks, such as a Node `Readable`). Streams are sent once: requests carrying one are never retried.
 *
 * @example
 * ```ts
 * const body: RawBody = createReadStream('disk.img');
 * ```
 */
export type RawBody = string | Uint8Array | Blob | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

/** How the response body is delivered: parsed (`json`, the default) or as a stream (`stream`). */
export type ResponseType = 'json' | 'stream';

/** A request travelling through the pipeline. Middleware may replace fields by cloning. */
export interface HttpRequest {
  method: HttpMethod;
  /** Absolute URL (query string included). */
  url: string;
  headers: Headers;
  /** JSON-serialisable body; undefined = none. */
  body?: unknown;
  /** Raw body sent as is (wins over `body`); set `content-type` in `headers` (default application/octet-stream). */
  rawBody?: RawBody | undefined;
  /** `stream`: successful responses are not read; their body is {@link HttpResponse.stream}. */
  responseType?: ResponseType | undefined;
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
  retry?: Partial<RetryPolicy> | false | undefined;
  /** Service type for the microversion header (`volume` for block storage). */
  microversionService?: string | undefined;
  /** Microversion to send, e.g. `3.64`. */
  microversion?: string | undefined;
  /** Skip the auth middleware (Keystone token requests, version discovery). */
  skipAuth?: boolean | undefined;
  /** Free-form per-request state shared between middleware. */
  context: Record<string, unknown>;
  /**
   * This attempt's deadline, for a terminal that enforces it itself (see {@link AttemptDeadline}); set by the timeout
   * step instead of a deadline signal when the pipeline's terminal says it can.
   */
  deadline?: AttemptDeadline | undefined;
}

/**
 * A per-attempt deadline enforced by the terminal handler: it ends the exchange after `ms` and sets `expired`.
 * Cheaper than an AbortController per call (Node's EventTarget costs tens of microseconds per request).
 *
 * @example
 * ```ts
 * const deadline: AttemptDeadline = { ms: 30_000, expired: false };
 * ```
 */
export interface AttemptDeadline {
  ms: number;
  expired: boolean;
}

/** Metadata attached to every response and resource: status, request id, attempts. */
export interface ResponseMetadata {
  /** HTTP status of the final attempt. */
  status: number;
  /** Server request id (`x-openstack-request-id`, or `x-compute-request-id`). */
  requestId: string | undefined;
  /** Request id the client sent. */
  clientRequestId: string | undefined;
  /** Attempts made. */
  attempts: number;
  /** Total time spent sleeping between retries. */
  totalRetryDelayMs: number;
  /** Microversion echoed by the server, if any. */
  microversion: string | undefined;
}

/** A response after the pipeline: parsed JSON body (or text) and metadata. */
export interface HttpResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON, or the raw text when it is not JSON, or undefined when empty (or streamed). */
  body: unknown;
  /** The unread body of a successful `responseType: 'stream'` request. */
  stream?: ReadableStream<Uint8Array> | undefined;
  url: string;
  $metadata: ResponseMetadata;
}

/** A pipeline stage handler. */
export type Handler = (req: HttpRequest) => Promise<HttpResponse>;

/**
 * A named middleware step: receives the request and the next handler.
 *
 * @example
 * ```ts
 * const addHeader: Middleware = (req, next) => { req.headers.set('X-Trace', '1'); return next(req); };
 * ```
 */
export type Middleware = (req: HttpRequest, next: Handler) => Promise<HttpResponse>;

/**
 * Minimal logger; `console` fits.
 *
 * @example
 * ```ts
 * new Connection({ auth, logger: console });
 * ```
 */
export interface Logger {
  debug(message: string, data?: Record<string, unknown>): void;
  warn?(message: string, data?: Record<string, unknown>): void;
}
