import type { AuthContext } from '../../domain/auth-context.js';
import { badRequest, conflict, forbidden, notFound } from '../../domain/errors.js';
import { DuplicateEntry, type ProjectRecord } from '../../domain/identity.js';
import type { IdentityStore, ProjectChanges } from '../../domain/ports/identity-store.js';
import type { MetadataStore } from '../../domain/ports/metadata-store.js';
import type { Clock } from '../../domain/time.js';
import { storedTime } from '../../domain/time.js';
import type { TokenInvalidation } from './invalidation.js';
import { denied, requireAdmin, requireAdminOrSelf } from './policy.js';
import { checkTags, newId } from './store-helpers.js';
import type { Project } from './types.js';
import { setOwn } from '../../domain/own.js';

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

export function toProject(r: ProjectRecord): Project {
  return {
    id: r.id,
    name: r.name,
    domainId: r.domain_id,
    description: r.description,
    enabled: r.enabled,
    parentId: r.parent_id,
    isDomain: r.is_domain,
    tags: r.tags,
    options: r.options,
    extra: r.extra,
  };
}

const duplicate = (name: string) =>
  conflict(`Conflict occurred attempting to store project - it is not permitted to have two projects with the same name in the same domain : ${name}.`);

export class ProjectDirectory {
  constructor(
    private readonly store: MetadataStore,
    private readonly repo: IdentityStore,
    private readonly clock: Clock,
    private readonly tokens: TokenInvalidation,
  ) {}

  async create(caller: AuthContext, input: ProjectInput): Promise<Project> {
    requireAdmin(caller, 'create_project');
    if (input.isDomain) throw badRequest('Projects acting as domains are not supported: is_domain must be false.');
    const root = this.store.root;
    const domainId = input.domainId ?? caller.projectDomainId ?? 'default';
    const domain = await this.repo.domains.byId(root, domainId);
    if (!domain) throw notFound(`Could not find domain: ${domainId}.`);
    let parentId = input.parentId ?? domainId;
    if (parentId !== domainId) {
      const parent = await this.repo.projects.byId(root, parentId);
      if (!parent) throw notFound(`Could not find project: ${parentId}.`);
      if (parent.domain_id !== domainId) throw badRequest('Cannot create project, the parent project is in a different domain.');
      parentId = parent.id;
    }
    const tags = input.tags ?? [];
    checkTags(tags);
    const record: ProjectRecord = {
      id: newId(),
      name: input.name,
      domain_id: domainId,
      description: input.description ?? '',
      enabled: input.enabled !== false,
      parent_id: parentId,
      is_domain: false,
      tags,
      options: input.options ?? {},
      extra: input.extra,
      created_at: storedTime(this.clock.now()),
    };
    try {
      await this.repo.projects.insert(root, record);
    } catch (e) {
      if (e instanceof DuplicateEntry) throw duplicate(input.name);
      throw e;
    }
    return toProject(record);
  }

  async list(caller: AuthContext, f: ProjectFilters): Promise<Project[]> {
    requireAdmin(caller, 'list_projects');
    if (f.isDomain === true) return [];
    const { isDomain: _, ...filters } = f;
    return (await this.repo.projects.list(this.store.root, filters)).map(toProject);
  }

  async get(caller: AuthContext, id: string): Promise<Project> {
    // A project's members may read it (Keystone's project-reader rule).
    if (!caller.isAdmin && caller.projectId !== id) throw denied('get_project');
    const p = await this.repo.projects.byId(this.store.root, id);
    if (!p) throw notFound(`Could not find project: ${id}.`);
    return toProject(p);
  }

  async update(caller: AuthContext, id: string, patch: ProjectPatch): Promise<Project> {
    requireAdmin(caller, 'update_project');
    const found = await this.repo.projects.byId(this.store.root, id);
    if (!found) throw notFound(`Could not find project: ${id}.`);
    const current = toProject(found);
    if (patch.domainId !== undefined && patch.domainId !== current.domainId) throw badRequest('Cannot change Domain ID.');
    if (patch.isDomain !== undefined && patch.isDomain !== current.isDomain) throw badRequest('Cannot change is_domain of a project.');
    if (patch.parentId !== undefined && patch.parentId !== current.parentId) throw forbidden('Update of `parent_id` is not allowed.');
    if (patch.tags !== undefined) checkTags(patch.tags);
    const changes: ProjectChanges = {};
    if (patch.name !== undefined) changes.name = patch.name;
    if (patch.description !== undefined) changes.description = patch.description ?? '';
    if (patch.enabled !== undefined) changes.enabled = patch.enabled;
    if (patch.tags !== undefined) changes.tags = patch.tags;
    if (patch.options !== undefined) changes.options = mergeOptions(current.options, patch.options);
    if (Object.keys(patch.extra).length > 0) changes.extra = { ...current.extra, ...patch.extra };
    const disabling = patch.enabled === false && current.enabled;
    if (Object.keys(changes).length > 0) {
      try {
        await this.store.transaction(async (tx) => {
          if (!(await this.repo.projects.update(tx, id, changes))) throw notFound(`Could not find project: ${id}.`);
          if (disabling) await this.tokens.revokeProject(id, tx);
        });
      } catch (e) {
        if (e instanceof DuplicateEntry) throw duplicate(patch.name ?? current.name);
        throw e;
      }
    }
    if (disabling) this.tokens.forgetProject(id);
    const updated = await this.repo.projects.byId(this.store.root, id);
    if (!updated) throw notFound(`Could not find project: ${id}.`);
    return toProject(updated);
  }

  async delete(caller: AuthContext, id: string): Promise<void> {
    requireAdmin(caller, 'delete_project');
    await this.store.transaction(async (tx) => {
      if (await this.repo.projects.hasChildren(tx, id)) throw forbidden(`Cannot delete the project ${id} since it is not a leaf in the hierarchy.`);
      if (!(await this.repo.projects.delete(tx, id))) throw notFound(`Could not find project: ${id}.`);
      await this.tokens.revokeProject(id, tx);
    });
    this.tokens.forgetProject(id);
  }

  /** Projects on which the user holds any role; `enabledOnly` for GET /auth/projects. */
  async listForUser(caller: AuthContext, userId: string, enabledOnly: boolean): Promise<Project[]> {
    requireAdminOrSelf(caller, userId, 'list_user_projects');
    return (await this.repo.projects.listForUser(this.store.root, userId, enabledOnly)).map(toProject);
  }
}

/** Keystone's options are merged key by key; a null value removes the option. */
export function mergeOptions(current: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out = { ...current };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else setOwn(out, k, v);
  }
  return out;
}
