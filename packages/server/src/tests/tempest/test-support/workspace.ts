import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { TestServer } from '../../../test-support/harness.js';
import { ADMIN_PASSWORD } from '../../../test-support/harness.js';

export interface TempestAccount {
  username: string;
  password: string;
  project_name: string;
  user_domain_name: string;
  project_domain_name: string;
  roles?: string[];
}

/**
 * Pre-provisioned credentials (Tempest cannot create its own: use_dynamic_credentials = False).
 * Each test class locks a primary, sometimes an alt and an admin for its duration, so `concurrency` workers
 * need 2 members and 1 admin each.
 */
export async function provisionAccounts(ts: TestServer, concurrency: number): Promise<TempestAccount[]> {
  const roleId = async (name: string): Promise<string> => {
    const r = await ts.request('GET', `/identity/v3/roles?name=${name}`, { token: ts.adminToken });
    const id = r.body?.roles?.[0]?.id;
    if (r.status !== 200 || !id) throw new Error(`role ${name}: ${r.status} ${r.text}`);
    return id;
  };
  const member = await roleId('member');
  const admin = await roleId('admin');
  const accounts: TempestAccount[] = [
    { username: 'admin', password: ADMIN_PASSWORD, project_name: 'admin', user_domain_name: 'Default', project_domain_name: 'Default', roles: ['admin'] },
  ];
  const make = async (name: string, role: string, roles?: string[]) => {
    const p = await ts.request('POST', '/identity/v3/projects', { token: ts.adminToken, body: { project: { name, domain_id: 'default' } } });
    if (p.status !== 201) throw new Error(`project ${name}: ${p.status} ${p.text}`);
    const password = `${name}-secret`;
    const u = await ts.request('POST', '/identity/v3/users', {
      token: ts.adminToken,
      body: { user: { name, domain_id: 'default', password, default_project_id: p.body.project.id } },
    });
    if (u.status !== 201) throw new Error(`user ${name}: ${u.status} ${u.text}`);
    const g = await ts.request('PUT', `/identity/v3/projects/${p.body.project.id}/users/${u.body.user.id}/roles/${role}`, { token: ts.adminToken });
    if (g.status !== 204) throw new Error(`grant ${name}: ${g.status} ${g.text}`);
    accounts.push({ username: name, password, project_name: name, user_domain_name: 'Default', project_domain_name: 'Default', ...(roles ? { roles } : {}) });
  };
  for (let i = 1; i <= 2 * concurrency; i++) await make(`tempest-member-${i}`, member);
  for (let i = 2; i <= concurrency; i++) await make(`tempest-admin-${i}`, admin, ['admin']);
  return accounts;
}

/**
 * `[volume-feature-enabled]` switches for the features that arrived late (backups, manage/unmanage); all served
 * now. CINDERBOX_TEMPEST_DISABLE turns one off while it is being reworked.
 */
export interface TempestFeatures {
  backup: boolean;
  manage_snapshot: boolean;
  manage_volume: boolean;
}

export const DEFAULT_FEATURES: TempestFeatures = { backup: true, manage_snapshot: true, manage_volume: true };

/** Applies CINDERBOX_TEMPEST_ENABLE / CINDERBOX_TEMPEST_DISABLE (comma-separated feature names) to the defaults. */
export function featuresFromEnv(env: NodeJS.ProcessEnv = process.env): TempestFeatures {
  const f: TempestFeatures = { ...DEFAULT_FEATURES };
  const names = (v: string | undefined) => (v ?? '').split(',').map((x) => x.trim()).filter(Boolean);
  for (const [list, value] of [[names(env.CINDERBOX_TEMPEST_ENABLE), true], [names(env.CINDERBOX_TEMPEST_DISABLE), false]] as const) {
    for (const n of list) {
      if (!(n in f)) throw new Error(`unknown Tempest feature ${n}; known: ${Object.keys(f).join(', ')}`);
      f[n as keyof TempestFeatures] = value;
    }
  }
  return f;
}

export interface TempestConfInput {
  workspace: string;
  url: string;
  accountsFile: string;
  features?: TempestFeatures;
  /** The server's backend names when it has several (Tempest's multi-backend and retype-with-migration tests). */
  backendNames?: string[];
}

/**
 * A tempest.conf for a cloud that has only identity and block storage (volumev3). Options not set here keep
 * Tempest 33's defaults (tempest/config.py).
 */
export function tempestConf(input: TempestConfInput): string {
  const sections: Record<string, Record<string, string | number | boolean>> = {
    DEFAULT: { log_dir: join(input.workspace, 'logs'), log_file: 'tempest.log', debug: false },
    oslo_concurrency: { lock_path: join(input.workspace, 'tempest_lock') },
    auth: {
      use_dynamic_credentials: false,
      test_accounts_file: input.accountsFile,
      default_credentials_domain_name: 'Default',
      create_isolated_networks: false,
      admin_username: 'admin',
      admin_password: ADMIN_PASSWORD,
      admin_project_name: 'admin',
      admin_domain_name: 'Default',
    },
    identity: {
      uri_v3: `${input.url}/identity/v3`,
      auth_version: 'v3',
      region: 'RegionOne',
      v3_endpoint_type: 'public',
      disable_ssl_certificate_validation: true,
      admin_role: 'admin',
      default_domain_id: 'default',
    },
    'identity-feature-enabled': { api_v2: false, api_v3: true, trust: false, application_credentials: false, access_rules: false },
    service_available: { cinder: true, nova: false, glance: false, neutron: false, swift: false, horizon: false },
    volume: {
      catalog_type: 'volumev3',
      endpoint_type: 'publicURL',
      region: 'RegionOne',
      min_microversion: '3.0',
      max_microversion: 'latest',
      // The reference backend finishes in milliseconds; a test waiting on a status the server never reaches
      // should fail fast rather than after Tempest's default 300 s.
      build_interval: 1,
      build_timeout: 60,
      volume_size: 1,
      // What the server's pools report (api/block-storage/misc/services.ts); Tempest compares vendor_name.
      storage_protocol: 'local',
      vendor_name: 'Open Source',
      ...((input.backendNames?.length ?? 0) > 1 ? { backend_names: input.backendNames!.join(',') } : {}),
    },
    'volume-feature-enabled': {
      snapshot: true,
      clone: true,
      ...(input.features ?? DEFAULT_FEATURES),
      multi_backend: (input.backendNames?.length ?? 0) > 1,
      extend_attached_volume: false,
      extend_attached_encrypted_volume: false,
      api_extensions: 'all',
    },
    validation: { run_validation: false },
    'compute-feature-enabled': { attach_encrypted_volume: false },
  };
  return Object.entries(sections)
    .map(([name, opts]) => `[${name}]\n${Object.entries(opts).map(([k, v]) => `${k} = ${v}`).join('\n')}\n`)
    .join('\n');
}

export async function writeWorkspaceConfig(
  workspace: string,
  url: string,
  accounts: TempestAccount[],
  features?: TempestFeatures,
  backendNames?: string[],
): Promise<void> {
  const accountsFile = join(workspace, 'etc', 'accounts.yaml');
  await writeFile(accountsFile, stringify(accounts));
  await writeFile(join(workspace, 'etc', 'tempest.conf'), tempestConf({ workspace, url, accountsFile, features, ...(backendNames ? { backendNames } : {}) }));
  // `tempest init`'s logging.conf opens ./tempest.log with 'w+' in every worker, so concurrent workers truncate
  // each other's log; without it oslo.log appends to [DEFAULT] log_dir/log_file.
  await rm(join(workspace, 'etc', 'logging.conf'), { force: true });
}
