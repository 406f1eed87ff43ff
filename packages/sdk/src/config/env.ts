/**
 * `OS_*` environment variables → a cloud definition (openstacksdk's synthetic `envvars` cloud).
 * @packageDocumentation
 */

const SELECTORS = new Set([
  'OS_CLOUD',
  'OS_CLIENT_CONFIG_FILE',
  'OS_CLIENT_SECURE_FILE',
  'OS_CLOUD_NAME',
  'OS_REGION_NAME',
]);
const IGNORED_PREFIXES = ['OS_TEST', 'OS_STD', 'OS_LOG'];

/**
 * Keys that belong under `auth:` (after normalisation).
 * @internal
 */
export const AUTH_KEYS = new Set([
  'auth_url',
  'username',
  'user_id',
  'password',
  'project_name',
  'project_id',
  'user_domain_name',
  'user_domain_id',
  'project_domain_name',
  'project_domain_id',
  'domain_name',
  'domain_id',
  'application_credential_id',
  'application_credential_name',
  'application_credential_secret',
  'token',
  'trust_id',
  'system_scope',
  'endpoint',
]);

/**
 * Builds a raw cloud from `OS_*` variables, or undefined when only selector variables are set.
 * `OS_FOO_BAR` becomes `foo_bar`; auth options move under `auth`.
 *
 * @example
 * ```ts
 * cloudFromEnv({ OS_AUTH_URL: 'http://k/v3', OS_USERNAME: 'u' }); // { auth: { auth_url: 'http://k/v3', username: 'u' } }
 * ```
 */
export function cloudFromEnv(env: Readonly<Record<string, string | undefined>>): Record<string, unknown> | undefined {
  const cloud: Record<string, unknown> = {};
  let meaningful = false;
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('OS_') || value === undefined || value === '') continue;
    if (IGNORED_PREFIXES.some((p) => name.startsWith(p))) continue;
    if (SELECTORS.has(name) && name !== 'OS_REGION_NAME') continue;
    if (name !== 'OS_REGION_NAME') meaningful = true;
    cloud[name.slice(3).toLowerCase()] = value;
  }
  return meaningful ? cloud : undefined;
}
