import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse } from 'yaml';
import { startTestServer, type TestServer } from '../../../server/src/test-support/harness.js';
import { adminEnv, Cli } from '../test-support/cli.js';

let ts: TestServer;
let admin: Cli;

before(async () => {
  ts = await startTestServer();
  admin = new Cli(adminEnv(ts.dataDir));
});
after(async () => {
  await ts?.close();
});

test('project and user create/list/show/delete and role add give a member who can use block storage via OS_* variables', async () => {
  const p = await admin.json(['project', 'create', 'team', '--description', 'the team']);
  assert.equal(p.name, 'team');
  assert.equal(p.description, 'the team');
  assert.equal(p.enabled, true);
  const u = await admin.json([
    'user',
    'create',
    'alice',
    '--password',
    'alice-pw',
    '--project',
    'team',
    '--email',
    'a@example.org',
  ]);
  assert.equal(u.default_project_id, p.id);
  assert.equal(u.email, 'a@example.org');
  assert.equal('password' in u, false);
  assert.equal((await admin.run(['role', 'add', 'member', '--project', 'team', '--user', 'alice'])).code, 0);

  const projects = await admin.json(['project', 'list', '--long']);
  assert.deepEqual(
    projects.find((r: any) => r.Name === 'team'),
    {
      ID: p.id,
      Name: 'team',
      'Domain ID': 'default',
      Description: 'the team',
      Enabled: true,
    },
  );
  assert.deepEqual(await admin.json(['user', 'show', 'alice', '-c', 'id', '-c', 'name']), { id: u.id, name: 'alice' });

  // The member signs in with OS_* variables only (no clouds.yaml) and creates a volume in her project.
  const authUrl = (parse(await readFile(join(ts.dataDir, 'clouds.yaml'), 'utf8')) as any).clouds.cinderbox.auth
    .auth_url;
  const alice = new Cli({
    OS_AUTH_URL: authUrl,
    OS_USERNAME: 'alice',
    OS_PASSWORD: 'alice-pw',
    OS_PROJECT_NAME: 'team',
    OS_USER_DOMAIN_NAME: 'Default',
    OS_PROJECT_DOMAIN_NAME: 'Default',
  });
  const v = await alice.json(['volume', 'create', '--size', '1', 'mine']);
  assert.deepEqual(await alice.json(['volume', 'list', '-c', 'ID']), [{ ID: v.id }]);
  assert.deepEqual(await admin.json(['volume', 'list']), [], "the admin's own project has none");
  const denied = await alice.run(['project', 'list']);
  assert.equal(denied.code, 1);
  assert.match(denied.stderr, /\(HTTP 403\) \(Request-ID: req-/);

  const dup = await admin.run(['project', 'create', 'team']);
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /\(HTTP 409\)/);

  assert.equal((await admin.run(['role', 'remove', 'member', '--project', 'team', '--user', 'alice'])).code, 0);
  assert.equal((await admin.run(['user', 'delete', 'alice'])).code, 0);
  const gone = await admin.run(['user', 'show', 'alice']);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /No user with a name or ID of 'alice' exists\./);
  assert.equal((await admin.run(['user', 'list', '-f', 'value', '-c', 'Name'])).stdout, 'admin\n');
  const noUser = await admin.run(['role', 'add', 'member', '--project', 'team']);
  assert.equal(noUser.code, 2, 'a missing required option is a usage error');
});

test('--os-cloud selects the cloud and a bad password is exit 1 with the Keystone message', async () => {
  const cloudsPath = join(ts.dataDir, 'clouds.yaml');
  const byFlag = await new Cli({ OS_CLIENT_CONFIG_FILE: cloudsPath }).run([
    '--os-cloud',
    'cinderbox',
    'project',
    'show',
    'admin',
    '-f',
    'value',
    '-c',
    'name',
  ]);
  assert.equal(byFlag.code, 0, byFlag.stderr);
  assert.equal(byFlag.stdout, 'admin\n');
  const bad = await new Cli({
    OS_CLIENT_CONFIG_FILE: cloudsPath,
    OS_CLOUD: 'cinderbox',
  }).run(['project', 'list', '--os-password', 'wrong']);
  assert.equal(bad.code, 1);
  assert.match(
    bad.stderr,
    /^Error: The request you have made requires authentication\. \(HTTP 401\) \(Request-ID: req-[0-9a-f-]+\)\n$/,
  );
});
