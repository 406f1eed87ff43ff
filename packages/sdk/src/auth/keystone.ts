/**
 * Keystone v3 authentication (password, application credential, token) with single-flight refresh.
 * @packageDocumentation
 */
import { AuthError, isHttpError } from '../errors.js';
import type { TokenProvider } from '../transport/middleware/auth.js';
import { buildRequest } from '../transport/request.js';
import type { Handler } from '../transport/types.js';
import { isRecord } from '../util/objects.js';
import type { AccessInfo } from './access.js';
import { type CatalogEntry, ServiceCatalog } from './catalog.js';
import type { AuthOptions, AuthType } from './types.js';

/** An auth plugin that can produce {@link AccessInfo}. */
export interface AuthPlugin extends TokenProvider {
  /** Current access info, authenticating when needed. */
  getAccess(signal?: AbortSignal): Promise<AccessInfo>;
}

/** Options for {@link KeystoneAuth}. */
export interface KeystoneAuthOptions {
  /** Re-authenticate when the token expires within this many ms. Default 120 s (keystoneauth). */
  expirySkewMs?: number;
  /** Clock (tests). */
  now?: () => number;
}

/**
 * Picks the plugin name from explicit `authType` or the credentials present.
 *
 * @example
 * ```ts
 * resolveAuthType({ applicationCredentialId: 'x', applicationCredentialSecret: 'y' }); // 'v3applicationcredential'
 * ```
 */
export function resolveAuthType(auth: AuthOptions): AuthType {
  if (auth.authType) return auth.authType;
  if (auth.applicationCredentialSecret) return 'v3applicationcredential';
  if (auth.password !== undefined) return 'password';
  if (auth.token && auth.endpoint) return 'admin_token';
  if (auth.token) return 'token';
  return 'password';
}

/**
 * Builds the `POST /v3/auth/tokens` body for the given options.
 *
 * @example
 * ```ts
 * buildAuthBody({ username: 'u', password: 'p', userDomainName: 'Default', projectName: 'demo', projectDomainName: 'Default' });
 * ```
 */
export function buildAuthBody(auth: AuthOptions): Record<string, unknown> {
  const type = resolveAuthType(auth);
  let identity: Record<string, unknown>;
  if (type === 'v3applicationcredential') {
    if (!auth.applicationCredentialSecret)
      throw new AuthError('application credential auth needs applicationCredentialSecret');
    const cred: Record<string, unknown> = { secret: auth.applicationCredentialSecret };
    if (auth.applicationCredentialId) cred.id = auth.applicationCredentialId;
    else if (auth.applicationCredentialName) {
      cred.name = auth.applicationCredentialName;
      cred.user = userRef(auth);
    } else
      throw new AuthError('application credential auth needs applicationCredentialId or applicationCredentialName');
    return { auth: { identity: { methods: ['application_credential'], application_credential: cred } } };
  }
  if (type === 'token' || type === 'v3token') {
    if (!auth.token) throw new AuthError('token auth needs token');
    identity = { methods: ['token'], token: { id: auth.token } };
  } else {
    if (auth.password === undefined) throw new AuthError('password auth needs password');
    identity = { methods: ['password'], password: { user: { ...userRef(auth), password: auth.password } } };
  }
  const scope = buildScope(auth);
  return { auth: { identity, ...(scope === undefined ? {} : { scope }) } };
}

function domainRef(id: string | undefined, name: string | undefined): Record<string, string> | undefined {
  if (id) return { id };
  if (name) return { name };
  return undefined;
}

function userRef(auth: AuthOptions): Record<string, unknown> {
  if (auth.userId) return { id: auth.userId };
  if (!auth.username) throw new AuthError('auth needs username or userId');
  const domain =
    domainRef(auth.userDomainId, auth.userDomainName) ?? domainRef(auth.domainId, auth.domainName) ?? undefined;
  if (!domain) throw new AuthError('a username needs userDomainName or userDomainId');
  return { name: auth.username, domain };
}

function buildScope(auth: AuthOptions): unknown {
  if (auth.projectId) return { project: { id: auth.projectId } };
  if (auth.projectName) {
    const domain = domainRef(auth.projectDomainId, auth.projectDomainName) ?? domainRef(auth.domainId, auth.domainName);
    if (!domain) throw new AuthError('a projectName needs projectDomainName or projectDomainId');
    return { project: { name: auth.projectName, domain } };
  }
  if (auth.trustId) return { 'OS-TRUST:trust': { id: auth.trustId } };
  if (auth.systemScope) return { system: { all: true } };
  const domain = domainRef(auth.domainId, auth.domainName);
  if (domain) return { domain };
  return undefined;
}

/** `auth_url` → the tokens URL (appends `/v3` when the URL does not end in a version). @example `tokensUrl('http://k:5000') // 'http://k:5000/v3/auth/tokens'` */
export function tokensUrl(authUrl: string): string {
  const base = authUrl.replace(/\/+$/, '');
  return /\/v3(\.\d+)?$/.test(base) ? `${base}/auth/tokens` : `${base}/v3/auth/tokens`;
}

/**
 * Parses a token response body into {@link AccessInfo}.
 *
 * @example
 * ```ts
 * const access = parseTokenResponse('gAAAA…', body);
 * ```
 */
export function parseTokenResponse(token: string, body: unknown): AccessInfo {
  const t = isRecord(body) && isRecord(body.token) ? body.token : undefined;
  if (!t) throw new AuthError('Keystone response has no token body');
  const user = isRecord(t.user) ? t.user : {};
  const project = isRecord(t.project) ? t.project : undefined;
  const domain = isRecord(t.domain) ? t.domain : undefined;
  const expires = typeof t.expires_at === 'string' ? new Date(t.expires_at) : undefined;
  const roles = Array.isArray(t.roles) ? t.roles.filter(isRecord).map((r) => String(r.name)) : [];
  return {
    token,
    expiresAt: expires && !Number.isNaN(expires.getTime()) ? expires : undefined,
    userId: str(user.id),
    userName: str(user.name),
    projectId: str(project?.id),
    projectName: str(project?.name),
    domainId: str(domain?.id),
    roles,
    catalog: Array.isArray(t.catalog) ? new ServiceCatalog(t.catalog as CatalogEntry[]) : undefined,
  };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/**
 * Keystone v3 auth plugin: password, application credential or token. Concurrent callers share one
 * in-flight request; the token is refreshed `expirySkewMs` before it expires and after a 401.
 *
 * @example
 * ```ts
 * const auth = new KeystoneAuth({ authUrl, username, password, projectName, userDomainName, projectDomainName }, send);
 * const access = await auth.getAccess();
 * ```
 */
export class KeystoneAuth implements AuthPlugin {
  readonly canReauthenticate = true;
  readonly #options: AuthOptions;
  readonly #send: Handler;
  readonly #skew: number;
  readonly #now: () => number;
  #access: AccessInfo | undefined;
  #inflight: Promise<AccessInfo> | undefined;

  /**
   * @param options credentials and scope
   * @param send a pipeline handler (auth is skipped per request)
   */
  constructor(options: AuthOptions, send: Handler, extra: KeystoneAuthOptions = {}) {
    if (!options.authUrl) throw new AuthError('authUrl is required');
    this.#options = options;
    this.#send = send;
    this.#skew = extra.expirySkewMs ?? 120_000;
    this.#now = extra.now ?? Date.now;
  }

  async getAccess(signal?: AbortSignal): Promise<AccessInfo> {
    const current = this.#access;
    if (current && !this.#expiring(current)) return current;
    this.#inflight ??= this.#authenticate(signal).finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  async getToken(signal?: AbortSignal): Promise<string> {
    return (await this.getAccess(signal)).token;
  }

  currentToken(): string | undefined {
    const current = this.#access;
    return current && !this.#expiring(current) ? current.token : undefined;
  }

  invalidate(token: string): void {
    if (this.#access?.token === token) this.#access = undefined;
  }

  #expiring(access: AccessInfo): boolean {
    return access.expiresAt !== undefined && access.expiresAt.getTime() - this.#skew <= this.#now();
  }

  async #authenticate(signal: AbortSignal | undefined): Promise<AccessInfo> {
    const body = buildAuthBody(this.#options);
    const type = resolveAuthType(this.#options);
    const headers: Record<string, string> = {};
    if ((type === 'token' || type === 'v3token') && this.#options.token) headers['x-auth-token'] = this.#options.token;
    try {
      const res = await this.#send(
        buildRequest('POST', tokensUrl(this.#options.authUrl as string), {
          body,
          headers,
          signal,
          skipAuth: true,
          retry: { idempotent: true },
        }),
      );
      const token = res.headers.get('x-subject-token');
      if (!token) throw new AuthError('Keystone response has no X-Subject-Token header');
      const access = parseTokenResponse(token, res.body);
      this.#access = access;
      return access;
    } catch (e) {
      if (isHttpError(e) && (e.status === 401 || e.status === 403 || e.status === 400)) {
        throw new AuthError(`Keystone authentication failed: ${e.message}`, { cause: e });
      }
      throw e;
    }
  }
}

/**
 * Fixed-token auth (`admin_token`/`token_endpoint`, `none`): no Keystone, no catalog, no re-auth.
 *
 * @example
 * ```ts
 * const auth = new StaticTokenAuth('admin:admin', 'http://127.0.0.1:8776/v3/admin');
 * ```
 */
export class StaticTokenAuth implements AuthPlugin {
  readonly canReauthenticate = false;
  readonly #token: string;

  constructor(
    token: string,
    readonly endpoint?: string,
  ) {
    this.#token = token;
  }

  async getAccess(): Promise<AccessInfo> {
    return {
      token: this.#token,
      expiresAt: undefined,
      userId: undefined,
      userName: undefined,
      projectId: undefined,
      projectName: undefined,
      domainId: undefined,
      roles: [],
      catalog: undefined,
    };
  }

  async getToken(): Promise<string> {
    return this.#token;
  }

  currentToken(): string {
    return this.#token;
  }

  invalidate(): void {}
}
