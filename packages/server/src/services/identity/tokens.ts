import { createHash, randomBytes } from 'node:crypto';
import type { AuthContext } from '../../domain/auth-context.js';
import { badRequest, notFound, tooManyRequests, unauthorized } from '../../domain/errors.js';
import type { Clock } from '../../domain/time.js';
import { parseStoredTime, storedTime } from '../../domain/time.js';
import type { TokenRecord, UserRecord } from '../../domain/identity.js';
import type { IdentityStore } from '../../domain/ports/identity-store.js';
import type { MetadataStore, Scope } from '../../domain/ports/metadata-store.js';
import { domainByRef } from './domains.js';
import type { TokenInvalidation } from './invalidation.js';
import type { LoginThrottle } from './login-throttle.js';
import type { PasswordHasher } from './passwords.js';
import { denied } from './policy.js';
import { toProject } from './projects.js';
import { allRoles, directRoles, expandImplied } from './roles.js';
import { TokenCache } from './token-cache.js';
import type { DomainRef, Project, TokenInfo } from './types.js';

export interface Ref {
  id?: string;
  name?: string;
  domain?: { id?: string; name?: string };
}

/** A shape-checked `auth` body (the API validated types; lookups and secrets are checked here). */
export interface AuthRequest {
  methods: string[];
  password?: { user: Ref & { password: string } };
  token?: { id: string };
  /** `unscoped` is Keystone's explicit "unscoped" string; null when the body names no scope. */
  scope: { project: Ref } | { domain: { id?: string; name?: string } } | { system: unknown } | 'unscoped' | null;
  /** The client's address, for login throttling; absent, password logins are not throttled. */
  source?: string;
}

/**
 * How long a validated token is trusted without looking at the store again. A revoke, disable, delete or role
 * change made through this process drops the cached entries at once (revoke, forgetUser, forgetProject); one
 * made through another node of a cluster is only seen here when the entry is rechecked, so this bounds how long
 * such a token keeps working on this node. At a few seconds the recheck is one store read per token per interval,
 * nothing next to the reads it saves under load.
 */
export const TOKEN_RECHECK_MS = 5_000;

export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

// One message for every credential failure, so a caller cannot tell a wrong password from an unknown user.
const badCredentials = () => unauthorized('The request you have made requires authentication.');

interface Resolved {
  info: TokenInfo;
  auth: AuthContext;
}

export class TokenService implements TokenInvalidation {
  readonly cache: TokenCache;

  constructor(
    private readonly store: MetadataStore,
    private readonly repo: IdentityStore,
    private readonly clock: Clock,
    private readonly ttlSeconds: number,
    private readonly passwords: PasswordHasher,
    cache = new TokenCache(10_000, TOKEN_RECHECK_MS),
    private readonly throttle: LoginThrottle | null = null,
  ) {
    this.cache = cache;
  }

  /**
   * The auth hook's fast case: the cached context of a token, or null, synchronously. Cached by the raw token
   * (a hit hashes nothing); revoke() drops the entry by its hash all the same.
   */
  cached(token: string): AuthContext | null {
    return this.cache.get(token, this.clock.now());
  }

  /** The auth hook's path: a cache hit does no store query. */
  async validate(token: string): Promise<AuthContext | null> {
    const now = this.clock.now();
    const hit = this.cache.get(token, now);
    if (hit) return hit;
    const hash = hashToken(token);
    const generation = this.cache.snapshot();
    const resolved = await this.resolve(hash, now);
    if (!resolved) return null;
    this.cache.set(token, resolved.auth, now, generation, hash);
    return resolved.auth;
  }

  async issue(req: AuthRequest): Promise<TokenInfo> {
    const now = this.clock.now();
    let user: UserRecord | null = null;
    let methods: string[] = [];
    let expiresAt = storedTime(new Date(now.getTime() + this.ttlSeconds * 1000));
    let parentAuditId: string | null = null;
    for (const m of req.methods) {
      if (m !== 'password' && m !== 'token') throw unauthorized('Attempted to authenticate with an unsupported method.');
    }
    if (req.methods.includes('password') && req.password) {
      user = await this.checkPassword(req.password.user, req.source);
      methods.push('password');
    }
    if (req.methods.includes('token') && req.token) {
      const t = await this.liveToken(hashToken(req.token.id), now);
      if (!t || (user && user.id !== t.user_id)) throw badCredentials();
      user ??= await this.repo.users.byId(this.store.root, t.user_id);
      // A re-scoped token lives no longer than the token it came from.
      expiresAt = t.expires_at < expiresAt ? t.expires_at : expiresAt;
      parentAuditId = t.audit_id;
      methods = ['token', ...t.methods.filter((x) => x !== 'token'), ...methods.filter((x) => x !== 'token')];
      methods = [...new Set(methods)];
    }
    if (!user?.enabled) throw badCredentials();
    const root = this.store.root;
    const userDomain = await this.repo.domains.byId(root, user.domain_id);
    if (!userDomain?.enabled) throw badCredentials();

    const project = await this.scopeProject(req.scope, user);
    let roles: { id: string; name: string }[] = [];
    let projectRef: DomainRef | null = null;
    if (project) {
      const domain = await this.repo.domains.byId(root, project.domainId);
      if (!project.enabled || !domain?.enabled) throw unauthorized(`Project ${project.id} is disabled.`);
      const direct = await directRoles(this.repo, root, user.id, project.id);
      if (direct.length === 0) throw unauthorized(`User ${user.id} has no access to project ${project.id}.`);
      roles = expandImplied(direct, await allRoles(this.repo, root)).map((r) => ({ id: r.id, name: r.name }));
      projectRef = { id: project.id, name: project.name, domain: { id: domain.id, name: domain.name } };
    }

    const { token, row } = await this.insertToken({ userId: user.id, projectId: project?.id ?? null, methods, parentAuditId, now, expiresAt });
    return {
      token,
      methods,
      auditIds: parentAuditId ? [row.audit_id, parentAuditId] : [row.audit_id],
      issuedAt: row.issued_at,
      expiresAt,
      user: { id: user.id, name: user.name, domain: { id: userDomain.id, name: userDomain.name }, passwordExpiresAt: user.password_expires_at },
      project: projectRef,
      roles,
    };
  }

  /**
   * A token for this service's own calls to another node of the cluster (nodes share the token table, so it is valid
   * on every node and no secret is configured between them): the bootstrap `admin` user scoped to the `admin`
   * project of the default domain (the one identity every cluster has), living `ttlSeconds` at most. Issued with
   * the same checks a login makes (enabled user, project and domains, a role on the project); the caller revokes it
   * through {@link revoke} once its call is done. `purpose` only explains a refusal.
   */
  async issueServiceToken(purpose: string, ttlSeconds: number): Promise<{ token: string; projectId: string; auth: AuthContext }> {
    const root = this.store.root;
    const domain = await this.repo.domains.byId(root, 'default');
    const user = domain?.enabled ? await this.repo.users.byName(root, domain.id, 'admin') : null;
    const project = domain?.enabled ? await this.repo.projects.byName(root, domain.id, 'admin') : null;
    const refused = () => new Error(`no enabled bootstrap admin user with a role on an enabled admin project to authenticate ${purpose} to another node`);
    if (!user?.enabled || !project?.enabled) throw refused();
    const now = this.clock.now();
    const { token, row } = await this.insertToken({
      userId: user.id,
      projectId: project.id,
      methods: ['token'],
      parentAuditId: null,
      now,
      expiresAt: storedTime(new Date(now.getTime() + ttlSeconds * 1000)),
    });
    // Resolved as any presented token would be: a user without the admin role there gets a token that cannot act.
    const resolved = await this.resolve(row.token_hash, now);
    if (!resolved?.auth.isAdmin) {
      await this.repo.tokens.revoke(root, row.token_hash);
      throw refused();
    }
    return { token, projectId: project.id, auth: resolved.auth };
  }

  /** The one place a token row is built: a random secret, of which only the hash is stored, and a fresh audit id. */
  private async insertToken(t: {
    userId: string;
    projectId: string | null;
    methods: string[];
    parentAuditId: string | null;
    now: Date;
    expiresAt: string;
  }): Promise<{ token: string; row: TokenRecord }> {
    const token = randomBytes(32).toString('base64url');
    const row: TokenRecord = {
      token_hash: hashToken(token),
      user_id: t.userId,
      project_id: t.projectId,
      methods: t.methods,
      audit_id: randomBytes(16).toString('base64url').slice(0, 22),
      parent_audit_id: t.parentAuditId,
      issued_at: storedTime(t.now),
      expires_at: t.expiresAt,
      revoked: false,
    };
    await this.repo.tokens.insert(this.store.root, row);
    return { token, row };
  }

  /** GET/HEAD /auth/tokens: the subject's current view; a token's owner or an admin may look. */
  async inspect(caller: AuthContext, subject: string): Promise<TokenInfo> {
    const resolved = await this.resolve(hashToken(subject), this.clock.now());
    if (!resolved) throw notFound('Could not find token.');
    if (!caller.isAdmin && caller.userId !== resolved.auth.userId) throw denied('validate_token');
    return resolved.info;
  }

  async revoke(caller: AuthContext, subject: string): Promise<void> {
    const hash = hashToken(subject);
    const resolved = await this.resolve(hash, this.clock.now());
    if (!resolved) throw notFound('Could not find token.');
    if (!caller.isAdmin && caller.userId !== resolved.auth.userId) throw denied('revoke_token');
    await this.repo.tokens.revoke(this.store.root, hash);
    this.cache.drop(hash);
  }

  revokeUser(userId: string, tx: Scope): Promise<void> {
    return this.repo.tokens.revokeUser(tx, userId);
  }

  revokeProject(projectId: string, tx: Scope): Promise<void> {
    return this.repo.tokens.revokeProject(tx, projectId);
  }

  forgetUser(userId: string): void {
    this.cache.dropWhere((a) => a.userId === userId);
  }

  forgetProject(projectId: string): void {
    this.cache.dropWhere((a) => a.projectId === projectId);
  }

  /** Expired tokens are useless; removing them keeps the table small. */
  purgeExpired(): Promise<number> {
    return this.repo.tokens.purgeExpired(this.store.root, storedTime(this.clock.now()));
  }

  private liveToken(hash: string, now: Date): Promise<TokenRecord | null> {
    return this.repo.tokens.live(this.store.root, hash, storedTime(now));
  }

  /** Everything a token stands for right now: its user, project and current roles must all still hold. */
  private async resolve(hash: string, now: Date): Promise<Resolved | null> {
    const t = await this.liveToken(hash, now);
    if (!t) return null;
    const root = this.store.root;
    const user = await this.repo.users.withDomain(root, t.user_id);
    if (!user?.enabled || !user.domain_enabled) return null;
    let project: DomainRef | null = null;
    let roles: { id: string; name: string }[] = [];
    if (t.project_id !== null) {
      const p = await this.repo.projects.withDomain(root, t.project_id);
      if (!p?.enabled || !p.domain_enabled) return null;
      const direct = await directRoles(this.repo, root, user.id, p.id);
      // Keystone refuses a project token whose user lost every role on the project.
      if (direct.length === 0) return null;
      roles = expandImplied(direct, await allRoles(this.repo, root)).map((r) => ({ id: r.id, name: r.name }));
      project = { id: p.id, name: p.name, domain: { id: p.domain_id, name: p.domain_name } };
    }
    const methods = t.methods;
    const info: TokenInfo = {
      methods,
      auditIds: t.parent_audit_id ? [t.audit_id, t.parent_audit_id] : [t.audit_id],
      issuedAt: t.issued_at,
      expiresAt: t.expires_at,
      user: { id: user.id, name: user.name, domain: { id: user.domain_id, name: user.domain_name }, passwordExpiresAt: user.password_expires_at },
      project,
      roles,
    };
    const roleNames = new Set(roles.map((r) => r.name));
    const auth: AuthContext = {
      userId: user.id,
      userName: user.name,
      userDomainId: user.domain_id,
      projectId: project?.id ?? null,
      projectName: project?.name ?? null,
      projectDomainId: project?.domain.id ?? null,
      roles,
      isAdmin: roleNames.has('admin'),
      roleNames,
      expiresAt: parseStoredTime(t.expires_at),
    };
    return { info, auth };
  }

  private async checkPassword(ref: Ref & { password: string }, source: string | undefined): Promise<UserRecord> {
    const root = this.store.root;
    let user: UserRecord | null = null;
    if (ref.id !== undefined) {
      user = await this.repo.users.byId(root, ref.id);
    } else if (ref.name !== undefined && ref.domain) {
      const domain = await domainByRef(this.repo, root, ref.domain);
      if (domain) user = await this.repo.users.byName(root, domain.id, ref.name);
    } else {
      throw badRequest('Expecting to find domain in user. The server could not comply with the request since it is either malformed or otherwise incorrect.');
    }
    // An unknown user is throttled under the name it was asked for, exactly like a known one, so 429s tell nothing.
    const userKey = user ? `id:${user.id}` : ref.id !== undefined ? `id:${ref.id}` : `name:${ref.domain?.id ?? ''}:${ref.domain?.name ?? ''}:${ref.name ?? ''}`;
    const throttle = source === undefined ? null : this.throttle;
    // Refused before the hash: a locked-out guesser costs no scrypt time and so cannot slow other logins down.
    const slot = throttle ? await throttle.acquire(source!, userKey) : null;
    if (slot && 'retryAfter' in slot)
      throw tooManyRequests(`Too many failed authentication attempts; retry in ${slot.retryAfter} seconds.`, slot.retryAfter);
    const finished = slot?.done;
    let ok: boolean;
    try {
      // Always hash, even for an unknown user, so timing does not tell the two apart.
      ok = await this.passwords.verify(ref.password, user?.password_hash ?? null);
    } catch (e) {
      finished?.();
      throw e;
    }
    // The outcome is recorded before the slot is given back, so a waiting check sees this failure.
    if (!user || !ok) {
      throttle?.failed(source!, userKey);
      finished?.();
      throw badCredentials();
    }
    throttle?.succeeded(source!, userKey);
    finished?.();
    return user;
  }

  private async scopeProject(scope: AuthRequest['scope'], user: UserRecord): Promise<Project | null> {
    if (scope === 'unscoped') return null;
    if (scope === null) return this.defaultProject(user);
    if ('domain' in scope) throw unauthorized(`User ${user.id} has no access to domain ${scope.domain.id ?? scope.domain.name ?? ''}.`);
    if ('system' in scope) throw unauthorized(`User ${user.id} has no access to the system.`);
    const root = this.store.root;
    const ref = scope.project;
    if (ref.id !== undefined) {
      const p = await this.repo.projects.byId(root, ref.id);
      if (!p) throw unauthorized(`Could not find project: ${ref.id}.`);
      return toProject(p);
    }
    if (ref.name === undefined || !ref.domain) {
      throw badRequest('Expecting to find domain in project. The server could not comply with the request since it is either malformed or otherwise incorrect.');
    }
    const domain = await domainByRef(this.repo, root, ref.domain);
    const p = domain ? await this.repo.projects.byName(root, domain.id, ref.name) : null;
    if (!p) throw unauthorized(`Could not find project: ${ref.name}.`);
    return toProject(p);
  }

  /** Keystone scopes to the default project only when it exists, is enabled and the user has a role there. */
  private async defaultProject(user: UserRecord): Promise<Project | null> {
    if (!user.default_project_id) return null;
    const root = this.store.root;
    const p = await this.repo.projects.byId(root, user.default_project_id);
    if (!p?.enabled) return null;
    const domain = await this.repo.domains.byId(root, p.domain_id);
    if (!domain?.enabled) return null;
    const roles = await directRoles(this.repo, root, user.id, p.id);
    return roles.length > 0 ? toProject(p) : null;
  }
}
