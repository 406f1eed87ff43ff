/**
 * The identity proxy against the live Keystone subset (projects, users, roles, grants, role assignments,
 * domains) and the service client's raw-body / streamed-response option against the cinderbox-data extension.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { Connection } from '../connection.js';
import { ForbiddenError, NotFoundError, UnauthorizedError } from '../errors.js';
import { adminConnection, startTestServer, type TestServer } from '../test-support/live.js';

let t: TestServer;
let admin: Connection;

before(async () => {
  t = await startTestServer();
  admin = adminConnection(t.url);
});
after(async () => {
  await t.close();
});

describe('identity', () => {
  test('projects: create, get, find, list, update (PATCH of changed fields), delete', async () => {
    const id = admin.identity;
    const p = await id.createProject({ name: 'team-a', domainId: 'default', description: 'first' });
    assert.match(p.id ?? '', /^[0-9a-f]{32}$/);
    assert.equal(p.isEnabled, true);
    assert.equal((await id.getProject(p.id as string)).name, 'team-a');
    assert.equal((await id.findProject('team-a'))?.id, p.id);
    assert.equal((await id.findProject(p.id as string))?.name, 'team-a');
    assert.ok((await id.projects().toArray()).some((x) => x.id === p.id));
    assert.deepEqual(
      (await id.projects({ name: 'team-a' }).toArray()).map((x) => x.id),
      [p.id],
    );
    const requests: Array<{ method: string; body: unknown }> = [];
    admin.pipeline.use('spy', (req, next) => {
      requests.push({ method: req.method, body: req.body });
      return next(req);
    });
    try {
      await id.updateProject(p, { description: 'second' });
      await id.updateProject(p, { description: 'second' });
    } finally {
      admin.pipeline.remove('spy');
    }
    assert.deepEqual(requests, [{ method: 'PATCH', body: { project: { description: 'second' } } }]);
    assert.equal((await id.getProject(p.id as string)).description, 'second');
    await id.deleteProject(p);
    await assert.rejects(id.getProject(p.id as string), NotFoundError);
    await id.deleteProject(p, { ignoreMissing: true });
    await assert.rejects(id.deleteProject(p), NotFoundError);
  });

  test('users, roles and grants: a granted member can use block storage, a revoked one cannot', async () => {
    const id = admin.identity;
    const p = await id.createProject({ name: 'team-b', domainId: 'default' });
    const u = await id.createUser({ name: 'bob', password: 'bob-pw-1', defaultProjectId: p.id, domainId: 'default' });
    assert.equal(u.password, undefined, 'the password is not echoed');
    assert.equal((await id.findUser('bob'))?.id, u.id);
    await id.updateUser(u, { email: 'bob@example.org' });
    assert.equal((await id.getUser(u.id as string)).email, 'bob@example.org');

    const roles = await id.roles().toArray();
    const member = await id.findRole('member');
    assert.ok(member && roles.some((r) => r.id === member.id));
    assert.equal((await id.getRole(member.id as string)).name, 'member');

    assert.equal(await id.hasProjectRole(p, u, member), false);
    await id.grantProjectRole(p, u, member);
    assert.equal(await id.validateUserHasProjectRole(p, u, member), true);
    assert.deepEqual(
      (await id.projectUserRoles(p, u).toArray()).map((r) => r.name),
      ['member'],
    );
    const assignments = await id.roleAssignments({ userId: u.id, projectId: p.id }).toArray();
    assert.equal(assignments.length, 1);
    assert.equal(assignments[0]?.role?.id, member.id);
    assert.equal(assignments[0]?.scope?.project?.id, p.id);
    assert.ok((await id.userProjects(u).toArray()).some((x) => x.id === p.id));

    const bob = new Connection({
      auth: {
        authUrl: `${t.url}/identity/v3`,
        username: 'bob',
        password: 'bob-pw-1',
        projectId: p.id,
        userDomainName: 'Default',
      },
    });
    assert.deepEqual(await bob.blockStorage.volumes().toArray(), []);
    await assert.rejects(bob.identity.createProject({ name: 'nope', domainId: 'default' }), ForbiddenError);
    await bob.identity.changeUserPassword(u, 'bob-pw-1', 'bob-pw-2');

    await id.revokeProjectRole(p, u, member);
    assert.equal(await id.hasProjectRole(p, u, member), false);
    await assert.rejects(id.revokeProjectRole(p, u, member), NotFoundError);
    const again = new Connection({
      auth: { authUrl: `${t.url}/identity/v3`, username: 'bob', password: 'bob-pw-2', projectId: p.id, userDomainName: 'Default' },
    });
    await assert.rejects(again.authorize(), (e: unknown) => e instanceof UnauthorizedError || (e as Error).name === 'AuthError');

    await id.deleteUser(u);
    await id.deleteUser(u, { ignoreMissing: true });
    await id.deleteProject(p);
  });

  test('domains: list, get by opaque id, find by name', async () => {
    const id = admin.identity;
    assert.ok((await id.domains().toArray()).some((d) => d.id === 'default'));
    assert.equal((await id.getDomain('default')).name, 'Default');
    assert.equal((await id.findDomain('default'))?.name, 'Default');
    assert.equal((await id.findDomain('Default'))?.id, 'default');
  });
});

describe('raw bodies and streamed responses', () => {
  test('upload bytes as a stream, download them streamed, ranges, errors parsed', async () => {
    const bs = admin.blockStorage;
    const v = await bs.createVolume({ size: 1, name: 'raw' });
    await bs.waitForStatus(v, { minDelayMs: 5 });
    const data = randomBytes(256 * 1024);
    const path = `/volumes/${v.id}/cinderbox-data`;

    const up = await bs.client.request('PUT', path, {
      rawBody: Readable.from([data.subarray(0, 100_000), data.subarray(100_000)]),
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(data.length) },
    });
    assert.equal((up.body as { written?: number }).written, data.length);

    const down = await bs.client.request('GET', path, {
      responseType: 'stream',
      headers: { accept: 'application/octet-stream', range: `bytes=0-${data.length - 1}` },
    });
    assert.equal(down.body, undefined);
    assert.ok(down.stream);
    const got = Buffer.from(await new Response(down.stream).arrayBuffer());
    assert.ok(got.equals(data));

    const part = await bs.client.request('GET', path, {
      responseType: 'stream',
      headers: { accept: 'application/octet-stream', range: 'bytes=10-19' },
    });
    assert.ok(Buffer.from(await new Response(part.stream).arrayBuffer()).equals(data.subarray(10, 20)));

    const small = await bs.client.request('PUT', path, { rawBody: data.subarray(0, 16) });
    assert.equal((small.body as { written?: number }).written, 16);

    await assert.rejects(
      bs.client.request('GET', `/volumes/00000000-0000-4000-8000-000000000000/cinderbox-data`, { responseType: 'stream' }),
      (e: unknown) => e instanceof NotFoundError && typeof e.requestId === 'string',
    );
    await bs.deleteVolume(v);
  });
});
