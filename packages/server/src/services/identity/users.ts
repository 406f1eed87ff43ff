import type { AuthContext } from '../../domain/auth-context.js';
import { badRequest, conflict, notFound, unauthorized } from '../../domain/errors.js';
import type { Clock } from '../../domain/time.js';
import { storedTime } from '../../domain/time.js';
import type { Db, Executor } from '../../store/database.js';
import type { UserTable } from '../../store/schema.js';
import { domainById } from './domains.js';
import type { TokenInvalidation } from './invalidation.js';
import type { PasswordHasher } from './passwords.js';
import { denied, requireAdmin, requireAdminOrSelf } from './policy.js';
import { mergeOptions } from './projects.js';
import { isUniqueViolation, newId, parseJsonObject } from './store-helpers.js';
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

export function toUser(r: UserTable): User {
  return {
    id: r.id,
    name: r.name,
    domainId: r.domain_id,
    defaultProjectId: r.default_project_id,
    email: r.email,
    description: r.description,
    enabled: r.enabled === 1,
    options: parseJsonObject(r.options),
    extra: parseJsonObject(r.extra),
    passwordExpiresAt: r.password_expires_at,
  };
}

export async function userRowById(db: Executor, id: string): Promise<UserTable | null> {
  return (await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()) ?? null;
}

const duplicate = (name: string, domainId: string) =>
  conflict(`Conflict occurred attempting to store user - Duplicate entry found with name ${name} at domain ID ${domainId}.`);

export class UserDirectory {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly tokens: TokenInvalidation,
    private readonly passwords: PasswordHasher,
  ) {}

  async create(caller: AuthContext, input: UserInput): Promise<User> {
    requireAdmin(caller, 'create_user');
    const domainId = input.domainId ?? caller.projectDomainId ?? 'default';
    if (!(await domainById(this.db, domainId))) throw notFound(`Could not find domain: ${domainId}.`);
    const row: UserTable = {
      id: newId(),
      name: input.name,
      domain_id: domainId,
      default_project_id: input.defaultProjectId ?? null,
      password_hash: typeof input.password === 'string' ? await this.passwords.hash(input.password) : null,
      email: input.email ?? null,
      description: input.description ?? null,
      enabled: input.enabled === false ? 0 : 1,
      options: JSON.stringify(input.options ?? {}),
      extra: JSON.stringify(input.extra),
      password_expires_at: null,
      created_at: storedTime(this.clock.now()),
    };
    try {
      await this.db.insertInto('users').values(row).execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw duplicate(input.name, domainId);
      throw e;
    }
    return toUser(row);
  }

  async list(caller: AuthContext, f: UserFilters): Promise<User[]> {
    requireAdmin(caller, 'list_users');
    let q = this.db.selectFrom('users').selectAll().orderBy('name').orderBy('id');
    if (f.name !== undefined) q = q.where('name', '=', f.name);
    if (f.domainId !== undefined) q = q.where('domain_id', '=', f.domainId);
    if (f.enabled !== undefined) q = q.where('enabled', '=', f.enabled ? 1 : 0);
    return (await q.execute()).map(toUser);
  }

  async get(caller: AuthContext, id: string): Promise<User> {
    requireAdminOrSelf(caller, id, 'get_user');
    const r = await userRowById(this.db, id);
    if (!r) throw notFound(`Could not find user: ${id}.`);
    return toUser(r);
  }

  async update(caller: AuthContext, id: string, patch: UserPatch): Promise<User> {
    requireAdmin(caller, 'update_user');
    const currentRow = await userRowById(this.db, id);
    if (!currentRow) throw notFound(`Could not find user: ${id}.`);
    const current = toUser(currentRow);
    if (patch.domainId !== undefined && patch.domainId !== current.domainId) throw badRequest('Cannot change Domain ID.');
    const set: Partial<UserTable> = {};
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.defaultProjectId !== undefined) set.default_project_id = patch.defaultProjectId;
    if (patch.email !== undefined) set.email = patch.email;
    if (patch.description !== undefined) set.description = patch.description;
    if (patch.enabled !== undefined) set.enabled = patch.enabled ? 1 : 0;
    if (patch.password !== undefined) set.password_hash = patch.password === null ? null : await this.passwords.hash(patch.password);
    if (patch.options !== undefined) set.options = JSON.stringify(mergeOptions(current.options, patch.options));
    if (Object.keys(patch.extra).length > 0) set.extra = JSON.stringify({ ...current.extra, ...patch.extra });
    const revoke = (patch.enabled === false && current.enabled) || patch.password !== undefined;
    if (Object.keys(set).length > 0) {
      try {
        await this.db.transaction().execute(async (tx) => {
          const res = await tx.updateTable('users').set(set).where('id', '=', id).executeTakeFirst();
          if (Number(res.numUpdatedRows) === 0) throw notFound(`Could not find user: ${id}.`);
          if (revoke) await this.tokens.revokeUser(id, tx);
        });
      } catch (e) {
        if (isUniqueViolation(e)) throw duplicate(patch.name ?? current.name, current.domainId);
        throw e;
      }
    }
    if (revoke || patch.name !== undefined) this.tokens.forgetUser(id);
    return this.get(caller, id);
  }

  async delete(caller: AuthContext, id: string): Promise<void> {
    requireAdmin(caller, 'delete_user');
    await this.db.transaction().execute(async (tx) => {
      const res = await tx.deleteFrom('users').where('id', '=', id).executeTakeFirst();
      if (Number(res.numDeletedRows) === 0) throw notFound(`Could not find user: ${id}.`);
      await tx.deleteFrom('role_assignments').where('user_id', '=', id).execute();
      await this.tokens.revokeUser(id, tx);
    });
    this.tokens.forgetUser(id);
  }

  /** Self-service change; a wrong original password is a 401, as in Keystone. Revokes the user's tokens. */
  async changePassword(caller: AuthContext, id: string, originalPassword: string, password: string): Promise<void> {
    if (caller.userId !== id) throw denied('change_password');
    const row = await userRowById(this.db, id);
    if (!row) throw notFound(`Could not find user: ${id}.`);
    if (!(await this.passwords.verify(originalPassword, row.password_hash))) throw unauthorized();
    const hash = await this.passwords.hash(password);
    await this.db.transaction().execute(async (tx) => {
      await tx.updateTable('users').set({ password_hash: hash }).where('id', '=', id).execute();
      await this.tokens.revokeUser(id, tx);
    });
    this.tokens.forgetUser(id);
  }
}
