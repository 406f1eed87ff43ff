import type { FastifyInstance, FastifyRequest } from 'fastify';

function versionEntry(req: FastifyRequest) {
  return {
    id: 'v3.14',
    status: 'stable',
    updated: '2020-04-07T00:00:00Z',
    links: [{ rel: 'self', href: `${req.cb.baseUrl}/identity/v3/` }],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.identity-v3+json' }],
  };
}

/** Version discovery: keystoneauth reads these (unauthenticated) before it authenticates at the self link. */
export function registerVersionRoutes(app: FastifyInstance): void {
  for (const url of ['/identity', '/identity/']) {
    app.get(url, { config: { public: true } }, async (req, reply) => {
      reply.code(300);
      return { versions: { values: [versionEntry(req)] } };
    });
  }
  for (const url of ['/identity/v3', '/identity/v3/']) {
    app.get(url, { config: { public: true } }, async (req) => ({ version: versionEntry(req) }));
  }
}
