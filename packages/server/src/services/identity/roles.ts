import type { AuthContext } from '../../domain/auth-context.js';
import { notFound } from '../../domain/errors.js';
import type { Db, Executor } from '../../store/database.js';
import type { RoleTable } from '../../store/schema.js';
import type { TokenInvalidation } from './invalidation.js';
import { denied, requireAdmin } from './policy.js';
import { projectById } from './projects.js';
import type { RoleAssignment, Role } from './types.js';
import { userRowById } from './users.js';

/** The implied-role chain `keystone-manage bootstrap` creates: admin ⇒ member ⇒ reader. */
const IMPLIES: Record<string, string[]> = { admin: ['member'], member: ['reader'] };

export function toRole(r: RoleTable): Role {
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

export async function allRoles(db: Executor): Promise<Role[]> {
  return (await db.selectFrom('roles').selectAll().orderBy('name').execute()).map(toRole);
}

/** Roles the user holds directly on the project. */
export async function directRoles(db: Executor, userId: string, projectId: string): Promise<Role[]> {
  const rows = await db
    .selectFrom('role_assignments')
    .innerJoin('roles', 'roles.id', 'role_assignments.role_id')
    .selectAll('roles')
    .where('role_assignments.user_id', '=', userId)
    .where('role_assignments.project_id', '=', projectId)
    .orderBy('roles.name')
    .execute();
  return rows.map(toRole);
}

export interface AssignmentFilters {
  userId?: string;
  projectId?: string;
  roleId?: string;
  /** Groups, domain and system scopes hold no assignments here; asking for them gives an empty list. */
  unsupportedScope?: boolean;
  effective?: boolean;
}

export class RoleDirectory {
  constructor(
    private readonly db: Db,
    private readonly tokens: TokenInvalidation,
  ) {}

  async list(caller: AuthContext, filters: { name?: string }): Promise<Role[]> {
    requireAdmin(caller, 'list_roles');
    let q = this.db.selectFrom('roles').selectAll().orderBy('name').orderBy('id');
    if (filters.name !== undefined) q = q.where('name', '=', filters.name);
    return (await q.execute()).map(toRole);
  }

  async get(caller: AuthContext, id: string): Promise<Role> {
    requireAdmin(caller, 'get_role');
    return this.roleOrThrow(this.db, id);
  }

  async grant(caller: AuthContext, projectId: string, userId: string, roleId: string): Promise<void> {
    requireAdmin(caller, 'create_grant');
    await this.db.transaction().execute(async (tx) => {
      await this.checkTargets(tx, projectId, userId, roleId);
      const existing = await tx
        .selectFrom('role_assignments')
        .select('role_id')
        .where('project_id', '=', projectId)
        .where('user_id', '=', userId)
        .where('role_id', '=', roleId)
        .executeTakeFirst();
      if (!existing) {
        await tx.insertInto('role_assignments').values({ project_id: projectId, user_id: userId, role_id: roleId }).execute();
      }
    });
    this.tokens.forgetUser(userId);
  }

  async check(caller: AuthContext, projectId: string, userId: string, roleId: string): Promise<void> {
    requireAdmin(caller, 'check_grant');
    await this.checkTargets(this.db, projectId, userId, roleId);
    const row = await this.db
      .selectFrom('role_assignments')
      .select('role_id')
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .where('role_id', '=', roleId)
      .executeTakeFirst();
    if (!row) throw notFound(`Could not find role assignment with role: ${roleId}, user or group: ${userId}, project, domain, or system: ${projectId}.`);
  }

  async revoke(caller: AuthContext, projectId: string, userId: string, roleId: string): Promise<void> {
    requireAdmin(caller, 'revoke_grant');
    await this.checkTargets(this.db, projectId, userId, roleId);
    const res = await this.db
      .deleteFrom('role_assignments')
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .where('role_id', '=', roleId)
      .executeTakeFirst();
    this.tokens.forgetUser(userId);
    if (Number(res.numDeletedRows) === 0) {
      throw notFound(`Could not find role assignment with role: ${roleId}, user or group: ${userId}, project, domain, or system: ${projectId}.`);
    }
  }

  /** GET /projects/{p}/users/{u}/roles: direct grants only. */
  async listGrants(caller: AuthContext, projectId: string, userId: string): Promise<Role[]> {
    requireAdmin(caller, 'list_grants');
    if (!(await projectById(this.db, projectId))) throw notFound(`Could not find project: ${projectId}.`);
    if (!(await userRowById(this.db, userId))) throw notFound(`Could not find user: ${userId}.`);
    return directRoles(this.db, userId, projectId);
  }

  /** GET /role_assignments. Names are always resolved; the API decides whether to show them. */
  async assignments(caller: AuthContext, f: AssignmentFilters): Promise<RoleAssignment[]> {
    // A user may list its own assignments (OSC's `role assignment list --user self`).
    if (!caller.isAdmin && f.userId !== caller.userId) throw denied('list_role_assignments');
    if (f.unsupportedScope) return [];
    let q = this.db
      .selectFrom('role_assignments as a')
      .innerJoin('users as u', 'u.id', 'a.user_id')
      .innerJoin('domains as ud', 'ud.id', 'u.domain_id')
      .innerJoin('projects as p', 'p.id', 'a.project_id')
      .innerJoin('domains as pd', 'pd.id', 'p.domain_id')
      .innerJoin('roles as r', 'r.id', 'a.role_id')
      .select([
        'u.id as user_id',
        'u.name as user_name',
        'ud.id as user_domain_id',
        'ud.name as user_domain_name',
        'p.id as project_id',
        'p.name as project_name',
        'pd.id as project_domain_id',
        'pd.name as project_domain_name',
        'r.id as role_id',
        'r.name as role_name',
      ])
      .orderBy('u.name')
      .orderBy('p.name')
      .orderBy('r.name');
    if (f.userId !== undefined) q = q.where('a.user_id', '=', f.userId);
    if (f.projectId !== undefined) q = q.where('a.project_id', '=', f.projectId);
    // With `effective`, the role filter applies after implied roles are expanded.
    if (f.roleId !== undefined && !f.effective) q = q.where('a.role_id', '=', f.roleId);
    const rows = await q.execute();
    const all = f.effective ? await allRoles(this.db) : [];
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

  private async roleOrThrow(db: Executor, id: string): Promise<Role> {
    const r = await db.selectFrom('roles').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) throw notFound(`Could not find role: ${id}.`);
    return toRole(r);
  }

  private async checkTargets(db: Executor, projectId: string, userId: string, roleId: string): Promise<void> {
    await this.roleOrThrow(db, roleId);
    if (!(await userRowById(db, userId))) throw notFound(`Could not find user: ${userId}.`);
    if (!(await projectById(db, projectId))) throw notFound(`Could not find project: ${projectId}.`);
  }
}
