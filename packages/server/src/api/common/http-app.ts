import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { TokenValidator } from '../../domain/auth-context.js';
import { badRequest, DomainError, isDomainError, notFound, unauthorized } from '../../domain/errors.js';
import { negotiateVersion } from './api-version.js';
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
    trustProxy: false,
  }) as unknown as FastifyInstance;

  app.decorateRequest('cb', null as never);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(JSON_TYPES, { parseAs: 'string' }, (_req, body, done) => {
    const text = (body as string).trim();
    // Clients send bodiless actions with a JSON content type; Cinder treats an empty body as absent.
    if (text === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(badRequest('Malformed request body'), undefined);
    }
  });
  app.addContentTypeParser('*', (_req, payload, done) => {
    // Drain so the connection stays usable, then refuse.
    payload.resume();
    payload.on('end', () => done(new DomainError('badMediaType', 'Unsupported Content-Type'), undefined));
    payload.on('error', (e) => done(e, undefined));
  });

  app.addHook('onRequest', async (request, reply) => {
    const url = request.url;
    const inbound = request.headers['x-openstack-request-id'];
    request.cb = {
      requestId: typeof inbound === 'string' && REQUEST_ID_RE.test(inbound) ? inbound : request.id,
      dialect: dialectOf(url),
      auth: null,
      apiVersion: null,
      baseUrl: opts.publicUrl ?? `${request.protocol}://${request.host}`,
    };
    reply.header('x-openstack-request-id', request.cb.requestId);
    if (request.cb.dialect === 'cinder') reply.header('x-compute-request-id', request.cb.requestId);
    if (isV3(url)) {
      // Faults carry the header too; a malformed version answers with the minimum so clients can recover.
      reply.header('Vary', 'OpenStack-API-Version');
      reply.header('OpenStack-API-Version', 'volume 3.0');
      request.cb.apiVersion = negotiateVersion(request.headers['openstack-api-version']);
      reply.header('OpenStack-API-Version', `volume ${request.cb.apiVersion.toString()}`);
    }
    if (request.routeOptions.config.public) return;
    if (!request.routeOptions.url) return; // unknown route: the not-found handler answers
    await authenticate(request, opts.tokens);
  });

  app.setNotFoundHandler((request, reply) => {
    const dialect = request.cb?.dialect ?? dialectOf(request.url);
    const err = notFound('The resource could not be found.');
    reply.code(404).type('application/json').send(errorBody(dialect, err));
  });

  app.setErrorHandler((error: FastifyError | DomainError, request, reply) => {
    const dialect = request.cb?.dialect ?? dialectOf(request.url);
    let derr: DomainError;
    if (isDomainError(error)) {
      derr = error;
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

async function authenticate(request: FastifyRequest, tokens: TokenValidator): Promise<void> {
  const token = request.headers['x-auth-token'];
  if (typeof token !== 'string' || token === '') throw unauthorized();
  const auth = await tokens.validate(token);
  if (!auth) throw unauthorized();
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
}
