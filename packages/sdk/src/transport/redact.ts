/**
 * Credential redaction for logs and error messages.
 * @packageDocumentation
 */
import { isRecord } from '../util/objects.js';

const SECRET_HEADERS = new Set(['x-auth-token', 'x-subject-token', 'x-service-token', 'authorization', 'cookie']);
const SECRET_KEYS = /^(password|secret|token|backup_url|application_credential_secret|id_token|access_token)$/i;

/** Text that replaces a secret. @example `REDACTED === '***'` */
export const REDACTED = '***';

/**
 * Returns a plain object of headers with credentials masked.
 *
 * @example
 * ```ts
 * redactHeaders(new Headers({ 'X-Auth-Token': 'abc' })); // { 'x-auth-token': '***' }
 * ```
 */
export function redactHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, key) => {
    out[key] = SECRET_HEADERS.has(key.toLowerCase()) ? REDACTED : value;
  });
  return out;
}

/**
 * Deep-copies a JSON body with password/secret/token fields masked. In a Keystone token body
 * (`auth.identity.token.id`) the token id is masked too.
 *
 * @example
 * ```ts
 * redactBody({ auth: { identity: { password: { user: { password: 'p' } } } } });
 * ```
 */
export function redactBody(body: unknown, parentKey = ''): unknown {
  if (Array.isArray(body)) return body.map((v) => redactBody(v, parentKey));
  if (!isRecord(body)) return body;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (typeof value === 'string' && (SECRET_KEYS.test(key) || (parentKey === 'token' && key === 'id'))) {
      out[key] = REDACTED;
    } else {
      out[key] = redactBody(value, key);
    }
  }
  return out;
}
