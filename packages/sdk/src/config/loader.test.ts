import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../errors.js';
import { cloudFromEnv } from './env.js';
import { loadCloudConfig } from './loader.js';
import { configSearchDirs } from './paths.js';

function fs(files: Record<string, string>) {
  return (path: string) => files[path];
}

const base = { cwd: '/work', homeDir: '/home/u', platform: 'linux' as const };

describe('config loader', () => {
  it('searches cwd, user dir, ~/.config, site dir, /etc/openstack in order', () => {
    assert.deepEqual(configSearchDirs({ ...base, env: {} }), [
      '/work',
      '/home/u/.config/openstack',
      '/etc/xdg/openstack',
      '/etc/openstack',
    ]);
    assert.equal(configSearchDirs({ ...base, env: { XDG_CONFIG_HOME: '/x' } })[1], '/x/openstack');
  });

  it('takes the first existing clouds file and deep-merges secure.yaml', () => {
    const cfg = loadCloudConfig({
      ...base,
      env: {},
      cloud: 'prod',
      readFile: fs({
        '/home/u/.config/openstack/clouds.yaml': `clouds:\n  prod:\n    auth:\n      auth_url: http://k/v3\n      username: alice\n      project_name: ops\n      user_domain_name: Default\n      project_domain_name: Default\n    region_name: R1\n    volume_api_version: '3.50'\n    block_storage_endpoint_override: http://c/v3/%(project_id)s\n    api_timeout: 30\n`,
        '/etc/openstack/clouds.yaml': 'clouds:\n  prod:\n    auth:\n      auth_url: http://WRONG\n',
        '/etc/openstack/secure.yaml': 'clouds:\n  prod:\n    auth:\n      password: s3cret\n',
      }),
    });
    assert.equal(cfg.sourceFile, '/home/u/.config/openstack/clouds.yaml');
    assert.equal(cfg.auth.authUrl, 'http://k/v3');
    assert.equal(cfg.auth.password, 's3cret');
    assert.equal(cfg.auth.username, 'alice');
    assert.equal(cfg.regionName, 'R1');
    assert.equal(cfg.blockStorage.apiVersion, '3');
    assert.equal(cfg.blockStorage.defaultMicroversion, '3.50');
    assert.equal(cfg.blockStorage.endpointOverride, 'http://c/v3/%(project_id)s');
    assert.equal(cfg.apiTimeout, 30);
  });

  it('OS_CLIENT_CONFIG_FILE goes first; OS_CLOUD selects; env cloud is not overlaid', () => {
    const cfg = loadCloudConfig({
      ...base,
      env: { OS_CLIENT_CONFIG_FILE: '/cfg/my.yaml', OS_CLOUD: 'b', OS_USERNAME: 'ignored' },
      readFile: fs({
        '/cfg/my.yaml':
          'clouds:\n  a: {auth: {auth_url: http://a}}\n  b: {auth: {auth_url: http://b, username: bob}}\n',
        '/work/clouds.yaml': 'clouds:\n  b: {auth: {auth_url: http://cwd}}\n',
      }),
    });
    assert.equal(cfg.name, 'b');
    assert.equal(cfg.auth.authUrl, 'http://b');
    assert.equal(cfg.auth.username, 'bob');
  });

  it('builds the envvars cloud from OS_* and normalises legacy names', () => {
    const env = {
      OS_AUTH_URL: 'http://k:5000',
      OS_USERNAME: 'u',
      OS_PASSWORD: 'p',
      OS_TENANT_NAME: 'proj',
      OS_USER_DOMAIN_NAME: 'Default',
      OS_PROJECT_DOMAIN_ID: 'default',
      OS_REGION_NAME: 'R2',
      OS_ENDPOINT_TYPE: 'internalURL',
      OS_VOLUME_API_VERSION: '3',
      OS_TEST_PATH: 'x',
    };
    const cfg = loadCloudConfig({ ...base, env, readFile: fs({}) });
    assert.equal(cfg.name, 'envvars');
    assert.equal(cfg.auth.projectName, 'proj');
    assert.equal(cfg.auth.projectDomainId, 'default');
    assert.equal(cfg.regionName, 'R2');
    assert.equal(cfg.interface, 'internalURL');
    assert.equal(cfg.blockStorage.apiVersion, '3');
    assert.equal(cloudFromEnv({ OS_REGION_NAME: 'R', OS_CLOUD: 'x' }), undefined);
  });

  it('application credentials and token auth types', () => {
    const cfg = loadCloudConfig({
      ...base,
      env: {},
      readFile: fs({
        '/work/clouds.yaml':
          'clouds:\n  only:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: http://k/v3\n      application_credential_id: ac1\n      application_credential_secret: sh\n',
      }),
    });
    assert.equal(cfg.name, 'only');
    assert.equal(cfg.authType, 'v3applicationcredential');
    assert.equal(cfg.auth.applicationCredentialId, 'ac1');
  });

  it('selects a region from regions: and applies its values; profiles from clouds-public', () => {
    const files = fs({
      '/work/clouds.yaml':
        'clouds:\n  c:\n    profile: vendor\n    regions:\n      - R1\n      - name: R2\n        values:\n          block_storage_endpoint_override: http://r2\n',
      '/work/clouds-public.yaml': 'public-clouds:\n  vendor:\n    auth:\n      auth_url: http://vendor/v3\n',
    });
    const r2 = loadCloudConfig({ ...base, env: {}, regionName: 'R2', readFile: files });
    assert.equal(r2.regionName, 'R2');
    assert.equal(r2.blockStorage.endpointOverride, 'http://r2');
    assert.equal(r2.auth.authUrl, 'http://vendor/v3');
    const r1 = loadCloudConfig({ ...base, env: {}, readFile: files });
    assert.equal(r1.regionName, 'R1');
    assert.throws(() => loadCloudConfig({ ...base, env: {}, regionName: 'R9', readFile: files }), ConfigError);
  });

  it('skips unparsable files with a warning and errors clearly when nothing is configured', () => {
    const warnings: string[] = [];
    const cfg = loadCloudConfig({
      ...base,
      env: {},
      logger: { debug() {}, warn: (m) => warnings.push(m) },
      readFile: fs({
        '/work/clouds.yaml': 'clouds: [unclosed',
        '/etc/openstack/clouds.yaml': 'clouds:\n  x: {auth: {auth_url: http://x}}\n',
      }),
    });
    assert.equal(cfg.name, 'x');
    assert.equal(warnings.length, 1);
    assert.throws(() => loadCloudConfig({ ...base, env: {}, readFile: fs({}) }), ConfigError);
    assert.throws(
      () => loadCloudConfig({ ...base, env: {}, readFile: fs({ '/work/clouds.yaml': 'clouds: {a: {}, b: {}}' }) }),
      /several clouds/,
    );
  });
});
