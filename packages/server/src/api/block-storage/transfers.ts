/**
 * Volume transfers: `os-volume-transfer` (v2 and v3, Cinder's extension) and `volume-transfers` (v3 only; its
 * create takes `no_snapshots` from 3.55). Both answer with the same views: 3.55 adds `no_snapshots`, 3.57 the
 * history fields (`source_project_id`, `destination_project_id`, `accepted`) to create and detail views.
 */
import type { Transfer as TransferSchema } from '@cinderbox/api-schema';
import type { Static } from 'typebox';
import {
  transferAccept as ACCEPT,
  transferCreate as CREATE,
  transferCreateV355 as CREATE_V355,
} from '@cinderbox/api-schema';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { badRequest, notFound } from '../../domain/errors.js';
import type { Transfer } from '../../domain/transfer.js';
import type { ApiVersion } from '../common/api-version.js';
import { parseBoolean, validateBody } from '../common/validation.js';
import { authOf, mvOf, nextLinks, parseListRequest, selfLinks } from './common.js';
import type { BlockStorageDeps } from './index.js';

type Body = Record<string, unknown>;

/** Cinder's view builder names both collections `os-volume-transfer` in links. */
const COLLECTION = 'os-volume-transfer';

function summaryView(req: FastifyRequest, t: Transfer): TransferBody {
  return { id: t.id, volume_id: t.volume_id, name: t.display_name, links: selfLinks(req, COLLECTION, t.id) };
}

type TransferBody = Static<typeof TransferSchema>;

function versioned(mv: ApiVersion, t: Transfer, out: TransferBody): TransferBody {
  if (mv.atLeast('3.55')) out.no_snapshots = t.no_snapshots;
  if (mv.atLeast('3.57')) {
    out.destination_project_id = t.destination_project_id;
    out.source_project_id = t.source_project_id;
    out.accepted = t.accepted;
  }
  return out;
}

function detailView(req: FastifyRequest, t: Transfer): TransferBody {
  const out: TransferBody = {
    id: t.id,
    created_at: t.created_at,
    name: t.display_name,
    volume_id: t.volume_id,
    links: selfLinks(req, COLLECTION, t.id),
  };
  return versioned(mvOf(req), t, out);
}

function createView(req: FastifyRequest, t: Transfer, authKey: string): TransferBody {
  const out: TransferBody = {
    id: t.id,
    created_at: t.created_at,
    name: t.display_name,
    volume_id: t.volume_id,
    auth_key: authKey,
    links: selfLinks(req, COLLECTION, t.id),
  };
  return versioned(mvOf(req), t, out);
}

const pathParam = (req: FastifyRequest) => (req.params as { id?: string }).id ?? '';

export function registerTransferRoutes(scope: FastifyInstance, deps: BlockStorageDeps): void {
  const { transfers } = deps;

  for (const base of ['/os-volume-transfer', '/volume-transfers']) {
    const v3Only = base === '/volume-transfers';
    /** `volume-transfers` is a v3 resource: on v2 there is no such route. */
    const served = (req: FastifyRequest) => {
      if (v3Only && req.cb.apiVersion === null) throw notFound('The resource could not be found.');
    };

    scope.post(base, async (req, reply: FastifyReply) => {
      served(req);
      const mv = mvOf(req);
      const withSnapshots = v3Only && mv.atLeast('3.55');
      const t = validateBody<{ transfer: Body }>(withSnapshots ? CREATE_V355 : CREATE, req.body).transfer;
      const res = await transfers.create(authOf(req), {
        volumeId: (t.volume_id as string).toLowerCase(),
        name: typeof t.name === 'string' ? t.name.trim() : null,
        noSnapshots: withSnapshots && t.no_snapshots !== undefined ? parseBoolean(t.no_snapshots, 'no_snapshots') : false,
      });
      reply.code(202);
      return { transfer: createView(req, res.transfer, res.authKey) };
    });

    const list = (isDetail: boolean) => async (req: FastifyRequest) => {
      served(req);
      const lr = parseListRequest(req);
      const allTenants = lr.filters.all_tenants !== undefined && parseBoolean(lr.filters.all_tenants, 'all_tenants');
      const all = await transfers.list(authOf(req), allTenants);
      // Offset and limit over the whole list (Cinder's `common.limited`); a marker, as the next link carries,
      // starts after that transfer.
      let start = lr.offset ?? 0;
      if (lr.marker !== null) {
        const at = all.findIndex((t) => t.id === lr.marker);
        if (at < 0) throw badRequest(`Marker ${lr.marker} could not be found.`);
        start += at + 1;
      }
      const page = lr.limit === null ? all.slice(start) : all.slice(start, start + lr.limit);
      const out: Body = { transfers: page.map((t) => (isDetail ? detailView(req, t) : summaryView(req, t))) };
      if (lr.limit !== null) {
        const links = nextLinks(
          req,
          base.slice(1),
          isDetail,
          page.map((t) => t.id),
          lr.limit,
        );
        if (links) out.transfers_links = links;
      }
      return out;
    };
    scope.get(base, list(false));
    scope.get(`${base}/detail`, list(true));

    scope.get(`${base}/:id`, async (req) => {
      served(req);
      return { transfer: detailView(req, await transfers.get(authOf(req), pathParam(req))) };
    });

    scope.post(`${base}/:id/accept`, async (req, reply) => {
      served(req);
      const id = pathParam(req);
      const a = validateBody<{ accept: { auth_key: string } }>(ACCEPT, req.body).accept;
      const t = await transfers.accept(authOf(req), id, a.auth_key);
      reply.code(202);
      return { transfer: summaryView(req, t) };
    });

    scope.delete(`${base}/:id`, async (req, reply) => {
      served(req);
      await transfers.delete(authOf(req), pathParam(req));
      reply.code(202).send();
    });
  }
}
