/**
 * The resolved configuration of one cloud.
 * @packageDocumentation
 */
import type { AuthOptions, AuthType } from '../auth/types.js';

/**
 * Per-service settings, read through the service-type alias chain
 * (`block_storage_*`, `volumev3_*`, `volumev2_*`, `volume_*`, `block_store_*`).
 *
 * @example
 * ```ts
 * const s: ServiceConfig = { apiVersion: '3', defaultMicroversion: '3.60' };
 * ```
 */
export interface ServiceConfig {
  /** Major API version (`'2'`, `'3'`). */
  apiVersion?: string | undefined;
  /** Microversion to send instead of negotiating (from `*_default_microversion` or an api_version like `3.50`). */
  defaultMicroversion?: string | undefined;
  /** URL used instead of the catalog; may contain `%(project_id)s`. */
  endpointOverride?: string | undefined;
  interface?: string | string[] | undefined;
  regionName?: string | undefined;
  statusCodeRetries?: number | undefined;
  connectRetries?: number | undefined;
}

/**
 * A cloud as loaded from clouds.yaml/secure.yaml/env.
 *
 * @example
 * ```ts
 * const cfg = loadCloudConfig({ cloud: 'cinderbox' });
 * cfg.auth.authUrl; cfg.blockStorage.apiVersion;
 * ```
 */
export interface CloudConfig {
  /** Cloud name (`envvars` for the environment cloud). */
  name: string;
  authType: AuthType;
  auth: AuthOptions;
  regionName?: string | undefined;
  interface?: string | string[] | undefined;
  /** Per-request timeout in seconds (`api_timeout`). */
  apiTimeout?: number | undefined;
  blockStorage: ServiceConfig;
  cbr: ServiceConfig;
  identity: ServiceConfig;
  /** TLS CA bundle path (honoured through `NODE_EXTRA_CA_CERTS`; global fetch has no per-call CA option). */
  cacert?: string | undefined;
  verify?: boolean | undefined;
  /** The file the cloud came from. */
  sourceFile?: string | undefined;
  /** The normalised raw cloud, for keys the SDK does not model. */
  raw: Record<string, unknown>;
}
