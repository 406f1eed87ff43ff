/**
 * The peer-node credential (services/peer-nodes.ts) over the real token service: a service token of the bootstrap
 * admin scoped to its `admin` project, accepted by the identity API over a socket, withdrawn by `release` through
 * the token service (this process's token cache forgets it at once, not after its recheck interval), and refused
 * when the bootstrap admin project is disabled. Real store (SQLite, or PostgreSQL with CINDERBOX_TEST_DATABASE_URL).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN_PASSWORD, passwordAuth, projectScope, startIdentityServer, type IdentityTestServer } from '../api/identity/test-support/server.js';
import type { MetadataStore } from '../domain/ports/metadata-store.js';
import type { ServiceStore } from '../domain/ports/service-store.js';
import { peerNodes } from './peer-nodes.js';

describe('peer-node credentials through the token service', () => {
  let s: IdentityTestServer;
  let adminToken = '';
  let adminProjectId = '';

  before(async () => {
    s = await startIdentityServer();
    const res = await s.request('POST', '/identity/v3/auth/tokens', { body: passwordAuth('admin', ADMIN_PASSWORD, projectScope('admin')) });
    assert.equal(res.status, 201, res.text);
    adminToken = res.headers.get('x-subject-token')!;
    adminProjectId = res.body.token.project.id;
  });
  after(() => s.close());

  // urlOf is not exercised here: only the token half of the peers is under test.
  const peers = () => peerNodes({ store: {} as MetadataStore, services: {} as ServiceStore, tokens: s.identity.tokens, ttlSeconds: 120 });

  test('an admin token of the admin project, valid through the API, lives no longer than asked; released, it is refused at once', async () => {
    const before = Date.now();
    const cred = await peers().credential('a test copy');
    assert.equal(cred.projectId, adminProjectId);
    const seen = await s.request('GET', '/identity/v3/auth/tokens', { token: adminToken, headers: { 'X-Subject-Token': cred.token } });
    assert.equal(seen.status, 200, seen.text);
    assert.equal(seen.body.token.project.id, adminProjectId);
    assert.equal(seen.body.token.user.name, 'admin');
    assert.ok(seen.body.token.roles.some((r: { name: string }) => r.name === 'admin'));
    const expires = Date.parse(seen.body.token.expires_at);
    assert.ok(expires <= before + 120_000 + 5_000 && expires > before, `expires within its ttl: ${seen.body.token.expires_at}`);
    // Validated (so cached) by this process before the release.
    assert.ok((await s.identity.tokens.validate(cred.token))?.isAdmin);
    await cred.release();
    assert.equal(await s.identity.tokens.validate(cred.token), null, 'dropped from the cache by the release');
    const after = await s.request('GET', '/identity/v3/auth/tokens', { token: adminToken, headers: { 'X-Subject-Token': cred.token } });
    assert.equal(after.status, 404, after.text);
    // A second release (a retried cleanup) has nothing left to withdraw and does not fail.
    await cred.release();
  });

  test('with the admin project disabled no credential is issued, and no token row is left', async () => {
    const count = async () => Number((await s.db.selectFrom('tokens').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const r = await s.request('PATCH', `/identity/v3/projects/${adminProjectId}`, { token: adminToken, body: { project: { enabled: false } } });
    assert.equal(r.status, 200, r.text);
    const rows = await count();
    await assert.rejects(peers().credential('a test copy'), /no enabled bootstrap admin user .* to authenticate a test copy to another node/);
    assert.equal(await count(), rows);
  });
});
