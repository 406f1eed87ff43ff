import type { FastifyInstance } from 'fastify';
import type { IdentityService } from '../../services/identity/identity-service.js';
import { caller } from './auth.js';
import { USER_KEYS, passwordChange, userCreate, userUpdate } from '@cinderbox/api-schema';
import { checkBody, extrasOf, queryBool, queryString } from './validation.js';
import { collection, projectView, userView } from './views.js';

interface UserBody {
  name?: string;
  domain_id?: string | null;
  default_project_id?: string | null;
  password?: string | null;
  email?: string | null;
  description?: string | null;
  enabled?: boolean;
  options?: Record<string, unknown>;
  [extra: string]: unknown;
}

type Id = { Params: { id: string } };

export function registerUserRoutes(app: FastifyInstance, identity: IdentityService): void {
  app.post('/identity/v3/users', async (req, reply) => {
    const { user: b } = checkBody<{ user: UserBody & { name: string } }>(userCreate, req.body);
    const u = await identity.users.create(caller(req), {
      name: b.name,
      domainId: b.domain_id,
      defaultProjectId: b.default_project_id,
      password: b.password,
      email: b.email,
      description: b.description,
      enabled: b.enabled,
      options: b.options,
      extra: extrasOf(b, USER_KEYS),
    });
    reply.code(201);
    return { user: userView(req, u) };
  });

  app.get('/identity/v3/users', async (req) => {
    const q = req.query as Record<string, unknown>;
    const users = await identity.users.list(caller(req), {
      name: queryString(q, 'name'),
      domainId: queryString(q, 'domain_id'),
      enabled: queryBool(q, 'enabled'),
    });
    return collection(req, 'users', users.map((u) => userView(req, u)));
  });

  app.get<Id>('/identity/v3/users/:id', async (req) => ({ user: userView(req, await identity.users.get(caller(req), req.params.id)) }));

  app.patch<Id>('/identity/v3/users/:id', async (req) => {
    const { user: b } = checkBody<{ user: UserBody }>(userUpdate, req.body);
    const u = await identity.users.update(caller(req), req.params.id, {
      name: b.name,
      domainId: b.domain_id,
      defaultProjectId: b.default_project_id,
      password: b.password,
      email: b.email,
      description: b.description,
      enabled: b.enabled,
      options: b.options,
      extra: extrasOf(b, USER_KEYS),
    });
    return { user: userView(req, u) };
  });

  app.delete<Id>('/identity/v3/users/:id', async (req, reply) => {
    await identity.users.delete(caller(req), req.params.id);
    reply.code(204).send();
  });

  app.post<Id>('/identity/v3/users/:id/password', async (req, reply) => {
    const { user: b } = checkBody<{ user: { password: string; original_password: string } }>(passwordChange, req.body);
    await identity.users.changePassword(caller(req), req.params.id, b.original_password, b.password);
    reply.code(204).send();
  });

  app.get<Id>('/identity/v3/users/:id/projects', async (req) => {
    const projects = await identity.projects.listForUser(caller(req), req.params.id, false);
    return collection(req, 'projects', projects.map((p) => projectView(req, p)));
  });
}
