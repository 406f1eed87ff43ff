/**
 * Managing existing backend objects: `os-snapshot-manage` / `os-volume-manage` (every microversion and v2) and
 * `manageable_snapshots` / `manageable_volumes` (3.8+), each with POST (manage), GET and GET /detail (listings).
 * Unmanage is an action of the resource (snapshots.ts, volume-actions.ts).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { notFound } from '../../domain/errors.js';
import { checkMetadataProperties } from '../../services/block-storage/index.js';
import { parseBoolean, validateBody } from '../common/validation.js';
import { authOf, mvOf, parseListRequest } from './common.js';
import type { BlockStorageDeps } from './index.js';
import { snapshotManageBody, volumeManageBody, volumeManageBodyV316 } from '@cinderbox/api-schema';
import { manageableView } from './manage-views.js';
import { snapshotSummaryView } from './views.js';
import { volumeView } from './volumes.js';

type Body = Record<string, unknown>;
type Kind = 'volume' | 'snapshot';

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** Whether the request is on /v3 at `version` or later (v2 has no microversions). */
function v3AtLeast(req: FastifyRequest, version: string): boolean {
  return req.cb.apiVersion !== null && req.cb.apiVersion.atLeast(version);
}

/** The `manageable_*` routes exist from 3.8 on; below they are Cinder's VersionNotFoundForAPIMethod (404). */
function requireManageableRoutes(req: FastifyRequest): void {
  const v = req.cb.apiVersion;
  if (v === null) throw notFound('The resource could not be found.');
  if (!v.atLeast('3.8')) throw notFound(`API version ${v.toString()} is not supported on this method.`);
}

export function registerManageRoutes(scope: FastifyInstance, deps: BlockStorageDeps): void {
  const { manage } = deps;

  const list = (kind: Kind, legacy: boolean, detail: boolean) => async (req: FastifyRequest) => {
    if (!legacy) requireManageableRoutes(req);
    const lr = parseListRequest(req);
    const clusterAllowed = v3AtLeast(req, '3.17');
    const entries = await manage.listManageable(authOf(req), kind, {
      host: lr.filters.host ?? null,
      cluster: clusterAllowed ? (lr.filters.cluster ?? null) : null,
      clusterAllowed,
      limit: lr.limit,
      offset: lr.offset,
      marker: lr.marker,
      sort: lr.sort,
    });
    return { [`manageable-${kind}s`]: entries.map((e) => manageableView(e, kind, detail)) };
  };

  const manageSnapshot = (legacy: boolean) => async (req: FastifyRequest, reply: { code(c: number): unknown }) => {
    if (!legacy) requireManageableRoutes(req);
    const s = validateBody<{ snapshot: Body }>(snapshotManageBody, req.body).snapshot;
    const rec = await manage.manageSnapshot(authOf(req), {
      volumeId: (s.volume_id as string).toLowerCase(),
      ref: s.ref,
      name: str(s.name),
      description: str(s.description),
      metadata: s.metadata === undefined || s.metadata === null ? {} : checkMetadataProperties(s.metadata),
    });
    reply.code(202);
    // The base fields only, at every microversion (Tempest's manage_snapshot schema forbids any other).
    return { snapshot: snapshotSummaryView(rec) };
  };

  const manageVolume = (legacy: boolean) => async (req: FastifyRequest, reply: { code(c: number): unknown }) => {
    if (!legacy) requireManageableRoutes(req);
    const clusterAllowed = v3AtLeast(req, '3.16');
    const v = validateBody<{ volume: Body }>(clusterAllowed ? volumeManageBodyV316 : volumeManageBody, req.body).volume;
    const trimmed = (x: unknown) => (typeof x === 'string' && x !== '' ? x.trim() : null);
    const rec = await manage.manageVolume(authOf(req), {
      host: str(v.host),
      cluster: str(v.cluster),
      clusterAllowed,
      ref: v.ref,
      name: trimmed(v.name),
      description: trimmed(v.description),
      metadata: (v.metadata as Record<string, string> | null | undefined) ?? {},
      volumeType: str(v.volume_type) || null,
      availabilityZone: str(v.availability_zone) || null,
      bootable: v.bootable === undefined ? false : parseBoolean(v.bootable, 'bootable'),
    });
    reply.code(202);
    return { volume: volumeView(req, rec, false) };
  };

  for (const [path, legacy] of [
    ['/os-snapshot-manage', true],
    ['/manageable_snapshots', false],
  ] as const) {
    scope.post(path, manageSnapshot(legacy));
    scope.get(path, list('snapshot', legacy, false));
    scope.get(`${path}/detail`, list('snapshot', legacy, true));
  }
  for (const [path, legacy] of [
    ['/os-volume-manage', true],
    ['/manageable_volumes', false],
  ] as const) {
    scope.post(path, manageVolume(legacy));
    scope.get(path, list('volume', legacy, false));
    scope.get(`${path}/detail`, list('volume', legacy, true));
  }
}
