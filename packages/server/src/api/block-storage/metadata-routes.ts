import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuthContext } from '../../domain/auth-context.js';
import { badRequest } from '../../domain/errors.js';
import { authOf, pathId, requireObject } from './common.js';

export interface MetadataOps {
  get(ctx: AuthContext, id: string): Promise<Record<string, string>>;
  set(ctx: AuthContext, id: string, items: Record<string, string>, replace: boolean): Promise<Record<string, string>>;
  getKey(ctx: AuthContext, id: string, key: string): Promise<string>;
  deleteKey(ctx: AuthContext, id: string, key: string): Promise<void>;
  /** Checks a metadata object from a body (schema or Cinder's property checks); throws 400/413. */
  check(md: Record<string, unknown>): Record<string, string>;
  /** Visibility check before the body is looked at (404 wins over 400). */
  exists(ctx: AuthContext, id: string): Promise<void>;
}

/** `/<coll>/{id}/metadata[/{key}]`: GET, POST (merge), PUT (replace), and per-key GET/PUT/DELETE. */
export function registerMetadataRoutes(
  scope: FastifyInstance,
  collection: string,
  what: 'Volume' | 'Snapshot',
  ops: MetadataOps,
): void {
  const base = `/${collection}/:id/metadata`;
  const target = async (req: FastifyRequest) => {
    const ctx = authOf(req);
    const id = pathId(req, what);
    await ops.exists(ctx, id);
    return { ctx, id };
  };
  scope.get(base, async (req) => {
    const ctx = authOf(req);
    return { metadata: await ops.get(ctx, pathId(req, what)) };
  });
  for (const [method, replace] of [
    ['POST', false],
    ['PUT', true],
  ] as const) {
    scope.route({
      method,
      url: base,
      handler: async (req) => {
        const { ctx, id } = await target(req);
        const md = ops.check(requireObject(req.body, 'metadata'));
        return { metadata: await ops.set(ctx, id, md, replace) };
      },
    });
  }
  scope.get(`${base}/:key`, async (req) => {
    const ctx = authOf(req);
    const key = (req.params as { key: string }).key;
    return { meta: { [key]: await ops.getKey(ctx, pathId(req, what), key) } };
  });
  scope.put(`${base}/:key`, async (req) => {
    const { ctx, id } = await target(req);
    const key = (req.params as { key: string }).key;
    const meta = requireObject(req.body, 'meta');
    if (!(key in meta)) throw badRequest('Request body and URI mismatch');
    if (Object.keys(meta).length > 1) throw badRequest('Request body contains too many items');
    const md = ops.check(meta);
    await ops.set(ctx, id, md, false);
    return { meta: md };
  });
  scope.delete(`${base}/:key`, async (req, reply) => {
    const ctx = authOf(req);
    const key = (req.params as { key: string }).key;
    await ops.deleteKey(ctx, pathId(req, what), key);
    reply.code(200).send();
  });
}
