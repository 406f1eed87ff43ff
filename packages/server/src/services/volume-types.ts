import type { AuthContext } from '../domain/auth-context.js';
import { notFound } from '../domain/errors.js';
import type { MetadataStore } from '../domain/ports/metadata-store.js';
import type { VolumeTypeStore } from '../domain/ports/quota-store.js';
import { DEFAULT_VOLUME_TYPE_NAME, type VolumeType } from '../domain/volume-type.js';
import { getOwn } from '../domain/own.js';

export { DEFAULT_VOLUME_TYPE_NAME };

/** Extra specs a non-admin may see (`USER_VISIBLE_EXTRA_SPECS` in Cinder's type_extra_specs policy). */
const USER_VISIBLE_EXTRA_SPECS = ['RESKEY:availability_zones', 'multiattach', 'replication_enabled'];

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

/** Sensitive specs (backend names, driver options) are for admins only, as in Cinder. */
function visibleSpecs(ctx: AuthContext, specs: Record<string, string>): Record<string, string> {
  if (ctx.isAdmin) return specs;
  const out: Record<string, string> = {};
  for (const k of USER_VISIBLE_EXTRA_SPECS) if (specs[k] !== undefined) out[k] = specs[k];
  return out;
}

/** Read side of the volume type catalogue (types are created by migrations; there is no type-manage API yet). */
export class VolumeTypeService {
  constructor(
    private readonly store: MetadataStore,
    private readonly types: VolumeTypeStore,
  ) {}

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

  /** Names of every type, for the per-type quota keys (`volumes_<name>` …). */
  names(): Promise<string[]> {
    return this.types.names(this.store.root);
  }

  /**
   * Public types for everyone; an admin sees private ones too and may filter on `is_public`
   * (`null` = both). Cinder's default order: newest first.
   */
  async list(ctx: AuthContext, opts: { isPublic?: boolean | null } = {}): Promise<VolumeTypeView[]> {
    const isPublic = ctx.isAdmin ? (opts.isPublic ?? true) : true;
    const rows = await this.types.list(this.store.root, { isPublic });
    return rows.map((r) => this.view(ctx, r));
  }

  async get(ctx: AuthContext, id: string): Promise<VolumeTypeView> {
    const t = await this.types.byId(this.store.root, id);
    if (!t || (!t.is_public && !ctx.isAdmin)) throw notFound(`Volume type with id ${id} could not be found.`);
    return this.view(ctx, t);
  }

  async getDefault(ctx: AuthContext): Promise<VolumeTypeView> {
    const t = await this.types.byName(this.store.root, DEFAULT_VOLUME_TYPE_NAME);
    if (!t) throw notFound('Default volume type can not be found.');
    return this.view(ctx, t);
  }

  async extraSpec(ctx: AuthContext, id: string, key: string): Promise<string> {
    const t = await this.get(ctx, id);
    const v = getOwn(t.extraSpecs, key);
    if (v === undefined) throw notFound(`Volume Type ${id} has no extra specs with key ${key}.`);
    return v;
  }
}
