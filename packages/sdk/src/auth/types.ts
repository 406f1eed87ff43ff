/**
 * Authentication options (openstacksdk/keystoneauth names in camelCase).
 * @packageDocumentation
 */

/**
 * Auth plugin name. `password`/`v3password`, `v3applicationcredential`, `token`/`v3token` talk to
 * Keystone v3; `admin_token` and `none` use a fixed token and endpoint without Keystone.
 *
 * @example
 * ```ts
 * const t: AuthType = 'v3applicationcredential';
 * ```
 */
export type AuthType =
  | 'password'
  | 'v3password'
  | 'v3applicationcredential'
  | 'token'
  | 'v3token'
  | 'admin_token'
  | 'token_endpoint'
  | 'none';

/**
 * Keystone credentials and scope.
 *
 * @example
 * ```ts
 * const auth: AuthOptions = {
 *   authUrl: 'http://127.0.0.1:8776/identity/v3', username: 'admin', password: 'secret',
 *   projectName: 'admin', userDomainName: 'Default', projectDomainName: 'Default',
 * };
 * ```
 */
export interface AuthOptions {
  /** Keystone URL; `/v3` is appended when missing. */
  authUrl?: string | undefined;
  username?: string | undefined;
  userId?: string | undefined;
  password?: string | undefined;
  userDomainName?: string | undefined;
  userDomainId?: string | undefined;
  projectName?: string | undefined;
  projectId?: string | undefined;
  projectDomainName?: string | undefined;
  projectDomainId?: string | undefined;
  /** Domain for both user and project (or domain scope when no project is given). */
  domainName?: string | undefined;
  domainId?: string | undefined;
  /** Request a system-scoped token (`system: {all: true}`). */
  systemScope?: string | undefined;
  trustId?: string | undefined;
  applicationCredentialId?: string | undefined;
  applicationCredentialName?: string | undefined;
  applicationCredentialSecret?: string | undefined;
  /** Existing token (`token`/`v3token` rescoping, or `admin_token`). */
  token?: string | undefined;
  /** Fixed endpoint for `admin_token`/`none`. */
  endpoint?: string | undefined;
  /** Auth plugin; default `password` (or `v3applicationcredential`/`token` when only those credentials are given). */
  authType?: AuthType | undefined;
}
