/**
 * clouds.yaml / secure.yaml / clouds-public.yaml / OS_* loading with openstacksdk's precedence.
 * @packageDocumentation
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { AuthOptions, AuthType } from '../auth/types.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../transport/types.js';
import { parseMicroversion } from '../util/microversion.js';
import { deepMerge, isRecord } from '../util/objects.js';
import type { CloudConfig, ServiceConfig } from './cloud-config.js';
import { cloudFromEnv } from './env.js';
import { normalizeCloud } from './normalize.js';
import { configCandidates, type SearchPathOptions } from './paths.js';

/** Options for {@link loadCloudConfig}. */
export interface LoadCloudConfigOptions extends SearchPathOptions {
  /** Cloud name; default `OS_CLOUD`, then the env cloud, then the only cloud defined. */
  cloud?: string | undefined;
  /** Region to select from `regions:` (default `OS_REGION_NAME`, then the cloud's `region_name`, then the first region). */
  regionName?: string | undefined;
  /** Explicit clouds.yaml path(s) tried before the search path. */
  configFiles?: string[] | undefined;
  /** Reads a file; injectable for tests. Returns undefined when it does not exist. */
  readFile?: ((path: string) => string | undefined) | undefined;
  /** Receives warnings about unreadable or malformed files. */
  logger?: Logger | undefined;
}

/** Service-type prefixes for per-service keys, in lookup order. @example `SERVICE_KEY_PREFIXES.blockStorage[0] // 'block_storage'` */
export const SERVICE_KEY_PREFIXES = {
  blockStorage: ['block_storage', 'volumev3', 'volumev2', 'volume', 'block_store'],
  cbr: ['cbr'],
  identity: ['identity'],
} as const;

function defaultReadFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}

interface LoadedFile {
  path: string;
  data: Record<string, unknown>;
}

/**
 * Finds and parses the first existing file among the candidates. Unreadable or unparsable files
 * are skipped with a warning (openstacksdk behaviour).
 *
 * @example
 * ```ts
 * const f = loadFirstFile(['/etc/openstack/clouds.yaml']);
 * ```
 */
export function loadFirstFile(
  candidates: readonly string[],
  readFile: (path: string) => string | undefined = defaultReadFile,
  logger?: Logger,
): LoadedFile | undefined {
  for (const path of candidates) {
    let text: string | undefined;
    try {
      text = readFile(path);
    } catch (e) {
      logger?.warn?.(`skipping unreadable config file ${path}: ${(e as Error).message}`);
      continue;
    }
    if (text === undefined) continue;
    try {
      const data = path.endsWith('.json') ? (JSON.parse(text) as unknown) : (parseYaml(text) as unknown);
      if (!isRecord(data)) {
        logger?.warn?.(`config file ${path} is not a mapping; skipped`);
        continue;
      }
      return { path, data };
    } catch (e) {
      logger?.warn?.(`skipping unparsable config file ${path}: ${(e as Error).message}`);
    }
  }
  return undefined;
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
  return undefined;
}

function strOrList(v: unknown): string | string[] | undefined {
  if (Array.isArray(v)) return v.map(String);
  if (typeof v === 'string' && v.includes(',')) return v.split(',').map((s) => s.trim());
  return str(v);
}

/**
 * Reads a per-service key through the alias chain (`block_storage_api_version`, `volume_api_version`, …),
 * optionally falling back to the unprefixed key.
 *
 * @example
 * ```ts
 * serviceKey({ volume_api_version: '3' }, SERVICE_KEY_PREFIXES.blockStorage, 'api_version'); // '3'
 * ```
 */
export function serviceKey(
  cloud: Record<string, unknown>,
  prefixes: readonly string[],
  key: string,
  fallback = false,
): unknown {
  for (const prefix of prefixes) {
    const v = cloud[`${prefix}_${key}`];
    if (v !== undefined && v !== null) return v;
  }
  return fallback ? cloud[key] : undefined;
}

function serviceConfig(cloud: Record<string, unknown>, prefixes: readonly string[]): ServiceConfig {
  const version = str(serviceKey(cloud, prefixes, 'api_version'));
  let apiVersion = version;
  let defaultMicroversion = str(serviceKey(cloud, prefixes, 'default_microversion'));
  const parsed = parseMicroversion(version);
  if (version && parsed && /\./.test(version) && parsed.minor > 0) {
    apiVersion = String(parsed.major);
    defaultMicroversion ??= version;
  } else if (parsed) {
    apiVersion = String(parsed.major);
  }
  return {
    apiVersion,
    defaultMicroversion,
    endpointOverride:
      str(serviceKey(cloud, prefixes, 'endpoint_override')) ?? str(serviceKey(cloud, prefixes, 'endpoint')),
    interface: strOrList(serviceKey(cloud, prefixes, 'interface', true)),
    regionName: str(serviceKey(cloud, prefixes, 'region_name', true)),
    statusCodeRetries: num(serviceKey(cloud, prefixes, 'status_code_retries', true)),
    connectRetries: num(serviceKey(cloud, prefixes, 'connect_retries', true)),
  };
}

const AUTH_FIELD_MAP: Record<string, keyof AuthOptions> = {
  auth_url: 'authUrl',
  username: 'username',
  user_id: 'userId',
  password: 'password',
  user_domain_name: 'userDomainName',
  user_domain_id: 'userDomainId',
  project_name: 'projectName',
  project_id: 'projectId',
  project_domain_name: 'projectDomainName',
  project_domain_id: 'projectDomainId',
  domain_name: 'domainName',
  domain_id: 'domainId',
  system_scope: 'systemScope',
  trust_id: 'trustId',
  application_credential_id: 'applicationCredentialId',
  application_credential_name: 'applicationCredentialName',
  application_credential_secret: 'applicationCredentialSecret',
  token: 'token',
  endpoint: 'endpoint',
};

/**
 * Converts a normalised `auth:` mapping to {@link AuthOptions}.
 *
 * @example
 * ```ts
 * authOptionsFromConfig({ auth_url: 'http://k/v3', username: 'u' }, 'password').username; // 'u'
 * ```
 */
export function authOptionsFromConfig(auth: Record<string, unknown>, authType: AuthType): AuthOptions {
  const out: AuthOptions = { authType };
  for (const [wire, attr] of Object.entries(AUTH_FIELD_MAP)) {
    const v = str(auth[wire]);
    if (v !== undefined) (out as Record<string, unknown>)[attr] = v;
  }
  return out;
}

function selectRegion(cloud: Record<string, unknown>, wanted: string | undefined): Record<string, unknown> {
  const regions = cloud.regions;
  if (!Array.isArray(regions) || regions.length === 0) {
    return wanted ? { ...cloud, region_name: wanted } : cloud;
  }
  const entries = regions.map((r) =>
    isRecord(r)
      ? { name: str(r.name) ?? '', values: isRecord(r.values) ? r.values : {} }
      : { name: String(r), values: {} },
  );
  const name = wanted ?? str(cloud.region_name) ?? entries[0]?.name;
  const entry = entries.find((e) => e.name === name);
  if (!entry)
    throw new ConfigError(
      `region ${name} is not one of the cloud's regions (${entries.map((e) => e.name).join(', ')})`,
    );
  return { ...deepMerge(cloud, normalizeCloud(entry.values)), region_name: entry.name };
}

/**
 * Loads one cloud's configuration.
 *
 * Search order and precedence follow openstacksdk: `OS_CLIENT_CONFIG_FILE`, then `clouds.{yaml,yml,json}`
 * in cwd, the user config dir, `~/.config/openstack`, the site config dir and `/etc/openstack`
 * (first file wins); `secure.*` is found the same way and deep-merged over it; `profile:` pulls defaults
 * from `clouds-public.*`. Cloud selection: `cloud` option → `OS_CLOUD` → the env cloud (from `OS_*`,
 * named `OS_CLOUD_NAME` or `envvars`) → the only cloud defined. The env cloud is not overlaid onto a
 * named cloud.
 *
 * @example
 * ```ts
 * const cfg = loadCloudConfig({ cloud: 'cinderbox' });
 * const conn = new Connection(connectionOptionsFromCloud(cfg));
 * ```
 */
export function loadCloudConfig(options: LoadCloudConfigOptions = {}): CloudConfig {
  const env = options.env ?? process.env;
  const readFile = options.readFile ?? defaultReadFile;
  const searchOpts: SearchPathOptions = { cwd: options.cwd, homeDir: options.homeDir, env, platform: options.platform };
  const cloudsFile = loadFirstFile(
    [...(options.configFiles ?? []), ...configCandidates('clouds', searchOpts)],
    readFile,
    options.logger,
  );
  const secureFile = loadFirstFile(configCandidates('secure', searchOpts), readFile, options.logger);
  if (cloudsFile && !isRecord(cloudsFile.data.clouds)) {
    options.logger?.warn?.(`config file ${cloudsFile.path} has no top-level 'clouds' key`);
  }
  const fileClouds = isRecord(cloudsFile?.data.clouds) ? cloudsFile.data.clouds : {};
  const secureClouds = isRecord(secureFile?.data.clouds) ? secureFile.data.clouds : {};
  const envCloud = cloudFromEnv(env);
  const envName = env.OS_CLOUD_NAME || 'envvars';
  if (envCloud && envName in fileClouds) {
    throw new ConfigError(
      `cloud ${envName} is defined in ${cloudsFile?.path} and by OS_* variables; set OS_CLOUD_NAME`,
    );
  }

  let name = options.cloud ?? (env.OS_CLOUD || undefined);
  if (name === undefined) {
    if (envCloud) name = envName;
    else {
      const names = Object.keys(fileClouds);
      if (names.length === 1) name = names[0];
      else if (names.length === 0)
        throw new ConfigError('no cloud configured: no clouds.yaml found and no OS_* variables set');
      else
        throw new ConfigError(
          `several clouds are defined (${names.join(', ')}); choose one with OS_CLOUD or the cloud option`,
        );
    }
  }
  const cloudName = name as string;

  let raw: Record<string, unknown>;
  let sourceFile: string | undefined;
  if (cloudName === envName && envCloud) {
    raw = normalizeCloud(envCloud);
  } else {
    const base = fileClouds[cloudName];
    if (!isRecord(base)) {
      throw new ConfigError(
        `cloud ${cloudName} not found${cloudsFile ? ` in ${cloudsFile.path}` : ' (no clouds.yaml found)'}`,
      );
    }
    sourceFile = cloudsFile?.path;
    const secure = secureClouds[cloudName];
    raw = normalizeCloud(isRecord(secure) ? deepMerge(normalizeCloud(base), normalizeCloud(secure)) : base);
    const profile = str(raw.profile) ?? str(raw.cloud);
    if (profile) {
      const pub = loadFirstFile(configCandidates('clouds-public', searchOpts), readFile, options.logger);
      const profiles = isRecord(pub?.data['public-clouds']) ? pub.data['public-clouds'] : {};
      const p = profiles[profile];
      if (isRecord(p)) raw = deepMerge(normalizeCloud(p), raw);
      else options.logger?.warn?.(`profile ${profile} not found in clouds-public`);
    }
  }
  raw = selectRegion(raw, options.regionName ?? (env.OS_REGION_NAME || undefined));

  const auth = isRecord(raw.auth) ? raw.auth : {};
  const authType = (str(raw.auth_type) ?? 'password') as AuthType;
  const authOptions = authOptionsFromConfig(auth, authType);
  if (authType === 'admin_token' || authType === 'none') {
    authOptions.endpoint ??= str(raw.endpoint);
  }
  const verify =
    raw.verify === undefined ? (raw.insecure === undefined ? undefined : !truthy(raw.insecure)) : truthy(raw.verify);
  return {
    name: cloudName,
    authType,
    auth: authOptions,
    regionName: str(raw.region_name),
    interface: strOrList(raw.interface),
    apiTimeout: num(raw.api_timeout),
    blockStorage: serviceConfig(raw, SERVICE_KEY_PREFIXES.blockStorage),
    cbr: serviceConfig(raw, SERVICE_KEY_PREFIXES.cbr),
    identity: serviceConfig(raw, SERVICE_KEY_PREFIXES.identity),
    cacert: str(raw.cacert),
    verify,
    sourceFile,
    raw,
  };
}

function truthy(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  return typeof v === 'string' && /^(1|true|yes|on|y|t)$/i.test(v);
}
