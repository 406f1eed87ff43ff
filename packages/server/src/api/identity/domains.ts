import type { FastifyInstance } from 'fastify';
import type { IdentityService } from '../../services/identity/identity-service.js';
import { caller } from './auth.js';
import { queryBool, queryString } from './validation.js';
import { collection, domainView } from './views.js';

export function registerDomainRoutes(app: FastifyInstance, identity: IdentityService): void {
  app.get('/identity/v3/domains', async (req) => {
    const q = req.query as Record<string, unknown>;
    const domains = await identity.domains.list(caller(req), { name: queryString(q, 'name'), enabled: queryBool(q, 'enabled') });
    return collection(req, 'domains', domains.map((d) => domainView(req, d)));
  });

  app.get<{ Params: { domainId: string } }>('/identity/v3/domains/:domainId', async (req) => {
    return { domain: domainView(req, await identity.domains.get(caller(req), req.params.domainId)) };
  });
}
