/**
 * The attachments API (cinder/api/v3/attachments.py): 3.27 create/update/delete/list/show, 3.44 `os-complete`,
 * 3.54 `mode` on create. Below 3.27, and on v2, there is no such resource (404).
 */
import type { Attachment as AttachmentSchema } from '@cinderbox/api-schema';
import type { Static } from 'typebox';
import {
  attachmentCreate as CREATE,
  attachmentCreateV354 as CREATE_V354,
  attachmentUpdate as UPDATE,
} from '@cinderbox/api-schema';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { badRequest, notFound } from '../../domain/errors.js';
import { getOwn } from '../../domain/own.js';
import { type AttachmentRecord, UNSET_MODE } from '../../services/block-storage/attachment-service.js';
import { parseBoolean, validateBody } from '../common/validation.js';
import { authOf, mvOf, nextLinks, parseAction, parseListRequest } from './common.js';
import type { BlockStorageDeps } from './index.js';

type Body = Record<string, unknown>;

/** Cinder's `resource_filters.json` for attachments, plus the admin's tenant switches. */
const FILTERS = new Set(['volume_id', 'status', 'instance_id', 'attach_status', 'all_tenants', 'project_id']);

/** Sortable columns (Cinder sorts the attachment table by any of its columns; these are the ones shown). */
const SORT_KEYS: Record<string, keyof AttachmentRecord> = {
  id: 'id',
  created_at: 'created_at',
  volume_id: 'volume_id',
  instance_uuid: 'instance_uuid',
  attach_status: 'attach_status',
  attached_at: 'attached_at',
};

function served(req: FastifyRequest, since = '3.27'): void {
  if (req.cb.apiVersion === null || !mvOf(req).atLeast(since)) throw notFound('The resource could not be found.');
}

/** cinder/api/v3/views/attachments.py: times as stored, '' when unset. */
function summaryView(a: AttachmentRecord): Static<typeof AttachmentSchema> {
  return { id: a.id, status: a.attach_status, instance: a.instance_uuid, volume_id: a.volume_id };
}

function detailView(a: AttachmentRecord): Static<typeof AttachmentSchema> {
  return {
    ...summaryView(a),
    attached_at: a.attached_at ?? '',
    // Rows go when detached (no soft delete), so a shown attachment was never detached.
    detached_at: '',
    attach_mode: a.attach_mode,
    connection_info: a.connection_info ?? {},
  };
}

const idOf = (req: FastifyRequest) => ((req.params as { id?: string }).id ?? '').toLowerCase();

export function registerAttachmentRoutes(scope: FastifyInstance, deps: BlockStorageDeps): void {
  const { attachments } = deps;

  scope.post('/attachments', async (req) => {
    served(req);
    const withMode = mvOf(req).atLeast('3.54');
    const a = validateBody<{ attachment: Body }>(withMode ? CREATE_V354 : CREATE, req.body).attachment;
    const created = await attachments.create(authOf(req), {
      volumeId: (a.volume_uuid as string).toLowerCase(),
      instanceUuid: typeof a.instance_uuid === 'string' ? a.instance_uuid.toLowerCase() : null,
      // An empty connector is none (python-cinderclient sends `{}` when not connecting), as Cinder's `if connector`.
      connector: a.connector && Object.keys(a.connector).length > 0 ? (a.connector as Body) : null,
      mode: withMode && (a.mode === 'rw' || a.mode === 'ro') ? a.mode : UNSET_MODE,
    });
    return { attachment: detailView(created) };
  });

  const list = (isDetail: boolean) => async (req: FastifyRequest) => {
    served(req);
    const lr = parseListRequest(req);
    const f = lr.filters;
    const bad = Object.keys(f).filter((k) => !FILTERS.has(k));
    if (bad.length > 0) throw badRequest(`Invalid input received: Invalid filters ${bad.join(', ')} are found in query options.`);
    const status = getOwn(f, 'status') ?? getOwn(f, 'attach_status');
    const volumeId = getOwn(f, 'volume_id');
    const instanceId = getOwn(f, 'instance_id');
    const allTenants = getOwn(f, 'all_tenants');
    let items = await attachments.list(authOf(req), {
      allTenants: allTenants !== undefined && parseBoolean(allTenants, 'all_tenants'),
      ...(volumeId !== undefined ? { volumeId: volumeId.toLowerCase() } : {}),
      ...(instanceId !== undefined ? { instanceUuid: instanceId.toLowerCase() } : {}),
      ...(status !== undefined ? { status } : {}),
    });
    const projectId = getOwn(f, 'project_id');
    if (projectId !== undefined && authOf(req).isAdmin) items = items.filter((a) => a.project_id === projectId);
    if (lr.sort.length > 0) {
      const order = lr.sort.map((s) => {
        const key = getOwn(SORT_KEYS, s.key);
        if (key === undefined) throw badRequest('Invalid input received: Invalid sort key');
        return { key, sign: s.dir === 'asc' ? 1 : -1 };
      });
      items = [...items].sort((x, y) => {
        for (const o of order) {
          const a = String(x[o.key] ?? '');
          const b = String(y[o.key] ?? '');
          if (a !== b) return a < b ? -o.sign : o.sign;
        }
        return 0;
      });
    }
    let start = lr.offset ?? 0;
    if (lr.marker !== null) {
      const at = items.findIndex((a) => a.id === lr.marker);
      if (at < 0) throw badRequest(`Marker ${lr.marker} could not be found.`);
      start += at + 1;
    }
    const page = lr.limit === null ? items.slice(start) : items.slice(start, start + lr.limit);
    const out: Body = { attachments: page.map((a) => (isDetail ? detailView(a) : summaryView(a))) };
    if (lr.limit !== null) {
      const links = nextLinks(
        req,
        'attachments',
        isDetail,
        page.map((a) => a.id),
        lr.limit,
      );
      if (links) out.attachments_links = links;
    }
    return out;
  };
  scope.get('/attachments', list(false));
  scope.get('/attachments/detail', list(true));

  scope.get('/attachments/:id', async (req) => {
    served(req);
    return { attachment: detailView(await attachments.get(authOf(req), idOf(req))) };
  });

  scope.put('/attachments/:id', async (req) => {
    served(req);
    const a = validateBody<{ attachment: Body }>(UPDATE, req.body).attachment;
    return { attachment: detailView(await attachments.update(authOf(req), idOf(req), a.connector as Body)) };
  });

  scope.delete('/attachments/:id', async (req) => {
    served(req);
    const remaining = await attachments.delete(authOf(req), idOf(req));
    return { attachments: remaining.map(summaryView) };
  });

  scope.post('/attachments/:id/action', async (req, reply) => {
    served(req);
    const id = idOf(req);
    const ctx = authOf(req);
    // The id first (404), then the body, as the volume actions do.
    await attachments.get(ctx, id);
    const { name } = parseAction(req.body, mvOf(req).atLeast('3.44') ? ['os-complete'] : []);
    if (name === 'os-complete') {
      await attachments.complete(ctx, id);
      return reply.code(204).send();
    }
    throw badRequest(`There is no such action: ${name}`);
  });
}
