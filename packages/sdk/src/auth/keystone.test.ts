import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Connection } from '../connection.js';
import { AuthError, EndpointNotFoundError } from '../errors.js';
import { authFor, type FakeCloud, PROJECT_ID, startFakeCloud } from '../test-support/fake-cloud.js';
import { ServiceCatalog } from './catalog.js';
import { buildAuthBody, tokensUrl } from './keystone.js';

describe('keystone v3 auth bodies', () => {
  it('password with project scope by name', () => {
    assert.deepEqual(
      buildAuthBody({
        username: 'u',
        password: 'p',
        userDomainName: 'Default',
        projectName: 'demo',
        projectDomainId: 'default',
      }),
      {
        auth: {
          identity: {
            methods: ['password'],
            password: { user: { name: 'u', domain: { name: 'Default' }, password: 'p' } },
          },
          scope: { project: { name: 'demo', domain: { id: 'default' } } },
        },
      },
    );
  });

  it('application credential by id has no scope; token auth; domain scope', () => {
    assert.deepEqual(buildAuthBody({ applicationCredentialId: 'a', applicationCredentialSecret: 's' }), {
      auth: { identity: { methods: ['application_credential'], application_credential: { secret: 's', id: 'a' } } },
    });
    const tok = buildAuthBody({ token: 'T', projectId: 'p' }) as { auth: Record<string, unknown> };
    assert.deepEqual(tok.auth.identity, { methods: ['token'], token: { id: 'T' } });
    const dom = buildAuthBody({ userId: 'u', password: 'p', domainName: 'D' }) as { auth: Record<string, unknown> };
    assert.deepEqual(dom.auth.scope, { domain: { name: 'D' } });
    assert.throws(() => buildAuthBody({ username: 'u', password: 'p' }), AuthError);
  });

  it('appends /v3 to auth urls without a version', () => {
    assert.equal(tokensUrl('http://k:5000/'), 'http://k:5000/v3/auth/tokens');
    assert.equal(tokensUrl('http://k/identity/v3'), 'http://k/identity/v3/auth/tokens');
  });
});

describe('service catalog', () => {
  const catalog = new ServiceCatalog([
    { type: 'volumev2', endpoints: [{ interface: 'public', region: 'R1', url: 'http://v2' }] },
    {
      type: 'volumev3',
      endpoints: [
        { interface: 'public', region: 'R1', url: 'http://v3-r1' },
        { interface: 'internal', region: 'R1', url: 'http://v3-int' },
        { interface: 'public', region: 'R2', url: 'http://v3-r2' },
      ],
    },
  ]);
  it('follows block-storage aliases, interface preference and region', () => {
    assert.equal(catalog.endpointFor({ serviceType: 'block-storage', region: 'R1' }), 'http://v3-r1');
    assert.equal(
      catalog.endpointFor({ serviceType: 'block-storage', interface: ['internalURL', 'public'], region: 'R1' }),
      'http://v3-int',
    );
    assert.equal(catalog.endpointFor({ serviceType: 'volumev2' }), 'http://v2');
    assert.equal(catalog.endpointFor({ serviceType: 'block-storage', region: 'R2' }), 'http://v3-r2');
    assert.throws(() => catalog.endpointFor({ serviceType: 'block-storage', region: 'R3' }), EndpointNotFoundError);
  });
});

describe('token lifecycle against a fake keystone', () => {
  let cloud: FakeCloud;
  before(async () => {
    cloud = await startFakeCloud({ tokenDelayMs: 20 });
    cloud.route('GET', new RegExp(`^/v3/${PROJECT_ID}/limits$`), () => ({
      body: { limits: { rate: [], absolute: { maxTotalSnapshots: 10 } } },
    }));
  });
  after(() => cloud.close());

  it('single-flights concurrent authentication', async () => {
    const conn = new Connection({ auth: authFor(cloud) });
    const before = cloud.tokensIssued();
    const tokens = await Promise.all([conn.auth.getToken(), conn.auth.getToken(), conn.auth.getToken()]);
    assert.equal(cloud.tokensIssued() - before, 1);
    assert.equal(new Set(tokens).size, 1);
    const access = await conn.authorize();
    assert.equal(access.projectId, PROJECT_ID);
    assert.deepEqual(access.roles, ['admin']);
  });

  it('re-authenticates once on 401 and retries the request', async () => {
    const conn = new Connection({ auth: authFor(cloud) });
    const first = await conn.auth.getToken();
    cloud.revoke(first);
    const limits = await conn.blockStorage.getLimits();
    assert.equal(limits.absolute.maxTotalSnapshots, 10);
    assert.notEqual(await conn.auth.getToken(), first);
  });

  it('bad credentials raise AuthError', async () => {
    const conn = new Connection({ auth: { ...authFor(cloud), password: 'wrong' } });
    await assert.rejects(conn.authorize(), AuthError);
  });
});
