import type { VolumeBody } from '@cinderbox/api-schema';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { badRequest, notFound } from '../../domain/errors.js';
import type { VolumeCreateInput, VolumeRecord, VolumeUpdateInput } from '../../services/block-storage/index.js';
import { parseBoolean, schemaFor, validateBody } from '../common/validation.js';
import { authOf, mvOf, nextLinks, parseListRequest, pathId, queryFilters, selfLinks } from './common.js';
import type { BlockStorageDeps } from './index.js';
import { registerMetadataRoutes } from './metadata-routes.js';
import { metadataBody, volumeCreateBodies, volumeUpdateBodies } from '@cinderbox/api-schema';
import { volumeDetailView, volumeSummaryView } from './views.js';
import { registerVolumeActionRoutes } from './volume-actions.js';
import { registerVolumeDataRoutes } from './volume-data.js';

type Body = Record<string, unknown>;

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

/** Cinder keeps `name` over `display_name` when both are sent. */
function pick(b: Body, key: string, legacy: string): string | null | undefined {
  if (key in b) return str(b[key]);
  if (legacy in b) return str(b[legacy]);
  return undefined;
}

export function sizeOf(v: unknown, field = 'size'): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' && !/^[0-9]+$/.test(v))
    throw badRequest(`Invalid input for field/attribute ${field}. Value: ${v}. '${v}' does not match '^[0-9]+$'`);
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1)
    throw badRequest(`Invalid input received: Volume size '${String(v)}' must be an integer and greater than 0`);
  return n;
}

function stringMap(v: unknown): Record<string, string> {
  return v !== null && typeof v === 'object' ? (v as Record<string, string>) : {};
}

export function volumeView(req: FastifyRequest, rec: VolumeRecord, extended: boolean): VolumeBody {
  const auth = authOf(req);
  return volumeDetailView(rec, {
    mv: mvOf(req),
    isAdmin: auth.isAdmin,
    links: selfLinks(req, 'volumes', rec.volume.id),
    extended,
  });
}

export function registerVolumeRoutes(scope: FastifyInstance, deps: BlockStorageDeps): void {
  const { volumes } = deps;

  scope.post('/volumes', async (req, reply) => {
    const mv = mvOf(req);
    const body = validateBody<{ volume: Body }>(
      schemaFor(mv, volumeCreateBodies),
      req.body,
    );
    const v = body.volume;
    const backupId = mv.atLeast('3.47') ? (str(v.backup_id)?.toLowerCase() ?? null) : null;
    if ((v.imageRef ?? v.image_id) !== undefined && (v.imageRef ?? v.image_id) !== null) {
      throw badRequest(
        'Invalid input received: Creating a volume from an image is not supported: there is no image service.',
      );
    }
    const input: VolumeCreateInput = {
      size: sizeOf(v.size),
      name: pick(v, 'name', 'display_name') ?? null,
      description: pick(v, 'description', 'display_description') ?? null,
      metadata: stringMap(v.metadata),
      snapshotId: str(v.snapshot_id)?.toLowerCase() ?? null,
      sourceVolid: str(v.source_volid)?.toLowerCase() ?? null,
      availabilityZone: str(v.availability_zone),
      volumeType: str(v.volume_type),
      multiattach: v.multiattach === true,
      groupId: mv.atLeast('3.13') ? (str(v.group_id)?.toLowerCase() ?? null) : null,
    };
    if (backupId !== null && (input.snapshotId !== null || input.sourceVolid !== null)) {
      throw badRequest('Invalid input received: Only one of snapshot_id, source_volid and backup_id may be given.');
    }
    const rec =
      backupId === null
        ? await volumes.create(authOf(req), input)
        : await deps.backups.createVolume(authOf(req), input, backupId);
    reply.code(202);
    return { volume: volumeView(req, rec, false) };
  });

  const list = (detail: boolean) => async (req: FastifyRequest) => {
    const auth = authOf(req);
    const res = await volumes.list(auth, mvOf(req), parseListRequest(req));
    const out: Record<string, unknown> = {
      volumes: res.items.map((r) =>
        detail ? volumeView(req, r, true) : volumeSummaryView(r, selfLinks(req, 'volumes', r.volume.id)),
      ),
    };
    const links = nextLinks(
      req,
      'volumes',
      detail,
      res.items.map((r) => r.volume.id),
      res.limit,
    );
    if (links) out.volumes_links = links;
    if (res.count !== null) out.count = res.count;
    return out;
  };
  scope.get('/volumes', list(false));
  scope.get('/volumes/detail', list(true));

  scope.get('/volumes/summary', async (req) => {
    const mv = mvOf(req);
    if (req.cb.apiVersion === null || !mv.atLeast('3.12')) throw notFound('The resource could not be found.');
    const s = await volumes.summary(authOf(req), mv, queryFilters(req));
    const summary: Record<string, unknown> = { total_size: s.totalSize, total_count: s.totalCount };
    if (mv.atLeast('3.36')) summary.metadata = s.metadata;
    return { 'volume-summary': summary };
  });

  scope.get('/volumes/:id', async (req) => {
    const rec = await volumes.get(authOf(req), pathId(req, 'Volume'));
    return { volume: volumeView(req, rec, true) };
  });

  scope.put('/volumes/:id', async (req) => {
    const id = pathId(req, 'Volume');
    const auth = authOf(req);
    await volumes.get(auth, id);
    const mv = mvOf(req);
    const body = validateBody<{ volume: Body }>(
      schemaFor(mv, volumeUpdateBodies),
      req.body,
    );
    const v = body.volume;
    const input: VolumeUpdateInput = {};
    const name = pick(v, 'name', 'display_name');
    const description = pick(v, 'description', 'display_description');
    if (name !== undefined) input.name = name;
    if (description !== undefined) input.description = description;
    if (v.metadata !== undefined && v.metadata !== null) input.metadata = stringMap(v.metadata);
    const rec = await volumes.update(auth, id, input);
    return { volume: volumeView(req, rec, false) };
  });

  scope.delete('/volumes/:id', async (req, reply: FastifyReply) => {
    const id = pathId(req, 'Volume');
    const q = (req.query ?? {}) as Record<string, string | undefined>;
    const cascade = q.cascade === undefined ? false : parseBoolean(q.cascade, 'cascade');
    const force = q.force !== undefined && mvOf(req).atLeast('3.23') ? parseBoolean(q.force, 'force') : false;
    await volumes.delete(authOf(req), id, { cascade, force });
    reply.code(202).send();
  });

  registerMetadataRoutes(scope, 'volumes', 'Volume', {
    get: (ctx, id) => volumes.getMetadata(ctx, id),
    set: (ctx, id, items, replace) => volumes.setMetadata(ctx, id, items, replace),
    getKey: (ctx, id, key) => volumes.getMetadataKey(ctx, id, key),
    deleteKey: (ctx, id, key) => volumes.deleteMetadataKey(ctx, id, key),
    exists: async (ctx, id) => {
      await volumes.get(ctx, id);
    },
    check: (md) => validateBody<{ metadata: Record<string, string> }>(metadataBody, { metadata: md }).metadata,
  });

  registerVolumeActionRoutes(scope, deps);
  registerVolumeDataRoutes(scope, deps);
}
