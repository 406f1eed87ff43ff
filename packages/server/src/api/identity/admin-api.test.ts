import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../config/config.js';
import { ADMIN_PASSWORD, passwordAuth, projectScope, startIdentityServer, type IdentityTestServer } from './test-support/server.js';

let s: IdentityTestServer;
let admin: string;
let adminProjectId: string;
let roleIds: Record<string, string>;

const api = (method: string, path: string, body?: unknown, token = admin) => s.request(method, `/identity/v3${path}`, { token, body });

async function login(name: string, password: string, project?: string): Promise<string> {
  const res = await s.request('POST', '/identity/v3/auth/tokens', { body: passwordAuth(name, password, project ? projectScope(project) : undefined) });
  assert.equal(res.status, 201, res.text);
  return res.headers.get('x-subject-token')!;
}

function assertKeystoneError(res: { status: number; body: any }, code: number, title: string) {
  assert.equal(res.status, code, JSON.stringify(res.body));
  assert.deepEqual(Object.keys(res.body), ['error']);
  assert.equal(res.body.error.code, code);
  assert.equal(res.body.error.title, title);
  assert.equal(typeof res.body.error.message, 'string');
}

before(async () => {
  s = await startIdentityServer();
  admin = await login('admin', ADMIN_PASSWORD, 'admin');
  adminProjectId = (await api('GET', '/projects?name=admin')).body.projects[0].id;
  const roles = (await api('GET', '/roles')).body.roles as { id: string; name: string }[];
  roleIds = Object.fromEntries(roles.map((r) => [r.name, r.id]));
});
after(() => s.close());

describe('bootstrap', () => {
  test('an empty store gets exactly domain default, three roles, user and project admin, one grant', async () => {
    const domains = await s.db.selectFrom('domains').selectAll().execute();
    assert.deepEqual(domains.map((d) => [d.id, d.name]), [['default', 'Default']]);
    const roles = await s.db.selectFrom('roles').select('name').orderBy('name').execute();
    assert.deepEqual(roles.map((r) => r.name), ['admin', 'member', 'reader']);
    // This suite runs first, before any other test adds users or projects.
    const users = await s.db.selectFrom('users').select(['name', 'domain_id', 'default_project_id']).execute();
    assert.deepEqual(users, [{ name: 'admin', domain_id: 'default', default_project_id: null }]);
    const projects = await s.db.selectFrom('projects').select(['name', 'domain_id']).execute();
    assert.deepEqual(projects, [{ name: 'admin', domain_id: 'default' }]);
    const grants = await s.db
      .selectFrom('role_assignments')
      .innerJoin('users', 'users.id', 'role_assignments.user_id')
      .innerJoin('projects', 'projects.id', 'role_assignments.project_id')
      .innerJoin('roles', 'roles.id', 'role_assignments.role_id')
      .select(['users.name as u', 'projects.name as p', 'roles.name as r'])
      .where('users.name', '=', 'admin')
      .execute();
    assert.deepEqual(grants, [{ u: 'admin', p: 'admin', r: 'admin' }]);
    assert.deepEqual(s.bootstrap, { adminPassword: ADMIN_PASSWORD, generated: false });
    // A second start over the same store creates nothing.
    assert.equal(await s.identity.bootstrap(), null);
    assert.equal((await s.db.selectFrom('domains').selectAll().execute()).length, 1);
  });

  test('without a configured password one is generated, and it works', async () => {
    const other = await startIdentityServer({ bootstrapAdminPassword: null });
    try {
      assert.equal(other.bootstrap?.generated, true);
      const pw = other.bootstrap!.adminPassword;
      assert.ok(pw.length >= 16);
      const res = await other.request('POST', '/identity/v3/auth/tokens', { body: passwordAuth('admin', pw, projectScope('admin')) });
      assert.equal(res.status, 201);
      const users = await other.db.selectFrom('users').select('password_hash').execute();
      assert.match(users[0]!.password_hash!, /^scrypt\$/);
      assert.ok(!users[0]!.password_hash!.includes(pw));
    } finally {
      await other.close();
    }
    assert.equal(loadConfig({}, {}).bootstrapAdminPassword, null);
  });
});

describe('domains', () => {
  test('list, name filter and show', async () => {
    const list = await api('GET', '/domains');
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.domains.map((d: { id: string }) => d.id), ['default']);
    assert.equal(list.body.links.self, `${s.url}/identity/v3/domains`);
    assert.equal(list.body.links.next, null);
    assert.equal((await api('GET', '/domains?name=Default')).body.domains.length, 1);
    assert.equal((await api('GET', '/domains?name=default')).body.domains.length, 0);
    const show = await api('GET', '/domains/default');
    assert.equal(show.body.domain.name, 'Default');
    assert.equal(show.body.domain.links.self, `${s.url}/identity/v3/domains/default`);
    assertKeystoneError(await api('GET', '/domains/nope'), 404, 'Not Found');
  });
});

describe('projects', () => {
  test('create, show, filter by name and domain, update, delete', async () => {
    const created = await api('POST', '/projects', { project: { name: 'alpha', domain_id: 'default', description: 'first', tags: ['t1'], extra_attr: 'kept' } });
    assert.equal(created.status, 201, created.text);
    const p = created.body.project;
    assert.match(p.id, /^[0-9a-f]{32}$/);
    assert.deepEqual(
      { name: p.name, domain_id: p.domain_id, description: p.description, enabled: p.enabled, parent_id: p.parent_id, is_domain: p.is_domain, tags: p.tags, options: p.options, extra_attr: p.extra_attr },
      { name: 'alpha', domain_id: 'default', description: 'first', enabled: true, parent_id: 'default', is_domain: false, tags: ['t1'], options: {}, extra_attr: 'kept' },
    );
    assert.equal(p.links.self, `${s.url}/identity/v3/projects/${p.id}`);
    assert.deepEqual((await api('GET', `/projects/${p.id}`)).body.project, p);

    const byName = await api('GET', '/projects?name=alpha&domain_id=default');
    assert.deepEqual(byName.body.projects.map((x: { id: string }) => x.id), [p.id]);
    assert.equal(byName.body.links.self, `${s.url}/identity/v3/projects?name=alpha&domain_id=default`);
    assert.equal((await api('GET', '/projects?name=alph')).body.projects.length, 0);
    assert.equal((await api('GET', '/projects?name=alpha&domain_id=other')).body.projects.length, 0);

    const patched = await api('PATCH', `/projects/${p.id}`, { project: { description: 'changed', enabled: false, tags: [] } });
    assert.equal(patched.status, 200, patched.text);
    assert.equal(patched.body.project.description, 'changed');
    assert.equal(patched.body.project.enabled, false);
    assert.deepEqual(patched.body.project.tags, []);
    assert.equal(patched.body.project.extra_attr, 'kept');
    assert.equal((await api('GET', '/projects?enabled=false')).body.projects.length, 1);

    assert.equal((await api('DELETE', `/projects/${p.id}`)).status, 204);
    assertKeystoneError(await api('GET', `/projects/${p.id}`), 404, 'Not Found');
    assertKeystoneError(await api('DELETE', `/projects/${p.id}`), 404, 'Not Found');
    assertKeystoneError(await api('PATCH', `/projects/${p.id}`, { project: { name: 'x' } }), 404, 'Not Found');
  });

  test('a duplicate name in a domain is a 409, by create and by rename', async () => {
    assert.equal((await api('POST', '/projects', { project: { name: 'dup', domain_id: 'default' } })).status, 201);
    const again = await api('POST', '/projects', { project: { name: 'dup', domain_id: 'default' } });
    assertKeystoneError(again, 409, 'Conflict');
    const other = await api('POST', '/projects', { project: { name: 'dup2' } });
    assert.equal(other.body.project.domain_id, 'default');
    assertKeystoneError(await api('PATCH', `/projects/${other.body.project.id}`, { project: { name: 'dup' } }), 409, 'Conflict');
  });

  test('bad bodies are 400s with Keystone bodies and write nothing', async () => {
    const before = (await api('GET', '/projects')).body.projects.length;
    const cases: [unknown, RegExp][] = [
      [{}, /'project' is a required property/],
      [{ project: {} }, /'name' is a required property/],
      [{ project: { name: '' } }, /project\/name/],
      [{ project: { name: 7 } }, /project\/name.*not of type 'string'/],
      [{ project: { name: 'x', enabled: 'yes' } }, /project\/enabled/],
      [{ project: { name: 'x', tags: 'a' } }, /project\/tags/],
      [{ project: { name: 'x', tags: ['a,b'] } }, /tags/],
      [{ project: { name: 'x', options: { nonsense: true } } }, /options/],
      [{ project: { name: 'x', is_domain: true } }, /is_domain/],
    ];
    for (const [body, message] of cases) {
      const res = await api('POST', '/projects', body);
      assertKeystoneError(res, 400, 'Bad Request');
      assert.match(res.body.error.message, message, JSON.stringify(body));
    }
    assertKeystoneError(await api('POST', '/projects', { project: { name: 'x', domain_id: 'nope' } }), 404, 'Not Found');
    assert.equal((await api('GET', '/projects')).body.projects.length, before);
    const p = (await api('POST', '/projects', { project: { name: 'immovable' } })).body.project;
    assertKeystoneError(await api('PATCH', `/projects/${p.id}`, { project: { domain_id: 'other' } }), 400, 'Bad Request');
    assertKeystoneError(await api('PATCH', `/projects/${p.id}`, { project: {} }), 400, 'Bad Request');
  });

  test('a project with children cannot be deleted', async () => {
    const parent = (await api('POST', '/projects', { project: { name: 'parent' } })).body.project;
    const child = await api('POST', '/projects', { project: { name: 'child', parent_id: parent.id } });
    assert.equal(child.body.project.parent_id, parent.id);
    assertKeystoneError(await api('DELETE', `/projects/${parent.id}`), 403, 'Forbidden');
    assert.equal((await api('DELETE', `/projects/${child.body.project.id}`)).status, 204);
    assert.equal((await api('DELETE', `/projects/${parent.id}`)).status, 204);
  });
});

describe('users', () => {
  test('create, show, filter, update, password change and delete', async () => {
    const proj = (await api('POST', '/projects', { project: { name: 'home' } })).body.project;
    const created = await api('POST', '/users', {
      user: { name: 'ursula', domain_id: 'default', password: 'pw-1', default_project_id: proj.id, email: 'u@example.com', description: 'd', enabled: true, options: {} },
    });
    assert.equal(created.status, 201, created.text);
    const u = created.body.user;
    assert.equal(u.password, undefined);
    assert.deepEqual(
      { name: u.name, domain_id: u.domain_id, default_project_id: u.default_project_id, email: u.email, description: u.description, enabled: u.enabled, password_expires_at: u.password_expires_at },
      { name: 'ursula', domain_id: 'default', default_project_id: proj.id, email: 'u@example.com', description: 'd', enabled: true, password_expires_at: null },
    );
    assert.equal(u.links.self, `${s.url}/identity/v3/users/${u.id}`);
    assert.deepEqual((await api('GET', `/users/${u.id}`)).body.user, u);
    assert.deepEqual((await api('GET', '/users?name=ursula&domain_id=default')).body.users.map((x: { id: string }) => x.id), [u.id]);
    assert.equal((await api('GET', '/users?name=URSULA')).body.users.length, 0);
    assertKeystoneError(await api('POST', '/users', { user: { name: 'ursula', domain_id: 'default' } }), 409, 'Conflict');

    const patched = await api('PATCH', `/users/${u.id}`, { user: { email: 'new@example.com', password: 'pw-2' } });
    assert.equal(patched.body.user.email, 'new@example.com');
    assert.equal((await s.request('POST', '/identity/v3/auth/tokens', { body: passwordAuth('ursula', 'pw-1') })).status, 401);
    const grant = await api('PUT', `/projects/${proj.id}/users/${u.id}/roles/${roleIds.member}`);
    assert.equal(grant.status, 204);
    const own = await login('ursula', 'pw-2', 'home');

    // Self-service: reading itself and changing its own password.
    assert.equal((await api('GET', `/users/${u.id}`, undefined, own)).status, 200);
    const wrong = await api('POST', `/users/${u.id}/password`, { user: { original_password: 'nope', password: 'pw-3' } }, own);
    assertKeystoneError(wrong, 401, 'Unauthorized');
    const changed = await api('POST', `/users/${u.id}/password`, { user: { original_password: 'pw-2', password: 'pw-3' } }, own);
    assert.equal(changed.status, 204);
    // A password change revokes the user's tokens.
    assert.equal((await api('GET', `/users/${u.id}`, undefined, own)).status, 401);
    const fresh = await login('ursula', 'pw-3', 'home');
    assertKeystoneError(await api('POST', `/users/${u.id}/password`, { user: { original_password: 'pw-3' } }, fresh), 400, 'Bad Request');

    assert.equal((await api('DELETE', `/users/${u.id}`)).status, 204);
    assertKeystoneError(await api('GET', `/users/${u.id}`), 404, 'Not Found');
    assert.equal((await api('GET', '/auth/projects', undefined, fresh)).status, 401);
    const left = await api('GET', `/role_assignments?user.id=${u.id}`);
    assert.deepEqual(left.body.role_assignments, []);
  });

  test('bad user bodies are 400s', async () => {
    for (const body of [{}, { user: {} }, { user: { name: 'x', enabled: 1 } }, { user: { name: 'x', password: 12 } }, { user: { name: 'x', options: { foo: 1 } } }]) {
      assertKeystoneError(await api('POST', '/users', body), 400, 'Bad Request');
    }
    assert.equal((await api('GET', '/users?name=x')).body.users.length, 0);
  });
});

describe('roles and assignments', () => {
  test('roles list, name filter and show', async () => {
    const list = await api('GET', '/roles');
    assert.deepEqual(list.body.roles.map((r: { name: string }) => r.name), ['admin', 'member', 'reader']);
    const member = await api('GET', '/roles?name=member');
    assert.equal(member.body.roles.length, 1);
    assert.equal(member.body.roles[0].links.self, `${s.url}/identity/v3/roles/${roleIds.member}`);
    assert.equal((await api('GET', `/roles/${roleIds.reader}`)).body.role.name, 'reader');
    assertKeystoneError(await api('GET', '/roles/nope'), 404, 'Not Found');
  });

  test('grant, check, list and revoke a role on a project', async () => {
    const p = (await api('POST', '/projects', { project: { name: 'granted' } })).body.project;
    const u = (await api('POST', '/users', { user: { name: 'grantee', password: 'g' } })).body.user;
    const path = `/projects/${p.id}/users/${u.id}/roles/${roleIds.member}`;
    assert.equal((await api('HEAD', path)).status, 404);
    assert.equal((await api('PUT', path)).status, 204);
    assert.equal((await api('PUT', path)).status, 204);
    assert.equal((await api('HEAD', path)).status, 204);
    assert.equal((await api('GET', path)).status, 204);
    const grants = await api('GET', `/projects/${p.id}/users/${u.id}/roles`);
    assert.deepEqual(grants.body.roles.map((r: { name: string }) => r.name), ['member']);

    const direct = await api('GET', `/role_assignments?user.id=${u.id}&scope.project.id=${p.id}`);
    assert.deepEqual(direct.body.role_assignments, [
      {
        role: { id: roleIds.member },
        user: { id: u.id },
        scope: { project: { id: p.id } },
        links: { assignment: `${s.url}/identity/v3${path}` },
      },
    ]);
    const named = await api('GET', `/role_assignments?user.id=${u.id}&effective&include_names`);
    assert.deepEqual(
      named.body.role_assignments.map((a: any) => [a.role.name, a.user.name, a.user.domain.name, a.scope.project.name]),
      [['member', 'grantee', 'Default', 'granted'], ['reader', 'grantee', 'Default', 'granted']],
    );
    const byRole = await api('GET', `/role_assignments?role.id=${roleIds.admin}`);
    assert.deepEqual(byRole.body.role_assignments.map((a: any) => [a.user.id, a.scope.project.id]), [[(await api('GET', '/users?name=admin')).body.users[0].id, adminProjectId]]);
    assert.deepEqual((await api('GET', `/role_assignments?group.id=g`)).body.role_assignments, []);

    assert.equal((await api('DELETE', path)).status, 204);
    assertKeystoneError(await api('DELETE', path), 404, 'Not Found');
    assert.deepEqual((await api('GET', `/projects/${p.id}/users/${u.id}/roles`)).body.roles, []);
    assertKeystoneError(await api('PUT', `/projects/${p.id}/users/${u.id}/roles/nope`), 404, 'Not Found');
    assertKeystoneError(await api('PUT', `/projects/${p.id}/users/nope/roles/${roleIds.member}`), 404, 'Not Found');
    assertKeystoneError(await api('PUT', `/projects/nope/users/${u.id}/roles/${roleIds.member}`), 404, 'Not Found');
  });

  test('GET /auth/projects and /users/{id}/projects list the projects a user holds roles on', async () => {
    const p1 = (await api('POST', '/projects', { project: { name: 'mine-1' } })).body.project;
    const p2 = (await api('POST', '/projects', { project: { name: 'mine-2', enabled: false } })).body.project;
    const u = (await api('POST', '/users', { user: { name: 'owner', password: 'o' } })).body.user;
    await api('PUT', `/projects/${p1.id}/users/${u.id}/roles/${roleIds.member}`);
    await api('PUT', `/projects/${p2.id}/users/${u.id}/roles/${roleIds.reader}`);
    const t = await login('owner', 'o', 'mine-1');
    const auth = await api('GET', '/auth/projects', undefined, t);
    assert.deepEqual(auth.body.projects.map((p: { name: string }) => p.name), ['mine-1']);
    const all = await api('GET', `/users/${u.id}/projects`, undefined, t);
    assert.deepEqual(all.body.projects.map((p: { name: string }) => p.name), ['mine-1', 'mine-2']);
  });
});

describe('policy', () => {
  test('a member gets 403 on the admin API but may read itself and its project', async () => {
    const p = (await api('POST', '/projects', { project: { name: 'plain' } })).body.project;
    const u = (await api('POST', '/users', { user: { name: 'plain', password: 'p', default_project_id: p.id } })).body.user;
    await api('PUT', `/projects/${p.id}/users/${u.id}/roles/${roleIds.member}`);
    const t = await login('plain', 'p', 'plain');
    const forbidden: [string, string, unknown?][] = [
      ['GET', '/projects'],
      ['POST', '/projects', { project: { name: 'sneaky' } }],
      ['PATCH', `/projects/${adminProjectId}`, { project: { description: 'x' } }],
      ['DELETE', `/projects/${adminProjectId}`],
      ['GET', `/projects/${adminProjectId}`],
      ['GET', '/users'],
      ['POST', '/users', { user: { name: 'sneaky' } }],
      ['PATCH', `/users/${u.id}`, { user: { enabled: true } }],
      ['GET', '/roles'],
      ['GET', `/roles/${roleIds.admin}`],
      ['PUT', `/projects/${p.id}/users/${u.id}/roles/${roleIds.admin}`],
      ['GET', '/role_assignments'],
      ['GET', '/domains/other'],
    ];
    for (const [method, path, body] of forbidden) {
      const res = await api(method, path, body, t);
      assertKeystoneError(res, 403, 'Forbidden');
      assert.match(res.body.error.message, /identity:/, `${method} ${path}`);
    }
    assert.equal((await api('GET', '/projects?name=sneaky')).body.projects.length, 0);
    assert.equal((await api('GET', `/users/${u.id}`, undefined, t)).status, 200);
    assert.equal((await api('GET', `/projects/${p.id}`, undefined, t)).status, 200);
    assert.equal((await api('GET', '/domains/default', undefined, t)).status, 200);
    assert.equal((await api('GET', `/role_assignments?user.id=${u.id}`, undefined, t)).status, 200);
    assert.equal((await api('GET', '/auth/projects', undefined, t)).status, 200);
  });

  test('the admin API needs a token', async () => {
    const res = await s.request('GET', '/identity/v3/projects');
    assertKeystoneError(res, 401, 'Unauthorized');
    assert.ok(res.headers.get('www-authenticate'));
  });
});
