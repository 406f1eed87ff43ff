/**
 * Keystone v3 authentication and service catalog.
 * @packageDocumentation
 */
export type { AccessInfo } from './access.js';
export {
  type CatalogEndpoint,
  type CatalogEntry,
  type EndpointFilter,
  normalizeInterface,
  SERVICE_TYPE_ALIASES,
  ServiceCatalog,
  serviceTypeCandidates,
} from './catalog.js';
export {
  type AuthPlugin,
  buildAuthBody,
  KeystoneAuth,
  type KeystoneAuthOptions,
  parseTokenResponse,
  resolveAuthType,
  StaticTokenAuth,
  tokensUrl,
} from './keystone.js';
export type { AuthOptions, AuthType } from './types.js';
