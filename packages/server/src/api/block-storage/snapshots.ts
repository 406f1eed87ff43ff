import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { badRequest } from '../../domain/errors.js';
import { checkMetadataProperties, type SnapshotRecord } from '../../services/block-storage/index.js';
import { parseBoolean, validateBody } from '../common/validation.js';
import { authOf, mvOf, nextLinks, nextLinksAfter, parseAction, parseListRequest, pathId } from './common.js';
import type { BlockStorageDeps } from './index.js';
import { registerMetadataRoutes } from './metadata-routes.js';
import { snapshotCreate, snapshotResetStatusAction, snapshotUpdate, updateSnapshotStatusAction } from '@cinderbox/api-schema';
import { snapshotDetailFields, snapshotDetailView, snapshotSummaryView } from './views.js';

type Body = Record<string, unknown>;

const ACTIONS = ['os-reset_status', 'os-force_delete', 'os-update_snapshot_status', 'os-unmanage'];

function trimmed(v: unknown): string | null {
  return typeof v === 'string' ? v.trim() : null;
}

export function registerSnapshotRoutes(scope: FastifyInstance, deps: BlockStorageDeps): void {
  const { snapshots } = deps;
  const detail = (req: FastifyRequest, rec: SnapshotRecord, extended: boolean) =>
    snapshotDetailView(rec, mvOf(req), extended);

  scope.post('/snapshots', async (req, reply) => {
    const mv = mvOf(req);
    const body = validateBody<{ snapshot: Body }>(snapshotCreate, req.body);
    const s = body.snapshot;
    const md = s.metadata === undefined || s.metadata === null ? {} : checkMetadataProperties(s.metadata);
    const rec = await snapshots.create(authOf(req), mv, {
      volumeId: typeof s.volume_id === 'string' ? s.volume_id.toLowerCase() : null,
      name: 'name' in s ? trimmed(s.name) : trimmed(s.display_name),
      description: trimmed(s.description),
      force: s.force === undefined ? undefined : parseBoolean(s.force, 'force'),
      metadata: md,
    });
    reply.code(202);
    return { snapshot: detail(req, rec, false) };
  });

  const list = (isDetail: boolean) => async (req: FastifyRequest, reply: FastifyReply) => {
    if (isDetail) return detailPage(req, reply);
    const res = await snapshots.list(authOf(req), mvOf(req), parseListRequest(req));
    const out: Record<string, unknown> = {
      snapshots: res.items.map((r) => (isDetail ? detail(req, r, true) : snapshotSummaryView(r))),
    };
    const links = nextLinks(
      req,
      'snapshots',
      isDetail,
      res.items.map((r) => r.snapshot.id),
      res.limit,
    );
    if (links) out.snapshots_links = links;
    if (res.count !== null) out.count = res.count;
    return out;
  };
  /**
   * The detail list as text: the store renders each snapshot's JSON (snapshotDetailFields), this adds the page's
   * frame. The same body as the object path, without building 100 views and serialising them.
   */
  const detailPage = async (req: FastifyRequest, reply: FastifyReply) => {
    const res = await snapshots.listJson(authOf(req), mvOf(req), parseListRequest(req), snapshotDetailFields(mvOf(req)));
    let body = `{"snapshots":[${res.items}]`;
    const links = res.lastId === null ? null : nextLinksAfter(req, 'snapshots', true, res.n, res.lastId, res.limit);
    if (links) body += `,"snapshots_links":${JSON.stringify(links)}`;
    if (res.count !== null) body += `,"count":${res.count}`;
    // With a JSON content type set, fastify sends a string as it is.
    reply.type('application/json; charset=utf-8');
    return `${body}}`;
  };
  scope.get('/snapshots', list(false));
  scope.get('/snapshots/detail', list(true));

  scope.get('/snapshots/:id', async (req) => {
    const rec = await snapshots.get(authOf(req), pathId(req, 'Snapshot'));
    return { snapshot: detail(req, rec, true) };
  });

  scope.put('/snapshots/:id', async (req) => {
    const id = pathId(req, 'Snapshot');
    const ctx = authOf(req);
    await snapshots.get(ctx, id);
    const s = validateBody<{ snapshot: Body }>(snapshotUpdate, req.body).snapshot;
    const input: { name?: string | null; description?: string | null } = {};
    if ('name' in s) input.name = trimmed(s.name);
    else if ('display_name' in s) input.name = trimmed(s.display_name);
    if ('description' in s) input.description = trimmed(s.description);
    else if ('display_description' in s) input.description = trimmed(s.display_description);
    const rec = await snapshots.update(ctx, id, input);
    return { snapshot: detail(req, rec, false) };
  });

  scope.delete('/snapshots/:id', async (req, reply) => {
    await snapshots.delete(authOf(req), pathId(req, 'Snapshot'));
    reply.code(202).send();
  });

  scope.post('/snapshots/:id/action', async (req, reply) => {
    const id = pathId(req, 'Snapshot');
    const ctx = authOf(req);
    await snapshots.get(ctx, id);
    const { name, value } = parseAction(req.body, ACTIONS);
    switch (name) {
      case 'os-reset_status': {
        const b = validateBody<Body>(snapshotResetStatusAction, value);
        await snapshots.resetStatus(ctx, id, b.status as string);
        break;
      }
      case 'os-force_delete':
        await snapshots.delete(ctx, id, true);
        break;
      case 'os-update_snapshot_status': {
        const b = validateBody<Body>(updateSnapshotStatusAction, value);
        await snapshots.updateStatus(ctx, id, b.status as string, b.progress as string | undefined);
        break;
      }
      case 'os-unmanage':
        await deps.manage.unmanageSnapshot(ctx, id);
        break;
      default:
        throw badRequest(`There is no such action: ${name}`);
    }
    reply.code(202).send();
  });

  registerMetadataRoutes(scope, 'snapshots', 'Snapshot', {
    get: (ctx, id) => snapshots.getMetadata(ctx, id),
    set: (ctx, id, items, replace) => snapshots.setMetadata(ctx, id, items, replace),
    getKey: (ctx, id, key) => snapshots.getMetadataKey(ctx, id, key),
    deleteKey: (ctx, id, key) => snapshots.deleteMetadataKey(ctx, id, key),
    exists: async (ctx, id) => {
      await snapshots.get(ctx, id);
    },
    check: (md) => checkMetadataProperties(md),
  });
}
