import type { FastifyInstance } from 'fastify';
import type { IdentityService } from '../../services/identity/identity-service.js';
import { caller } from './auth.js';
import { PROJECT_KEYS, projectCreate, projectUpdate } from '@cinderbox/api-schema';
import { checkBody, extrasOf, queryBool, queryString } from './validation.js';
import { collection, projectView } from './views.js';

interface ProjectBody {
  name?: string;
  domain_id?: string | null;
  description?: string | null;
  enabled?: boolean;
  parent_id?: string | null;
  is_domain?: boolean;
  options?: Record<string, unknown>;
  tags?: string[];
  [extra: string]: unknown;
}

type Id = { Params: { id: string } };

export function registerProjectRoutes(app: FastifyInstance, identity: IdentityService): void {
  app.post('/identity/v3/projects', async (req, reply) => {
    const { project: b } = checkBody<{ project: ProjectBody & { name: string } }>(projectCreate, req.body);
    const p = await identity.projects.create(caller(req), {
      name: b.name,
      domainId: b.domain_id,
      description: b.description,
      enabled: b.enabled,
      parentId: b.parent_id,
      isDomain: b.is_domain,
      options: b.options,
      tags: b.tags,
      extra: extrasOf(b, PROJECT_KEYS),
    });
    reply.code(201);
    return { project: projectView(req, p) };
  });

  app.get('/identity/v3/projects', async (req) => {
    const q = req.query as Record<string, unknown>;
    const projects = await identity.projects.list(caller(req), {
      name: queryString(q, 'name'),
      domainId: queryString(q, 'domain_id'),
      enabled: queryBool(q, 'enabled'),
      parentId: queryString(q, 'parent_id'),
      isDomain: queryBool(q, 'is_domain'),
    });
    return collection(req, 'projects', projects.map((p) => projectView(req, p)));
  });

  app.get<Id>('/identity/v3/projects/:id', async (req) => ({ project: projectView(req, await identity.projects.get(caller(req), req.params.id)) }));

  app.patch<Id>('/identity/v3/projects/:id', async (req) => {
    const { project: b } = checkBody<{ project: ProjectBody }>(projectUpdate, req.body);
    const p = await identity.projects.update(caller(req), req.params.id, {
      name: b.name,
      domainId: b.domain_id,
      description: b.description,
      enabled: b.enabled,
      parentId: b.parent_id,
      isDomain: b.is_domain,
      options: b.options,
      tags: b.tags,
      extra: extrasOf(b, PROJECT_KEYS),
    });
    return { project: projectView(req, p) };
  });

  app.delete<Id>('/identity/v3/projects/:id', async (req, reply) => {
    await identity.projects.delete(caller(req), req.params.id);
    reply.code(204).send();
  });
}
