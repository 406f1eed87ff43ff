import type {
  DomainRecord,
  Grant,
  GrantWithNames,
  InDomain,
  ProjectRecord,
  RoleRecord,
  TokenRecord,
  UserInDomain,
  UserRecord,
} from '../identity.js';
import type { Scope } from './metadata-store.js';

/** What may change on a project or user after creation (the id, domain and creation time never do). */
export type ProjectChanges = Partial<Pick<ProjectRecord, 'name' | 'description' | 'enabled' | 'tags' | 'options' | 'extra'>>;
export type UserChanges = Partial<
  Pick<UserRecord, 'name' | 'default_project_id' | 'password_hash' | 'email' | 'description' | 'enabled' | 'options' | 'extra'>
>;

/** Lists are ordered by name, then id. */
export interface DomainRepository {
  byId(scope: Scope, id: string): Promise<DomainRecord | null>;
  byName(scope: Scope, name: string): Promise<DomainRecord | null>;
  list(scope: Scope, filters: { name?: string; enabled?: boolean }): Promise<DomainRecord[]>;
  /** Whether any domain exists (the store has been bootstrapped). */
  any(scope: Scope): Promise<boolean>;
  /** Throws DuplicateEntry. */
  insert(scope: Scope, domain: DomainRecord): Promise<void>;
}

export interface ProjectRepository {
  byId(scope: Scope, id: string): Promise<ProjectRecord | null>;
  byName(scope: Scope, domainId: string, name: string): Promise<ProjectRecord | null>;
  list(scope: Scope, filters: { name?: string; domainId?: string; enabled?: boolean; parentId?: string }): Promise<ProjectRecord[]>;
  /** Projects on which the user holds any role. */
  listForUser(scope: Scope, userId: string, enabledOnly: boolean): Promise<ProjectRecord[]>;
  hasChildren(scope: Scope, id: string): Promise<boolean>;
  withDomain(scope: Scope, id: string): Promise<InDomain | null>;
  /** Throws DuplicateEntry for a name taken in the domain. */
  insert(scope: Scope, project: ProjectRecord): Promise<void>;
  /** False when the project is gone; throws DuplicateEntry for a name taken in the domain. */
  update(scope: Scope, id: string, changes: ProjectChanges): Promise<boolean>;
  /** False when the project is gone. Its grants are removed with it. */
  delete(scope: Scope, id: string): Promise<boolean>;
}

export interface UserRepository {
  byId(scope: Scope, id: string): Promise<UserRecord | null>;
  byName(scope: Scope, domainId: string, name: string): Promise<UserRecord | null>;
  list(scope: Scope, filters: { name?: string; domainId?: string; enabled?: boolean }): Promise<UserRecord[]>;
  withDomain(scope: Scope, id: string): Promise<UserInDomain | null>;
  /** Throws DuplicateEntry for a name taken in the domain. */
  insert(scope: Scope, user: UserRecord): Promise<void>;
  /** False when the user is gone; throws DuplicateEntry for a name taken in the domain. */
  update(scope: Scope, id: string, changes: UserChanges): Promise<boolean>;
  /** False when the user is gone. Its grants are removed with it. */
  delete(scope: Scope, id: string): Promise<boolean>;
}

export interface RoleRepository {
  byId(scope: Scope, id: string): Promise<RoleRecord | null>;
  /** Ordered by name, then id. */
  list(scope: Scope, filters: { name?: string }): Promise<RoleRecord[]>;
  /** Throws DuplicateEntry. */
  insert(scope: Scope, role: RoleRecord): Promise<void>;
  /** Roles granted directly to the user on the project, by name. */
  granted(scope: Scope, userId: string, projectId: string): Promise<RoleRecord[]>;
}

export interface GrantRepository {
  exists(scope: Scope, grant: Grant): Promise<boolean>;
  /** Does nothing when the grant exists. */
  insert(scope: Scope, grant: Grant): Promise<void>;
  /** False when there was no such grant. */
  delete(scope: Scope, grant: Grant): Promise<boolean>;
  /** Ordered by user name, project name, role name. */
  list(scope: Scope, filters: { userId?: string; projectId?: string; roleId?: string }): Promise<GrantWithNames[]>;
}

export interface TokenRepository {
  insert(scope: Scope, token: TokenRecord): Promise<void>;
  /** The token when it is neither revoked nor expired at `now` (a stored time). */
  live(scope: Scope, hash: string, now: string): Promise<TokenRecord | null>;
  revoke(scope: Scope, hash: string): Promise<void>;
  revokeUser(scope: Scope, userId: string): Promise<void>;
  revokeProject(scope: Scope, projectId: string): Promise<void>;
  /** Deletes tokens expired at `now`; returns how many. */
  purgeExpired(scope: Scope, now: string): Promise<number>;
}

export interface IdentityStore {
  domains: DomainRepository;
  projects: ProjectRepository;
  users: UserRepository;
  roles: RoleRepository;
  grants: GrantRepository;
  tokens: TokenRepository;
}
