/**
 * Typed errors raised by the SDK.
 *
 * Every error extends {@link SdkError}; HTTP failures extend {@link HttpError} and carry the
 * status, the OpenStack fault name, the server's request id, the method and the URL.
 * Checks use a `Symbol.for` brand so they survive duplicate copies of the package.
 *
 * @example
 * ```ts
 * import { isNotFound } from '@cinderbox/sdk';
 * try { await conn.blockStorage.getSnapshot(id); }
 * catch (e) { if (isNotFound(e)) console.log('gone, request id', e.requestId); else throw e; }
 * ```
 * @packageDocumentation
 */

const BRAND = Symbol.for('@cinderbox/sdk/error');
const HTTP_BRAND = Symbol.for('@cinderbox/sdk/http-error');

/**
 * Base class of every error thrown by the SDK.
 *
 * @example
 * ```ts
 * try { await conn.blockStorage.getSnapshot('x'); } catch (e) { if (e instanceof SdkError) console.log(e.code); }
 * ```
 */
export class SdkError extends Error {
  /** Stable machine-readable code, e.g. `HTTP_NOT_FOUND` or `CONFIG`. */
  readonly code: string;
  constructor(message: string, options: { code?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code ?? 'SDK_ERROR';
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** Fields describing the failed HTTP exchange. */
export interface HttpErrorInit {
  /** HTTP status code. */
  status: number;
  /** Request method. */
  method: string;
  /** Request URL (without credentials). */
  url: string;
  /** Value of `x-openstack-request-id` (or `x-compute-request-id`) from the response. */
  requestId?: string | undefined;
  /** Fault name from the body, e.g. `itemNotFound`, `badRequest`, `overLimit`. */
  fault?: string | undefined;
  /** Human-readable detail extracted from the body. */
  details?: string | undefined;
  /** Parsed response body (JSON) or text. */
  body?: unknown;
  /** Seconds from `Retry-After`, when sent. */
  retryAfter?: number | undefined;
  /** Number of attempts made (including retries). */
  attempts?: number | undefined;
}

/**
 * An HTTP response with status ≥ 400.
 *
 * @example
 * ```ts
 * catch (e) { if (isHttpError(e)) console.error(e.status, e.fault, e.requestId, e.method, e.url); }
 * ```
 */
export class HttpError extends SdkError {
  /** HTTP status code. */
  readonly status: number;
  /** Request method. */
  readonly method: string;
  /** Request URL. */
  readonly url: string;
  /** Server request id (`x-openstack-request-id`). */
  readonly requestId: string | undefined;
  /** OpenStack fault name (`itemNotFound`, `badRequest`, …). */
  readonly fault: string | undefined;
  /** Detail message from the server. */
  readonly details: string | undefined;
  /** Parsed response body. */
  readonly body: unknown;
  /** Seconds to wait before retrying, from `Retry-After`. */
  readonly retryAfter: number | undefined;
  /** Attempts made, including retries. */
  readonly attempts: number;
  /** `client` for 4xx, `server` for 5xx (openstacksdk's `source`). */
  readonly source: 'client' | 'server';
  /** Whether retrying the same request may succeed. */
  readonly retryable: boolean;

  constructor(init: HttpErrorInit, message?: string) {
    const text =
      message ??
      `${init.method} ${init.url} failed with ${init.status}${init.fault ? ` ${init.fault}` : ''}${init.details ? `: ${init.details}` : ''}${init.requestId ? ` (request id ${init.requestId})` : ''}`;
    super(text, { code: httpCode(init.status) });
    this.status = init.status;
    this.method = init.method;
    this.url = init.url;
    this.requestId = init.requestId;
    this.fault = init.fault;
    this.details = init.details;
    this.body = init.body;
    this.retryAfter = init.retryAfter;
    this.attempts = init.attempts ?? 1;
    this.source = init.status >= 500 ? 'server' : 'client';
    this.retryable = init.status === 429 || init.status === 502 || init.status === 503 || init.status === 504;
    Object.defineProperty(this, HTTP_BRAND, { value: true });
  }
}

function httpCode(status: number): string {
  const names: Record<number, string> = {
    400: 'BAD_REQUEST',
    401: 'UNAUTHORIZED',
    403: 'FORBIDDEN',
    404: 'NOT_FOUND',
    405: 'METHOD_NOT_ALLOWED',
    406: 'NOT_ACCEPTABLE',
    409: 'CONFLICT',
    412: 'PRECONDITION_FAILED',
    413: 'OVER_LIMIT',
    415: 'UNSUPPORTED_MEDIA_TYPE',
    429: 'TOO_MANY_REQUESTS',
    503: 'SERVICE_UNAVAILABLE',
  };
  return `HTTP_${names[status] ?? (status >= 500 ? 'SERVER_ERROR' : 'CLIENT_ERROR')}`;
}

/** 400 Bad Request (`badRequest`). @example `catch (e) { if (e instanceof BadRequestError) … }` */
export class BadRequestError extends HttpError {}
/** 401 Unauthorized: credentials rejected even after one re-authentication. @example `e instanceof UnauthorizedError` */
export class UnauthorizedError extends HttpError {}
/** 403 Forbidden (policy). @example `e instanceof ForbiddenError` */
export class ForbiddenError extends HttpError {}
/** 404 Not Found (`itemNotFound`). @example `if (isNotFound(e)) …` */
export class NotFoundError extends HttpError {}
/** 405 Method not allowed (`badMethod`). @example `e instanceof MethodNotAllowedError` */
export class MethodNotAllowedError extends HttpError {}
/** 406 Not Acceptable: microversion outside the server's range. @example `e instanceof NotAcceptableError` */
export class NotAcceptableError extends HttpError {}
/** 409 Conflict. @example `e instanceof ConflictError` */
export class ConflictError extends HttpError {}
/** 412 Precondition failed. @example `e instanceof PreconditionFailedError` */
export class PreconditionFailedError extends HttpError {}
/** 413 Over limit (`overLimit`, e.g. Cinder quota exceeded). @example `e instanceof OverLimitError` */
export class OverLimitError extends HttpError {}
/** 429 Too many requests. @example `e instanceof RateLimitError` */
export class RateLimitError extends HttpError {}
/** 5xx server error. @example `e instanceof ServerError` */
export class ServerError extends HttpError {}
/** 503 Service unavailable. @example `e instanceof ServiceUnavailableError` */
export class ServiceUnavailableError extends ServerError {}

/**
 * Builds the typed error for a failed response.
 *
 * @example
 * ```ts
 * const err = errorFromResponse({ status: 404, method: 'GET', url: 'http://x/v3/snapshots/1' });
 * err instanceof NotFoundError; // true
 * ```
 */
export function errorFromResponse(init: HttpErrorInit): HttpError {
  const parsed = init.fault === undefined && init.details === undefined ? parseFault(init.body) : {};
  const full: HttpErrorInit = { ...init, ...parsed };
  switch (init.status) {
    case 400:
      return new BadRequestError(full);
    case 401:
      return new UnauthorizedError(full);
    case 403:
      return new ForbiddenError(full);
    case 404:
      return new NotFoundError(full);
    case 405:
      return new MethodNotAllowedError(full);
    case 406:
      return new NotAcceptableError(full);
    case 409:
      return new ConflictError(full);
    case 412:
      return new PreconditionFailedError(full);
    case 413:
      return new OverLimitError(full);
    case 429:
      return new RateLimitError(full);
    case 503:
      return new ServiceUnavailableError(full);
    default:
      return init.status >= 500 ? new ServerError(full) : new HttpError(full);
  }
}

/**
 * Extracts the fault name and message from an OpenStack error body: Cinder
 * `{"itemNotFound": {"code", "message"}}`, Keystone `{"error": {"title", "message"}}`,
 * CBR `{"error_code", "error_msg"}` or webob `{"message": …}`.
 *
 * @example
 * ```ts
 * parseFault({ itemNotFound: { code: 404, message: 'gone' } }); // { fault: 'itemNotFound', details: 'gone' }
 * ```
 */
export function parseFault(body: unknown): { fault?: string; details?: string } {
  if (typeof body === 'string') {
    const text = body
      .replace(/<[^>]*>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim();
    return text ? { details: text.slice(0, 500) } : {};
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) return {};
  const obj = body as Record<string, unknown>;
  if (typeof obj.error_code === 'string') {
    return { fault: obj.error_code, ...(typeof obj.error_msg === 'string' ? { details: obj.error_msg } : {}) };
  }
  if (typeof obj.message === 'string') return { details: obj.message };
  const keys = Object.keys(obj);
  if (keys.length === 1) {
    const key = keys[0] as string;
    const inner = obj[key];
    if (inner && typeof inner === 'object') {
      const rec = inner as Record<string, unknown>;
      const msg = rec.message ?? rec.faultstring;
      const fault = key === 'error' && typeof rec.title === 'string' ? rec.title : key;
      return { fault, ...(typeof msg === 'string' ? { details: msg } : {}) };
    }
  }
  return {};
}

/** Configuration could not be loaded or is inconsistent. @example `e instanceof ConfigError` */
export class ConfigError extends SdkError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { code: 'CONFIG', ...options });
  }
}

/** Authentication failed or the auth options are incomplete. @example `e instanceof AuthError` */
export class AuthError extends SdkError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { code: 'AUTH', ...options });
  }
}

/** No endpoint in the catalog matched the service type, interface and region. @example `e instanceof EndpointNotFoundError` */
export class EndpointNotFoundError extends SdkError {
  constructor(message: string) {
    super(message, { code: 'ENDPOINT_NOT_FOUND' });
  }
}

/**
 * The operation needs a microversion the negotiated version does not reach; raised before sending.
 *
 * @example
 * ```ts
 * catch (e) { if (e instanceof MicroversionNotSupportedError) console.log(e.required, e.available); }
 * ```
 */
export class MicroversionNotSupportedError extends SdkError {
  /** Minimum microversion the operation needs. */
  readonly required: string;
  /** Microversion that would have been sent (undefined = none / 3.0). */
  readonly available: string | undefined;
  constructor(operation: string, required: string, available: string | undefined) {
    super(`${operation} requires microversion ${required}; the negotiated version is ${available ?? 'none (3.0)'}`, {
      code: 'MICROVERSION_NOT_SUPPORTED',
    });
    this.required = required;
    this.available = available;
  }
}

/** The request was invalid before it was sent (missing id, unknown parameter, …). @example `e instanceof InvalidRequestError` */
export class InvalidRequestError extends SdkError {
  constructor(message: string) {
    super(message, { code: 'INVALID_REQUEST' });
  }
}

/** The server's response could not be understood. @example `e instanceof InvalidResponseError` */
export class InvalidResponseError extends SdkError {
  constructor(message: string) {
    super(message, { code: 'INVALID_RESPONSE' });
  }
}

/** `find` matched more than one resource. @example `e instanceof DuplicateResourceError` */
export class DuplicateResourceError extends SdkError {
  constructor(message: string) {
    super(message, { code: 'DUPLICATE_RESOURCE' });
  }
}

/** A single HTTP attempt exceeded its timeout. @example `e instanceof RequestTimeoutError` */
export class RequestTimeoutError extends SdkError {
  /** The timeout that elapsed, in milliseconds. */
  readonly timeoutMs: number;
  constructor(message: string, timeoutMs: number) {
    super(message, { code: 'REQUEST_TIMEOUT' });
    this.timeoutMs = timeoutMs;
  }
}

/** The caller's AbortSignal fired. @example `e instanceof AbortError` */
export class AbortError extends SdkError {
  constructor(message = 'The operation was aborted', options: { cause?: unknown } = {}) {
    super(message, { code: 'ABORTED', ...options });
  }
}

/** A connection-level failure (DNS, refused, reset) after all retries. @example `e instanceof NetworkError` */
export class NetworkError extends SdkError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { code: 'NETWORK', ...options });
  }
}

/** A waiter saw a failure status. @example `e instanceof ResourceFailureError` */
export class ResourceFailureError extends SdkError {
  /** The status that was reached. */
  readonly status: string;
  constructor(message: string, status: string) {
    super(message, { code: 'RESOURCE_FAILURE' });
    this.status = status;
  }
}

/** A waiter ran out of time. @example `e instanceof ResourceTimeoutError` */
export class ResourceTimeoutError extends SdkError {
  constructor(message: string) {
    super(message, { code: 'RESOURCE_TIMEOUT' });
  }
}

/** Pagination returned the same marker twice. @example `e instanceof EndlessPaginationError` */
export class EndlessPaginationError extends SdkError {
  constructor(message = 'Endless pagination loop detected') {
    super(message, { code: 'ENDLESS_PAGINATION' });
  }
}

/** True for any error raised by this SDK (across package copies). @example `if (isSdkError(e)) console.log(e.code)` */
export function isSdkError(e: unknown): e is SdkError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[BRAND] === true;
}

/** True for an {@link HttpError}. @example `if (isHttpError(e)) console.log(e.status)` */
export function isHttpError(e: unknown): e is HttpError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[HTTP_BRAND] === true;
}

/** True for a 404. @example `if (isNotFound(e)) return undefined;` */
export function isNotFound(e: unknown): e is NotFoundError {
  return isHttpError(e) && e.status === 404;
}

/** True for a 409. @example `if (isConflict(e)) …` */
export function isConflict(e: unknown): e is ConflictError {
  return isHttpError(e) && e.status === 409;
}

/** The resource type does not allow the operation (openstacksdk `MethodNotSupported`). @example `e instanceof MethodNotSupportedError` */
export class MethodNotSupportedError extends SdkError {
  constructor(resource: string, method: string) {
    super(`${resource} does not support ${method}`, { code: 'METHOD_NOT_SUPPORTED' });
  }
}
