import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerConfig } from '../../config/config.js';
import type { AuthContext } from '../../domain/auth-context.js';
import { badRequest, forbidden } from '../../domain/errors.js';
import type { IdentityService } from '../../services/identity/identity-service.js';
import type { AuthRequest } from '../../services/identity/tokens.js';
import type { TokenInfo } from '../../services/identity/types.js';
import { buildCatalog } from './catalog.js';
import { authBody } from '@cinderbox/api-schema';
import { checkBody, flag } from './validation.js';
import { collection, projectView, tokenView, v3 } from './views.js';

interface Deps {
  identity: IdentityService;
  config: ServerConfig;
}

interface AuthBody {
  auth: {
    identity: { methods: string[]; password?: AuthRequest['password']; token?: { id: string } };
    scope?: AuthRequest['scope'] | Record<string, never>;
  };
}

export function caller(req: FastifyRequest): AuthContext {
  const auth = req.cb.auth;
  if (!auth) throw new Error('route registered without authentication');
  return auth;
}

function toAuthRequest(body: AuthBody): AuthRequest {
  const { identity, scope } = body.auth;
  for (const m of identity.methods) {
    if ((m === 'password' || m === 'token') && identity[m] === undefined) {
      throw badRequest(`Expecting to find ${m} in identity. The server could not comply with the request since it is either malformed or otherwise incorrect.`);
    }
  }
  const user = identity.password?.user;
  if (user && user.id === undefined && user.name === undefined) {
    throw badRequest("Invalid input for field 'identity/password/user': either 'id' or 'name' is required.");
  }
  let s: AuthRequest['scope'] = null;
  if (scope === 'unscoped') s = 'unscoped';
  else if (scope && typeof scope === 'object') {
    const keys = Object.keys(scope);
    if (keys.length > 1) throw badRequest("Invalid input for field 'scope': only one of project, domain or system may be given.");
    if ('project' in scope && scope.project) {
      if (scope.project.id === undefined && scope.project.name === undefined) {
        throw badRequest("Invalid input for field 'scope/project': either 'id' or 'name' is required.");
      }
      s = { project: scope.project };
    } else if ('domain' in scope && scope.domain) s = { domain: scope.domain };
    else if ('system' in scope) s = { system: scope.system };
  }
  return { methods: identity.methods, password: identity.password, token: identity.token, scope: s };
}

function subjectOf(req: FastifyRequest): string {
  const subject = req.headers['x-subject-token'];
  if (typeof subject !== 'string' || subject === '') {
    throw badRequest('Expecting to find X-Subject-Token in header. The server could not comply with the request since it is either malformed or otherwise incorrect.');
  }
  return subject;
}

export function registerAuthRoutes(app: FastifyInstance, deps: Deps): void {
  const { identity, config } = deps;
  const render = (req: FastifyRequest, t: TokenInfo) => {
    const query = req.query as Record<string, unknown>;
    const catalog = t.project && !flag(query, 'nocatalog') ? buildCatalog(req.cb.baseUrl, config.region, t.project.id) : null;
    return tokenView(t, catalog);
  };

  app.post('/identity/v3/auth/tokens', { config: { public: true } }, async (req, reply) => {
    const body = checkBody<AuthBody>(authBody, req.body);
    const issued = await identity.tokens.issue({ ...toAuthRequest(body), source: req.ip });
    reply.code(201).header('X-Subject-Token', issued.token).header('Vary', 'X-Auth-Token');
    return render(req, issued);
  });

  app.get('/identity/v3/auth/tokens', { exposeHeadRoute: false }, async (req, reply) => {
    const info = await identity.tokens.inspect(caller(req), subjectOf(req));
    reply.header('X-Subject-Token', subjectOf(req)).header('Vary', 'X-Auth-Token');
    return render(req, info);
  });

  app.head('/identity/v3/auth/tokens', async (req, reply: FastifyReply) => {
    await identity.tokens.inspect(caller(req), subjectOf(req));
    reply.code(200).header('X-Subject-Token', subjectOf(req)).send();
  });

  app.delete('/identity/v3/auth/tokens', async (req, reply) => {
    await identity.tokens.revoke(caller(req), subjectOf(req));
    reply.code(204).send();
  });

  app.get('/identity/v3/auth/catalog', async (req) => {
    const auth = caller(req);
    if (!auth.projectId) throw forbidden('A project-scoped token is required to produce a service catalog.');
    return { catalog: buildCatalog(req.cb.baseUrl, config.region, auth.projectId), links: { self: `${v3(req)}/auth/catalog`, previous: null, next: null } };
  });

  app.get('/identity/v3/auth/projects', async (req) => {
    const auth = caller(req);
    const projects = await identity.projects.listForUser(auth, auth.userId, true);
    return collection(req, 'projects', projects.map((p) => projectView(req, p)));
  });

  // Domain and system role assignments do not exist here, so these lists are always empty.
  app.get('/identity/v3/auth/domains', async (req) => collection(req, 'domains', []));
  app.get('/identity/v3/auth/system', async (req) => collection(req, 'system', []));
}
