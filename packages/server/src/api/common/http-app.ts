import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { AuthContext, TokenValidator } from '../../domain/auth-context.js';
import { asOutOfSpace, badRequest, DomainError, isDomainError, notFound, unauthorized } from '../../domain/errors.js';
import { checkRoutePolicy, installAccessPolicy } from './access.js';
import { BASE_VERSION, negotiateVersion } from './api-version.js';
import { dialectOf, errorBody, isStoreUnavailable, STORE_UNAVAILABLE_MESSAGE } from './errors.js';
import './request-context.js';

export interface HttpAppOptions {
  logger: Logger;
  publicUrl: string | null;
  tokens: TokenValidator;
  /** Largest JSON body accepted; volume uploads use their own streaming parser. */
  bodyLimit?: number;
}

const JSON_TYPES = ['application/json', 'application/vnd.openstack.volume+json'];
const REQUEST_ID_RE = /^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Deeper than any Cinder, CBR or Keystone body; deeper input would only exhaust the stack of whatever walks it. */
export const MAX_JSON_DEPTH = 64;

/**
 * Nesting depth of JSON text, counted without building objects (strings and their escapes skipped), stopping
 * as soon as `limit` is passed. Malformed text is left for JSON.parse to refuse.
 */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/** The JSON parser's verdict on a body: [error, value] for fastify's `done`. */
export function parseJsonBody(body: Buffer): [Error | null, unknown] {
  // Text that is not UTF-8 would otherwise be decoded with U+FFFD substitutions and stored as something else.
  if (!isUtf8(body)) return [badRequest('Malformed request body: it is not valid UTF-8.'), undefined];
  const text = body.toString('utf8').trim();
  // Clients send bodiless actions with a JSON content type; Cinder treats an empty body as absent.
  if (text === '') return [null, undefined];
  if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
    return [badRequest(`Malformed request body: nested deeper than ${MAX_JSON_DEPTH} levels.`), undefined];
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return [badRequest('Malformed request body'), undefined];
  }
  // Neither store keeps NUL in text (PostgreSQL refuses it outright), and no name, key or id needs one.
  if (holdsNul(value)) return [badRequest('Malformed request body: NUL characters are not accepted.'), undefined];
  return [null, value];
}

/** Whether any string or key in a parsed body (at most MAX_JSON_DEPTH deep) contains U+0000. */
function holdsNul(v: unknown): boolean {
  if (typeof v === 'string') return v.includes('\0');
  if (v === null || typeof v !== 'object') return false;
  if (Array.isArray(v)) return v.some(holdsNul);
  for (const [k, x] of Object.entries(v)) if (k.includes('\0') || holdsNul(x)) return true;
  return false;
}

type LevelName = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/**
 * A request's logger. fastify gives every request a pino child bound to its id, and pino serialises those bindings
 * as the child is made (a couple of µs, a tenth of a cached GET's own work), though at the usual levels most
 * requests never write a line: the child is made by the first line that passes the level.
 */
class LazyRequestLogger {
  #parent: Logger;
  #bindings: Record<string, unknown>;
  #child: Logger | null = null;

  constructor(parent: Logger, bindings: Record<string, unknown>) {
    this.#parent = parent;
    this.#bindings = bindings;
  }

  #real(): Logger {
    return (this.#child ??= this.#parent.child(this.#bindings));
  }

  #write(level: LevelName, args: unknown[]): void {
    const target = this.#child ?? (this.#parent.isLevelEnabled(level) ? this.#real() : null);
    if (target?.isLevelEnabled(level)) (target[level] as (...a: unknown[]) => void)(...args);
  }

  get level(): string {
    return (this.#child ?? this.#parent).level;
  }
  set level(level: string) {
    this.#real().level = level;
  }
  isLevelEnabled(level: string): boolean {
    return (this.#child ?? this.#parent).isLevelEnabled(level);
  }
  child(bindings: Record<string, unknown>, options?: object): Logger {
    return this.#real().child(bindings, options);
  }
  fatal(...args: unknown[]): void {
    this.#write('fatal', args);
  }
  error(...args: unknown[]): void {
    this.#write('error', args);
  }
  warn(...args: unknown[]): void {
    this.#write('warn', args);
  }
  info(...args: unknown[]): void {
    this.#write('info', args);
  }
  debug(...args: unknown[]): void {
    this.#write('debug', args);
  }
  trace(...args: unknown[]): void {
    this.#write('trace', args);
  }
  silent(): void {}
}

function isV3(url: string): boolean {
  return url === '/v3' || url.startsWith('/v3/') || url.startsWith('/v3?');
}

/**
 * The HTTP shell shared by every API family: request ids, JSON parsing, microversion negotiation, token
 * checks and the error dialects. API families register their routes on the returned instance.
 */
export function createHttpApp(opts: HttpAppOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: opts.logger,
    bodyLimit: opts.bodyLimit ?? 4 * 1024 * 1024,
    routerOptions: { maxParamLength: 1024, ignoreTrailingSlash: false, ignoreDuplicateSlashes: false },
    genReqId: () => `req-${randomUUID()}`,
    childLoggerFactory: (logger, bindings, childOpts) =>
      // A route with a log level of its own gets its real child at once: its level is not the parent's.
      childOpts.level === undefined ? (new LazyRequestLogger(logger as Logger, bindings) as unknown as FastifyBaseLogger) : logger.child(bindings, childOpts),
    trustProxy: false,
    // URLs the router cannot decode (a bad percent-escape, a parameter over maxParamLength) never reach a route
    // or the error handler; they still answer in the dialect of their API.
    frameworkErrors: (error, request, reply) => {
      const dialect = dialectOf(request.url);
      const err = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? notFound('The resource could not be found.') : badRequest('Malformed request url');
      void (reply as FastifyReply).code(err.status).type('application/json').send(errorBody(dialect, err));
    },
  }) as unknown as FastifyInstance;

  app.decorateRequest('cb', null as never);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(JSON_TYPES, { parseAs: 'buffer' }, (_req, body, done) => {
    const [err, value] = parseJsonBody(body as Buffer);
    done(err, value);
  });
  app.addContentTypeParser('*', (_req, payload, done) => {
    // Drain so the connection stays usable, then refuse.
    payload.resume();
    payload.on('end', () => done(new DomainError('badMediaType', 'Unsupported Content-Type'), undefined));
    payload.on('error', (e) => done(e, undefined));
  });

  // One callback-style hook, synchronous to the end when the token is cached (the common case): every async hook
  // costs fastify a promise and a microtask turn per request, the separate policy hook another.
  app.addHook('onRequest', (request, reply, done) => {
    let pending: Promise<void> | undefined;
    try {
      pending = beginRequest(request, reply, opts);
    } catch (err) {
      return done(err as Error);
    }
    if (pending === undefined) return done();
    pending.then(() => done(), done);
  });
  installAccessPolicy(app);

  app.setNotFoundHandler((request, reply) => {
    const dialect = request.cb?.dialect ?? dialectOf(request.url);
    const err = notFound('The resource could not be found.');
    reply.code(404).type('application/json').send(errorBody(dialect, err));
  });

  app.setErrorHandler((error: FastifyError | DomainError, request, reply) => {
    const dialect = request.cb?.dialect ?? dialectOf(request.url);
    let derr: DomainError;
    let space: DomainError | null;
    if (isDomainError(error)) {
      derr = error;
    } else if ((space = asOutOfSpace(error))) {
      // A full disk is an operator's problem, not a bug: one line, no stack.
      request.log.warn({ requestId: request.cb?.requestId, reason: error.message }, 'out of space: answered 503');
      derr = space;
    } else if (error.statusCode === 413 || error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      derr = new DomainError('overLimit', 'Request is too large.');
    } else if (error.statusCode === 415) {
      derr = new DomainError('badMediaType', 'Unsupported Content-Type');
    } else if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      derr = badRequest(error.message);
    } else if (isStoreUnavailable(error)) {
      // An outage, not a bug: one line per request, no stack; the client retries.
      const { code, message } = error as { code?: string; message: string };
      request.log.warn({ requestId: request.cb?.requestId, code, reason: message }, 'metadata store unavailable: answered 503');
      derr = new DomainError('serviceUnavailable', STORE_UNAVAILABLE_MESSAGE, { cause: error });
    } else {
      request.log.error({ err: error, requestId: request.cb?.requestId }, 'unexpected error');
      derr = new DomainError('internal', 'The server has either erred or is incapable of performing the requested operation.');
    }
    if (derr.kind === 'unauthorized') {
      reply.header('WWW-Authenticate', `Keystone uri="${request.cb?.baseUrl ?? ''}/identity"`);
    }
    if ((derr.kind === 'overLimit' || derr.kind === 'tooManyRequests') && derr.retryAfter !== undefined) reply.header('Retry-After', String(derr.retryAfter));
    reply.code(derr.status).type('application/json').send(errorBody(dialect, derr));
  });

  return app;
}

/**
 * Request id, dialect, microversion, then the token and the route's policy. Returns a promise only when the
 * token has to be looked up in the store.
 */
function beginRequest(request: FastifyRequest, reply: FastifyReply, opts: HttpAppOptions): Promise<void> | undefined {
  const url = request.url;
  const inbound = request.headers['x-openstack-request-id'];
  const dialect = dialectOf(url);
  const requestId = typeof inbound === 'string' && REQUEST_ID_RE.test(inbound) ? inbound : request.id;
  request.cb = { requestId, dialect, auth: null, apiVersion: null, baseUrl: opts.publicUrl ?? `${request.protocol}://${request.host}` };
  reply.header('x-openstack-request-id', requestId);
  if (dialect === 'cinder') reply.header('x-compute-request-id', requestId);
  // A NUL in a path segment or query value would reach the store (PostgreSQL refuses it with an error).
  if (url.includes('%00')) throw badRequest('Malformed request url: NUL characters are not accepted.');
  if (isV3(url)) {
    // Faults carry the header too; a malformed version answers with the minimum so clients can recover.
    reply.header('Vary', 'OpenStack-API-Version');
    reply.header('OpenStack-API-Version', 'volume 3.0');
    request.cb.apiVersion = negotiateVersion(request.headers['openstack-api-version']);
    if (request.cb.apiVersion !== BASE_VERSION) reply.header('OpenStack-API-Version', `volume ${request.cb.apiVersion.toString()}`);
  }
  if (request.routeOptions.config.public) return undefined;
  if (!request.routeOptions.url) return undefined; // unknown route: the not-found handler answers
  const token = tokenOf(request);
  const hit = opts.tokens.cached?.(token) ?? null;
  if (hit) {
    admit(request, reply, hit);
    return undefined;
  }
  return opts.tokens.validate(token).then((auth) => {
    if (!auth) throw unauthorized();
    admit(request, reply, auth);
  });
}

function tokenOf(request: FastifyRequest): string {
  let token = request.headers['x-auth-token'];
  if (token === undefined && request.routeOptions.config.queryToken) token = (request.query as Record<string, unknown> | undefined)?.token as string | undefined;
  if (typeof token !== 'string' || token === '') throw unauthorized();
  return token;
}

/** Binds the caller to the request once its token is valid: the project in the URL, then the route's policy. */
function admit(request: FastifyRequest, reply: FastifyReply, auth: AuthContext): void {
  request.cb.auth = auth;
  const params = request.params as Record<string, string> | undefined;
  const pathProject = params?.project_id;
  if (pathProject !== undefined && pathProject !== auth.projectId) {
    // Cinder answers 400 for a project in the URL that is not the token's; CBR answers 403 in its own dialect.
    if (request.cb.dialect === 'cbr') {
      throw new DomainError('forbidden', 'The project in the URL does not match the token.', { code: 'BackupService.8600' });
    }
    throw badRequest('Malformed request url');
  }
  checkRoutePolicy(request, reply);
}
