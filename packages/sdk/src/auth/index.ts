/**
 * Keystone v3 authentication and service catalog.
 * @packageDocumentation
 */
export type { AccessInfo } from './access.js';
export {
  type CatalogEndpoint,
  type CatalogEntry,
  type EndpointFilter,
  SERVICE_TYPE_ALIASES,
  ServiceCatalog,
  normalizeInterface,
  serviceTypeCandidates,
} from './catalog.js';
export {
  type AuthPlugin,
  KeystoneAuth,
  type KeystoneAuthOptions,
  StaticTokenAuth,
  buildAuthBody,
  parseTokenResponse,
  resolveAuthType,
  tokensUrl,
} from './keystone.js';
export type { AuthOptions, AuthType } from './types.js';
