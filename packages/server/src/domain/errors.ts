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
  | 'rangeNotSatisfiable'
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
  rangeNotSatisfiable: 416,
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

/**
 * Out of space. Cinder has no fault key of its own for it; 503 `serviceUnavailable` is chosen over 413 `overLimit`
 * because a full disk is the server's condition, not something the request did (413 reads as "your quota or your
 * body is too big", and clients treat it as such), and 503 tells a client to retry once an operator freed space.
 * CBR answers `BackupService.6114` ("capacity exceeded"), its one code that speaks of capacity.
 */
export const OUT_OF_SPACE_CBR_CODE = 'BackupService.6114';

export function outOfSpace(where: string, cause?: unknown): DomainError {
  return new DomainError('serviceUnavailable', `${where} is out of space. Free space or extend it, then retry.`, {
    code: OUT_OF_SPACE_CBR_CODE,
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * errno / SQLite / PostgreSQL codes that mean "no space": ENOSPC and EDQUOT from the filesystem (also what
 * qemu-img's "No space left on device" is mapped to), SQLITE_FULL from better-sqlite3, 53100 disk_full from
 * PostgreSQL.
 */
const NO_SPACE_CODES = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL', '53100']);
const METADATA_CODES = new Set(['SQLITE_FULL', '53100']);
const NO_SPACE_TEXT = /No space left on device|Disk quota exceeded|database or disk is full/i;

/**
 * Names the storage an error came from (`Volume backend "qcow2"`, `The backup repository`), so the out-of-space
 * answer can say which one is full; adapters tag their errors with it where they are wrapped.
 */
export function tagStorage<E>(err: E, storage: string): E {
  if (err && typeof err === 'object' && (err as { storage?: unknown }).storage === undefined) {
    try {
      Object.assign(err, { storage });
    } catch {
      // a frozen error keeps its generic wording
    }
  }
  return err;
}

/** Walks an error's cause chain (bounded) for a no-space code or text: which storage is full, or null. */
export function spaceFailure(err: unknown): { metadata: boolean; storage: string | undefined } | null {
  let storage: string | undefined;
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    const named = (e as { storage?: unknown }).storage;
    if (storage === undefined && typeof named === 'string') storage = named;
    if (typeof code === 'string' && NO_SPACE_CODES.has(code)) return { metadata: METADATA_CODES.has(code), storage };
    if (typeof message === 'string' && NO_SPACE_TEXT.test(message)) return { metadata: /database or disk is full/i.test(message), storage };
  }
  return null;
}

/** The out-of-space answer for `err`, or null when `err` is something else. */
export function asOutOfSpace(err: unknown): DomainError | null {
  if (err instanceof DomainError) return err.kind === 'serviceUnavailable' && err.code === OUT_OF_SPACE_CBR_CODE ? err : null;
  const f = spaceFailure(err);
  if (!f) return null;
  return outOfSpace(f.metadata ? 'The metadata store' : (f.storage ?? 'The storage backend'), err);
}

/**
 * `target` with every failure of its methods passed through `map` on the way out: a synchronous throw, a
 * rejected promise and, with `iterables`, an error while iterating an async iterable a method returns (a
 * listing). The composition root wraps adapters once this way, so no call site has to.
 */
export function withFailuresMapped<T extends object>(target: T, map: (e: unknown) => unknown, opts: { iterables?: boolean } = {}): T {
  async function* mappedIterable(items: AsyncIterable<unknown>): AsyncGenerator<unknown> {
    try {
      yield* items;
    } catch (e) {
      throw map(e);
    }
  }
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value = Reflect.get(obj, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return function (this: unknown, ...args: unknown[]) {
        let out: unknown;
        try {
          out = (value as (...a: unknown[]) => unknown).apply(obj, args);
        } catch (e) {
          throw map(e);
        }
        if (out instanceof Promise) return out.catch((e: unknown) => Promise.reject(map(e)));
        if (opts.iterables && out && typeof out === 'object' && Symbol.asyncIterator in out) {
          return mappedIterable(out as AsyncIterable<unknown>);
        }
        return out;
      };
    },
  });
}

/**
 * `target` with its failures tagged (tagStorage) with the storage they come from: the composition root wraps
 * each volume driver and the backup repository once, so no call site has to.
 */
export function withStorageTag<T extends object>(target: T, storage: string): T {
  return withFailuresMapped(target, (e) => tagStorage(e, storage));
}

/** What a failed task records: the out-of-space wording (and CBR code) for a full disk, else `fallbackCode` and the cause's text. */
export function failureReport(cause: Error, fallbackCode = 'BackupService.9910'): { code: string; message: string } {
  const space = asOutOfSpace(cause);
  return space ? { code: OUT_OF_SPACE_CBR_CODE, message: space.message } : { code: fallbackCode, message: cause.message };
}
