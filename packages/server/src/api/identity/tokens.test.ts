import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { hashToken, TOKEN_RECHECK_MS } from '../../services/identity/tokens.js';
import { ADMIN_PASSWORD, passwordAuth, projectScope, startIdentityServer, type IdentityTestServer } from './test-support/server.js';

const KEYSTONE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

let s: IdentityTestServer;
let adminToken: string;
let adminProjectId: string;

async function issue(body: unknown) {
  return s.request('POST', '/identity/v3/auth/tokens', { body });
}

/** A project with a user holding `role` in it; returns ids and the user's password. */
async function member(name: string, role = 'member', extra: Record<string, unknown> = {}) {
  const p = await s.request('POST', '/identity/v3/projects', { token: adminToken, body: { project: { name, domain_id: 'default' } } });
  assert.equal(p.status, 201, p.text);
  const u = await s.request('POST', '/identity/v3/users', {
    token: adminToken,
    body: { user: { name, domain_id: 'default', password: `${name}-pw`, ...extra } },
  });
  assert.equal(u.status, 201, u.text);
  const r = await s.request('GET', `/identity/v3/roles?name=${role}`, { token: adminToken });
  const g = await s.request('PUT', `/identity/v3/projects/${p.body.project.id}/users/${u.body.user.id}/roles/${r.body.roles[0].id}`, { token: adminToken });
  assert.equal(g.status, 204, g.text);
  return { projectId: p.body.project.id as string, userId: u.body.user.id as string, password: `${name}-pw` };
}

before(async () => {
  s = await startIdentityServer();
  const res = await issue(passwordAuth('admin', ADMIN_PASSWORD, projectScope('admin')));
  assert.equal(res.status, 201, res.text);
  adminToken = res.headers.get('x-subject-token')!;
  adminProjectId = res.body.token.project.id;
});
after(() => s.close());

describe('version discovery', () => {
  for (const path of ['/identity', '/identity/']) {
    test(`GET ${path} answers 300 with the v3 entry and no token`, async () => {
      const res = await s.request('GET', path);
      assert.equal(res.status, 300);
      const [entry] = res.body.versions.values;
      assert.equal(entry.id, 'v3.14');
      assert.equal(entry.status, 'stable');
      assert.deepEqual(entry.links, [{ rel: 'self', href: `${s.url}/identity/v3/` }]);
      assert.equal(entry['media-types'][0].type, 'application/vnd.openstack.identity-v3+json');
    });
  }
  for (const path of ['/identity/v3', '/identity/v3/']) {
    test(`GET ${path} answers 200 with the version and an absolute self link`, async () => {
      const res = await s.request('GET', path);
      assert.equal(res.status, 200);
      assert.equal(res.body.version.id, 'v3.14');
      assert.equal(res.body.version.links[0].href, `${s.url}/identity/v3/`);
      assert.match(res.body.version.updated, /Z$/);
    });
  }
  test('links follow the Host the client used', async () => {
    // fetch() may not set Host, so this one goes through node:http.
    const body = await new Promise<string>((resolve, reject) => {
      const req = httpRequest(`${s.url}/identity/v3`, { headers: { Host: 'cloud.example:5000' } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(JSON.parse(body).version.links[0].href, 'http://cloud.example:5000/identity/v3/');
  });
});

describe('token issue', () => {
  test('password + project name + domain name gives a scoped token with roles and catalog', async () => {
    const res = await issue(passwordAuth('admin', ADMIN_PASSWORD, projectScope('admin', { name: 'Default' }), { name: 'Default' }));
    assert.equal(res.status, 201, res.text);
    const subject = res.headers.get('x-subject-token')!;
    assert.ok(Buffer.from(subject, 'base64url').length >= 16);
    const t = res.body.token;
    assert.deepEqual(t.methods, ['password']);
    assert.match(t.expires_at, KEYSTONE_TIME);
    assert.match(t.issued_at, KEYSTONE_TIME);
    const ttl = Date.parse(t.expires_at) - Date.parse(t.issued_at);
    assert.equal(ttl, s.config.tokenTtlSeconds * 1000);
    assert.equal(t.audit_ids.length, 1);
    assert.deepEqual(t.user.domain, { id: 'default', name: 'Default' });
    assert.equal(t.user.name, 'admin');
    assert.equal(t.user.password_expires_at, null);
    assert.deepEqual(t.project, { id: adminProjectId, name: 'admin', domain: { id: 'default', name: 'Default' } });
    assert.deepEqual(t.roles.map((r: { name: string }) => r.name).sort(), ['admin', 'member', 'reader']);
    assert.ok(Array.isArray(t.catalog));
  });

  test('user id and project id work too', async () => {
    const m = await member('by-id');
    const res = await issue({
      auth: { identity: { methods: ['password'], password: { user: { id: m.userId, password: m.password } } }, scope: { project: { id: m.projectId } } },
    });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.token.project.id, m.projectId);
    assert.deepEqual(res.body.token.roles.map((r: { name: string }) => r.name), ['member', 'reader']);
  });

  test('a wrong password and an unknown user get the same 401', async () => {
    const wrong = await issue(passwordAuth('admin', 'not-the-password', projectScope('admin')));
    const unknown = await issue(passwordAuth('nobody-here', 'not-the-password', projectScope('admin')));
    const badDomain = await issue(passwordAuth('admin', ADMIN_PASSWORD, projectScope('admin'), { name: 'NoSuchDomain' }));
    for (const r of [wrong, unknown, badDomain]) {
      assert.equal(r.status, 401);
      assert.equal(r.headers.get('x-subject-token'), null);
      assert.equal(r.body.error.code, 401);
      assert.equal(r.body.error.title, 'Unauthorized');
    }
    assert.equal(wrong.body.error.message, unknown.body.error.message);
    assert.equal(wrong.body.error.message, badDomain.body.error.message);
    assert.doesNotMatch(wrong.body.error.message, /password|user/i);
  });

  test('scoping to a project without a role is a 401', async () => {
    const m = await member('no-role-elsewhere');
    const res = await issue(passwordAuth('no-role-elsewhere', m.password, projectScope('admin')));
    assert.equal(res.status, 401);
  });

  test('no scope and no default project gives an unscoped token without catalog', async () => {
    await member('unscoped-user');
    const res = await issue(passwordAuth('unscoped-user', 'unscoped-user-pw'));
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.token.project, undefined);
    assert.equal(res.body.token.catalog, undefined);
    assert.equal(res.body.token.roles, undefined);
  });

  test('no scope scopes to the default project when the user has a role there, as Keystone does', async () => {
    const m = await member('with-default');
    const set = await s.request('PATCH', `/identity/v3/users/${m.userId}`, { token: adminToken, body: { user: { default_project_id: m.projectId } } });
    assert.equal(set.status, 200, set.text);
    const res = await issue(passwordAuth('with-default', m.password));
    assert.equal(res.body.token.project.id, m.projectId);
    // ...but stays unscoped when the default project holds no role for the user.
    await s.request('PATCH', `/identity/v3/users/${m.userId}`, { token: adminToken, body: { user: { default_project_id: adminProjectId } } });
    const res2 = await issue(passwordAuth('with-default', m.password));
    assert.equal(res2.status, 201);
    assert.equal(res2.body.token.project, undefined);
    // The explicit "unscoped" request wins over a usable default project.
    await s.request('PATCH', `/identity/v3/users/${m.userId}`, { token: adminToken, body: { user: { default_project_id: m.projectId } } });
    const res3 = await issue({ ...passwordAuth('with-default', m.password), auth: { ...passwordAuth('with-default', m.password).auth, scope: 'unscoped' } });
    assert.equal(res3.body.token.project, undefined);
  });

  test('the token method re-scopes, keeping the expiry and chaining audit ids', async () => {
    const m = await member('rescoper');
    const first = await issue(passwordAuth('rescoper', m.password));
    const unscoped = first.headers.get('x-subject-token')!;
    const res = await issue({ auth: { identity: { methods: ['token'], token: { id: unscoped } }, scope: { project: { id: m.projectId } } } });
    assert.equal(res.status, 201, res.text);
    const t = res.body.token;
    assert.equal(t.project.id, m.projectId);
    assert.deepEqual(t.methods, ['token', 'password']);
    assert.equal(t.expires_at, first.body.token.expires_at);
    assert.deepEqual(t.audit_ids, [t.audit_ids[0], first.body.token.audit_ids[0]]);
    assert.notEqual(t.audit_ids[0], first.body.token.audit_ids[0]);
    const bogus = await issue({ auth: { identity: { methods: ['token'], token: { id: 'not-a-token' } } } });
    assert.equal(bogus.status, 401);
  });

  test('disabled users and projects cannot authenticate', async () => {
    const m = await member('to-disable');
    await s.request('PATCH', `/identity/v3/projects/${m.projectId}`, { token: adminToken, body: { project: { enabled: false } } });
    assert.equal((await issue(passwordAuth('to-disable', m.password, projectScope('to-disable')))).status, 401);
    await s.request('PATCH', `/identity/v3/projects/${m.projectId}`, { token: adminToken, body: { project: { enabled: true } } });
    assert.equal((await issue(passwordAuth('to-disable', m.password, projectScope('to-disable')))).status, 201);
    await s.request('PATCH', `/identity/v3/users/${m.userId}`, { token: adminToken, body: { user: { enabled: false } } });
    const res = await issue(passwordAuth('to-disable', m.password, projectScope('to-disable')));
    assert.equal(res.status, 401);
    assert.equal(res.body.error.message, (await issue(passwordAuth('to-disable', 'wrong', projectScope('to-disable')))).body.error.message);
  });

  test('malformed bodies are Keystone 400s naming the field', async () => {
    const cases: [unknown, RegExp][] = [
      [{}, /'auth' is a required property/],
      [{ auth: { identity: { methods: 'password' } } }, /identity\/methods/],
      [{ auth: { identity: { methods: ['password'] } } }, /password/],
      [{ auth: { identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: 5 } } } } }, /identity\/password\/user\/password/],
      [{ auth: { identity: { methods: ['password'], password: { user: { name: 'admin', password: 'x' } } } } }, /domain/],
      [{ auth: { identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: 'x' } } }, scope: 'everything' } }, /scope/],
    ];
    for (const [body, message] of cases) {
      const res = await issue(body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.error.title, 'Bad Request');
      assert.match(res.body.error.message, message);
    }
    const raw = await s.request('POST', '/identity/v3/auth/tokens', { rawBody: '{not json', headers: { 'Content-Type': 'application/json' } });
    assert.equal(raw.status, 400);
    assert.equal(raw.body.error.code, 400);
  });
});

describe('catalog', () => {
  test('a project-scoped token lists every service at this server with all interfaces', async () => {
    const res = await issue(passwordAuth('admin', ADMIN_PASSWORD, projectScope('admin')));
    const catalog = res.body.token.catalog as { type: string; name: string; id: string; endpoints: Record<string, string>[] }[];
    const byType = new Map(catalog.map((c) => [c.type, c]));
    const expected: Record<string, [string, string]> = {
      identity: ['keystone', `${s.url}/identity/v3`],
      'block-storage': ['cinder', `${s.url}/v3/${adminProjectId}`],
      volumev3: ['cinderv3', `${s.url}/v3/${adminProjectId}`],
      volumev2: ['cinderv2', `${s.url}/v2/${adminProjectId}`],
      cbr: ['cbr', `${s.url}/cbr/v3/${adminProjectId}`],
    };
    assert.deepEqual([...byType.keys()].sort(), Object.keys(expected).sort());
    for (const [type, [name, url]] of Object.entries(expected)) {
      const entry = byType.get(type)!;
      assert.equal(entry.name, name);
      assert.ok(entry.id);
      assert.deepEqual(entry.endpoints.map((e) => e.interface).sort(), ['admin', 'internal', 'public']);
      for (const e of entry.endpoints) {
        assert.equal(e.url, url);
        assert.equal(e.region, 'RegionOne');
        assert.equal(e.region_id, 'RegionOne');
        assert.ok(e.id);
      }
    }
    const again = await s.request('GET', '/identity/v3/auth/catalog', { token: res.headers.get('x-subject-token')! });
    assert.equal(again.status, 200);
    assert.deepEqual(again.body.catalog, catalog);
  });

  test('?nocatalog leaves the catalog out', async () => {
    const res = await s.request('POST', '/identity/v3/auth/tokens?nocatalog', { body: passwordAuth('admin', ADMIN_PASSWORD, projectScope('admin')) });
    assert.equal(res.status, 201);
    assert.equal(res.body.token.catalog, undefined);
    assert.equal(res.body.token.project.id, adminProjectId);
  });

  test('the configured public URL wins over the request host', async () => {
    const other = await startIdentityServer({ publicUrl: 'https://block.example.org:8443' });
    try {
      const res = await other.request('POST', '/identity/v3/auth/tokens', { body: passwordAuth('admin', ADMIN_PASSWORD, projectScope('admin')) });
      const pid = res.body.token.project.id;
      const urls = (res.body.token.catalog as { type: string; endpoints: { url: string }[] }[]).map((c) => [c.type, c.endpoints[0]!.url]);
      assert.deepEqual(Object.fromEntries(urls), {
        identity: 'https://block.example.org:8443/identity/v3',
        'block-storage': `https://block.example.org:8443/v3/${pid}`,
        volumev3: `https://block.example.org:8443/v3/${pid}`,
        volumev2: `https://block.example.org:8443/v2/${pid}`,
        cbr: `https://block.example.org:8443/cbr/v3/${pid}`,
      });
      const v = await other.request('GET', '/identity/v3');
      assert.equal(v.body.version.links[0].href, 'https://block.example.org:8443/identity/v3/');
    } finally {
      await other.close();
    }
  });
});

describe('token validation and revocation', () => {
  test('GET shows the subject, HEAD answers 200, DELETE revokes, then both are 404', async () => {
    const m = await member('validated');
    const issued = await issue(passwordAuth('validated', m.password, projectScope('validated')));
    const subject = issued.headers.get('x-subject-token')!;
    const got = await s.request('GET', '/identity/v3/auth/tokens', { token: adminToken, headers: { 'X-Subject-Token': subject } });
    assert.equal(got.status, 200, got.text);
    assert.equal(got.headers.get('x-subject-token'), subject);
    assert.deepEqual({ ...got.body.token, catalog: undefined }, { ...issued.body.token, catalog: undefined });
    assert.deepEqual(got.body.token.catalog, issued.body.token.catalog);
    const noCat = await s.request('GET', '/identity/v3/auth/tokens?nocatalog', { token: adminToken, headers: { 'X-Subject-Token': subject } });
    assert.equal(noCat.body.token.catalog, undefined);
    const head = await s.request('HEAD', '/identity/v3/auth/tokens', { token: subject, headers: { 'X-Subject-Token': subject } });
    assert.equal(head.status, 200);
    assert.equal(head.text, '');

    const del = await s.request('DELETE', '/identity/v3/auth/tokens', { token: adminToken, headers: { 'X-Subject-Token': subject } });
    assert.equal(del.status, 204);
    const gone = await s.request('GET', '/identity/v3/auth/tokens', { token: adminToken, headers: { 'X-Subject-Token': subject } });
    assert.equal(gone.status, 404);
    assert.equal(gone.body.error.title, 'Not Found');
    assert.equal((await s.request('HEAD', '/identity/v3/auth/tokens', { token: adminToken, headers: { 'X-Subject-Token': subject } })).status, 404);
    assert.equal((await s.request('DELETE', '/identity/v3/auth/tokens', { token: adminToken, headers: { 'X-Subject-Token': subject } })).status, 404);
    assert.equal((await s.request('GET', '/identity/v3/auth/tokens', { token: adminToken, headers: { 'X-Subject-Token': 'never-issued' } })).status, 404);
  });

  test('a user may not look at or revoke somebody else\'s token', async () => {
    const a = await member('peer-a');
    await member('peer-b');
    const ta = (await issue(passwordAuth('peer-a', a.password, projectScope('peer-a')))).headers.get('x-subject-token')!;
    const tb = (await issue(passwordAuth('peer-b', 'peer-b-pw', projectScope('peer-b')))).headers.get('x-subject-token')!;
    assert.equal((await s.request('GET', '/identity/v3/auth/tokens', { token: tb, headers: { 'X-Subject-Token': ta } })).status, 403);
    assert.equal((await s.request('DELETE', '/identity/v3/auth/tokens', { token: tb, headers: { 'X-Subject-Token': ta } })).status, 403);
    assert.equal((await s.request('GET', '/identity/v3/auth/tokens', { token: ta, headers: { 'X-Subject-Token': ta } })).status, 200);
  });

  test('validations are cached: a hit does no token query, and revoking drops the entry', async () => {
    const m = await member('cached');
    const subject = (await issue(passwordAuth('cached', m.password, projectScope('cached')))).headers.get('x-subject-token')!;
    assert.equal((await s.request('GET', '/identity/v3/auth/projects', { token: subject })).status, 200);
    // Hide the stored row: a request that still passes was answered from the cache.
    const rows = await s.db.selectFrom('tokens').selectAll().where('user_id', '=', m.userId).execute();
    await s.db.updateTable('tokens').set({ user_id: 'hidden' }).where('user_id', '=', m.userId).execute();
    assert.equal((await s.request('GET', '/identity/v3/auth/projects', { token: subject })).status, 200);
    await s.db.updateTable('tokens').set({ user_id: m.userId }).where('token_hash', 'in', rows.map((r) => r.token_hash)).execute();

    assert.equal((await s.request('DELETE', '/identity/v3/auth/tokens', { token: subject, headers: { 'X-Subject-Token': subject } })).status, 204);
    const after = await s.request('GET', '/identity/v3/auth/projects', { token: subject });
    assert.equal(after.status, 401);
    assert.match(after.headers.get('www-authenticate') ?? '', /Keystone uri=/);
  });

  test('tokens are stored hashed, never in clear', async () => {
    const res = await issue(passwordAuth('admin', ADMIN_PASSWORD, projectScope('admin')));
    const subject = res.headers.get('x-subject-token')!;
    const rows = await s.db.selectFrom('tokens').select('token_hash').execute();
    assert.ok(rows.length > 0);
    assert.ok(rows.every((r) => r.token_hash !== subject && /^[0-9a-f]{64}$/.test(r.token_hash)));
  });

  test('removing the last role, disabling the user or deleting the project invalidates cached tokens', async () => {
    const m = await member('losing-access');
    const scoped = () => issue(passwordAuth('losing-access', m.password, projectScope('losing-access')));
    const t1 = (await scoped()).headers.get('x-subject-token')!;
    assert.equal((await s.request('GET', '/identity/v3/auth/projects', { token: t1 })).status, 200);
    const role = (await s.request('GET', '/identity/v3/roles?name=member', { token: adminToken })).body.roles[0].id;
    await s.request('DELETE', `/identity/v3/projects/${m.projectId}/users/${m.userId}/roles/${role}`, { token: adminToken });
    assert.equal((await s.request('GET', '/identity/v3/auth/projects', { token: t1 })).status, 401);

    await s.request('PUT', `/identity/v3/projects/${m.projectId}/users/${m.userId}/roles/${role}`, { token: adminToken });
    const t2 = (await scoped()).headers.get('x-subject-token')!;
    assert.equal((await s.request('GET', '/identity/v3/auth/projects', { token: t2 })).status, 200);
    await s.request('PATCH', `/identity/v3/users/${m.userId}`, { token: adminToken, body: { user: { enabled: false } } });
    assert.equal((await s.request('GET', '/identity/v3/auth/projects', { token: t2 })).status, 401);
    await s.request('PATCH', `/identity/v3/users/${m.userId}`, { token: adminToken, body: { user: { enabled: true } } });
    // Disabling revoked the token for good, as Keystone's revocation events do.
    assert.equal((await s.request('GET', '/identity/v3/auth/projects', { token: t2 })).status, 401);

    const t3 = (await scoped()).headers.get('x-subject-token')!;
    assert.equal((await s.request('GET', '/identity/v3/auth/projects', { token: t3 })).status, 200);
    assert.equal((await s.request('DELETE', `/identity/v3/projects/${m.projectId}`, { token: adminToken })).status, 204);
    assert.equal((await s.request('GET', '/identity/v3/auth/projects', { token: t3 })).status, 401);
  });

  test('a revoke made by another node is seen once the cached validation is rechecked', async () => {
    let now = Date.now();
    const clocked = await startIdentityServer({}, { clock: { now: () => new Date(now) } });
    try {
      const res = await clocked.request('POST', '/identity/v3/auth/tokens', { body: passwordAuth('admin', ADMIN_PASSWORD, projectScope('admin')) });
      const t = res.headers.get('x-subject-token')!;
      assert.equal((await clocked.request('GET', '/identity/v3/auth/projects', { token: t })).status, 200);
      // Another node sharing the store revokes it: only the row changes, this process is not told.
      await clocked.db.updateTable('tokens').set({ revoked: 1 }).where('token_hash', '=', hashToken(t)).execute();
      assert.equal((await clocked.request('GET', '/identity/v3/auth/projects', { token: t })).status, 200, 'still trusted from the cache');
      now += TOKEN_RECHECK_MS;
      assert.equal((await clocked.request('GET', '/identity/v3/auth/projects', { token: t })).status, 401);
    } finally {
      await clocked.close();
    }
  });

  test('an expired token is rejected even when cached', async () => {
    let now = Date.now();
    const clocked = await startIdentityServer({ tokenTtlSeconds: 60 }, { clock: { now: () => new Date(now) } });
    try {
      const res = await clocked.request('POST', '/identity/v3/auth/tokens', { body: passwordAuth('admin', ADMIN_PASSWORD, projectScope('admin')) });
      const t = res.headers.get('x-subject-token')!;
      assert.equal((await clocked.request('GET', '/identity/v3/auth/projects', { token: t })).status, 200);
      now += 61_000;
      assert.equal((await clocked.request('GET', '/identity/v3/auth/projects', { token: t })).status, 401);
    } finally {
      await clocked.close();
    }
  });
});
