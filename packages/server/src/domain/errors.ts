/**
 * Domain errors carry an HTTP-independent kind; each API family maps them once to its own dialect
 * (Cinder fault envelope, Keystone error, CBR error code). Services throw these and nothing else on bad input.
 */
export type ErrorKind =
  | 'badRequest'
  | 'unauthorized'
  | 'forbidden'
  | 'notFound'
  | 'badMethod'
  | 'notAcceptable'
  | 'conflict'
  | 'overLimit'
  | 'tooManyRequests'
  | 'badMediaType'
  | 'notImplemented'
  | 'serviceUnavailable'
  | 'internal';

const STATUS: Record<ErrorKind, number> = {
  badRequest: 400,
  unauthorized: 401,
  forbidden: 403,
  notFound: 404,
  badMethod: 405,
  notAcceptable: 406,
  conflict: 409,
  overLimit: 413,
  tooManyRequests: 429,
  badMediaType: 415,
  notImplemented: 501,
  serviceUnavailable: 503,
  internal: 500,
};

export interface DomainErrorOptions {
  /** Seconds a client should wait before retrying (quota errors send 0, as Cinder does). */
  retryAfter?: number;
  /** A stable machine-readable code for dialects that have one (CBR's `BackupService.XXXX`). */
  code?: string;
  cause?: unknown;
}

export class DomainError extends Error {
  readonly kind: ErrorKind;
  readonly status: number;
  readonly retryAfter: number | undefined;
  readonly code: string | undefined;

  constructor(kind: ErrorKind, message: string, opts: DomainErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'DomainError';
    this.kind = kind;
    this.status = STATUS[kind];
    this.retryAfter = opts.retryAfter;
    this.code = opts.code;
  }
}

export const badRequest = (message: string, opts?: DomainErrorOptions) => new DomainError('badRequest', message, opts);
export const notFound = (message: string, opts?: DomainErrorOptions) => new DomainError('notFound', message, opts);
export const forbidden = (message: string, opts?: DomainErrorOptions) => new DomainError('forbidden', message, opts);
export const conflict = (message: string, opts?: DomainErrorOptions) => new DomainError('conflict', message, opts);
export const unauthorized = (message = 'The request you have made requires authentication.') =>
  new DomainError('unauthorized', message);
/** Refused for the caller's own rate (login throttling); `retryAfter` seconds is sent as Retry-After. */
export const tooManyRequests = (message: string, retryAfter: number) => new DomainError('tooManyRequests', message, { retryAfter });
export const overLimit = (message: string, opts: DomainErrorOptions = { retryAfter: 0 }) =>
  new DomainError('overLimit', message, opts);

/** Cinder's policy failure text, so clients that print it read as they do against Cinder. */
export const policyForbidden = (rule: string) => forbidden(`Policy doesn't allow ${rule} to be performed.`);

export function isDomainError(e: unknown): e is DomainError {
  return e instanceof DomainError;
}
