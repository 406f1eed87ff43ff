import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ADMIN_PASSWORD, startTestServer } from '../../test-support/harness.js';
import { Cli, cloudEntry, cloudEnv, missingTools, OPENSTACK, writeClouds } from './test-support/support.js';

// The README's identity workflow, driven by the real python-openstackclient: an admin creates a project, a
// user in it and grants `member`; then the new user authenticates with the cloud config an operator would write.
test('python-openstackclient manages projects, users and role assignments as admin', async (t) => {
  const why = await missingTools([OPENSTACK], ['openstackclient', 'keystoneclient']);
  if (why) {
    t.skip(why);
    return;
  }
  const ts = await startTestServer();
  const home = await mkdtemp(join(tmpdir(), 'cinderbox-osc-home-'));
  try {
    const authUrl = `${ts.url}/identity/v3`;
    const member = { username: 'osc-user', password: 'osc-user-pw', projectName: 'osc-project' };
    const clouds = await writeClouds(home, {
      admin: cloudEntry(authUrl, { username: 'admin', password: ADMIN_PASSWORD, projectName: 'admin' }),
      member: cloudEntry(authUrl, member),
    });
    const admin = new Cli(OPENSTACK, cloudEnv(clouds, 'admin', home));
    const asMember = new Cli(OPENSTACK, cloudEnv(clouds, 'member', home));

    await t.test('the clouds.yaml written by the server works as is', async () => {
      const served = new Cli(OPENSTACK, cloudEnv(join(ts.dataDir, 'clouds.yaml'), 'cinderbox', home));
      const token = await served.json(['token', 'issue']);
      assert.equal(token.project_id, ts.adminProjectId);
      assert.match(token.id, /\S{16,}/);
    });

    let projectId = '';
    await t.test('project create --domain default', async () => {
      const p = await admin.json(['project', 'create', '--domain', 'default', '--description', 'made by OSC', member.projectName]);
      assert.equal(p.name, member.projectName);
      assert.equal(p.domain_id, 'default');
      assert.equal(p.description, 'made by OSC');
      assert.equal(p.enabled, true);
      projectId = p.id;
      const dup = await admin.fails(['project', 'create', '--domain', 'default', member.projectName]);
      assert.match(dup.stderr, /409|[Cc]onflict|[Dd]uplicate/);
    });

    let userId = '';
    await t.test('user create --domain default --project P --password X', async () => {
      const u = await admin.json(['user', 'create', '--domain', 'default', '--project', member.projectName, '--password', member.password, member.username]);
      assert.equal(u.name, member.username);
      assert.equal(u.domain_id, 'default');
      assert.equal(u.default_project_id, projectId);
      assert.equal(u.enabled, true);
      assert.equal(u.password, undefined);
      userId = u.id;
    });

    await t.test('role add --project P --user U member, role assignment list', async () => {
      const before = await asMember.run(['token', 'issue', '-f', 'json']);
      assert.notEqual(before.code, 0, 'a user without a role on the project must not get a project-scoped token');
      await admin.ok(['role', 'add', '--project', member.projectName, '--user', member.username, 'member']);
      const names = await admin.json<any[]>(['role', 'assignment', 'list', '--project', member.projectName, '--user', member.username, '--names']);
      assert.deepEqual(
        names.map((a) => [a.Role, a.User, a.Project]),
        [['member', `${member.username}@Default`, `${member.projectName}@Default`]],
      );
      const ids = await admin.json<any[]>(['role', 'assignment', 'list', '--user', userId]);
      assert.equal(ids.length, 1);
      assert.equal(ids[0].Project, projectId);
    });

    await t.test('the member authenticates and sees its own project only', async () => {
      const token = await asMember.json(['token', 'issue']);
      assert.equal(token.project_id, projectId);
      assert.equal(token.user_id, userId);
      const volumes = await asMember.json<any[]>(['volume', 'list']);
      assert.deepEqual(volumes, []);
      const denied = await asMember.fails(['project', 'create', '--domain', 'default', 'not-allowed']);
      assert.match(denied.stderr, /403|[Ff]orbidden|not authorized/);
    });

    await t.test('list and show', async () => {
      // Read-only commands are independent: run them side by side (each costs a Python start-up).
      const [roles, projects, users, inProject, byName, byId, domains, missing] = await Promise.all([
        admin.json<any[]>(['role', 'list']),
        admin.json<any[]>(['project', 'list']),
        admin.json<any[]>(['user', 'list']),
        admin.json<any[]>(['user', 'list', '--project', member.projectName]),
        admin.json(['project', 'show', member.projectName]),
        admin.json(['user', 'show', userId]),
        admin.json<any[]>(['domain', 'list']),
        admin.fails(['project', 'show', 'no-such-project']),
      ]);
      assert.deepEqual(roles.map((r) => r.Name).sort(), ['admin', 'member', 'reader']);
      assert.deepEqual(projects.map((p) => p.Name).sort(), ['admin', member.projectName]);
      assert.deepEqual(users.map((u) => u.Name).sort(), ['admin', member.username]);
      assert.deepEqual(inProject.map((u) => u.Name), [member.username]);
      assert.equal(byName.id, projectId);
      assert.equal(byId.name, member.username);
      assert.deepEqual(domains.map((d) => [d.ID, d.Name]), [['default', 'Default']]);
      assert.match(missing.stderr, /No project with a name or ID of 'no-such-project' exists/);
    });

    await t.test('set', async () => {
      await admin.ok(['project', 'set', '--description', 'renamed by OSC', '--name', 'osc-project-2', member.projectName]);
      const p = await admin.json(['project', 'show', projectId]);
      assert.equal(p.name, 'osc-project-2');
      assert.equal(p.description, 'renamed by OSC');
      await admin.ok(['user', 'set', '--email', 'osc@example.org', '--description', 'a test user', member.username]);
      const u = await admin.json(['user', 'show', member.username]);
      assert.equal(u.email, 'osc@example.org');
      assert.equal(u.description, 'a test user');
      await admin.ok(['user', 'set', '--disable', member.username]);
      assert.equal((await admin.json(['user', 'show', userId])).enabled, false);
      await asMember.fails(['token', 'issue']);
      await admin.ok(['user', 'set', '--enable', member.username]);
      await admin.ok(['project', 'set', '--name', member.projectName, projectId]);
      await asMember.json(['token', 'issue']);
    });

    await t.test('role remove, user delete, project delete', async () => {
      await admin.ok(['role', 'remove', '--project', member.projectName, '--user', member.username, 'member']);
      assert.deepEqual(await admin.json<any[]>(['role', 'assignment', 'list', '--user', userId]), []);
      await asMember.fails(['token', 'issue']);
      await admin.ok(['user', 'delete', member.username]);
      await admin.fails(['user', 'show', userId]);
      await admin.ok(['project', 'delete', member.projectName]);
      await admin.fails(['project', 'show', projectId]);
      const projects = await admin.json<any[]>(['project', 'list']);
      assert.deepEqual(projects.map((p) => p.Name), ['admin']);
    });
  } finally {
    await ts.close();
    await rm(home, { recursive: true, force: true });
  }
});
