import type { DomainError, ErrorKind } from '../../domain/errors.js';

export type Dialect = 'cinder' | 'keystone' | 'cbr';

const CINDER_FAULT: Partial<Record<ErrorKind, string>> = {
  badRequest: 'badRequest',
  unauthorized: 'unauthorized',
  forbidden: 'forbidden',
  notFound: 'itemNotFound',
  badMethod: 'badMethod',
  conflict: 'conflictingRequest',
  overLimit: 'overLimit',
  tooManyRequests: 'overLimit',
  badMediaType: 'badMediaType',
  // Cinder has no 416 of its own (webob's would be a computeFault); named after the status instead.
  rangeNotSatisfiable: 'requestedRangeNotSatisfiable',
  notImplemented: 'notImplemented',
  serviceUnavailable: 'serviceUnavailable',
};

const KEYSTONE_TITLE: Partial<Record<ErrorKind, string>> = {
  badRequest: 'Bad Request',
  unauthorized: 'Unauthorized',
  forbidden: 'Forbidden',
  notFound: 'Not Found',
  badMethod: 'Method Not Allowed',
  notAcceptable: 'Not Acceptable',
  conflict: 'Conflict',
  overLimit: 'Request Entity Too Large',
  tooManyRequests: 'Too Many Requests',
  badMediaType: 'Unsupported Media Type',
  rangeNotSatisfiable: 'Requested Range Not Satisfiable',
  notImplemented: 'Not Implemented',
  serviceUnavailable: 'Service Unavailable',
  internal: 'Internal Server Error',
};

/** CBR's generic codes by kind, used when a service did not name a specific one. */
const CBR_CODE: Partial<Record<ErrorKind, string>> = {
  badRequest: 'BackupService.0001',
  unauthorized: 'BackupService.8600',
  forbidden: 'BackupService.8600',
  notFound: 'BackupService.0002',
  conflict: 'BackupService.0003',
  overLimit: 'BackupService.0004',
  internal: 'BackupService.9999',
  serviceUnavailable: 'BackupService.9999',
};

/** Node's socket errors: the metadata store's server is down, restarting or unreachable. */
const CONNECTION_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/**
 * PostgreSQL SQLSTATEs that mean "not now" rather than "wrong request": class 08 (connection exception),
 * 53300 too many connections, 57P01-57P03 server shutting down / restarting / not yet accepting, 57014 a
 * statement cancelled by statement_timeout.
 */
const UNAVAILABLE_SQLSTATE = /^(08...|53300|57P0[123]|57014)$/;
/** pg's own messages for a pool or client that lost or never got its connection. */
const UNAVAILABLE_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable|Cannot use a pool after calling end/;

/**
 * Whether an error means the metadata store is unreachable (→ 503, the client may retry) rather than a bug
 * (→ 500). Duck-typed on the error and its causes: the HTTP layer does not know which driver is behind the store.
 */
export function isStoreUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && (CONNECTION_ERRNOS.has(code) || UNAVAILABLE_SQLSTATE.test(code) || code === 'SQLITE_BUSY')) return true;
    if (typeof message === 'string' && UNAVAILABLE_MESSAGE.test(message)) return true;
    // AggregateError: node's connect() to a host with several addresses.
    const errors = (e as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.some((x) => isStoreUnavailable(x))) return true;
  }
  return false;
}

export const STORE_UNAVAILABLE_MESSAGE = 'The service is temporarily unavailable: its metadata store cannot be reached. Retry later.';

export function dialectOf(url: string): Dialect {
  if (url.startsWith('/identity')) return 'keystone';
  if (url.startsWith('/cbr')) return 'cbr';
  return 'cinder';
}

export function errorBody(dialect: Dialect, err: DomainError): unknown {
  switch (dialect) {
    case 'keystone':
      return { error: { code: err.status, title: KEYSTONE_TITLE[err.kind] ?? 'Error', message: err.message } };
    case 'cbr':
      return { error_code: err.code ?? CBR_CODE[err.kind] ?? 'BackupService.9999', error_msg: err.message };
    default: {
      const fault = CINDER_FAULT[err.kind] ?? 'computeFault';
      const body: Record<string, unknown> = { code: err.status, message: err.message };
      if (err.retryAfter !== undefined) body.retryAfter = String(err.retryAfter);
      return { [fault]: body };
    }
  }
}
