import {
  DuplicateEntry,
  type DomainRecord,
  type Grant,
  type ProjectRecord,
  type RoleRecord,
  type TokenRecord,
  type UserRecord,
} from '../../domain/identity.js';
import type {
  DomainRepository,
  GrantRepository,
  IdentityStore,
  ProjectChanges,
  ProjectRepository,
  RoleRepository,
  TokenRepository,
  UserChanges,
  UserRepository,
} from '../../domain/ports/identity-store.js';

import type { Executor } from '../database.js';
import { executor } from '../metadata-store.js';
import type { DomainTable, ProjectTable, RoleTable, TokenTable, UserTable } from '../schema.js';

/** A unique-key violation, from better-sqlite3 or pg. */
export function isUniqueViolation(e: unknown): boolean {
  const err = e as { code?: unknown } | null;
  const code = typeof err?.code === 'string' ? err.code : '';
  return code.startsWith('SQLITE_CONSTRAINT_UNIQUE') || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}

async function unique<T>(what: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (e) {
    if (isUniqueViolation(e)) throw new DuplicateEntry(what);
    throw e;
  }
}

function parseJsonObject(text: string | null): Record<string, unknown> {
  if (!text) return {};
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function parseJsonStrings(text: string | null): string[] {
  if (!text) return [];
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

const flag = (b: boolean): number => (b ? 1 : 0);

const toDomain = (r: DomainTable): DomainRecord => ({ id: r.id, name: r.name, description: r.description, enabled: r.enabled === 1, created_at: r.created_at });

function toProject(r: ProjectTable): ProjectRecord {
  return {
    id: r.id,
    name: r.name,
    domain_id: r.domain_id,
    description: r.description,
    enabled: r.enabled === 1,
    parent_id: r.parent_id,
    is_domain: r.is_domain === 1,
    tags: parseJsonStrings(r.tags),
    options: parseJsonObject(r.options),
    extra: parseJsonObject(r.extra),
    created_at: r.created_at,
  };
}

function fromProject(p: ProjectRecord): ProjectTable {
  return {
    ...p,
    enabled: flag(p.enabled),
    is_domain: flag(p.is_domain),
    tags: JSON.stringify(p.tags),
    options: JSON.stringify(p.options),
    extra: JSON.stringify(p.extra),
  };
}

function toUser(r: UserTable): UserRecord {
  return { ...r, enabled: r.enabled === 1, options: parseJsonObject(r.options), extra: parseJsonObject(r.extra) };
}

function fromUser(u: UserRecord): UserTable {
  return { ...u, enabled: flag(u.enabled), options: JSON.stringify(u.options), extra: JSON.stringify(u.extra) };
}

const toRole = (r: RoleTable): RoleRecord => ({ id: r.id, name: r.name, domain_id: r.domain_id, description: r.description, created_at: r.created_at });

function toToken(r: TokenTable): TokenRecord {
  return { ...r, methods: parseJsonStrings(r.methods), revoked: r.revoked === 1 };
}

const domains: DomainRepository = {
  async byId(scope, id) {
    const r = await executor(scope).selectFrom('domains').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toDomain(r) : null;
  },
  async byName(scope, name) {
    const r = await executor(scope).selectFrom('domains').selectAll().where('name', '=', name).executeTakeFirst();
    return r ? toDomain(r) : null;
  },
  async list(scope, f) {
    let q = executor(scope).selectFrom('domains').selectAll().orderBy('name').orderBy('id');
    if (f.name !== undefined) q = q.where('name', '=', f.name);
    if (f.enabled !== undefined) q = q.where('enabled', '=', flag(f.enabled));
    return (await q.execute()).map(toDomain);
  },
  async any(scope) {
    return (await executor(scope).selectFrom('domains').select('id').limit(1).executeTakeFirst()) !== undefined;
  },
  async insert(scope, d) {
    await unique('domain', () => executor(scope).insertInto('domains').values({ ...d, enabled: flag(d.enabled) }).execute());
  },
};

async function deleteGrantsOf(exec: Executor, column: 'user_id' | 'project_id', id: string): Promise<void> {
  await exec.deleteFrom('role_assignments').where(column, '=', id).execute();
}

const projects: ProjectRepository = {
  async byId(scope, id) {
    const r = await executor(scope).selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toProject(r) : null;
  },
  async byName(scope, domainId, name) {
    const r = await executor(scope).selectFrom('projects').selectAll().where('domain_id', '=', domainId).where('name', '=', name).executeTakeFirst();
    return r ? toProject(r) : null;
  },
  async list(scope, f) {
    let q = executor(scope).selectFrom('projects').selectAll().orderBy('name').orderBy('id');
    if (f.name !== undefined) q = q.where('name', '=', f.name);
    if (f.domainId !== undefined) q = q.where('domain_id', '=', f.domainId);
    if (f.enabled !== undefined) q = q.where('enabled', '=', flag(f.enabled));
    if (f.parentId !== undefined) q = q.where('parent_id', '=', f.parentId);
    return (await q.execute()).map(toProject);
  },
  async listForUser(scope, userId, enabledOnly) {
    let q = executor(scope)
      .selectFrom('projects')
      .selectAll('projects')
      .where('id', 'in', (sub) => sub.selectFrom('role_assignments').select('project_id').where('user_id', '=', userId))
      .orderBy('name')
      .orderBy('id');
    if (enabledOnly) q = q.where('enabled', '=', 1);
    return (await q.execute()).map(toProject);
  },
  async hasChildren(scope, id) {
    return (await executor(scope).selectFrom('projects').select('id').where('parent_id', '=', id).limit(1).executeTakeFirst()) !== undefined;
  },
  async withDomain(scope, id) {
    const p = await executor(scope)
      .selectFrom('projects')
      .innerJoin('domains', 'domains.id', 'projects.domain_id')
      .select(['projects.id', 'projects.name', 'projects.enabled', 'domains.id as domain_id', 'domains.name as domain_name', 'domains.enabled as domain_enabled'])
      .where('projects.id', '=', id)
      .executeTakeFirst();
    return p ? { ...p, enabled: p.enabled === 1, domain_enabled: p.domain_enabled === 1 } : null;
  },
  async insert(scope, p) {
    await unique('project', () => executor(scope).insertInto('projects').values(fromProject(p)).execute());
  },
  async update(scope, id, c: ProjectChanges) {
    const set: Partial<ProjectTable> = {};
    if (c.name !== undefined) set.name = c.name;
    if (c.description !== undefined) set.description = c.description;
    if (c.enabled !== undefined) set.enabled = flag(c.enabled);
    if (c.tags !== undefined) set.tags = JSON.stringify(c.tags);
    if (c.options !== undefined) set.options = JSON.stringify(c.options);
    if (c.extra !== undefined) set.extra = JSON.stringify(c.extra);
    if (Object.keys(set).length === 0) return (await projects.byId(scope, id)) !== null;
    const res = await unique('project', () => executor(scope).updateTable('projects').set(set).where('id', '=', id).executeTakeFirst());
    return Number(res.numUpdatedRows) > 0;
  },
  async delete(scope, id) {
    const exec = executor(scope);
    const res = await exec.deleteFrom('projects').where('id', '=', id).executeTakeFirst();
    if (Number(res.numDeletedRows) === 0) return false;
    await deleteGrantsOf(exec, 'project_id', id);
    return true;
  },
};

const users: UserRepository = {
  async byId(scope, id) {
    const r = await executor(scope).selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toUser(r) : null;
  },
  async byName(scope, domainId, name) {
    const r = await executor(scope).selectFrom('users').selectAll().where('domain_id', '=', domainId).where('name', '=', name).executeTakeFirst();
    return r ? toUser(r) : null;
  },
  async list(scope, f) {
    let q = executor(scope).selectFrom('users').selectAll().orderBy('name').orderBy('id');
    if (f.name !== undefined) q = q.where('name', '=', f.name);
    if (f.domainId !== undefined) q = q.where('domain_id', '=', f.domainId);
    if (f.enabled !== undefined) q = q.where('enabled', '=', flag(f.enabled));
    return (await q.execute()).map(toUser);
  },
  async withDomain(scope, id) {
    const u = await executor(scope)
      .selectFrom('users')
      .innerJoin('domains', 'domains.id', 'users.domain_id')
      .select(['users.id', 'users.name', 'users.enabled', 'users.password_expires_at', 'domains.id as domain_id', 'domains.name as domain_name', 'domains.enabled as domain_enabled'])
      .where('users.id', '=', id)
      .executeTakeFirst();
    return u ? { ...u, enabled: u.enabled === 1, domain_enabled: u.domain_enabled === 1 } : null;
  },
  async insert(scope, u) {
    await unique('user', () => executor(scope).insertInto('users').values(fromUser(u)).execute());
  },
  async update(scope, id, c: UserChanges) {
    const set: Partial<UserTable> = {};
    if (c.name !== undefined) set.name = c.name;
    if (c.default_project_id !== undefined) set.default_project_id = c.default_project_id;
    if (c.password_hash !== undefined) set.password_hash = c.password_hash;
    if (c.email !== undefined) set.email = c.email;
    if (c.description !== undefined) set.description = c.description;
    if (c.enabled !== undefined) set.enabled = flag(c.enabled);
    if (c.options !== undefined) set.options = JSON.stringify(c.options);
    if (c.extra !== undefined) set.extra = JSON.stringify(c.extra);
    if (Object.keys(set).length === 0) return (await users.byId(scope, id)) !== null;
    const res = await unique('user', () => executor(scope).updateTable('users').set(set).where('id', '=', id).executeTakeFirst());
    return Number(res.numUpdatedRows) > 0;
  },
  async delete(scope, id) {
    const exec = executor(scope);
    const res = await exec.deleteFrom('users').where('id', '=', id).executeTakeFirst();
    if (Number(res.numDeletedRows) === 0) return false;
    await deleteGrantsOf(exec, 'user_id', id);
    return true;
  },
};

const roles: RoleRepository = {
  async byId(scope, id) {
    const r = await executor(scope).selectFrom('roles').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toRole(r) : null;
  },
  async list(scope, f) {
    let q = executor(scope).selectFrom('roles').selectAll().orderBy('name').orderBy('id');
    if (f.name !== undefined) q = q.where('name', '=', f.name);
    return (await q.execute()).map(toRole);
  },
  async insert(scope, r) {
    await unique('role', () => executor(scope).insertInto('roles').values(r).execute());
  },
  async granted(scope, userId, projectId) {
    const rows = await executor(scope)
      .selectFrom('role_assignments')
      .innerJoin('roles', 'roles.id', 'role_assignments.role_id')
      .selectAll('roles')
      .where('role_assignments.user_id', '=', userId)
      .where('role_assignments.project_id', '=', projectId)
      .orderBy('roles.name')
      .execute();
    return rows.map(toRole);
  },
};

const grantKey = (exec: Executor, g: Grant) =>
  exec.selectFrom('role_assignments').select('role_id').where('project_id', '=', g.project_id).where('user_id', '=', g.user_id).where('role_id', '=', g.role_id);

const grants: GrantRepository = {
  async exists(scope, g) {
    return (await grantKey(executor(scope), g).executeTakeFirst()) !== undefined;
  },
  async insert(scope, g) {
    const exec = executor(scope);
    if (await grantKey(exec, g).executeTakeFirst()) return;
    await exec.insertInto('role_assignments').values({ project_id: g.project_id, user_id: g.user_id, role_id: g.role_id }).execute();
  },
  async delete(scope, g) {
    const res = await executor(scope)
      .deleteFrom('role_assignments')
      .where('project_id', '=', g.project_id)
      .where('user_id', '=', g.user_id)
      .where('role_id', '=', g.role_id)
      .executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  },
  async list(scope, f) {
    let q = executor(scope)
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
    if (f.roleId !== undefined) q = q.where('a.role_id', '=', f.roleId);
    return q.execute();
  },
};

const tokens: TokenRepository = {
  async insert(scope, t) {
    await executor(scope)
      .insertInto('tokens')
      .values({ ...t, methods: JSON.stringify(t.methods), revoked: flag(t.revoked) })
      .execute();
  },
  async live(scope, hash, now) {
    const row = await executor(scope)
      .selectFrom('tokens')
      .selectAll()
      .where('token_hash', '=', hash)
      .where('revoked', '=', 0)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return row ? toToken(row) : null;
  },
  async revoke(scope, hash) {
    await executor(scope).updateTable('tokens').set({ revoked: 1 }).where('token_hash', '=', hash).execute();
  },
  async revokeUser(scope, userId) {
    await executor(scope).updateTable('tokens').set({ revoked: 1 }).where('user_id', '=', userId).where('revoked', '=', 0).execute();
  },
  async revokeProject(scope, projectId) {
    await executor(scope).updateTable('tokens').set({ revoked: 1 }).where('project_id', '=', projectId).where('revoked', '=', 0).execute();
  },
  async purgeExpired(scope, now) {
    const res = await executor(scope).deleteFrom('tokens').where('expires_at', '<=', now).executeTakeFirst();
    return Number(res.numDeletedRows);
  },
};

/** The identity repositories; stateless, every call names its scope. */
export const identityRepository: IdentityStore = { domains, projects, users, roles, grants, tokens };

