import type { AuthContext } from '../../domain/auth-context.js';
import { badRequest, conflict, notFound, unauthorized } from '../../domain/errors.js';
import { DuplicateEntry, type UserRecord } from '../../domain/identity.js';
import type { IdentityStore, UserChanges } from '../../domain/ports/identity-store.js';
import type { MetadataStore } from '../../domain/ports/metadata-store.js';
import type { Clock } from '../../domain/time.js';
import { storedTime } from '../../domain/time.js';
import type { TokenInvalidation } from './invalidation.js';
import type { PasswordHasher } from './passwords.js';
import { denied, requireAdmin, requireAdminOrSelf } from './policy.js';
import { mergeOptions } from './projects.js';
import { newId } from './store-helpers.js';
import type { User } from './types.js';

export interface UserInput {
  name: string;
  domainId?: string | null;
  defaultProjectId?: string | null;
  password?: string | null;
  email?: string | null;
  description?: string | null;
  enabled?: boolean;
  options?: Record<string, unknown>;
  extra: Record<string, unknown>;
}

export type UserPatch = Partial<Omit<UserInput, 'extra'>> & { extra: Record<string, unknown> };

export interface UserFilters {
  name?: string;
  domainId?: string;
  enabled?: boolean;
}

export function toUser(r: UserRecord): User {
  return {
    id: r.id,
    name: r.name,
    domainId: r.domain_id,
    defaultProjectId: r.default_project_id,
    email: r.email,
    description: r.description,
    enabled: r.enabled,
    options: r.options,
    extra: r.extra,
    passwordExpiresAt: r.password_expires_at,
  };
}

const duplicate = (name: string, domainId: string) =>
  conflict(`Conflict occurred attempting to store user - Duplicate entry found with name ${name} at domain ID ${domainId}.`);

export class UserDirectory {
  constructor(
    private readonly store: MetadataStore,
    private readonly repo: IdentityStore,
    private readonly clock: Clock,
    private readonly tokens: TokenInvalidation,
    private readonly passwords: PasswordHasher,
  ) {}

  async create(caller: AuthContext, input: UserInput): Promise<User> {
    requireAdmin(caller, 'create_user');
    const root = this.store.root;
    const domainId = input.domainId ?? caller.projectDomainId ?? 'default';
    if (!(await this.repo.domains.byId(root, domainId))) throw notFound(`Could not find domain: ${domainId}.`);
    const record: UserRecord = {
      id: newId(),
      name: input.name,
      domain_id: domainId,
      default_project_id: input.defaultProjectId ?? null,
      password_hash: typeof input.password === 'string' ? await this.passwords.hash(input.password) : null,
      email: input.email ?? null,
      description: input.description ?? null,
      enabled: input.enabled !== false,
      options: input.options ?? {},
      extra: input.extra,
      password_expires_at: null,
      created_at: storedTime(this.clock.now()),
    };
    try {
      await this.repo.users.insert(root, record);
    } catch (e) {
      if (e instanceof DuplicateEntry) throw duplicate(input.name, domainId);
      throw e;
    }
    return toUser(record);
  }

  async list(caller: AuthContext, f: UserFilters): Promise<User[]> {
    requireAdmin(caller, 'list_users');
    return (await this.repo.users.list(this.store.root, f)).map(toUser);
  }

  async get(caller: AuthContext, id: string): Promise<User> {
    requireAdminOrSelf(caller, id, 'get_user');
    const r = await this.repo.users.byId(this.store.root, id);
    if (!r) throw notFound(`Could not find user: ${id}.`);
    return toUser(r);
  }

  async update(caller: AuthContext, id: string, patch: UserPatch): Promise<User> {
    requireAdmin(caller, 'update_user');
    const found = await this.repo.users.byId(this.store.root, id);
    if (!found) throw notFound(`Could not find user: ${id}.`);
    const current = toUser(found);
    if (patch.domainId !== undefined && patch.domainId !== current.domainId) throw badRequest('Cannot change Domain ID.');
    const changes: UserChanges = {};
    if (patch.name !== undefined) changes.name = patch.name;
    if (patch.defaultProjectId !== undefined) changes.default_project_id = patch.defaultProjectId;
    if (patch.email !== undefined) changes.email = patch.email;
    if (patch.description !== undefined) changes.description = patch.description;
    if (patch.enabled !== undefined) changes.enabled = patch.enabled;
    if (patch.password !== undefined) changes.password_hash = patch.password === null ? null : await this.passwords.hash(patch.password);
    if (patch.options !== undefined) changes.options = mergeOptions(current.options, patch.options);
    if (Object.keys(patch.extra).length > 0) changes.extra = { ...current.extra, ...patch.extra };
    const revoke = (patch.enabled === false && current.enabled) || patch.password !== undefined;
    if (Object.keys(changes).length > 0) {
      try {
        await this.store.transaction(async (tx) => {
          if (!(await this.repo.users.update(tx, id, changes))) throw notFound(`Could not find user: ${id}.`);
          if (revoke) await this.tokens.revokeUser(id, tx);
        });
      } catch (e) {
        if (e instanceof DuplicateEntry) throw duplicate(patch.name ?? current.name, current.domainId);
        throw e;
      }
    }
    if (revoke || patch.name !== undefined) this.tokens.forgetUser(id);
    return this.get(caller, id);
  }

  async delete(caller: AuthContext, id: string): Promise<void> {
    requireAdmin(caller, 'delete_user');
    await this.store.transaction(async (tx) => {
      if (!(await this.repo.users.delete(tx, id))) throw notFound(`Could not find user: ${id}.`);
      await this.tokens.revokeUser(id, tx);
    });
    this.tokens.forgetUser(id);
  }

  /** Self-service change; a wrong original password is a 401, as in Keystone. Revokes the user's tokens. */
  async changePassword(caller: AuthContext, id: string, originalPassword: string, password: string): Promise<void> {
    if (caller.userId !== id) throw denied('change_password');
    const user = await this.repo.users.byId(this.store.root, id);
    if (!user) throw notFound(`Could not find user: ${id}.`);
    if (!(await this.passwords.verify(originalPassword, user.password_hash))) throw unauthorized();
    const hash = await this.passwords.hash(password);
    await this.store.transaction(async (tx) => {
      await this.repo.users.update(tx, id, { password_hash: hash });
      await this.tokens.revokeUser(id, tx);
    });
    this.tokens.forgetUser(id);
  }
}
