/**
 * Identity (Keystone v3) proxy: projects, users, roles, role assignments and grants, domains.
 * @packageDocumentation
 */
import type { AccessInfo } from '../auth/access.js';
import type { CatalogEntry } from '../auth/catalog.js';
import { parseTokenResponse } from '../auth/keystone.js';
import { isNotFound } from '../errors.js';
import { Crud, deleteResource, pathId, type Ref, refTo } from '../resource/crud.js';
import type { ListOptions, Paginator } from '../resource/pagination.js';
import type { FindOptions, Resource, ResourceClass, ResourceInput } from '../resource/resource.js';
import type { VersionEntry } from '../service/discovery.js';
import type { ServiceClient } from '../service/service-client.js';
import type { CallOptions } from '../transport/types.js';
import { Domain, Project, Role, RoleAssignment, User } from './resources.js';
import { isRecord } from '../util/objects.js';


/** Delete options of identity resources. */
export interface IdentityDeleteOptions extends CallOptions {
  /** Do not fail on 404. Default false. */
  ignoreMissing?: boolean;
}

/** Query of {@link IdentityV3.roleAssignments}. */
export interface RoleAssignmentQuery {
  userId?: string;
  groupId?: string;
  roleId?: string;
  projectId?: string;
  domainId?: string;
  /** Expand group memberships and inherited roles. */
  effective?: boolean;
  /** Add names of users, projects and roles. */
  includeNames?: boolean;
  includeSubtree?: boolean;
}

/**
 * Keystone v3 with openstacksdk's method names (`projects()`, `createUser()`, `assignProjectRoleToUser()`…).
 * Updates are PATCHes of the changed fields only.
 *
 * @example
 * ```ts
 * const id = conn.identity;
 * const p = await id.createProject({ name: 'team-a', domainId: 'default' });
 * const u = await id.createUser({ name: 'alice', password: 's3cret', defaultProjectId: p.id });
 * await id.grantProjectRole(p, u, await id.findRole('member'));
 * ```
 */
export class IdentityV3 {
  /** The underlying service client (endpoint, raw requests). */
  readonly client: ServiceClient;

  readonly #projects: Crud<Project>;
  readonly #users: Crud<User>;
  readonly #roles: Crud<Role>;
  readonly #domains: Crud<Domain>;

  constructor(client: ServiceClient) {
    this.client = client;
    this.#projects = new Crud(Project, client);
    this.#users = new Crud(User, client);
    this.#roles = new Crud(Role, client);
    this.#domains = new Crud(Domain, client);
  }

  #ref<R extends Resource>(cls: ResourceClass<R>, value: Ref<R>): R {
    return refTo(cls, value, this.client);
  }


  // ---------------------------------------------------------------- projects

  /** Lists projects. @example `await conn.identity.projects({ domainId: 'default' }).toArray()` */
  projects(query: ResourceInput<Project> = {}, options: ListOptions = {}): Paginator<Project> {
    return this.#projects.list(query, options);
  }

  /** GET a project. @example `await conn.identity.getProject(id)` */
  getProject(project: Ref<Project>, options: CallOptions = {}): Promise<Project> {
    return this.#projects.get(project, options);
  }

  /** Finds a project by id or name. @example `await conn.identity.findProject('admin')` */
  findProject(nameOrId: string, options: FindOptions = {}): Promise<Project | undefined> {
    return this.#projects.find(nameOrId, options);
  }

  /** Creates a project. @example `await conn.identity.createProject({ name: 'p', domainId: 'default' })` */
  createProject(attrs: ResourceInput<Project>, options: CallOptions = {}): Promise<Project> {
    return this.#projects.create(attrs, options);
  }

  /** Updates a project (PATCH of changed fields). @example `await conn.identity.updateProject(p, { description: 'x' })` */
  updateProject(project: Ref<Project>, attrs: ResourceInput<Project>, options: CallOptions = {}): Promise<Project> {
    return this.#projects.update(project, attrs, options);
  }

  /** Deletes a project. @example `await conn.identity.deleteProject(p, { ignoreMissing: true })` */
  deleteProject(project: Ref<Project>, options: IdentityDeleteOptions = {}): Promise<void> {
    return this.#projects.delete(project, options);
  }

  // ---------------------------------------------------------------- users

  /** Lists users. @example `await conn.identity.users({ name: 'alice' }).toArray()` */
  users(query: ResourceInput<User> = {}, options: ListOptions = {}): Paginator<User> {
    return this.#users.list(query, options);
  }

  /** GET a user. @example `await conn.identity.getUser(id)` */
  getUser(user: Ref<User>, options: CallOptions = {}): Promise<User> {
    return this.#users.get(user, options);
  }

  /** Finds a user by id or name. @example `await conn.identity.findUser('alice')` */
  findUser(nameOrId: string, options: FindOptions = {}): Promise<User | undefined> {
    return this.#users.find(nameOrId, options);
  }

  /** Creates a user. @example `await conn.identity.createUser({ name: 'alice', password: 'pw' })` */
  createUser(attrs: ResourceInput<User>, options: CallOptions = {}): Promise<User> {
    return this.#users.create(attrs, options);
  }

  /** Updates a user (PATCH; `password` may be set by an admin). @example `await conn.identity.updateUser(u, { email: 'a@x' })` */
  updateUser(user: Ref<User>, attrs: ResourceInput<User>, options: CallOptions = {}): Promise<User> {
    return this.#users.update(user, attrs, options);
  }

  /** Deletes a user. @example `await conn.identity.deleteUser(u)` */
  deleteUser(user: Ref<User>, options: IdentityDeleteOptions = {}): Promise<void> {
    return this.#users.delete(user, options);
  }

  /** A user changes their own password. @example `await conn.identity.changeUserPassword(u, 'old', 'new')` */
  changeUserPassword(
    user: Ref<User>,
    originalPassword: string,
    password: string,
    options: CallOptions = {},
  ): Promise<void> {
    return this.#ref(User, user).changePassword(originalPassword, password, options);
  }

  /** Projects a user has a role on (`GET /users/{id}/projects`). @example `await conn.identity.userProjects(u).toArray()` */
  userProjects(user: Ref<User>, options: ListOptions = {}): Paginator<Project> {
    return Project.list(this.client, {}, { ...options, basePath: `/users/${pathId(user, 'user')}/projects` });
  }

  // ---------------------------------------------------------------- roles

  /** Lists roles. @example `await conn.identity.roles().toArray()` */
  roles(query: ResourceInput<Role> = {}, options: ListOptions = {}): Paginator<Role> {
    return this.#roles.list(query, options);
  }

  /** GET a role. @example `await conn.identity.getRole(id)` */
  getRole(role: Ref<Role>, options: CallOptions = {}): Promise<Role> {
    return this.#roles.get(role, options);
  }

  /** Finds a role by id or name. @example `await conn.identity.findRole('member')` */
  findRole(nameOrId: string, options: FindOptions = {}): Promise<Role | undefined> {
    return this.#roles.find(nameOrId, options);
  }

  /** Creates a role. @example `await conn.identity.createRole({ name: 'auditor' })` */
  createRole(attrs: ResourceInput<Role>, options: CallOptions = {}): Promise<Role> {
    return this.#roles.create(attrs, options);
  }

  /** Updates a role. @example `await conn.identity.updateRole(r, { description: 'x' })` */
  updateRole(role: Ref<Role>, attrs: ResourceInput<Role>, options: CallOptions = {}): Promise<Role> {
    return this.#roles.update(role, attrs, options);
  }

  /** Deletes a role. @example `await conn.identity.deleteRole(r)` */
  deleteRole(role: Ref<Role>, options: IdentityDeleteOptions = {}): Promise<void> {
    return this.#roles.delete(role, options);
  }

  // ---------------------------------------------------------------- grants

  #grantPath(project: Ref<Project>, user: Ref<User>, role: Ref<Role>): string {
    return `/projects/${pathId(project, 'project')}/users/${pathId(user, 'user')}/roles/${pathId(role, 'role')}`;
  }

  /**
   * Grants a role to a user on a project (`PUT /projects/{p}/users/{u}/roles/{r}`; idempotent).
   *
   * @example
   * ```ts
   * await conn.identity.grantProjectRole(project, user, 'member-role-id');
   * ```
   */
  async grantProjectRole(
    project: Ref<Project>,
    user: Ref<User>,
    role: Ref<Role>,
    options: CallOptions = {},
  ): Promise<void> {
    await this.client.request('PUT', this.#grantPath(project, user, role), { ...options, operation: 'grant role' });
  }

  /** Revokes a project role from a user (404 when not granted). @example `await conn.identity.revokeProjectRole(p, u, r)` */
  async revokeProjectRole(
    project: Ref<Project>,
    user: Ref<User>,
    role: Ref<Role>,
    options: CallOptions = {},
  ): Promise<void> {
    await this.client.request('DELETE', this.#grantPath(project, user, role), { ...options, operation: 'revoke role' });
  }

  /** Whether the user holds the role on the project (`HEAD`). @example `await conn.identity.hasProjectRole(p, u, r)` */
  async hasProjectRole(
    project: Ref<Project>,
    user: Ref<User>,
    role: Ref<Role>,
    options: CallOptions = {},
  ): Promise<boolean> {
    try {
      await this.client.request('HEAD', this.#grantPath(project, user, role), { ...options, operation: 'check role' });
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  /** openstacksdk name of {@link grantProjectRole}. @example `await conn.identity.assignProjectRoleToUser(p, u, r)` */
  assignProjectRoleToUser(project: Ref<Project>, user: Ref<User>, role: Ref<Role>, options: CallOptions = {}) {
    return this.grantProjectRole(project, user, role, options);
  }

  /** openstacksdk name of {@link revokeProjectRole}. @example `await conn.identity.unassignProjectRoleFromUser(p, u, r)` */
  unassignProjectRoleFromUser(project: Ref<Project>, user: Ref<User>, role: Ref<Role>, options: CallOptions = {}) {
    return this.revokeProjectRole(project, user, role, options);
  }

  /** openstacksdk name of {@link hasProjectRole}. @example `await conn.identity.validateUserHasProjectRole(p, u, r)` */
  validateUserHasProjectRole(project: Ref<Project>, user: Ref<User>, role: Ref<Role>, options: CallOptions = {}) {
    return this.hasProjectRole(project, user, role, options);
  }

  /** Roles a user holds on a project. @example `await conn.identity.projectUserRoles(p, u).toArray()` */
  projectUserRoles(project: Ref<Project>, user: Ref<User>, options: ListOptions = {}): Paginator<Role> {
    return Role.list(this.client, {}, {
      ...options,
      basePath: `/projects/${pathId(project, 'project')}/users/${pathId(user, 'user')}/roles`,
    });
  }

  /**
   * Lists role assignments (`GET /role_assignments` with `user.id`, `scope.project.id`, … filters).
   *
   * @example
   * ```ts
   * const grants = await conn.identity.roleAssignments({ projectId: p.id, includeNames: true }).toArray();
   * ```
   */
  roleAssignments(query: RoleAssignmentQuery = {}, options: ListOptions = {}): Paginator<RoleAssignment> {
    return RoleAssignment.list(this.client, { ...query }, { ...options, paginated: false });
  }

  // ---------------------------------------------------------------- domains

  /** Lists domains. @example `await conn.identity.domains().toArray()` */
  domains(query: ResourceInput<Domain> = {}, options: ListOptions = {}): Paginator<Domain> {
    return this.#domains.list(query, options);
  }

  /** GET a domain. @example `await conn.identity.getDomain('default')` */
  getDomain(domain: Ref<Domain>, options: CallOptions = {}): Promise<Domain> {
    return this.#domains.get(domain, options);
  }

  /** Finds a domain by id or name. @example `await conn.identity.findDomain('Default')` */
  findDomain(nameOrId: string, options: FindOptions = {}): Promise<Domain | undefined> {
    return this.#domains.find(nameOrId, options);
  }

  // ---------------------------------------------------------------- versions and tokens

  /** The Identity API versions listed at its root. @example `const [v3] = await conn.identity.apiVersions()` */
  apiVersions(options: CallOptions = {}): Promise<VersionEntry[]> {
    return this.client.versions(options);
  }

  /** The v3 version document. @example `(await conn.identity.apiVersion())?.id // 'v3.14'` */
  async apiVersion(options: CallOptions = {}): Promise<VersionEntry | undefined> {
    return (await this.client.versions({ ...options, current: true }))[0];
  }

  /**
   * Validates a token (`GET /auth/tokens` with `X-Subject-Token`) and returns what it grants; a revoked or
   * expired token is a NotFoundError. Admins may check any token, others only their own.
   *
   * @example
   * ```ts
   * const info = await conn.identity.validateToken(token);
   * console.log(info.userName, info.projectId, info.roles);
   * ```
   */
  async validateToken(token: string, opts: { noCatalog?: boolean } = {}, options: CallOptions = {}): Promise<AccessInfo> {
    const res = await this.client.request('GET', '/auth/tokens', {
      ...options,
      headers: { ...options.headers, 'x-subject-token': token },
      query: opts.noCatalog ? { nocatalog: true } : undefined,
      operation: 'validate token',
    });
    return parseTokenResponse(token, res.body);
  }

  /**
   * Revokes a token (`DELETE /auth/tokens`); every user may revoke its own.
   * @example `await conn.identity.revokeToken(oldToken)`
   */
  async revokeToken(token: string, options: CallOptions = {}): Promise<void> {
    await this.client.request('DELETE', '/auth/tokens', {
      ...options,
      headers: { ...options.headers, 'x-subject-token': token },
      operation: 'revoke token',
    });
  }

  /**
   * The service catalog of the caller's project-scoped token (`GET /auth/catalog`).
   * @example `const types = (await conn.identity.catalog()).map((s) => s.type)`
   */
  async catalog(options: CallOptions = {}): Promise<CatalogEntry[]> {
    const res = await this.client.request('GET', '/auth/catalog', { ...options, operation: 'get catalog' });
    return isRecord(res.body) && Array.isArray(res.body.catalog) ? (res.body.catalog.filter(isRecord) as unknown as CatalogEntry[]) : [];
  }

  /**
   * The projects the caller's user may scope a token to (`GET /auth/projects`).
   * @example `const names = (await conn.identity.authProjects()).map((p) => p.name)`
   */
  async authProjects(options: CallOptions = {}): Promise<Project[]> {
    const res = await this.client.request('GET', '/auth/projects', { ...options, operation: 'list auth projects' });
    const list = isRecord(res.body) && Array.isArray(res.body.projects) ? res.body.projects.filter(isRecord) : [];
    return list.map((p) => Project.existing(p, this.client));
  }

  /**
   * The domains the caller's user may scope a token to (`GET /auth/domains`).
   * @example `await conn.identity.authDomains()`
   */
  async authDomains(options: CallOptions = {}): Promise<Domain[]> {
    const res = await this.client.request('GET', '/auth/domains', { ...options, operation: 'list auth domains' });
    const list = isRecord(res.body) && Array.isArray(res.body.domains) ? res.body.domains.filter(isRecord) : [];
    return list.map((d) => Domain.existing(d, this.client));
  }

  /**
   * The system scopes the caller's user holds (`GET /auth/system`), e.g. `[{ all: true }]`; empty when none.
   * @example `const canScopeSystem = (await conn.identity.authSystem()).length > 0`
   */
  async authSystem(options: CallOptions = {}): Promise<Record<string, unknown>[]> {
    const res = await this.client.request('GET', '/auth/system', { ...options, operation: 'list auth system' });
    return isRecord(res.body) && Array.isArray(res.body.system) ? res.body.system.filter(isRecord) : [];
  }
}
