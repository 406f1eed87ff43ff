import type { FastifyInstance } from 'fastify';
import type { AuthContext } from '../../../domain/auth-context.js';
import { badRequest } from '../../../domain/errors.js';
import type { VolumeTypeService, VolumeTypeView } from '../../../services/volume-types.js';
import { parseBoolean } from '../../common/validation.js';
import { callerOf, queryOf } from './request.js';

/**
 * Cinder's type view at every microversion: `qos_specs_id` for admins, the type-access extension's
 * `is_public` copy for members and admins (policy `volume_extension:volume_type_access`).
 */
function typeView(ctx: AuthContext, t: VolumeTypeView): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: t.id,
    name: t.name,
    is_public: t.isPublic,
    description: t.description,
    extra_specs: t.extraSpecs,
  };
  if (ctx.isAdmin) out.qos_specs_id = t.qosSpecsId;
  if (ctx.isAdmin || ctx.roleNames.has('member')) out['os-volume-type-access:is_public'] = t.isPublic;
  return out;
}

/** `api_utils._parse_is_public`: absent = public only, `none` = both, otherwise a strict boolean. */
function parseIsPublic(v: string | undefined): boolean | null {
  if (v === undefined) return true;
  if (v.trim().toLowerCase() === 'none') return null;
  try {
    return parseBoolean(v, 'is_public');
  } catch {
    throw badRequest(`Invalid is_public filter [${v}]`);
  }
}

type TypeId = { Params: { type_id: string } };

export function registerTypeRoutes(scope: FastifyInstance, types: VolumeTypeService): void {
  scope.get('/types', async (request) => {
    const ctx = callerOf(request);
    const list = await types.list(ctx, { isPublic: parseIsPublic(queryOf(request).is_public) });
    return { volume_types: list.map((t) => typeView(ctx, t)) };
  });

  scope.get<TypeId>('/types/:type_id', async (request) => {
    const ctx = callerOf(request);
    const id = request.params.type_id;
    const t = id === 'default' ? await types.getDefault(ctx) : await types.get(ctx, id);
    return { volume_type: typeView(ctx, t) };
  });

  scope.get<TypeId>('/types/:type_id/extra_specs', async (request) => {
    const t = await types.get(callerOf(request), request.params.type_id);
    return { extra_specs: t.extraSpecs };
  });

  scope.get<{ Params: { type_id: string; key: string } }>('/types/:type_id/extra_specs/:key', async (request) => {
    const { type_id: id, key } = request.params;
    return { [key]: await types.extraSpec(callerOf(request), id, key) };
  });
}
