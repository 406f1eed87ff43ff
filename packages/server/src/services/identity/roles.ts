import type { AuthContext } from '../../domain/auth-context.js';
import { notFound } from '../../domain/errors.js';
import type { RoleRecord } from '../../domain/identity.js';
import type { IdentityStore } from '../../domain/ports/identity-store.js';
import type { MetadataStore, Scope } from '../../domain/ports/metadata-store.js';
import type { TokenInvalidation } from './invalidation.js';
import { denied, requireAdmin } from './policy.js';
import type { RoleAssignment, Role } from './types.js';

/** The implied-role chain `keystone-manage bootstrap` creates: admin ⇒ member ⇒ reader. */
const IMPLIES: Record<string, string[]> = { admin: ['member'], member: ['reader'] };

export function toRole(r: RoleRecord): Role {
  return { id: r.id, name: r.name, domainId: r.domain_id, description: r.description };
}

/** Direct roles plus the roles they imply, direct ones first, no duplicates. */
export function expandImplied(direct: Role[], all: Role[]): Role[] {
  const byName = new Map(all.map((r) => [r.name, r]));
  const out = new Map<string, Role>();
  const queue = [...direct];
  for (let r = queue.shift(); r; r = queue.shift()) {
    if (out.has(r.id)) continue;
    out.set(r.id, r);
    for (const n of IMPLIES[r.name] ?? []) {
      const implied = byName.get(n);
      if (implied) queue.push(implied);
    }
  }
  return [...out.values()];
}

export async function allRoles(repo: IdentityStore, scope: Scope): Promise<Role[]> {
  return (await repo.roles.list(scope, {})).map(toRole);
}

/** Roles the user holds directly on the project. */
export async function directRoles(repo: IdentityStore, scope: Scope, userId: string, projectId: string): Promise<Role[]> {
  return (await repo.roles.granted(scope, userId, projectId)).map(toRole);
}

export interface AssignmentFilters {
  userId?: string;
  projectId?: string;
  roleId?: string;
  /** Groups, domain and system scopes hold no assignments here; asking for them gives an empty list. */
  unsupportedScope?: boolean;
  effective?: boolean;
}

const noGrant = (projectId: string, userId: string, roleId: string) =>
  notFound(`Could not find role assignment with role: ${roleId}, user or group: ${userId}, project, domain, or system: ${projectId}.`);

export class RoleDirectory {
  constructor(
    private readonly store: MetadataStore,
    private readonly repo: IdentityStore,
    private readonly tokens: TokenInvalidation,
  ) {}

  async list(caller: AuthContext, filters: { name?: string }): Promise<Role[]> {
    requireAdmin(caller, 'list_roles');
    return (await this.repo.roles.list(this.store.root, filters)).map(toRole);
  }

  async get(caller: AuthContext, id: string): Promise<Role> {
    requireAdmin(caller, 'get_role');
    return this.roleOrThrow(this.store.root, id);
  }

  async grant(caller: AuthContext, projectId: string, userId: string, roleId: string): Promise<void> {
    requireAdmin(caller, 'create_grant');
    await this.store.transaction(async (tx) => {
      await this.checkTargets(tx, projectId, userId, roleId);
      await this.repo.grants.insert(tx, { project_id: projectId, user_id: userId, role_id: roleId });
    });
    this.tokens.forgetUser(userId);
  }

  async check(caller: AuthContext, projectId: string, userId: string, roleId: string): Promise<void> {
    requireAdmin(caller, 'check_grant');
    const root = this.store.root;
    await this.checkTargets(root, projectId, userId, roleId);
    if (!(await this.repo.grants.exists(root, { project_id: projectId, user_id: userId, role_id: roleId }))) throw noGrant(projectId, userId, roleId);
  }

  async revoke(caller: AuthContext, projectId: string, userId: string, roleId: string): Promise<void> {
    requireAdmin(caller, 'revoke_grant');
    const root = this.store.root;
    await this.checkTargets(root, projectId, userId, roleId);
    const deleted = await this.repo.grants.delete(root, { project_id: projectId, user_id: userId, role_id: roleId });
    this.tokens.forgetUser(userId);
    if (!deleted) throw noGrant(projectId, userId, roleId);
  }

  /** GET /projects/{p}/users/{u}/roles: direct grants only. */
  async listGrants(caller: AuthContext, projectId: string, userId: string): Promise<Role[]> {
    requireAdmin(caller, 'list_grants');
    const root = this.store.root;
    if (!(await this.repo.projects.byId(root, projectId))) throw notFound(`Could not find project: ${projectId}.`);
    if (!(await this.repo.users.byId(root, userId))) throw notFound(`Could not find user: ${userId}.`);
    return directRoles(this.repo, root, userId, projectId);
  }

  /** GET /role_assignments. Names are always resolved; the API decides whether to show them. */
  async assignments(caller: AuthContext, f: AssignmentFilters): Promise<RoleAssignment[]> {
    // A user may list its own assignments (OSC's `role assignment list --user self`).
    if (!caller.isAdmin && f.userId !== caller.userId) throw denied('list_role_assignments');
    if (f.unsupportedScope) return [];
    const root = this.store.root;
    // With `effective`, the role filter applies after implied roles are expanded.
    const rows = await this.repo.grants.list(root, {
      ...(f.userId !== undefined ? { userId: f.userId } : {}),
      ...(f.projectId !== undefined ? { projectId: f.projectId } : {}),
      ...(f.roleId !== undefined && !f.effective ? { roleId: f.roleId } : {}),
    });
    const all = f.effective ? await allRoles(this.repo, root) : [];
    const out: RoleAssignment[] = [];
    const seen = new Set<string>();
    for (const r of rows) {
      const user = { id: r.user_id, name: r.user_name, domain: { id: r.user_domain_id, name: r.user_domain_name } };
      const project = { id: r.project_id, name: r.project_name, domain: { id: r.project_domain_id, name: r.project_domain_name } };
      const direct: Role = { id: r.role_id, name: r.role_name, domainId: null, description: null };
      const roles = f.effective ? expandImplied([direct], all) : [direct];
      for (const role of roles) {
        if (f.roleId !== undefined && role.id !== f.roleId) continue;
        const key = `${user.id}/${project.id}/${role.id}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push({ user, project, role: { id: role.id, name: role.name } });
      }
    }
    return out;
  }

  private async roleOrThrow(scope: Scope, id: string): Promise<Role> {
    const r = await this.repo.roles.byId(scope, id);
    if (!r) throw notFound(`Could not find role: ${id}.`);
    return toRole(r);
  }

  private async checkTargets(scope: Scope, projectId: string, userId: string, roleId: string): Promise<void> {
    await this.roleOrThrow(scope, roleId);
    if (!(await this.repo.users.byId(scope, userId))) throw notFound(`Could not find user: ${userId}.`);
    if (!(await this.repo.projects.byId(scope, projectId))) throw notFound(`Could not find project: ${projectId}.`);
  }
}
