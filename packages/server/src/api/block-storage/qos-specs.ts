/**
 * QoS specs (Cinder's `qos-specs` extension, v2 and v3 alike): CRUD, `delete_keys`, and the association of a
 * spec with volume types through GET member actions (`associate`, `disassociate`, `disassociate_all`), as
 * Cinder routes them. Admin only: the route table refuses readers, the service members.
 */
import type { QosSpecs as QosSpecsSchema } from '@cinderbox/api-schema';
import type { Static } from 'typebox';
import {
  qosSpecsCreate as CREATE,
  qosSpecsSet as SET,
  qosSpecsUnset as UNSET,
} from '@cinderbox/api-schema';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { badRequest } from '../../domain/errors.js';
import type { QosSpecs } from '../../domain/qos-specs.js';
import type { QosSpecsListQuery } from '../../domain/ports/qos-specs-store.js';
import { parseBoolean, validateBody } from '../common/validation.js';
import { authOf, nextLinks, parseListRequest, selfLinks } from './common.js';
import type { BlockStorageDeps } from './index.js';

type Body = Record<string, unknown>;

const COLLECTION = 'qos-specs';

function specView(q: QosSpecs): Static<typeof QosSpecsSchema> {
  return { id: q.id, name: q.name, consumer: q.consumer, specs: q.specs };
}

function detailView(req: FastifyRequest, q: QosSpecs): Body {
  return { qos_specs: specView(q), links: selfLinks(req, COLLECTION, q.id) };
}

const SORT_KEYS = new Set(['id', 'name', 'consumer', 'created_at']);
const FILTER_KEYS = new Set(['id', 'name', 'consumer']);

const idOf = (req: FastifyRequest) => (req.params as { id?: string }).id ?? '';
const typeIdOf = (req: FastifyRequest) => {
  const v = (req.query as Record<string, unknown> | undefined)?.vol_type_id;
  const s = Array.isArray(v) ? v[v.length - 1] : v;
  return typeof s === 'string' ? s : undefined;
};

export function registerQosSpecsRoutes(scope: FastifyInstance, deps: BlockStorageDeps): void {
  const { qosSpecs } = deps;

  scope.get('/qos-specs', async (req) => {
    const lr = parseListRequest(req);
    const order: QosSpecsListQuery['order'] = [];
    for (const s of lr.sort.length > 0 ? lr.sort : [{ key: 'created_at', dir: 'desc' as const }]) {
      if (!SORT_KEYS.has(s.key)) throw badRequest(`Invalid sort key ${s.key}`);
      order.push({ column: s.key as QosSpecsListQuery['order'][number]['column'], dir: s.dir });
    }
    const filters: QosSpecsListQuery['filters'] = {};
    let matchesNothing = false;
    for (const [k, v] of Object.entries(lr.filters)) {
      // Cinder drops every qos list for a filter that is not a column of its table: nothing matches.
      if (FILTER_KEYS.has(k)) filters[k as keyof QosSpecsListQuery['filters']] = v;
      else matchesNothing = true;
    }
    const items = await qosSpecs.list(authOf(req), { filters, order, limit: lr.limit, offset: lr.offset ?? 0, marker: lr.marker });
    const page = matchesNothing ? [] : items;
    const out: Body = { qos_specs: page.map(specView) };
    if (lr.limit !== null) {
      const links = nextLinks(
        req,
        COLLECTION,
        false,
        page.map((q) => q.id),
        lr.limit,
      );
      if (links) out.qos_specs_links = links;
    }
    return out;
  });

  scope.post('/qos-specs', async (req) => {
    const body = validateBody<{ qos_specs: Record<string, string | null> }>(CREATE, req.body).qos_specs;
    const { name, ...specs } = body;
    const trimmed = (name ?? '').trim();
    if (trimmed.length === 0) throw badRequest('Invalid input for field/attribute name. Value: ' + JSON.stringify(name) + '. Name has only whitespaces or is empty');
    return detailView(req, await qosSpecs.create(authOf(req), trimmed, specs));
  });

  scope.get('/qos-specs/:id', async (req) => detailView(req, await qosSpecs.get(authOf(req), idOf(req))));

  scope.put('/qos-specs/:id', async (req) => {
    const body = validateBody<{ qos_specs: Record<string, string | null> }>(SET, req.body);
    await qosSpecs.update(authOf(req), idOf(req), body.qos_specs);
    // Cinder answers with the request body itself.
    return { qos_specs: body.qos_specs };
  });

  scope.delete('/qos-specs/:id', async (req, reply) => {
    const raw = (req.query as Record<string, unknown> | undefined)?.force;
    const f = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    const force = f === undefined ? false : parseBoolean(f, 'force');
    await qosSpecs.delete(authOf(req), idOf(req), force);
    reply.code(202).send();
  });

  scope.put('/qos-specs/:id/delete_keys', async (req, reply) => {
    const { keys } = validateBody<{ keys: string[] }>(UNSET, req.body);
    await qosSpecs.deleteKeys(authOf(req), idOf(req), keys);
    reply.code(202).send();
  });

  scope.get('/qos-specs/:id/associations', async (req) => ({
    qos_associations: await qosSpecs.associations(authOf(req), idOf(req)),
  }));

  scope.get('/qos-specs/:id/associate', async (req, reply) => {
    await qosSpecs.associate(authOf(req), idOf(req), typeIdOf(req));
    reply.code(202).send();
  });

  scope.get('/qos-specs/:id/disassociate', async (req, reply) => {
    await qosSpecs.disassociate(authOf(req), idOf(req), typeIdOf(req));
    reply.code(202).send();
  });

  scope.get('/qos-specs/:id/disassociate_all', async (req, reply) => {
    await qosSpecs.disassociateAll(authOf(req), idOf(req));
    reply.code(202).send();
  });
}
