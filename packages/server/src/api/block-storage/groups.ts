/**
 * Generic volume groups (v3 only): group types and their specs (3.11), groups (3.13; create-from-src 3.14,
 * reset_status 3.20, `list_volume` 3.25) and group snapshots (3.14; reset_status 3.19), after
 * cinder/api/v3/group_types.py, group_specs.py, groups.py and group_snapshots.py with their views.
 */
import type { Group as GroupSchema, GroupSnapshot as GroupSnapshotSchema, GroupType as GroupTypeSchema } from '@cinderbox/api-schema';
import type { Static } from 'typebox';
import {
  groupCreate as GROUP_CREATE,
  groupCreateFromSource as FROM_SRC,
  groupDeleteAction as DELETE,
  groupResetStatusAction as RESET,
  groupSnapshotCreate as SNAPSHOT_CREATE,
  groupSnapshotResetStatusAction as SNAPSHOT_RESET,
  groupSpecsBody as SPECS,
  groupSpecUpdate,
  groupTypeCreate as TYPE_CREATE,
  groupTypeUpdate as TYPE_UPDATE,
  groupUpdate as GROUP_UPDATE,
} from '@cinderbox/api-schema';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { badRequest, notFound } from '../../domain/errors.js';
import type { GroupSnapshot, GroupType } from '../../domain/group.js';
import type { GroupRecord } from '../../services/block-storage/index.js';
import { parseBoolean, validateBody } from '../common/validation.js';
import { authOf, mvOf, parseListRequest, queryFilters } from './common.js';
import type { BlockStorageDeps } from './index.js';

type Body = Record<string, unknown>;

/** Below its microversion (and on v2) a route does not exist: Cinder's VersionNotFoundForAPIMethod is a 404. */
function since(req: FastifyRequest, v: string): void {
  if (req.cb.apiVersion === null || !mvOf(req).atLeast(v)) throw notFound('The resource could not be found.');
}

const idOf = (req: FastifyRequest) => ((req.params as { id?: string }).id ?? '').toLowerCase();

function typeView(req: FastifyRequest, t: GroupType): Static<typeof GroupTypeSchema> {
  const out: Static<typeof GroupTypeSchema> = { id: t.id, name: t.name, description: t.description, is_public: t.is_public };
  // Cinder shows the specs to whoever may read them (group:group_types_specs:get, admin by default).
  if (authOf(req).isAdmin) out.group_specs = t.group_specs;
  return out;
}

function groupView(req: FastifyRequest, r: GroupRecord, listVolume: boolean): Static<typeof GroupSchema> {
  const mv = mvOf(req);
  const g = r.group;
  const out: Static<typeof GroupSchema> = {
    id: g.id,
    status: g.status,
    availability_zone: g.availability_zone,
    created_at: g.created_at,
    name: g.name,
    description: g.description,
    group_type: g.group_type_id,
    volume_types: r.volumeTypes,
  };
  if (mv.atLeast('3.14')) {
    out.group_snapshot_id = g.group_snapshot_id;
    out.source_group_id = g.source_group_id;
  }
  if (listVolume && mv.atLeast('3.25')) out.volumes = r.volumes;
  if (mv.atLeast('3.38')) out.replication_status = 'disabled';
  if (mv.atLeast('3.58')) out.project_id = g.project_id;
  return out;
}

function groupSnapshotView(req: FastifyRequest, s: GroupSnapshot): Static<typeof GroupSnapshotSchema> {
  const out: Static<typeof GroupSnapshotSchema> = {
    id: s.id,
    group_id: s.group_id,
    status: s.status,
    created_at: s.created_at,
    name: s.name,
    description: s.description,
    group_type_id: s.group_type_id,
  };
  if (mvOf(req).atLeast('3.58')) out.project_id = s.project_id;
  return out;
}

const summary = (x: { id: string; name: string | null }) => ({ id: x.id, name: x.name });

/** Keys a list may be sorted by: the record's own fields (Cinder sorts these lists in the database). */
const SORTABLE = ['id', 'name', 'description', 'status', 'created_at', 'is_public', 'group_id', 'availability_zone'];

/** Offset/limit/marker over a whole list, as Cinder's list APIs page, after `sort` (or sort_key/sort_dir). */
function paged<T extends { id: string }>(req: FastifyRequest, items: T[], fields: (t: T) => object = (t) => t): T[] {
  const lr = parseListRequest(req);
  let all = items;
  for (const s of lr.sort)
    if (!SORTABLE.includes(s.key)) throw badRequest(`Invalid input received: Invalid sort key: ${s.key}.`);
  if (lr.sort.length > 0) {
    const text = (v: unknown) => (v === null || v === undefined ? '' : String(v));
    all = [...items].sort((a, b) => {
      for (const s of lr.sort) {
        const at = (t: T) => text((fields(t) as Record<string, unknown>)[s.key]);
        const c = at(a).localeCompare(at(b));
        if (c !== 0) return s.dir === 'asc' ? c : -c;
      }
      return 0;
    });
  }
  let start = lr.offset ?? 0;
  if (lr.marker !== null) {
    const at = all.findIndex((t) => t.id === lr.marker);
    if (at < 0) throw notFound(`Marker ${lr.marker} could not be found.`);
    start += at + 1;
  }
  return lr.limit === null ? all.slice(start) : all.slice(start, start + lr.limit);
}

function listFlags(req: FastifyRequest): { allTenants: boolean; listVolume: boolean; filters: Record<string, string> } {
  const filters = { ...queryFilters(req) };
  const allTenants = filters.all_tenants !== undefined && parseBoolean(filters.all_tenants, 'all_tenants');
  const listVolume = filters.list_volume !== undefined && parseBoolean(filters.list_volume, 'list_volume');
  for (const k of ['all_tenants', 'list_volume', 'limit', 'marker', 'offset', 'sort', 'sort_key', 'sort_dir']) delete filters[k];
  return { allTenants, listVolume, filters };
}

const trimmed = (v: unknown) => (typeof v === 'string' ? v.trim() : null);

export function registerGroupRoutes(scope: FastifyInstance, deps: BlockStorageDeps): void {
  const { groups } = deps;

  // ---- group types (3.11) ----
  scope.get('/group_types', async (req) => {
    since(req, '3.11');
    const isPublic = queryFilters(req).is_public;
    return { group_types: paged(req, await groups.listTypes(authOf(req), isPublic)).map((t) => typeView(req, t)) };
  });
  scope.get('/group_types/default', async (req) => {
    since(req, '3.11');
    // Cinder's default_group_type is unset unless configured; none is configured here.
    throw notFound('Default group type not found');
  });
  scope.get('/group_types/:id', async (req) => {
    since(req, '3.11');
    return { group_type: typeView(req, await groups.getType(authOf(req), idOf(req))) };
  });
  // Cinder answers both creates 202 (@wsgi.response(ACCEPTED)), as Tempest's schemas check.
  scope.post('/group_types', async (req, reply: FastifyReply) => {
    since(req, '3.11');
    const b = validateBody<{ group_type: Body }>(TYPE_CREATE, req.body).group_type;
    const t = await groups.createType(authOf(req), {
      name: (b.name as string).trim(),
      description: (b.description as string | null | undefined) ?? null,
      is_public: b.is_public === undefined ? true : parseBoolean(b.is_public, 'is_public'),
      group_specs: (b.group_specs as Record<string, string> | undefined) ?? {},
    });
    reply.code(202);
    return { group_type: typeView(req, t) };
  });
  scope.put('/group_types/:id', async (req) => {
    since(req, '3.11');
    const b = validateBody<{ group_type: Body }>(TYPE_UPDATE, req.body).group_type;
    if (b.name === undefined && b.description === undefined && b.is_public === undefined)
      throw badRequest('Specify group type name, description or a combination thereof.');
    if (b.name === null) throw badRequest('Invalid input received: Group type name can not be empty.');
    const t = await groups.updateType(authOf(req), idOf(req), {
      ...(b.name !== undefined ? { name: (b.name as string).trim() } : {}),
      ...(b.description !== undefined ? { description: b.description as string | null } : {}),
      ...(b.is_public !== undefined ? { is_public: parseBoolean(b.is_public, 'is_public') } : {}),
    });
    return { group_type: typeView(req, t) };
  });
  scope.delete('/group_types/:id', async (req, reply: FastifyReply) => {
    since(req, '3.11');
    await groups.deleteType(authOf(req), idOf(req));
    reply.code(202).send();
  });
  scope.get('/group_types/:id/group_specs', async (req) => {
    since(req, '3.11');
    return { group_specs: await groups.specs(authOf(req), idOf(req)) };
  });
  scope.post('/group_types/:id/group_specs', async (req, reply: FastifyReply) => {
    since(req, '3.11');
    const s = validateBody<{ group_specs: Record<string, string> }>(SPECS, req.body).group_specs;
    reply.code(202);
    return { group_specs: await groups.setSpecs(authOf(req), idOf(req), s) };
  });
  scope.get('/group_types/:id/group_specs/:key', async (req) => {
    since(req, '3.11');
    return groups.spec(authOf(req), idOf(req), (req.params as { key: string }).key);
  });
  scope.put('/group_types/:id/group_specs/:key', async (req) => {
    since(req, '3.11');
    const key = (req.params as { key: string }).key;
    const b = validateBody<Record<string, string>>(groupSpecUpdate, req.body);
    if (!Object.hasOwn(b, key)) throw badRequest('Request body and URI mismatch');
    if (Object.keys(b).length > 1) throw badRequest('Request body contains too many items');
    return groups.setSpecs(authOf(req), idOf(req), { [key]: b[key]! }, 'group:group_types_specs:update');
  });
  scope.delete('/group_types/:id/group_specs/:key', async (req, reply: FastifyReply) => {
    since(req, '3.11');
    await groups.deleteSpec(authOf(req), idOf(req), (req.params as { key: string }).key);
    reply.code(202).send();
  });

  // ---- groups (3.13) ----
  const listGroups = (detail: boolean) => async (req: FastifyRequest) => {
    since(req, '3.13');
    const f = listFlags(req);
    const all = await groups.list(authOf(req), f.allTenants, f.filters);
    return { groups: paged(req, all.map((r) => ({ ...r, id: r.group.id })), (r) => r.group).map((r) => (detail ? groupView(req, r, f.listVolume) : summary(r.group))) };
  };
  scope.get('/groups', listGroups(false));
  scope.get('/groups/detail', listGroups(true));
  scope.get('/groups/:id', async (req) => {
    since(req, '3.13');
    const f = listFlags(req);
    return { group: groupView(req, await groups.get(authOf(req), idOf(req)), f.listVolume) };
  });
  scope.post('/groups', async (req, reply: FastifyReply) => {
    since(req, '3.13');
    const b = validateBody<{ group: Body }>(GROUP_CREATE, req.body).group;
    const r = await groups.create(authOf(req), {
      name: trimmed(b.name),
      description: trimmed(b.description),
      groupType: b.group_type as string,
      volumeTypes: b.volume_types as string[],
      availabilityZone: (b.availability_zone as string | null | undefined) ?? null,
    });
    reply.code(202);
    return { group: summary(r.group) };
  });
  scope.put('/groups/:id', async (req, reply: FastifyReply) => {
    since(req, '3.13');
    const b = validateBody<{ group: Body }>(GROUP_UPDATE, req.body).group;
    await groups.update(authOf(req), idOf(req), {
      ...(b.name !== undefined ? { name: trimmed(b.name) } : {}),
      ...(b.description !== undefined ? { description: trimmed(b.description) } : {}),
      addVolumes: (b.add_volumes as string | null | undefined) ?? null,
      removeVolumes: (b.remove_volumes as string | null | undefined) ?? null,
    });
    reply.code(202).send();
  });
  scope.post('/groups/action', async (req, reply: FastifyReply) => {
    since(req, '3.14');
    const b = validateBody<{ 'create-from-src': Body }>(FROM_SRC, req.body)['create-from-src'];
    const r = await groups.createFromSource(authOf(req), {
      name: trimmed(b.name),
      description: trimmed(b.description),
      groupSnapshotId: typeof b.group_snapshot_id === 'string' ? b.group_snapshot_id.toLowerCase() : null,
      sourceGroupId: typeof b.source_group_id === 'string' ? b.source_group_id.toLowerCase() : null,
    });
    reply.code(202);
    return { group: summary(r.group) };
  });
  scope.post('/groups/:id/action', async (req, reply: FastifyReply) => {
    since(req, '3.13');
    const body = req.body as Body | null;
    const key = body && typeof body === 'object' && !Array.isArray(body) ? Object.keys(body)[0] : undefined;
    if (key === 'delete') {
      const d = validateBody<{ delete: Body }>(DELETE, req.body).delete;
      const del = d['delete-volumes'] !== undefined && parseBoolean(d['delete-volumes'], 'delete-volumes');
      await groups.delete(authOf(req), idOf(req), del);
    } else if (key === 'reset_status') {
      since(req, '3.20');
      const s = validateBody<{ reset_status: { status: string } }>(RESET, req.body).reset_status;
      await groups.resetStatus(authOf(req), idOf(req), s.status);
    } else {
      throw badRequest(`There is no such action: ${key ?? ''}`);
    }
    reply.code(202).send();
  });

  // ---- group snapshots (3.14) ----
  const listSnapshots = (detail: boolean) => async (req: FastifyRequest) => {
    since(req, '3.14');
    const f = listFlags(req);
    const all = await groups.listSnapshots(authOf(req), f.allTenants, f.filters);
    return { group_snapshots: paged(req, all).map((s) => (detail ? groupSnapshotView(req, s) : summary(s))) };
  };
  scope.get('/group_snapshots', listSnapshots(false));
  scope.get('/group_snapshots/detail', listSnapshots(true));
  scope.get('/group_snapshots/:id', async (req) => {
    since(req, '3.14');
    return { group_snapshot: groupSnapshotView(req, await groups.getSnapshot(authOf(req), idOf(req))) };
  });
  scope.post('/group_snapshots', async (req, reply: FastifyReply) => {
    since(req, '3.14');
    const b = validateBody<{ group_snapshot: Body }>(SNAPSHOT_CREATE, req.body).group_snapshot;
    const s = await groups.createSnapshot(authOf(req), {
      groupId: (b.group_id as string).toLowerCase(),
      name: trimmed(b.name),
      description: trimmed(b.description),
    });
    reply.code(202);
    return { group_snapshot: { ...summary(s), group_type_id: s.group_type_id } };
  });
  scope.delete('/group_snapshots/:id', async (req, reply: FastifyReply) => {
    since(req, '3.14');
    await groups.deleteSnapshot(authOf(req), idOf(req));
    reply.code(202).send();
  });
  scope.post('/group_snapshots/:id/action', async (req, reply: FastifyReply) => {
    since(req, '3.19');
    const s = validateBody<{ reset_status: { status: string } }>(SNAPSHOT_RESET, req.body).reset_status;
    await groups.resetSnapshotStatus(authOf(req), idOf(req), s.status);
    reply.code(202).send();
  });
}
