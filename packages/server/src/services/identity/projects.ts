import type { AuthContext } from '../../domain/auth-context.js';
import { badRequest, conflict, forbidden, notFound } from '../../domain/errors.js';
import type { Db, Executor } from '../../store/database.js';
import type { ProjectTable } from '../../store/schema.js';
import type { Clock } from '../../domain/time.js';
import { storedTime } from '../../domain/time.js';
import { domainById } from './domains.js';
import type { TokenInvalidation } from './invalidation.js';
import { denied, requireAdmin, requireAdminOrSelf } from './policy.js';
import { checkTags, isUniqueViolation, newId, parseJsonObject, parseJsonStrings } from './store-helpers.js';
import type { Project } from './types.js';

export interface ProjectInput {
  name: string;
  domainId?: string | null;
  description?: string | null;
  enabled?: boolean;
  parentId?: string | null;
  isDomain?: boolean;
  options?: Record<string, unknown>;
  tags?: string[];
  extra: Record<string, unknown>;
}

export interface ProjectPatch {
  name?: string;
  description?: string | null;
  enabled?: boolean;
  domainId?: string | null;
  parentId?: string | null;
  isDomain?: boolean;
  options?: Record<string, unknown>;
  tags?: string[];
  extra: Record<string, unknown>;
}

export interface ProjectFilters {
  name?: string;
  domainId?: string;
  enabled?: boolean;
  parentId?: string;
  isDomain?: boolean;
}

export function toProject(r: ProjectTable): Project {
  return {
    id: r.id,
    name: r.name,
    domainId: r.domain_id,
    description: r.description,
    enabled: r.enabled === 1,
    parentId: r.parent_id,
    isDomain: r.is_domain === 1,
    tags: parseJsonStrings(r.tags),
    options: parseJsonObject(r.options),
    extra: parseJsonObject(r.extra),
  };
}

export async function projectById(db: Executor, id: string): Promise<Project | null> {
  const r = await db.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst();
  return r ? toProject(r) : null;
}

const duplicate = (name: string) =>
  conflict(`Conflict occurred attempting to store project - it is not permitted to have two projects with the same name in the same domain : ${name}.`);

export class ProjectDirectory {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly tokens: TokenInvalidation,
  ) {}

  async create(caller: AuthContext, input: ProjectInput): Promise<Project> {
    requireAdmin(caller, 'create_project');
    if (input.isDomain) throw badRequest('Projects acting as domains are not supported: is_domain must be false.');
    const domainId = input.domainId ?? caller.projectDomainId ?? 'default';
    const domain = await domainById(this.db, domainId);
    if (!domain) throw notFound(`Could not find domain: ${domainId}.`);
    let parentId = input.parentId ?? domainId;
    if (parentId !== domainId) {
      const parent = await projectById(this.db, parentId);
      if (!parent) throw notFound(`Could not find project: ${parentId}.`);
      if (parent.domainId !== domainId) throw badRequest('Cannot create project, the parent project is in a different domain.');
      parentId = parent.id;
    }
    const tags = input.tags ?? [];
    checkTags(tags);
    const row: ProjectTable = {
      id: newId(),
      name: input.name,
      domain_id: domainId,
      description: input.description ?? '',
      enabled: input.enabled === false ? 0 : 1,
      parent_id: parentId,
      is_domain: 0,
      tags: JSON.stringify(tags),
      options: JSON.stringify(input.options ?? {}),
      extra: JSON.stringify(input.extra),
      created_at: storedTime(this.clock.now()),
    };
    try {
      await this.db.insertInto('projects').values(row).execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw duplicate(input.name);
      throw e;
    }
    return toProject(row);
  }

  async list(caller: AuthContext, f: ProjectFilters): Promise<Project[]> {
    requireAdmin(caller, 'list_projects');
    let q = this.db.selectFrom('projects').selectAll().orderBy('name').orderBy('id');
    if (f.name !== undefined) q = q.where('name', '=', f.name);
    if (f.domainId !== undefined) q = q.where('domain_id', '=', f.domainId);
    if (f.enabled !== undefined) q = q.where('enabled', '=', f.enabled ? 1 : 0);
    if (f.parentId !== undefined) q = q.where('parent_id', '=', f.parentId);
    if (f.isDomain === true) return [];
    return (await q.execute()).map(toProject);
  }

  async get(caller: AuthContext, id: string): Promise<Project> {
    // A project's members may read it (Keystone's project-reader rule).
    if (!caller.isAdmin && caller.projectId !== id) throw denied('get_project');
    const p = await projectById(this.db, id);
    if (!p) throw notFound(`Could not find project: ${id}.`);
    return p;
  }

  async update(caller: AuthContext, id: string, patch: ProjectPatch): Promise<Project> {
    requireAdmin(caller, 'update_project');
    const current = await projectById(this.db, id);
    if (!current) throw notFound(`Could not find project: ${id}.`);
    if (patch.domainId !== undefined && patch.domainId !== current.domainId) throw badRequest('Cannot change Domain ID.');
    if (patch.isDomain !== undefined && patch.isDomain !== current.isDomain) throw badRequest('Cannot change is_domain of a project.');
    if (patch.parentId !== undefined && patch.parentId !== current.parentId) throw forbidden('Update of `parent_id` is not allowed.');
    if (patch.tags !== undefined) checkTags(patch.tags);
    const set: Partial<ProjectTable> = {};
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.description !== undefined) set.description = patch.description ?? '';
    if (patch.enabled !== undefined) set.enabled = patch.enabled ? 1 : 0;
    if (patch.tags !== undefined) set.tags = JSON.stringify(patch.tags);
    if (patch.options !== undefined) set.options = JSON.stringify(mergeOptions(current.options, patch.options));
    if (Object.keys(patch.extra).length > 0) set.extra = JSON.stringify({ ...current.extra, ...patch.extra });
    const disabling = patch.enabled === false && current.enabled;
    if (Object.keys(set).length > 0) {
      try {
        await this.db.transaction().execute(async (tx) => {
          const res = await tx.updateTable('projects').set(set).where('id', '=', id).executeTakeFirst();
          if (Number(res.numUpdatedRows) === 0) throw notFound(`Could not find project: ${id}.`);
          if (disabling) await this.tokens.revokeProject(id, tx);
        });
      } catch (e) {
        if (isUniqueViolation(e)) throw duplicate(patch.name ?? current.name);
        throw e;
      }
    }
    if (disabling) this.tokens.forgetProject(id);
    const updated = await projectById(this.db, id);
    if (!updated) throw notFound(`Could not find project: ${id}.`);
    return updated;
  }

  async delete(caller: AuthContext, id: string): Promise<void> {
    requireAdmin(caller, 'delete_project');
    await this.db.transaction().execute(async (tx) => {
      const child = await tx.selectFrom('projects').select('id').where('parent_id', '=', id).executeTakeFirst();
      if (child) throw forbidden(`Cannot delete the project ${id} since it is not a leaf in the hierarchy.`);
      const res = await tx.deleteFrom('projects').where('id', '=', id).executeTakeFirst();
      if (Number(res.numDeletedRows) === 0) throw notFound(`Could not find project: ${id}.`);
      await tx.deleteFrom('role_assignments').where('project_id', '=', id).execute();
      await this.tokens.revokeProject(id, tx);
    });
    this.tokens.forgetProject(id);
  }

  /** Projects on which the user holds any role; `enabledOnly` for GET /auth/projects. */
  async listForUser(caller: AuthContext, userId: string, enabledOnly: boolean): Promise<Project[]> {
    requireAdminOrSelf(caller, userId, 'list_user_projects');
    let q = this.db
      .selectFrom('projects')
      .selectAll('projects')
      .where('id', 'in', (sub) => sub.selectFrom('role_assignments').select('project_id').where('user_id', '=', userId))
      .orderBy('name')
      .orderBy('id');
    if (enabledOnly) q = q.where('enabled', '=', 1);
    return (await q.execute()).map(toProject);
  }
}

/** Keystone's options are merged key by key; a null value removes the option. */
export function mergeOptions(current: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out = { ...current };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}
