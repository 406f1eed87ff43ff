import { randomUUID } from 'node:crypto';
import type { BackendConfig } from '../config/config.js';
import type { AuthContext } from '../domain/auth-context.js';
import { badRequest, conflict, notFound, policyForbidden } from '../domain/errors.js';
import type { ProjectRepository } from '../domain/ports/identity-store.js';
import type { MetadataStore, Scope } from '../domain/ports/metadata-store.js';
import type { VolumeTypeStore } from '../domain/ports/quota-store.js';
import { storedTime } from '../domain/time.js';
import {
  BACKEND_NAME_SPEC,
  BACKEND_STORAGE_PROTOCOL,
  BACKEND_VENDOR_NAME,
  DEFAULT_VOLUME_TYPE_NAME,
  type VolumeType,
  type VolumeTypeEncryption,
} from '../domain/volume-type.js';
import { getOwn, setOwn } from '../domain/own.js';

export { DEFAULT_VOLUME_TYPE_NAME };

/** Extra specs a non-admin may see (`USER_VISIBLE_EXTRA_SPECS` in Cinder's type_extra_specs policy). */
const USER_VISIBLE_EXTRA_SPECS = ['RESKEY:availability_zones', 'multiattach', 'replication_enabled'];

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface VolumeTypeView {
  id: string;
  name: string;
  description: string | null;
  isPublic: boolean;
  /** Already trimmed to what the caller may read. */
  extraSpecs: Record<string, string>;
  createdAt: string;
  /** The associated QoS specs (shown to admins only, as Cinder does). */
  qosSpecsId: string | null;
}

export interface VolumeTypeCreate {
  name: string;
  description: string | null;
  isPublic: boolean;
  extraSpecs: Record<string, string>;
}

export interface VolumeTypeUpdate {
  name?: string | null;
  description?: string | null;
  isPublic?: boolean;
}

export interface EncryptionInput {
  provider?: string;
  control_location?: string;
  cipher?: string | null;
  key_size?: number | null;
}

/** Sensitive specs (backend names, driver options) are for admins only, as in Cinder. */
function visibleSpecs(ctx: AuthContext, specs: Record<string, string>): Record<string, string> {
  if (ctx.isAdmin) return specs;
  const out: Record<string, string> = {};
  for (const k of USER_VISIBLE_EXTRA_SPECS) if (specs[k] !== undefined) out[k] = specs[k];
  return out;
}

function requireAdmin(ctx: AuthContext, rule: string): void {
  if (!ctx.isAdmin) throw policyForbidden(rule);
}

const typeNotFound = (id: string) => notFound(`Volume type with id ${id} could not be found.`);

/**
 * Whether `projectId` (null: an admin or a caller without a project) may see and use `t`: public types are for
 * everyone, private ones for admins and the projects on their access list (Cinder's `_volume_type_get_query`).
 */
export async function typeVisible(
  types: VolumeTypeStore,
  scope: Scope,
  t: VolumeType,
  caller: { isAdmin: boolean; projectId: string | null },
): Promise<boolean> {
  if (t.is_public || caller.isAdmin) return true;
  return caller.projectId !== null && (await types.hasAccess(scope, t.id, caller.projectId));
}

/**
 * The type a new volume gets: `ref` by name or id (404 when unknown or private to others), else the inherited
 * one (a snapshot's or source volume's), else the project's default (3.62), else `__DEFAULT__`.
 */
export async function resolveVolumeType(
  types: VolumeTypeStore,
  scope: Scope,
  caller: { isAdmin: boolean; projectId: string | null },
  ref: string | null,
  inherit: string | null,
): Promise<VolumeType> {
  if (ref === null || ref === '') {
    if (inherit) {
      const t = await types.byId(scope, inherit);
      if (t) return t;
    }
    if (caller.projectId !== null) {
      const d = await types.defaultFor(scope, caller.projectId);
      const t = d ? await types.byId(scope, d.volume_type_id) : null;
      if (t) return t;
    }
    const d = await types.byName(scope, DEFAULT_VOLUME_TYPE_NAME);
    if (!d) throw new Error('the default volume type is missing');
    return d;
  }
  const found = (await types.byName(scope, ref)) ?? (await types.byId(scope, ref));
  if (found && (await typeVisible(types, scope, found, caller))) return found;
  throw notFound(
    UUID_RE.test(ref) ? `Volume type ${ref} could not be found.` : `Volume type with name ${ref} could not be found.`,
  );
}

/**
 * Cinder's extra-spec operators (`cinder/scheduler/filters/extra_specs_ops.py`) for string capabilities: a plain
 * value or `s==` is equality, `<in>` a substring, `<or>` any of the alternatives, `s!=` inequality.
 */
function specMatches(req: string, cap: string): boolean {
  const words = req.trim().split(/\s+/);
  const op = words[0];
  if (words.length === 1) return req.trim() === cap;
  if (op === '<or>') {
    const alternatives = req.trim().split(/\s*<or>\s*/).filter((w) => w !== '');
    return alternatives.includes(cap);
  }
  const rest = req.trim().slice(op!.length).trim();
  if (op === '<in>') return cap.includes(rest);
  if (op === 's==' || op === '==' || op === '=') return cap === rest;
  if (op === 's!=') return cap !== rest;
  return req.trim() === cap;
}

/**
 * Whether backend `b` satisfies the type's capability specs, as Cinder's CapabilitiesFilter reads them:
 * `volume_backend_name`, `vendor_name` and `storage_protocol`, bare or scoped `capabilities:`. Other specs are
 * driver options or for other filters and are not matched here.
 */
function backendSatisfies(b: BackendConfig, specs: Record<string, string>): boolean {
  const caps: Record<string, string> = {
    [BACKEND_NAME_SPEC]: b.name,
    vendor_name: BACKEND_VENDOR_NAME,
    storage_protocol: BACKEND_STORAGE_PROTOCOL,
  };
  for (const [key, req] of Object.entries(specs)) {
    const name = key.startsWith('capabilities:') ? key.slice('capabilities:'.length) : key;
    const cap = getOwn(caps, name);
    if (cap !== undefined && !specMatches(req, cap)) return false;
  }
  return true;
}

/**
 * The backend a volume of type `t` lands on: `fallback` (the first configured backend, or the source's for clones
 * and volumes from snapshots) when it satisfies the type's capability specs, else the first backend that does.
 * Null when none does: Cinder's scheduler finds no valid backend then.
 */
export function backendForType(
  backends: readonly BackendConfig[],
  t: VolumeType,
  fallback: BackendConfig,
): BackendConfig | null {
  if (backendSatisfies(fallback, t.extra_specs)) return fallback;
  return backends.find((b) => backendSatisfies(b, t.extra_specs)) ?? null;
}

/** The reason Cinder gives when no backend matches a type. */
export function noValidBackend(t: VolumeType): string {
  return `No valid backend was found. No configured backend satisfies the extra specs of volume type ${t.name}.`;
}

/** The volume type catalogue: reads for everyone (private types for those given access), writes for admins. */
export class VolumeTypeService {
  constructor(
    private readonly store: MetadataStore,
    private readonly types: VolumeTypeStore,
    private readonly opts: {
      clock?: { now(): Date };
      /** Where default types check that the project exists (Cinder asks Keystone); unchecked without it. */
      projects?: Pick<ProjectRepository, 'byId'>;
    } = {},
  ) {}

  private now(): string {
    return storedTime(this.opts.clock?.now() ?? new Date());
  }

  private async requireProject(scope: Scope, projectId: string): Promise<void> {
    const projects = this.opts.projects;
    if (projects && !(await projects.byId(scope, projectId))) throw notFound(`Project with id ${projectId} not found.`);
  }

  private view(ctx: AuthContext, t: VolumeType): VolumeTypeView {
    return {
      id: t.id,
      name: t.name,
      description: t.description,
      isPublic: t.is_public,
      extraSpecs: visibleSpecs(ctx, t.extra_specs),
      createdAt: t.created_at,
      qosSpecsId: t.qos_specs_id ?? null,
    };
  }

  /** The type a new volume gets (see `resolveVolumeType`), read in the caller's transaction. */
  resolveForVolume(
    scope: Scope,
    caller: { isAdmin: boolean; projectId: string | null },
    ref: string | null,
    inherit: string | null,
  ): Promise<VolumeType> {
    return resolveVolumeType(this.types, scope, caller, ref, inherit);
  }

  /** A type's encryption spec without a policy check, for services comparing two types (retype). */
  encryptionOf(scope: Scope, id: string): Promise<VolumeTypeEncryption | null> {
    return this.types.encryption(scope, id);
  }

  /** Names of every type, for the per-type quota keys (`volumes_<name>` …). */
  names(): Promise<string[]> {
    return this.types.names(this.store.root);
  }

  /**
   * Admins see every type and may filter on `is_public` (`null` = both); others see public types and the
   * private ones their project was given. Cinder's default order: newest first.
   */
  async list(
    ctx: AuthContext,
    opts: { isPublic?: boolean | null; extraSpecs?: Record<string, string> } = {},
  ): Promise<VolumeTypeView[]> {
    const rows = ctx.isAdmin
      ? await this.types.list(this.store.root, { isPublic: opts.isPublic === undefined ? true : opts.isPublic })
      : await this.types.list(this.store.root, { isPublic: true, accessibleTo: ctx.projectId ?? '' });
    const views = rows.map((r) => this.view(ctx, r));
    const wanted = opts.extraSpecs;
    if (!wanted) return views;
    // Matched on what the caller may see, so a member cannot probe specs hidden from it.
    return views.filter((v) => Object.entries(wanted).every(([k, val]) => getOwn(v.extraSpecs, k) === val));
  }

  /** A type the caller may see (404 otherwise, as for an unknown one). */
  private async visible(scope: Scope, ctx: AuthContext, id: string): Promise<VolumeType> {
    const t = await this.types.byId(scope, id);
    if (!t || !(await typeVisible(this.types, scope, t, ctx))) throw typeNotFound(id);
    return t;
  }

  async get(ctx: AuthContext, id: string): Promise<VolumeTypeView> {
    return this.view(ctx, await this.visible(this.store.root, ctx, id));
  }

  /** `GET /types/default`: the caller's project default (3.62) if it has one, else `__DEFAULT__`. */
  async getDefault(ctx: AuthContext): Promise<VolumeTypeView> {
    const t = await resolveVolumeType(this.types, this.store.root, ctx, null, null).catch(() => null);
    if (!t) throw notFound('Default volume type can not be found.');
    return this.view(ctx, t);
  }

  async extraSpec(ctx: AuthContext, id: string, key: string): Promise<string> {
    const t = await this.get(ctx, id);
    const v = getOwn(t.extraSpecs, key);
    if (v === undefined) throw notFound(`Volume Type ${id} has no extra specs with key ${key}.`);
    return v;
  }

  // --- types_manage ---

  async create(ctx: AuthContext, input: VolumeTypeCreate): Promise<VolumeTypeView> {
    requireAdmin(ctx, 'volume_extension:type_create');
    const name = input.name.trim();
    if (name === '') throw badRequest('Volume type name can not be empty.');
    const t: VolumeType = {
      id: randomUUID(),
      name,
      description: input.description,
      is_public: input.isPublic,
      extra_specs: { ...input.extraSpecs },
      created_at: this.now(),
    };
    await this.store.transaction(async (tx) => {
      if (await this.types.byName(tx, name)) throw conflict(`Volume Type ${name} already exists.`);
      await this.types.insert(tx, t);
    });
    return this.view(ctx, t);
  }

  async update(ctx: AuthContext, id: string, input: VolumeTypeUpdate): Promise<VolumeTypeView> {
    requireAdmin(ctx, 'volume_extension:type_update');
    const { name, description, isPublic } = input;
    if ((name === undefined || name === null) && description === undefined && isPublic === undefined) {
      throw badRequest('Specify volume type name, description, is_public or a combination thereof.');
    }
    if (typeof name === 'string' && name.trim() === '') throw badRequest('Volume type name can not be empty.');
    const updated = await this.store.transaction(async (tx) => {
      const t = await this.types.byId(tx, id);
      if (!t) throw typeNotFound(id);
      const next: VolumeType = { ...t };
      if (typeof name === 'string' && name.trim() !== t.name) {
        if (t.name === DEFAULT_VOLUME_TYPE_NAME) {
          throw badRequest(`Volume type ${id} update failed: the default volume type cannot be renamed.`);
        }
        const clash = await this.types.byName(tx, name.trim());
        if (clash && clash.id !== id) throw conflict(`Volume Type ${name.trim()} already exists.`);
        next.name = name.trim();
      }
      if (description !== undefined) next.description = description;
      if (isPublic !== undefined) next.is_public = isPublic;
      await this.types.update(tx, next);
      return next;
    });
    return this.view(ctx, updated);
  }

  async delete(ctx: AuthContext, id: string): Promise<void> {
    requireAdmin(ctx, 'volume_extension:type_delete');
    await this.store.transaction(async (tx) => {
      const t = await this.types.byId(tx, id);
      if (!t) throw typeNotFound(id);
      if (t.name === DEFAULT_VOLUME_TYPE_NAME) throw badRequest('Default volume type can not be deleted.');
      if ((await this.types.volumesUsing(tx, id)) > 0) throw badRequest('Target volume type is still in use.');
      const projects = await this.types.defaultedBy(tx, id);
      if (projects.length > 0) {
        throw badRequest(
          `Volume type ${id} is the default volume type of project(s) ${projects.join(', ')}; unset or change it first.`,
        );
      }
      await this.types.delete(tx, id);
    });
  }

  // --- types_extra_specs ---

  async extraSpecs(ctx: AuthContext, id: string): Promise<Record<string, string>> {
    return (await this.get(ctx, id)).extraSpecs;
  }

  /**
   * Cinder's `_allow_update`: extra specs of a type volumes already use are fixed (their backend was chosen by
   * them), so changing one would leave those volumes disagreeing with their type.
   */
  private async refuseInUse(tx: Scope, id: string): Promise<void> {
    if ((await this.types.volumesUsing(tx, id)) > 0) throw badRequest('Volume Type is currently in use.');
  }

  /** Sets (adds or overwrites) `specs`; returns them as given. */
  async setExtraSpecs(ctx: AuthContext, id: string, specs: Record<string, string>, rule: string): Promise<Record<string, string>> {
    requireAdmin(ctx, rule);
    await this.store.transaction(async (tx) => {
      await this.refuseInUse(tx, id);
      const t = await this.types.byId(tx, id);
      if (!t) throw typeNotFound(id);
      const next = { ...t.extra_specs };
      for (const [k, v] of Object.entries(specs)) setOwn(next, k, v);
      await this.types.update(tx, { ...t, extra_specs: next });
    });
    return specs;
  }

  async deleteExtraSpec(ctx: AuthContext, id: string, key: string): Promise<void> {
    requireAdmin(ctx, 'volume_extension:types_extra_specs:delete');
    await this.store.transaction(async (tx) => {
      const t = await this.types.byId(tx, id);
      if (!t) throw typeNotFound(id);
      await this.refuseInUse(tx, id);
      if (getOwn(t.extra_specs, key) === undefined) throw notFound(`Volume Type ${id} has no extra specs with key ${key}.`);
      const next: Record<string, string> = {};
      for (const [k, v] of Object.entries(t.extra_specs)) if (k !== key) setOwn(next, k, v);
      await this.types.update(tx, { ...t, extra_specs: next });
    });
  }

  // --- volume_type_access ---

  async accessList(ctx: AuthContext, id: string): Promise<{ volumeTypeId: string; projectId: string }[]> {
    requireAdmin(ctx, 'volume_extension:volume_type_access:get_all_for_type');
    const t = await this.types.byId(this.store.root, id);
    if (!t) throw typeNotFound(id);
    if (t.is_public) throw notFound('Access list not available for public volume types.');
    const projects = await this.types.accessList(this.store.root, id);
    return projects.map((projectId) => ({ volumeTypeId: id, projectId }));
  }

  async addAccess(ctx: AuthContext, id: string, projectId: string): Promise<void> {
    requireAdmin(ctx, 'volume_extension:volume_type_access:addProjectAccess');
    await this.store.transaction(async (tx) => {
      const t = await this.types.byId(tx, id);
      if (!t) throw typeNotFound(id);
      if (t.is_public) throw badRequest('Invalid volume type: Type access modification is not applicable to public volume type.');
      if (!(await this.types.addAccess(tx, id, projectId, this.now()))) {
        throw conflict(`Volume type access for ${id} / ${projectId} combination already exists.`);
      }
    });
  }

  async removeAccess(ctx: AuthContext, id: string, projectId: string): Promise<void> {
    requireAdmin(ctx, 'volume_extension:volume_type_access:removeProjectAccess');
    await this.store.transaction(async (tx) => {
      const t = await this.types.byId(tx, id);
      if (!t) throw typeNotFound(id);
      if (t.is_public) throw badRequest('Invalid volume type: Type access modification is not applicable to public volume type.');
      if (!(await this.types.removeAccess(tx, id, projectId))) {
        throw notFound(`Volume type access not found for ${id} / ${projectId} combination.`);
      }
    });
  }

  // --- volume_type_encryption ---

  /** The type's encryption spec, or null when it has none (Cinder answers `{}`). */
  async encryption(ctx: AuthContext, id: string): Promise<VolumeTypeEncryption | null> {
    requireAdmin(ctx, 'volume_extension:volume_type_encryption:get');
    if (!(await this.types.byId(this.store.root, id))) throw typeNotFound(id);
    return this.types.encryption(this.store.root, id);
  }

  /** Returns the new spec's `encryption_id`. */
  async createEncryption(ctx: AuthContext, id: string, input: EncryptionInput): Promise<string> {
    requireAdmin(ctx, 'volume_extension:volume_type_encryption:create');
    const encryptionId = randomUUID();
    await this.store.transaction(async (tx) => {
      if ((await this.types.volumesUsing(tx, id)) > 0) throw badRequest('Cannot create encryption specs. Volume type in use.');
      if (!(await this.types.byId(tx, id))) throw typeNotFound(id);
      if (await this.types.encryption(tx, id)) throw badRequest(`Volume type encryption for type ${id} already exists.`);
      const now = this.now();
      await this.types.putEncryption(tx, {
        volume_type_id: id,
        encryption_id: encryptionId,
        provider: input.provider ?? '',
        control_location: input.control_location ?? 'front-end',
        cipher: input.cipher ?? null,
        key_size: input.key_size ?? null,
        created_at: now,
        updated_at: null,
      });
    });
    return encryptionId;
  }

  async updateEncryption(ctx: AuthContext, id: string, input: EncryptionInput): Promise<void> {
    requireAdmin(ctx, 'volume_extension:volume_type_encryption:update');
    await this.store.transaction(async (tx) => {
      if (!(await this.types.byId(tx, id))) throw typeNotFound(id);
      if ((await this.types.volumesUsing(tx, id)) > 0) throw badRequest('Cannot update encryption specs. Volume type in use.');
      const e = await this.types.encryption(tx, id);
      if (!e) throw notFound(`Volume type encryption for type ${id} does not exist.`);
      await this.types.putEncryption(tx, {
        ...e,
        provider: input.provider ?? e.provider,
        control_location: input.control_location ?? e.control_location,
        cipher: input.cipher !== undefined ? input.cipher : e.cipher,
        key_size: input.key_size !== undefined ? input.key_size : e.key_size,
        updated_at: this.now(),
      });
    });
  }

  async deleteEncryption(ctx: AuthContext, id: string): Promise<void> {
    requireAdmin(ctx, 'volume_extension:volume_type_encryption:delete');
    await this.store.transaction(async (tx) => {
      if ((await this.types.volumesUsing(tx, id)) > 0) throw badRequest('Cannot delete encryption specs. Volume type in use.');
      if (!(await this.types.deleteEncryption(tx, id))) throw notFound(`Volume type encryption for type ${id} does not exist.`);
    });
  }

  // --- default_types (3.62) ---

  async setProjectDefault(ctx: AuthContext, projectId: string, ref: string): Promise<{ projectId: string; volumeTypeId: string }> {
    requireAdmin(ctx, 'volume_extension:default_set_or_update');
    return this.store.transaction(async (tx) => {
      await this.requireProject(tx, projectId);
      const t = (await this.types.byName(tx, ref)) ?? (await this.types.byId(tx, ref));
      if (!t) throw notFound(`Volume type ${ref} could not be found.`);
      await this.types.setDefault(tx, projectId, t.id, this.now());
      return { projectId, volumeTypeId: t.id };
    });
  }

  async projectDefault(ctx: AuthContext, projectId: string): Promise<{ projectId: string; volumeTypeId: string }> {
    requireAdmin(ctx, 'volume_extension:default_get');
    await this.requireProject(this.store.root, projectId);
    const d = await this.types.defaultFor(this.store.root, projectId);
    if (!d) throw notFound(`Default type for project ${projectId} not found.`);
    return { projectId: d.project_id, volumeTypeId: d.volume_type_id };
  }

  async projectDefaults(ctx: AuthContext): Promise<{ projectId: string; volumeTypeId: string }[]> {
    requireAdmin(ctx, 'volume_extension:default_get_all');
    const rows = await this.types.defaults(this.store.root);
    return rows.map((d) => ({ projectId: d.project_id, volumeTypeId: d.volume_type_id }));
  }

  async unsetProjectDefault(ctx: AuthContext, projectId: string): Promise<void> {
    requireAdmin(ctx, 'volume_extension:default_unset');
    await this.requireProject(this.store.root, projectId);
    await this.types.unsetDefault(this.store.root, projectId);
  }
}
