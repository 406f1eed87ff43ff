import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { loadConfig } from '../../config/config.js';
import { startServer } from '../../main.js';
import { startTestServer } from '../../test-support/harness.js';

test('the composed server bootstraps once, and its clouds.yaml credentials authenticate', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cinderbox-identity-main-'));
  const config = { ...loadConfig({ dataDir: dir, port: 0, host: '127.0.0.1' }, {}), bootstrapAdminPassword: null };
  const post = (url: string, body: unknown) =>
    fetch(`${url}/identity/v3/auth/tokens`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  try {
    const first = await startServer(config);
    let password: string;
    try {
      assert.equal(first.bootstrap?.generated, true);
      const auth = parse(await readFile(first.cloudsYamlPath, 'utf8')).clouds.cinderbox.auth;
      password = auth.password;
      assert.equal(password, first.bootstrap?.adminPassword);
      assert.equal(auth.auth_url, `${first.url}/identity/v3`);
      // Discovery at auth_url, then the token request, exactly as keystoneauth does it.
      const version = (await (await fetch(auth.auth_url)).json()) as { version: { links: { href: string }[] } };
      assert.equal(version.version.links[0]!.href, `${first.url}/identity/v3/`);
      const res = await post(first.url, {
        auth: {
          identity: { methods: ['password'], password: { user: { name: auth.username, domain: { name: auth.user_domain_name }, password } } },
          scope: { project: { name: auth.project_name, domain: { name: auth.project_domain_name } } },
        },
      });
      assert.equal(res.status, 201);
      assert.equal(((await res.json()) as { token: { project: { name: string } } }).token.project.name, 'admin');
    } finally {
      await first.close();
    }

    const second = await startServer({ ...config, bootstrapAdminPassword: 'ignored-after-first-start' });
    try {
      assert.equal(second.bootstrap, null);
      const again = parse(await readFile(second.cloudsYamlPath, 'utf8')).clouds.cinderbox.auth;
      assert.equal(again.password, password);
      const res = await post(second.url, {
        auth: { identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password } } } },
      });
      assert.equal(res.status, 201);
    } finally {
      await second.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('block storage sees the identity a token carries: a member is not admin, its project is in the catalog', async () => {
  const s = await startTestServer();
  try {
    const m = await s.createMember('harness-member');
    const validated = await s.request('GET', '/identity/v3/auth/tokens', { token: s.adminToken, headers: { 'X-Subject-Token': m.token } });
    assert.equal(validated.status, 200);
    assert.deepEqual(validated.body.token.roles.map((r: { name: string }) => r.name).sort(), ['member', 'reader']);
    const volume = validated.body.token.catalog.find((c: { type: string }) => c.type === 'volumev3');
    assert.equal(volume.endpoints[0].url, `${s.url}/v3/${m.projectId}`);
    assert.equal((await s.request('GET', '/identity/v3/projects', { token: m.token })).status, 403);
    assert.equal((await s.request('GET', `/v3/${m.projectId}/volumes`, { token: m.token })).status, 200);
  } finally {
    await s.close();
  }
});
