/**
 * The SDK entry point.
 * @packageDocumentation
 */
import { BLOCK_STORAGE_MAX_MICROVERSION } from '@cinderbox/api-schema';
import type { AccessInfo } from './auth/access.js';
import { type AuthPlugin, KeystoneAuth, resolveAuthType, StaticTokenAuth } from './auth/keystone.js';
import type { AuthOptions, AuthType } from './auth/types.js';
import { BlockStorageV2 } from './block-storage/v2/proxy.js';
import { BlockStorageV3 } from './block-storage/v3/proxy.js';
import type { CloudConfig, ServiceConfig } from './config/cloud-config.js';
import { type LoadCloudConfigOptions, loadCloudConfig } from './config/loader.js';
import { AuthError } from './errors.js';
import { CbrV3 } from './cbr/proxy.js';
import { IdentityV3 } from './identity/proxy.js';
import { ServiceClient, type ServiceClientOptions } from './service/service-client.js';
import { createPipeline } from './transport/create-pipeline.js';
import type { FetchLike } from './transport/fetch-handler.js';
import type { Pipeline } from './transport/pipeline.js';
import type { Logger, RetryPolicy } from './transport/types.js';
import type { Sleep } from './util/abort.js';

/** Client-side maximum microversion for block storage: the contract's, so SDK and server move together. */
export { BLOCK_STORAGE_MAX_MICROVERSION };

/**
 * Options of a {@link Connection}.
 *
 * @example
 * ```ts
 * const conn = new Connection({
 *   auth: { authUrl, username: 'admin', password, projectName: 'admin', userDomainName: 'Default', projectDomainName: 'Default' },
 *   regionName: 'RegionOne',
 *   retry: { maxAttempts: 4 },
 * });
 * ```
 */
export interface ConnectionOptions {
  /** Credentials and scope. */
  auth: AuthOptions;
  /** Auth plugin (default from the credentials given). */
  authType?: AuthType | undefined;
  /** Region for catalog lookups. */
  regionName?: string | undefined;
  /** Interface or preference list (default `public`). */
  interface?: string | string[] | undefined;
  /** Block-storage settings (api version, endpoint override, default microversion). */
  blockStorage?: ServiceConfig | undefined;
  /** CBR settings (endpoint override, interface, region); default: the catalog entry of type `cbr`. */
  cbr?: Pick<ServiceConfig, 'endpointOverride' | 'interface' | 'regionName'> | undefined;
  /** Identity settings (endpoint override, interface, region); default: the catalog, else the auth URL. */
  identity?: Pick<ServiceConfig, 'endpointOverride' | 'interface' | 'regionName'> | undefined;
  /** Retry policy defaults. */
  retry?: Partial<RetryPolicy> | undefined;
  /** Per-attempt timeout (default 60 s). */
  timeoutMs?: number | undefined;
  /** Debug logger (credentials are redacted). */
  logger?: Logger | undefined;
  /** fetch implementation. Default: keep-alive connections for JSON calls (a built-in HTTP/1.1 pool for http, node:https agents for https), global fetch for raw/streamed bodies; when given, every request goes through it. */
  fetch?: FetchLike | undefined;
  userAgent?: string | undefined;
  /** Fixed `X-OpenStack-Request-ID` to send on every call (default: a new id per call). */
  globalRequestId?: string | undefined;
  /** Injected sleep for retry backoff (tests). */
  sleep?: Sleep | undefined;
  /** Injected randomness for jitter (tests). */
  random?: (() => number) | undefined;
}

/**
 * Converts a loaded cloud to connection options.
 *
 * @example
 * ```ts
 * const conn = new Connection(connectionOptionsFromCloud(loadCloudConfig({ cloud: 'cinderbox' })));
 * ```
 */
export function connectionOptionsFromCloud(
  cfg: CloudConfig,
  extra: Partial<ConnectionOptions> = {},
): ConnectionOptions {
  const retries = cfg.blockStorage.statusCodeRetries;
  return {
    auth: cfg.auth,
    authType: cfg.authType,
    regionName: cfg.regionName,
    interface: cfg.interface,
    blockStorage: cfg.blockStorage,
    ...(cfg.apiTimeout !== undefined ? { timeoutMs: cfg.apiTimeout * 1000 } : {}),
    ...(retries !== undefined ? { retry: { maxAttempts: retries + 1 } } : {}),
    ...extra,
  };
}

/**
 * A connection to one cloud: the request pipeline, authentication and lazily built service proxies.
 *
 * @example
 * ```ts
 * const conn = await Connection.fromCloud('cinderbox');
 * for await (const snap of conn.blockStorage.snapshots()) console.log(snap.id, snap.status);
 * ```
 */
export class Connection {
  /** The middleware pipeline; add, replace or remove named steps. */
  readonly pipeline: Pipeline;
  /** The auth plugin. */
  readonly auth: AuthPlugin;
  readonly options: ConnectionOptions;
  #blockStorage: BlockStorageV3 | undefined;
  #blockStorageV2: BlockStorageV2 | undefined;
  #identity: IdentityV3 | undefined;
  #cbr: CbrV3 | undefined;

  constructor(options: ConnectionOptions) {
    this.options = options;
    const authOptions: AuthOptions = { ...options.auth, authType: options.authType ?? options.auth.authType };
    const type = resolveAuthType(authOptions);
    if (type === 'admin_token' || type === 'token_endpoint' || type === 'none') {
      if (type !== 'none' && !authOptions.token) throw new AuthError(`${type} auth needs token`);
      this.auth = new StaticTokenAuth(authOptions.token ?? '', authOptions.endpoint);
    } else {
      this.auth = new KeystoneAuth(authOptions, (req) => this.pipeline.handle(req));
    }
    this.pipeline = createPipeline({
      fetch: options.fetch,
      userAgent: options.userAgent,
      tokenProvider: type === 'none' ? undefined : this.auth,
      retry: options.retry,
      timeoutMs: options.timeoutMs,
      logger: options.logger,
      globalRequestId: options.globalRequestId,
      sleep: options.sleep,
      random: options.random,
    });
  }

  /**
   * Loads a cloud from clouds.yaml/secure.yaml/`OS_*` (openstacksdk precedence) and connects.
   *
   * @example
   * ```ts
   * const conn = await Connection.fromCloud(); // OS_CLOUD, or the env cloud, or the only cloud
   * ```
   */
  static async fromCloud(
    cloud?: string,
    options: Omit<LoadCloudConfigOptions, 'cloud'> & Partial<ConnectionOptions> = {},
  ): Promise<Connection> {
    const cfg = loadCloudConfig({ ...options, cloud });
    const {
      cwd: _c,
      homeDir: _h,
      env: _e,
      platform: _p,
      regionName: _r,
      configFiles: _f,
      readFile: _rf,
      ...extra
    } = options;
    return new Connection(connectionOptionsFromCloud(cfg, extra));
  }

  /**
   * Authenticates (or returns the cached token) and returns the access info.
   *
   * @example
   * ```ts
   * const { projectId, expiresAt } = await conn.authorize();
   * ```
   */
  authorize(signal?: AbortSignal): Promise<AccessInfo> {
    return this.auth.getAccess(signal);
  }

  /**
   * Builds a service client for any catalog service (used by the proxies; useful for raw calls).
   *
   * @example
   * ```ts
   * const c = conn.serviceClient({ serviceType: 'block-storage', apiVersion: 3, microversionService: 'volume' });
   * ```
   */
  serviceClient(options: ServiceClientOptions): ServiceClient {
    return new ServiceClient(
      this.pipeline,
      this.auth,
      {
        interface: this.options.interface,
        regionName: this.options.regionName,
        ...options,
      },
      this.options.logger,
    );
  }

  #blockStorageClient(apiVersion: 2 | 3): ServiceClient {
    const cfg = this.options.blockStorage ?? {};
    const override = cfg.endpointOverride ?? (this.auth instanceof StaticTokenAuth ? this.auth.endpoint : undefined);
    return this.serviceClient({
      serviceType: apiVersion === 2 ? 'volumev2' : 'block-storage',
      apiVersion,
      microversionService: apiVersion === 3 ? 'volume' : undefined,
      clientMaxMicroversion: BLOCK_STORAGE_MAX_MICROVERSION,
      defaultMicroversion: apiVersion === 3 ? cfg.defaultMicroversion : undefined,
      interface: cfg.interface ?? this.options.interface,
      regionName: cfg.regionName ?? this.options.regionName,
      endpointOverride: override,
      requireProjectId: apiVersion === 2,
    });
  }

  /**
   * Block Storage v3 proxy (built on first use).
   *
   * @example
   * ```ts
   * const snap = await conn.blockStorage.createSnapshot({ volumeId, name: 'nightly' });
   * ```
   */
  get blockStorage(): BlockStorageV3 {
    this.#blockStorage ??= new BlockStorageV3(this.#blockStorageClient(3));
    return this.#blockStorage;
  }

  /**
   * Identity (Keystone v3) proxy: projects, users, roles, grants, role assignments, domains.
   *
   * @example
   * ```ts
   * const p = await conn.identity.createProject({ name: 'team-a', domainId: 'default' });
   * ```
   */
  get identity(): IdentityV3 {
    if (!this.#identity) {
      const cfg = this.options.identity ?? {};
      const authUrl = this.options.auth.authUrl?.replace(/\/+$/, '');
      this.#identity = new IdentityV3(
        this.serviceClient({
          serviceType: 'identity',
          apiVersion: 3,
          skipDiscovery: true,
          interface: cfg.interface ?? this.options.interface,
          regionName: cfg.regionName ?? this.options.regionName,
          endpointOverride: cfg.endpointOverride,
          fallbackEndpoint: authUrl === undefined ? undefined : /\/v3$/.test(authUrl) ? authUrl : `${authUrl}/v3`,
        }),
      );
    }
    return this.#identity;
  }

  /**
   * CBR v3 proxy (vaults, policies, checkpoints, backups, restores, members, tasks). The project id is appended to
   * the catalog URL when it is missing (otcextensions' `append_project_id`).
   *
   * @example
   * ```ts
   * for await (const v of conn.cbr.vaults()) console.log(v.name, v.billing?.protectType);
   * ```
   */
  get cbr(): CbrV3 {
    if (!this.#cbr) {
      const cfg = this.options.cbr ?? {};
      this.#cbr = new CbrV3(
        this.serviceClient({
          serviceType: 'cbr',
          apiVersion: 3,
          skipDiscovery: true,
          requireProjectId: true,
          interface: cfg.interface ?? this.options.interface,
          regionName: cfg.regionName ?? this.options.regionName,
          endpointOverride: cfg.endpointOverride,
        }),
      );
    }
    return this.#cbr;
  }

  /**
   * Block Storage v2 proxy (legacy `/v2/{project_id}`).
   *
   * @example
   * ```ts
   * await conn.blockStorageV2.snapshots().toArray();
   * ```
   */
  get blockStorageV2(): BlockStorageV2 {
    this.#blockStorageV2 ??= new BlockStorageV2(this.#blockStorageClient(2));
    return this.#blockStorageV2;
  }
}
