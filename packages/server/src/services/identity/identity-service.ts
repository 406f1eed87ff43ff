import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { ServerConfig } from '../../config/config.js';
import type { AuthContext, TokenValidator } from '../../domain/auth-context.js';
import type { Clock } from '../../domain/time.js';
import { storedTime } from '../../domain/time.js';
import { DuplicateEntry } from '../../domain/identity.js';
import type { IdentityStore } from '../../domain/ports/identity-store.js';
import type { MetadataStore } from '../../domain/ports/metadata-store.js';
import { DomainDirectory } from './domains.js';
import { LoginThrottle } from './login-throttle.js';
import { PasswordHasher } from './passwords.js';
import { ProjectDirectory } from './projects.js';
import { RoleDirectory } from './roles.js';
import { newId } from './store-helpers.js';
import { TokenService } from './tokens.js';
import { UserDirectory } from './users.js';

export interface IdentityDeps {
  store: MetadataStore;
  identityStore: IdentityStore;
  clock: Clock;
  config: ServerConfig;
  logger: Logger;
  /** log2 of scrypt's N; only tests lower it (the default costs ~0.1 s per hash). */
  scryptLogN?: number;
}

/** The Keystone subset: token issue/validation plus the small directory python-openstackclient manages. */
export class IdentityService implements TokenValidator {
  readonly tokens: TokenService;
  readonly domains: DomainDirectory;
  readonly projects: ProjectDirectory;
  readonly users: UserDirectory;
  readonly roles: RoleDirectory;
  private readonly passwords: PasswordHasher;

  constructor(private readonly deps: IdentityDeps) {
    const { store, identityStore: repo, clock, config } = deps;
    this.passwords = new PasswordHasher(deps.scryptLogN);
    this.tokens = new TokenService(store, repo, clock, config.tokenTtlSeconds, this.passwords, undefined, new LoginThrottle(clock, config.loginThrottle));
    this.domains = new DomainDirectory(store, repo);
    this.projects = new ProjectDirectory(store, repo, clock, this.tokens);
    this.users = new UserDirectory(store, repo, clock, this.tokens, this.passwords);
    this.roles = new RoleDirectory(store, repo, this.tokens);
  }

  cached(token: string): AuthContext | null {
    return this.tokens.cached(token);
  }

  validate(token: string): Promise<AuthContext | null> {
    return this.tokens.validate(token);
  }

  /**
   * Runs at every start. On an empty store it creates exactly: domain `default`, roles admin/member/reader,
   * project and user `admin`, and the admin grant; returns the admin password. Otherwise returns null.
   */
  async bootstrap(): Promise<{ adminPassword: string; generated: boolean } | null> {
    const { store, identityStore: repo, clock, config, logger } = this.deps;
    await this.tokens.purgeExpired();
    if (await repo.domains.any(store.root)) return null;
    const generated = config.bootstrapAdminPassword === null;
    const adminPassword = config.bootstrapAdminPassword ?? randomBytes(18).toString('base64url');
    const passwordHash = await this.passwords.hash(adminPassword);
    const now = storedTime(clock.now());
    const roleIds = { admin: newId(), member: newId(), reader: newId() };
    const projectId = newId();
    const userId = newId();
    try {
      await store.transaction(async (tx) => {
        await repo.domains.insert(tx, { id: 'default', name: 'Default', description: 'The default domain', enabled: true, created_at: now });
        for (const [name, id] of Object.entries(roleIds)) {
          await repo.roles.insert(tx, { id, name, domain_id: null, description: null, created_at: now });
        }
        await repo.projects.insert(tx, {
          id: projectId,
          name: 'admin',
          domain_id: 'default',
          description: 'Bootstrap project for initializing the cloud.',
          enabled: true,
          parent_id: 'default',
          is_domain: false,
          tags: [],
          options: {},
          extra: {},
          created_at: now,
        });
        await repo.users.insert(tx, {
          id: userId,
          name: 'admin',
          domain_id: 'default',
          default_project_id: null,
          password_hash: passwordHash,
          email: null,
          description: null,
          enabled: true,
          options: {},
          extra: {},
          password_expires_at: null,
          created_at: now,
        });
        await repo.grants.insert(tx, { project_id: projectId, user_id: userId, role_id: roleIds.admin });
      });
    } catch (e) {
      // Another node sharing the database bootstrapped first.
      if (e instanceof DuplicateEntry) return null;
      throw e;
    }
    logger.info({ generated }, 'identity bootstrapped: domain default, roles admin/member/reader, user and project admin');
    return { adminPassword, generated };
  }
}
