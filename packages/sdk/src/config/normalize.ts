/**
 * Normalisation of legacy and alternate clouds.yaml spellings.
 * @packageDocumentation
 */
import { isRecord } from '../util/objects.js';
import { AUTH_KEYS } from './env.js';

function normalizeKey(key: string): string {
  let k = key.replace(/-/g, '_');
  k = k.replace(/^tenant_/, 'project_').replace(/_tenant_/, '_project_');
  if (k === 'auth_token') k = 'token';
  if (k === 'endpoint_type') k = 'interface';
  k = k.replace(/_endpoint_type$/, '_interface');
  return k;
}

/**
 * Normalises one cloud: dashes → underscores, `tenant_*` → `project_*`, `auth_token` → `token`,
 * `*_endpoint_type` → `*_interface`, auth options found at the top level moved into `auth`,
 * `token_endpoint` auth type → `admin_token`.
 *
 * @example
 * ```ts
 * normalizeCloud({ 'tenant-name': 'x', auth_url: 'u' }); // { auth: { project_name: 'x', auth_url: 'u' } }
 * ```
 */
export function normalizeCloud(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const auth: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'auth' && isRecord(value)) {
      for (const [ak, av] of Object.entries(value)) auth[normalizeKey(ak)] = av;
      continue;
    }
    const k = normalizeKey(key);
    if (AUTH_KEYS.has(k) && !(k in auth)) auth[k] = value;
    else if (!AUTH_KEYS.has(k)) out[k] = value;
  }
  if (out.auth_type === 'token_endpoint') out.auth_type = 'admin_token';
  if (Object.keys(auth).length > 0) out.auth = auth;
  return out;
}
