/**
 * Keystone v3 resources: Project, User, Role, RoleAssignment, Domain.
 * @packageDocumentation
 */
import type { Domain as DomainSchema, Project as ProjectSchema, Role as RoleSchema, User as UserSchema } from '@cinderbox/api-schema';
import type { Static } from 'typebox';
import { type BaseAttributes, type OperationOptions, Resource } from '../resource/resource.js';
import { BASE_FIELDS, type ContractFields } from '../resource/field.js';

const CRUD = { create: true, fetch: true, commit: true, delete: true, list: true };

/** Project attributes. */
export interface ProjectAttributes extends BaseAttributes {
  description?: string;
  domainId?: string;
  /** Wire `enabled`. */
  isEnabled?: boolean;
  /** Wire `is_domain`. */
  isDomain?: boolean;
  parentId?: string;
  tags?: string[];
  options?: Record<string, unknown>;
  links?: Record<string, unknown>;
}

export interface Project extends ProjectAttributes {}

/**
 * A Keystone project (`/projects`, updates with PATCH).
 *
 * @example
 * ```ts
 * const p = await conn.identity.createProject({ name: 'team-a', domainId: 'default' });
 * ```
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: attribute accessors are installed from `fields`
export class Project extends Resource<ProjectAttributes> {
  static override readonly displayName: string = 'Project';
  static override readonly resourceKey: string | undefined = 'project';
  static override readonly resourcesKey: string | undefined = 'projects';
  static override readonly basePath: string = '/projects';
  static override readonly commitMethod = 'PATCH' as const;
  static override readonly allow = CRUD;
  static override readonly queryParameters = {
    limit: 'limit',
    marker: 'marker',
    name: 'name',
    domainId: 'domain_id',
    isEnabled: 'enabled',
    isDomain: 'is_domain',
    parentId: 'parent_id',
  };
  static override readonly fields = {
    ...BASE_FIELDS,
    description: { wire: 'description', type: 'string' },
    domainId: { wire: 'domain_id', type: 'string' },
    isEnabled: { wire: 'enabled', type: 'boolean' },
    isDomain: { wire: 'is_domain', type: 'boolean' },
    parentId: { wire: 'parent_id', type: 'string' },
    tags: { wire: 'tags', type: 'array' },
    options: { wire: 'options', type: 'object' },
    links: { wire: 'links', type: 'object', readOnly: true },
  } as const satisfies ContractFields<Static<typeof ProjectSchema>>;
}

/** User attributes. */
export interface UserAttributes extends BaseAttributes {
  description?: string;
  domainId?: string;
  defaultProjectId?: string;
  email?: string;
  /** Wire `enabled`. */
  isEnabled?: boolean;
  /** Write-only. */
  password?: string;
  passwordExpiresAt?: string;
  options?: Record<string, unknown>;
  links?: Record<string, unknown>;
}

export interface User extends UserAttributes {}

/**
 * A Keystone user (`/users`, updates with PATCH).
 *
 * @example
 * ```ts
 * const u = await conn.identity.createUser({ name: 'alice', password: 's3cret', defaultProjectId: p.id });
 * ```
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: attribute accessors are installed from `fields`
export class User extends Resource<UserAttributes> {
  static override readonly displayName: string = 'User';
  static override readonly resourceKey: string | undefined = 'user';
  static override readonly resourcesKey: string | undefined = 'users';
  static override readonly basePath: string = '/users';
  static override readonly commitMethod = 'PATCH' as const;
  static override readonly allow = CRUD;
  static override readonly queryParameters = {
    limit: 'limit',
    marker: 'marker',
    name: 'name',
    domainId: 'domain_id',
    isEnabled: 'enabled',
  };
  static override readonly fields = {
    ...BASE_FIELDS,
    description: { wire: 'description', type: 'string' },
    domainId: { wire: 'domain_id', type: 'string' },
    defaultProjectId: { wire: 'default_project_id', type: 'string' },
    email: { wire: 'email', type: 'string' },
    isEnabled: { wire: 'enabled', type: 'boolean' },
    password: { wire: 'password', type: 'string', writeOnly: true },
    passwordExpiresAt: { wire: 'password_expires_at', type: 'string', readOnly: true },
    options: { wire: 'options', type: 'object' },
    links: { wire: 'links', type: 'object', readOnly: true },
  } as const satisfies ContractFields<Static<typeof UserSchema>, 'password'>;

  /**
   * Changes the user's own password (`POST /users/{id}/password`; needs the current one).
   *
   * @example
   * ```ts
   * await user.changePassword('old', 'new');
   * ```
   */
  async changePassword(originalPassword: string, password: string, options: OperationOptions = {}): Promise<void> {
    await this.send('POST', `${this.itemPath(options)}/password`, {
      ...options,
      body: { user: { original_password: originalPassword, password } },
      operation: 'change password',
    });
  }
}

/** Role attributes. */
export interface RoleAttributes extends BaseAttributes {
  description?: string;
  domainId?: string;
  options?: Record<string, unknown>;
  links?: Record<string, unknown>;
}

export interface Role extends RoleAttributes {}

/**
 * A Keystone role (`/roles`).
 *
 * @example
 * ```ts
 * const member = await conn.identity.findRole('member');
 * ```
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: attribute accessors are installed from `fields`
export class Role extends Resource<RoleAttributes> {
  static override readonly displayName: string = 'Role';
  static override readonly resourceKey: string | undefined = 'role';
  static override readonly resourcesKey: string | undefined = 'roles';
  static override readonly basePath: string = '/roles';
  static override readonly commitMethod = 'PATCH' as const;
  static override readonly allow = CRUD;
  static override readonly queryParameters = { limit: 'limit', marker: 'marker', name: 'name', domainId: 'domain_id' };
  static override readonly fields = {
    ...BASE_FIELDS,
    description: { wire: 'description', type: 'string' },
    domainId: { wire: 'domain_id', type: 'string' },
    options: { wire: 'options', type: 'object' },
    links: { wire: 'links', type: 'object', readOnly: true },
  } as const satisfies ContractFields<Static<typeof RoleSchema>>;
}

/** RoleAssignment attributes (`{role, user|group, scope}`). */
export interface RoleAssignmentAttributes extends BaseAttributes {
  role?: { id: string; name?: string; domain?: Record<string, unknown> };
  user?: { id: string; name?: string; domain?: Record<string, unknown> };
  group?: { id: string; name?: string };
  scope?: {
    project?: { id: string; name?: string; domain?: Record<string, unknown> };
    domain?: { id: string; name?: string };
    system?: Record<string, unknown>;
    'OS-INHERIT:inherited_to'?: string;
  };
  links?: Record<string, unknown>;
}

export interface RoleAssignment extends RoleAssignmentAttributes {}

/**
 * An entry of `GET /role_assignments` (list only).
 *
 * @example
 * ```ts
 * for await (const a of conn.identity.roleAssignments({ userId: u.id, includeNames: true })) console.log(a.role?.name, a.scope?.project?.id);
 * ```
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: attribute accessors are installed from `fields`
export class RoleAssignment extends Resource<RoleAssignmentAttributes> {
  static override readonly displayName: string = 'RoleAssignment';
  static override readonly resourcesKey: string | undefined = 'role_assignments';
  static override readonly basePath: string = '/role_assignments';
  static override readonly allow = { create: false, fetch: false, commit: false, delete: false, list: true };
  static override readonly queryParameters = {
    userId: 'user.id',
    groupId: 'group.id',
    roleId: 'role.id',
    projectId: 'scope.project.id',
    domainId: 'scope.domain.id',
    effective: 'effective',
    includeNames: 'include_names',
    includeSubtree: 'include_subtree',
  };
  static override readonly fields = {
    id: { wire: 'id', type: 'string', readOnly: true },
    role: { wire: 'role', type: 'object', readOnly: true },
    user: { wire: 'user', type: 'object', readOnly: true },
    group: { wire: 'group', type: 'object', readOnly: true },
    scope: { wire: 'scope', type: 'object', readOnly: true },
    links: { wire: 'links', type: 'object', readOnly: true },
  } as const;
}

/** Domain attributes. */
export interface DomainAttributes extends BaseAttributes {
  description?: string;
  /** Wire `enabled`. */
  isEnabled?: boolean;
  links?: Record<string, unknown>;
}

export interface Domain extends DomainAttributes {}

/**
 * A Keystone domain (`/domains`; read here).
 *
 * @example
 * ```ts
 * const d = await conn.identity.getDomain('default');
 * ```
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: attribute accessors are installed from `fields`
export class Domain extends Resource<DomainAttributes> {
  static override readonly displayName: string = 'Domain';
  static override readonly opaqueIds: boolean = true;
  static override readonly resourceKey: string | undefined = 'domain';
  static override readonly resourcesKey: string | undefined = 'domains';
  static override readonly basePath: string = '/domains';
  static override readonly commitMethod = 'PATCH' as const;
  static override readonly allow = CRUD;
  static override readonly queryParameters = { limit: 'limit', marker: 'marker', name: 'name', isEnabled: 'enabled' };
  static override readonly fields = {
    ...BASE_FIELDS,
    description: { wire: 'description', type: 'string' },
    isEnabled: { wire: 'enabled', type: 'boolean' },
    links: { wire: 'links', type: 'object', readOnly: true },
  } as const satisfies ContractFields<Static<typeof DomainSchema>>;
}
