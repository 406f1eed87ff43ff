/**
 * A client bound to one service: endpoint resolution, version discovery, microversion negotiation.
 * @packageDocumentation
 */
import type { AccessInfo } from '../auth/access.js';
import type { AuthPlugin } from '../auth/keystone.js';
import { EndpointNotFoundError, MicroversionNotSupportedError } from '../errors.js';
import type { Pipeline } from '../transport/pipeline.js';
import { buildRequest, type QueryValue } from '../transport/request.js';
import type { CallOptions, HttpMethod, HttpResponse, Logger, RawBody, ResponseType } from '../transport/types.js';
import { compareMicroversions, minMicroversion } from '../util/microversion.js';
import { isRecord } from '../util/objects.js';
import { parseVersions, pickVersion, splitVersionedUrl, type VersionEntry } from './discovery.js';

/** How a {@link ServiceClient} finds and talks to its service. */
export interface ServiceClientOptions {
  /** Catalog service type (aliases are followed), e.g. `block-storage`. */
  serviceType: string;
  /** Major API version wanted (2 or 3 for block storage). */
  apiVersion: number;
  /** Name used in `OpenStack-API-Version` (`volume`); undefined disables microversions. */
  microversionService?: string | undefined;
  /** Highest microversion this client understands. */
  clientMaxMicroversion?: string | undefined;
  /** Pin a microversion instead of negotiating (checked against the server range). */
  defaultMicroversion?: string | undefined;
  interface?: string | string[] | undefined;
  regionName?: string | undefined;
  /** Endpoint to use instead of the catalog; `%(project_id)s`, `{project_id}` are substituted. */
  endpointOverride?: string | undefined;
  /** Append the project id when the endpoint lacks it (v2 block storage, CBR). */
  requireProjectId?: boolean | undefined;
  /** Skip version discovery (no microversions will be sent). */
  skipDiscovery?: boolean | undefined;
  /** Endpoint used when the catalog has none for the service (e.g. Keystone's auth URL for identity). */
  fallbackEndpoint?: string | undefined;
}

/** Resolved endpoint and version range. */
export interface ServiceInfo {
  /** Base URL requests are made against (no trailing slash). */
  endpoint: string;
  minMicroversion: string | undefined;
  maxMicroversion: string | undefined;
}

/** Options of one service request. */
export interface ServiceRequestOptions extends CallOptions {
  query?: Record<string, QueryValue> | undefined;
  body?: unknown;
  /** Operation name for error messages. */
  operation?: string | undefined;
  /** Minimum microversion the operation (or a field it sends) needs; checked before sending. */
  minMicroversion?: string | undefined;
  /** Resource cap (openstacksdk `_max_microversion`); the negotiated version never exceeds it. */
  maxMicroversion?: string | undefined;
  /** Send exactly this microversion (still validated against the server range). */
  microversion?: string | undefined;
  /**
   * Raw (non-JSON) body: bytes, text, Blob or a stream; set `content-type` in `headers`
   * (default application/octet-stream). Requests with a stream body are sent once (never retried) and get no
   * default per-attempt timeout.
   */
  rawBody?: RawBody | undefined;
  /** `stream`: a successful response is returned unread in `res.stream` (errors are still parsed and thrown). */
  responseType?: ResponseType | undefined;
}

/**
 * Sends requests to one service through the connection's pipeline. Endpoint lookup and version
 * discovery happen once, lazily, shared by concurrent callers.
 *
 * @example
 * ```ts
 * const res = await conn.blockStorage.client.request('GET', '/snapshots/detail', { query: { limit: 5 } });
 * ```
 */
export class ServiceClient {
  readonly options: ServiceClientOptions;
  readonly #pipeline: Pipeline;
  readonly #auth: AuthPlugin;
  readonly #logger: Logger | undefined;
  #info: Promise<ServiceInfo> | undefined;
  /** The settled {@link info}, so a request after discovery neither awaits it nor re-negotiates. */
  #resolved: ServiceInfo | undefined;
  /** Negotiated microversion per resource cap ('' = no cap), for {@link #resolved}. */
  readonly #picked = new Map<string, string | undefined>();

  constructor(pipeline: Pipeline, auth: AuthPlugin, options: ServiceClientOptions, logger?: Logger) {
    this.#pipeline = pipeline;
    this.#auth = auth;
    this.options = options;
    this.#logger = logger;
  }

  /** Resolves (once) the endpoint and the server's microversion range. */
  info(signal?: AbortSignal): Promise<ServiceInfo> {
    this.#info ??= this.#resolve(signal).then(
      (info) => {
        this.#resolved = info;
        this.#picked.clear();
        return info;
      },
      (e: unknown) => {
        this.#info = undefined;
        throw e;
      },
    );
    return this.#info;
  }

  /**
   * The microversion that would be sent: the pinned default, else `min(cap, client max, server max)`;
   * undefined when the server has no microversions.
   */
  async negotiatedMicroversion(cap?: string, signal?: AbortSignal): Promise<string | undefined> {
    const info = await this.info(signal);
    return this.#pick(info, cap);
  }

  /**
   * The service's version documents: every version the root lists (`GET /`, no token needed), or with `current`
   * only the document of the major version this client uses (`GET /vN/`).
   *
   * @example
   * ```ts
   * const [v3] = await conn.blockStorage.client.versions({ current: true });
   * console.log(v3?.maxMicroversion);
   * ```
   */
  async versions(options: CallOptions & { current?: boolean } = {}): Promise<VersionEntry[]> {
    const { current, ...call } = options;
    const { endpoint } = await this.info(call.signal);
    const { root, version } = splitVersionedUrl(endpoint);
    const url = current ? `${root}/${version ?? `v${this.options.apiVersion}`}/` : `${root}/`;
    // Cinder answers its root with 300 Multiple Choices, which the pipeline passes through as a response.
    const res = await this.#pipeline.handle(buildRequest('GET', url, { ...call, skipAuth: !current }));
    return parseVersions(res.body);
  }

  /** The token's project id (used for quotas, v2 URLs). */
  async projectId(signal?: AbortSignal): Promise<string | undefined> {
    return (await this.#auth.getAccess(signal)).projectId;
  }

  /** Whether the negotiated version reaches `version`. */
  async supportsMicroversion(version: string, cap?: string, signal?: AbortSignal): Promise<boolean> {
    const mv = await this.negotiatedMicroversion(cap, signal);
    return mv !== undefined && compareMicroversions(mv, version) >= 0;
  }

  #pickCached(info: ServiceInfo, cap: string | undefined): string | undefined {
    if (info !== this.#resolved) return this.#pick(info, cap);
    const key = cap ?? '';
    if (this.#picked.has(key)) return this.#picked.get(key);
    const mv = this.#pick(info, cap);
    this.#picked.set(key, mv);
    return mv;
  }

  #pick(info: ServiceInfo, cap: string | undefined): string | undefined {
    if (!this.options.microversionService || info.maxMicroversion === undefined) return undefined;
    if (this.options.defaultMicroversion) return this.options.defaultMicroversion;
    let mv = info.maxMicroversion;
    if (this.options.clientMaxMicroversion) mv = minMicroversion(mv, this.options.clientMaxMicroversion);
    if (cap) mv = minMicroversion(mv, cap);
    if (info.minMicroversion && compareMicroversions(mv, info.minMicroversion) < 0) return undefined;
    return mv;
  }

  /**
   * Sends a request relative to the service endpoint. Errors arrive as typed {@link HttpError}s.
   *
   * @example
   * ```ts
   * await client.request('POST', `/snapshots/${id}/action`, { body: { 'os-force_delete': null } });
   * ```
   */
  async request(method: HttpMethod, path: string, options: ServiceRequestOptions = {}): Promise<HttpResponse> {
    const info = this.#resolved ?? (await this.info(options.signal));
    let mv = options.microversion ?? this.#pickCached(info, options.maxMicroversion);
    if (
      options.microversion &&
      info.maxMicroversion &&
      compareMicroversions(options.microversion, info.maxMicroversion) > 0
    ) {
      throw new MicroversionNotSupportedError(
        options.operation ?? `${method} ${path}`,
        options.microversion,
        info.maxMicroversion,
      );
    }
    if (options.minMicroversion) {
      if (mv === undefined || compareMicroversions(mv, options.minMicroversion) < 0) {
        throw new MicroversionNotSupportedError(options.operation ?? `${method} ${path}`, options.minMicroversion, mv);
      }
    }
    if (!this.options.microversionService) mv = undefined;
    const url = path.startsWith('http://') || path.startsWith('https://') ? path : `${info.endpoint}${path}`;
    return this.#pipeline.handle(
      buildRequest(method, url, {
        ...options,
        microversion: mv,
        microversionService: this.options.microversionService,
      }),
    );
  }

  async #resolve(signal: AbortSignal | undefined): Promise<ServiceInfo> {
    const access = await this.#auth.getAccess(signal);
    let endpoint: string;
    if (this.options.endpointOverride) {
      endpoint = this.options.endpointOverride;
    } else if (access.catalog && (!this.options.fallbackEndpoint || this.#inCatalog(access.catalog))) {
      const candidates = access.catalog.endpointsFor({
        serviceType: this.options.serviceType,
        interface: this.options.interface,
        region: this.options.regionName,
      });
      const wanted = `v${this.options.apiVersion}`;
      endpoint =
        candidates.find((c) => splitVersionedUrl(c).version?.split('.')[0] === wanted) ??
        candidates[0] ??
        access.catalog.endpointFor({
          serviceType: this.options.serviceType,
          interface: this.options.interface,
          region: this.options.regionName,
        });
    } else if (this.options.fallbackEndpoint) {
      endpoint = this.options.fallbackEndpoint;
    } else {
      throw new EndpointNotFoundError(`no catalog and no endpoint override for ${this.options.serviceType}`);
    }
    endpoint = substituteProject(endpoint, access.projectId, access.userId).replace(/\/+$/, '');
    let min: string | undefined;
    let max: string | undefined;
    if (!this.options.skipDiscovery) {
      const found = await this.#discover(endpoint, signal);
      if (found) {
        endpoint = found.endpoint;
        min = found.min;
        max = found.max;
      }
    }
    if (this.options.requireProjectId && access.projectId && !endpoint.split('/').includes(access.projectId)) {
      endpoint = `${endpoint}/${access.projectId}`;
    }
    const info: ServiceInfo = { endpoint, minMicroversion: min, maxMicroversion: max };
    const pinned = this.options.defaultMicroversion;
    if (pinned && max && (compareMicroversions(pinned, max) > 0 || (min && compareMicroversions(pinned, min) < 0))) {
      throw new MicroversionNotSupportedError(
        `default microversion for ${this.options.serviceType}`,
        pinned,
        `server range ${min ?? '?'}-${max}`,
      );
    }
    return info;
  }

  #inCatalog(catalog: NonNullable<AccessInfo['catalog']>): boolean {
    return (
      catalog.endpointsFor({
        serviceType: this.options.serviceType,
        interface: this.options.interface,
        region: this.options.regionName,
      }).length > 0
    );
  }

  async #discover(
    endpoint: string,
    signal: AbortSignal | undefined,
  ): Promise<{ endpoint: string; min: string | undefined; max: string | undefined } | undefined> {
    const { root, version, suffix } = splitVersionedUrl(endpoint);
    const attempts: Array<{ url: string; skipAuth: boolean }> = [{ url: `${root}/`, skipAuth: true }];
    if (version) attempts.push({ url: `${root}/${version}/`, skipAuth: false });
    for (const attempt of attempts) {
      try {
        const res = await this.#pipeline.handle(
          buildRequest('GET', attempt.url, { signal, skipAuth: attempt.skipAuth, retry: { maxAttempts: 1 } }),
        );
        const entry = pickVersion(parseVersions(res.body), this.options.apiVersion);
        if (!entry) continue;
        let resolved = endpoint;
        if (version?.split('.')[0] !== `v${this.options.apiVersion}` && entry.selfUrl) {
          resolved = `${entry.selfUrl.replace(/\/+$/, '')}${suffix ? `/${suffix}` : ''}`;
        }
        return { endpoint: resolved, min: entry.minMicroversion, max: entry.maxMicroversion };
      } catch (e) {
        const status = isRecord(e) && typeof e.status === 'number' ? e.status : undefined;
        // 300 Multiple Choices is the normal answer of Cinder's root; the errors step only throws ≥ 400.
        this.#logger?.debug(`version discovery at ${attempt.url} failed`, { status, error: String(e) });
      }
    }
    return undefined;
  }
}

/**
 * Substitutes `%(project_id)s`, `$(project_id)s`, `{project_id}` (and the same for `user_id`).
 *
 * @example
 * ```ts
 * substituteProject('http://h/v3/%(project_id)s', 'p1'); // 'http://h/v3/p1'
 * ```
 */
export function substituteProject(url: string, projectId: string | undefined, userId?: string): string {
  let out = url;
  for (const [key, value] of [
    ['project_id', projectId],
    ['tenant_id', projectId],
    ['user_id', userId],
  ] as const) {
    if (value === undefined) continue;
    out = out.replaceAll(`%(${key})s`, value).replaceAll(`$(${key})s`, value).replaceAll(`{${key}}`, value);
  }
  return out;
}
