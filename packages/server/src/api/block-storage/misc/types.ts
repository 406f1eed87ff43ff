import type { TypeEncryptionBody, VolumeType as VolumeTypeSchema } from '@cinderbox/api-schema';
import type { Static } from 'typebox';
import {
  defaultTypeSet as DEFAULT_SET,
  encryptionCreate as ENCRYPTION_CREATE,
  encryptionUpdate as ENCRYPTION_UPDATE,
  extraSpecUpdate as SPEC_UPDATE,
  extraSpecsCreate as SPECS_CREATE,
  typeAccessAction as projectAction,
  volumeTypeCreate as CREATE,
  volumeTypeUpdate as UPDATE,
} from '@cinderbox/api-schema';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthContext } from '../../../domain/auth-context.js';
import { badRequest, notFound } from '../../../domain/errors.js';
import { getOwn, setOwn } from '../../../domain/own.js';
import type { VolumeTypeEncryption } from '../../../domain/volume-type.js';
import type { EncryptionInput, VolumeTypeService, VolumeTypeView } from '../../../services/volume-types.js';
import { parseBoolean, validateBody } from '../../common/validation.js';
import { callerOf, queryOf, versionOf } from './request.js';

/**
 * Cinder's type view at every microversion: `qos_specs_id` for admins, the type-access extension's
 * `is_public` copy for members and admins (policy `volume_extension:volume_type_access`). Create answers
 * without `qos_specs_id`, update also without the type-access copy (that extension does not extend update).
 */
function typeView(ctx: AuthContext, t: VolumeTypeView, form: 'show' | 'create' | 'update' = 'show'): Static<typeof VolumeTypeSchema> {
  const out: Static<typeof VolumeTypeSchema> = {
    id: t.id,
    name: t.name,
    is_public: t.isPublic,
    description: t.description,
    extra_specs: t.extraSpecs,
  };
  if (ctx.isAdmin && form === 'show') out.qos_specs_id = t.qosSpecsId ?? null;
  if ((ctx.isAdmin || ctx.roleNames.has('member')) && form !== 'update') out['os-volume-type-access:is_public'] = t.isPublic;
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

/** Cinder's encryption spec as `db.volume_type_encryption_get` returns it (soft-delete columns included). */
function encryptionView(e: VolumeTypeEncryption): TypeEncryptionBody {
  return {
    volume_type_id: e.volume_type_id,
    encryption_id: e.encryption_id,
    provider: e.provider,
    control_location: e.control_location,
    cipher: e.cipher,
    key_size: e.key_size,
    created_at: e.created_at,
    updated_at: e.updated_at,
    deleted: false,
    deleted_at: null,
  };
}

function encryptionInput(body: Record<string, unknown>): EncryptionInput {
  const out: EncryptionInput = {};
  if (typeof body.provider === 'string') out.provider = body.provider;
  if (typeof body.control_location === 'string') out.control_location = body.control_location;
  if (body.cipher !== undefined) out.cipher = body.cipher as string | null;
  if (body.key_size !== undefined) out.key_size = body.key_size === null ? null : Number(body.key_size);
  return out;
}

const defaultTypeView = (d: { projectId: string; volumeTypeId: string }) => ({
  project_id: d.projectId,
  volume_type_id: d.volumeTypeId,
});

/**
 * The 3.52 `extra_specs` filter: a dict of strings, as JSON or as cinderclient sends it (Python's `str(dict)`,
 * single-quoted), which Cinder reads with `ast.literal_eval`.
 */
function parseExtraSpecsFilter(v: string): Record<string, string> {
  for (const text of [v, v.replace(/'/g, '"')]) {
    try {
      const parsed = JSON.parse(text) as unknown;
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
        const out: Record<string, string> = {};
        for (const [k, val] of Object.entries(parsed)) {
          if (typeof val !== 'string' && typeof val !== 'number' && typeof val !== 'boolean') break;
          setOwn(out, k, String(val));
        }
        if (Object.keys(out).length === Object.keys(parsed).length) return out;
      }
    } catch {
      // Try the next spelling.
    }
  }
  throw badRequest(`Invalid input received: Invalid filter extra_specs=${v}: expected a dict of strings.`);
}

type TypeId = { Params: { type_id: string } };
type TypeKey = { Params: { type_id: string; key: string } };
type ProjectParam = { Params: { projectId: string } };

export function registerTypeRoutes(scope: FastifyInstance, types: VolumeTypeService): void {
  scope.get('/types', async (request) => {
    const ctx = callerOf(request);
    const q = queryOf(request);
    const extraSpecs = q.extra_specs !== undefined && versionOf(request).atLeast('3.52') ? parseExtraSpecsFilter(q.extra_specs) : undefined;
    const list = await types.list(ctx, { isPublic: parseIsPublic(q.is_public), ...(extraSpecs ? { extraSpecs } : {}) });
    return { volume_types: list.map((t) => typeView(ctx, t)) };
  });

  scope.get<TypeId>('/types/:type_id', async (request) => {
    const ctx = callerOf(request);
    const id = request.params.type_id;
    const t = id === 'default' ? await types.getDefault(ctx) : await types.get(ctx, id);
    return { volume_type: typeView(ctx, t) };
  });

  scope.post('/types', async (request) => {
    const ctx = callerOf(request);
    const b = validateBody<{
      volume_type: { name: string; description?: string | null; extra_specs?: Record<string, string> | null; 'os-volume-type-access:is_public'?: boolean | string };
    }>(CREATE, request.body).volume_type;
    const isPublic = b['os-volume-type-access:is_public'];
    const t = await types.create(ctx, {
      name: b.name,
      description: b.description ?? null,
      isPublic: isPublic === undefined ? true : parseBoolean(isPublic, 'is_public'),
      extraSpecs: b.extra_specs ?? {},
    });
    return { volume_type: typeView(ctx, t, 'create') };
  });

  scope.put<TypeId>('/types/:type_id', async (request) => {
    const ctx = callerOf(request);
    const b = validateBody<{ volume_type: { name?: string | null; description?: string | null; is_public?: boolean | string } }>(
      UPDATE,
      request.body,
    ).volume_type;
    const t = await types.update(ctx, request.params.type_id, {
      name: b.name,
      description: b.description,
      isPublic: b.is_public === undefined ? undefined : parseBoolean(b.is_public, 'is_public'),
    });
    return { volume_type: typeView(ctx, t, 'update') };
  });

  scope.delete<TypeId>('/types/:type_id', async (request, reply: FastifyReply) => {
    await types.delete(callerOf(request), request.params.type_id);
    reply.code(202).send();
  });

  // --- extra specs ---

  scope.get<TypeId>('/types/:type_id/extra_specs', async (request) => {
    return { extra_specs: await types.extraSpecs(callerOf(request), request.params.type_id) };
  });

  scope.get<TypeKey>('/types/:type_id/extra_specs/:key', async (request) => {
    const { type_id: id, key } = request.params;
    return { [key]: await types.extraSpec(callerOf(request), id, key) };
  });

  scope.post<TypeId>('/types/:type_id/extra_specs', async (request) => {
    const specs = validateBody<{ extra_specs: Record<string, string> }>(SPECS_CREATE, request.body).extra_specs;
    const out = await types.setExtraSpecs(callerOf(request), request.params.type_id, specs, 'volume_extension:types_extra_specs:create');
    return { extra_specs: out };
  });

  scope.put<TypeKey>('/types/:type_id/extra_specs/:key', async (request) => {
    const { type_id: id, key } = request.params;
    const body = request.body;
    if (body !== null && typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length > 1) {
      throw badRequest('Request body contains too many items');
    }
    const spec = validateBody<Record<string, string>>(SPEC_UPDATE, body);
    const value = getOwn(spec, key);
    if (value === undefined) throw badRequest('Request body and URI mismatch');
    return types.setExtraSpecs(callerOf(request), id, { [key]: value }, 'volume_extension:types_extra_specs:update');
  });

  scope.delete<TypeKey>('/types/:type_id/extra_specs/:key', async (request, reply: FastifyReply) => {
    await types.deleteExtraSpec(callerOf(request), request.params.type_id, request.params.key);
    reply.code(202).send();
  });

  // --- type access ---

  scope.get<TypeId>('/types/:type_id/os-volume-type-access', async (request) => {
    const list = await types.accessList(callerOf(request), request.params.type_id);
    return { volume_type_access: list.map((a) => ({ volume_type_id: a.volumeTypeId, project_id: a.projectId })) };
  });

  scope.post<TypeId>('/types/:type_id/action', async (request, reply: FastifyReply) => {
    const ctx = callerOf(request);
    const body = request.body;
    const action = body !== null && typeof body === 'object' && !Array.isArray(body) ? Object.keys(body)[0] : undefined;
    if (action === 'addProjectAccess') {
      const p = validateBody<{ addProjectAccess: { project: string } }>(projectAction(action), body).addProjectAccess;
      await types.addAccess(ctx, request.params.type_id, p.project);
    } else if (action === 'removeProjectAccess') {
      const p = validateBody<{ removeProjectAccess: { project: string } }>(projectAction(action), body).removeProjectAccess;
      await types.removeAccess(ctx, request.params.type_id, p.project);
    } else {
      throw badRequest(action === undefined ? 'Invalid request body' : `There is no such action: ${action}`);
    }
    reply.code(202).send();
  });

  // --- encryption ---

  scope.get<TypeId>('/types/:type_id/encryption', async (request) => {
    const e = await types.encryption(callerOf(request), request.params.type_id);
    return e ? encryptionView(e) : {};
  });

  scope.get<TypeKey>('/types/:type_id/encryption/:key', async (request) => {
    const { type_id: id, key } = request.params;
    const e = await types.encryption(callerOf(request), id);
    const value = e ? getOwn(encryptionView(e), key) : undefined;
    if (value === undefined) throw notFound(`Volume type encryption for type ${id} does not exist.`);
    return { [key]: value };
  });

  scope.post<TypeId>('/types/:type_id/encryption', async (request) => {
    const b = validateBody<{ encryption: Record<string, unknown> }>(ENCRYPTION_CREATE, request.body).encryption;
    const input = encryptionInput(b);
    const encryptionId = await types.createEncryption(callerOf(request), request.params.type_id, input);
    // Cinder answers with the body, which its database layer filled in with the two ids.
    return {
      encryption: {
        ...b,
        ...(input.key_size !== undefined ? { key_size: input.key_size } : {}),
        volume_type_id: request.params.type_id,
        encryption_id: encryptionId,
      },
    };
  });

  scope.put<TypeKey>('/types/:type_id/encryption/:key', async (request) => {
    const b = validateBody<{ encryption: Record<string, unknown> }>(ENCRYPTION_UPDATE, request.body).encryption;
    const input = encryptionInput(b);
    await types.updateEncryption(callerOf(request), request.params.type_id, input);
    return { encryption: { ...b, ...(input.key_size !== undefined ? { key_size: input.key_size } : {}) } };
  });

  scope.delete<TypeKey>('/types/:type_id/encryption/:key', async (request, reply: FastifyReply) => {
    await types.deleteEncryption(callerOf(request), request.params.type_id);
    reply.code(202).send();
  });

  // --- default types (3.62, v3 only) ---

  const since362 = (request: FastifyRequest) => {
    const v = versionOf(request);
    if (request.cb.apiVersion === null || !v.atLeast('3.62')) {
      throw notFound(`API version ${v.toString()} is not supported on this method.`);
    }
  };

  scope.get('/default-types', async (request) => {
    since362(request);
    const list = await types.projectDefaults(callerOf(request));
    return { default_types: list.map(defaultTypeView) };
  });

  scope.get<ProjectParam>('/default-types/:projectId', async (request) => {
    since362(request);
    return { default_type: defaultTypeView(await types.projectDefault(callerOf(request), request.params.projectId)) };
  });

  scope.put<ProjectParam>('/default-types/:projectId', async (request) => {
    since362(request);
    const b = validateBody<{ default_type: { volume_type: string } }>(DEFAULT_SET, request.body).default_type;
    const d = await types.setProjectDefault(callerOf(request), request.params.projectId, b.volume_type);
    return { default_type: defaultTypeView(d) };
  });

  scope.delete<ProjectParam>('/default-types/:projectId', async (request, reply: FastifyReply) => {
    since362(request);
    await types.unsetProjectDefault(callerOf(request), request.params.projectId);
    reply.code(204).send();
  });
}
