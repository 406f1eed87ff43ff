import type { AuthContext } from '../domain/auth-context.js';
import { notFound } from '../domain/errors.js';
import type { Db } from '../store/database.js';
import type { VolumeTypeTable } from '../store/schema.js';

/** Cinder's `default_volume_type`; the row is created by migration 0002. */
export const DEFAULT_VOLUME_TYPE_NAME = '__DEFAULT__';

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
}

function parseSpecs(text: string): Record<string, string> {
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const out: Record<string, string> = {};
      for (const [k, s] of Object.entries(v)) out[k] = String(s);
      return out;
    }
  } catch {
    // A malformed value reads as no specs rather than failing every type listing.
  }
  return {};
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
  constructor(private readonly db: Db) {}

  private view(ctx: AuthContext, row: VolumeTypeTable): VolumeTypeView {
    return {
      id: row.id,
      name: row.name,
      description: row.description,
      isPublic: row.is_public === 1,
      extraSpecs: visibleSpecs(ctx, parseSpecs(row.extra_specs)),
      createdAt: row.created_at,
    };
  }

  /** Names of every type, for the per-type quota keys (`volumes_<name>` …). */
  async names(): Promise<string[]> {
    const rows = await this.db.selectFrom('volume_types').select('name').orderBy('name').execute();
    return rows.map((r) => r.name);
  }

  /**
   * Public types for everyone; an admin sees private ones too and may filter on `is_public`
   * (`null` = both). Cinder's default order: newest first.
   */
  async list(ctx: AuthContext, opts: { isPublic?: boolean | null } = {}): Promise<VolumeTypeView[]> {
    let q = this.db.selectFrom('volume_types').selectAll();
    const isPublic = ctx.isAdmin ? (opts.isPublic ?? true) : true;
    if (isPublic !== null) q = q.where('is_public', '=', isPublic ? 1 : 0);
    const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
    return rows.map((r) => this.view(ctx, r));
  }

  async get(ctx: AuthContext, id: string): Promise<VolumeTypeView> {
    const row = await this.db.selectFrom('volume_types').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || (row.is_public !== 1 && !ctx.isAdmin)) throw notFound(`Volume type with id ${id} could not be found.`);
    return this.view(ctx, row);
  }

  async getDefault(ctx: AuthContext): Promise<VolumeTypeView> {
    const row = await this.db.selectFrom('volume_types').selectAll().where('name', '=', DEFAULT_VOLUME_TYPE_NAME).executeTakeFirst();
    if (!row) throw notFound('Default volume type can not be found.');
    return this.view(ctx, row);
  }

  async extraSpec(ctx: AuthContext, id: string, key: string): Promise<string> {
    const t = await this.get(ctx, id);
    const v = t.extraSpecs[key];
    if (v === undefined) throw notFound(`Volume Type ${id} has no extra specs with key ${key}.`);
    return v;
  }
}
