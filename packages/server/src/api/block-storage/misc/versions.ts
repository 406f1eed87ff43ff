import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BLOCK_STORAGE_MIN_MICROVERSION } from '@cinderbox/api-schema';
import { MAX_VERSION_STRING, VERSION_UPDATED } from '../../common/api-version.js';
import type { BlockStorageDeps } from '../index.js';

type VersionId = 'v3.0' | 'v2.0';

/** One entry of Cinder's versions document; `self` links are absolute, built from the request's base URL. */
function versionEntry(id: VersionId, baseUrl: string): Record<string, unknown> {
  const v3 = id === 'v3.0';
  const major = v3 ? 'v3' : 'v2';
  return {
    id,
    status: v3 ? 'CURRENT' : 'DEPRECATED',
    // v2 predates microversions: Cinder always advertised it with empty version strings.
    version: v3 ? MAX_VERSION_STRING : '',
    min_version: v3 ? BLOCK_STORAGE_MIN_MICROVERSION : '',
    updated: v3 ? VERSION_UPDATED : '2017-02-25T12:00:00Z',
    links: [
      { rel: 'describedby', type: 'text/html', href: 'https://docs.openstack.org/' },
      { rel: 'self', href: `${baseUrl}/${major}/` },
    ],
    'media-types': [{ base: 'application/json', type: `application/vnd.openstack.volume+json;version=${v3 ? 3 : 2}` }],
  };
}

const base = (request: FastifyRequest) => request.cb.baseUrl.replace(/\/+$/, '');

/**
 * The version documents. All are public: cinderclient discovers versions without a token, keystoneauth asks
 * first without one and only retries with one on a 401, and openstacksdk finds v2 through `/` alone.
 * `/v3` and `/v2` without the slash answer the same document instead of Cinder's 302, which every client
 * reads the same way and saves a round trip.
 */
export function registerVersionRoutes(app: FastifyInstance, _deps: BlockStorageDeps): void {
  app.get('/', { config: { public: true } }, async (request, reply) => {
    reply.code(300);
    return { versions: [versionEntry('v3.0', base(request)), versionEntry('v2.0', base(request))] };
  });
  for (const [path, id] of [
    ['/v3/', 'v3.0'],
    ['/v3', 'v3.0'],
    ['/v2/', 'v2.0'],
    ['/v2', 'v2.0'],
  ] as const) {
    app.get(path, { config: { public: true } }, async (request) => ({ versions: [versionEntry(id, base(request))] }));
  }
}
