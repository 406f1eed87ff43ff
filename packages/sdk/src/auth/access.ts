/**
 * The result of authenticating: token, expiry, identity and catalog.
 * @packageDocumentation
 */
import type { ServiceCatalog } from './catalog.js';

/**
 * A token and what Keystone said about it.
 *
 * @example
 * ```ts
 * const access = await conn.authorize();
 * console.log(access.projectId, access.expiresAt);
 * ```
 */
export interface AccessInfo {
  /** The token (`X-Subject-Token`). */
  token: string;
  /** Expiry; undefined for fixed tokens. */
  expiresAt: Date | undefined;
  userId: string | undefined;
  userName: string | undefined;
  projectId: string | undefined;
  projectName: string | undefined;
  domainId: string | undefined;
  roles: string[];
  /** The catalog; undefined for fixed-token auth. */
  catalog: ServiceCatalog | undefined;
}
