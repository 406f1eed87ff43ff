/**
 * The identity and CBR proxy methods added for parity with the server (see parity.test.ts), against the live
 * server: version documents, token validation and revocation, the auth scope lists and catalog; single vault tags.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Connection } from '../connection.js';
import { NotFoundError } from '../errors.js';
import { adminConnection, memberConnection, startTestServer, type TestServer } from '../test-support/live.js';

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
  test('apiVersions and apiVersion read the Identity version documents', async () => {
    const all = await admin.identity.apiVersions();
    assert.ok(all.some((v) => v.id.startsWith('v3')), JSON.stringify(all));
    assert.match((await admin.identity.apiVersion())?.id ?? '', /^v3/);
  });

  test('validateToken tells who a token is for; revokeToken ends it, after which it no longer validates', async () => {
    await t.createMember('sdk-tokens');
    const alice = memberConnection(t.url, 'sdk-tokens');
    const access = await alice.authorize();
    const seen = await admin.identity.validateToken(access.token);
    assert.equal(seen.userName, 'sdk-tokens');
    assert.equal(seen.projectId, access.projectId);
    assert.ok(seen.roles.includes('member'), seen.roles.join(','));
    assert.ok(seen.catalog, 'the catalog comes with the token');
    assert.equal((await admin.identity.validateToken(access.token, { noCatalog: true })).catalog, undefined);

    // Anyone may revoke their own token.
    await alice.identity.revokeToken(access.token);
    await assert.rejects(admin.identity.validateToken(access.token), NotFoundError);
  });

  test('catalog, authProjects, authDomains and authSystem describe what the caller may scope to', async () => {
    await t.createMember('sdk-scopes');
    const bob = memberConnection(t.url, 'sdk-scopes').identity;
    const types = (await bob.catalog()).map((s) => s.type);
    assert.ok(types.includes('block-storage') || types.includes('volumev3'), types.join(','));
    assert.ok(types.includes('identity'), types.join(','));
    assert.deepEqual((await bob.authProjects()).map((p) => p.name), ['sdk-scopes']);
    assert.deepEqual(await bob.authDomains(), []);
    assert.deepEqual(await bob.authSystem(), []);
  });
});

describe('CBR single vault tags', () => {
  test('addVaultTag adds or overwrites one tag; removeVaultTag removes one, 404 for a key the vault lacks', async () => {
    const cbr = admin.cbr;
    const billing = { consistentLevel: 'crash_consistent', objectType: 'disk', protectType: 'backup', size: 10 };
    const v = await cbr.createVault({ name: 'single-tags', billing });
    await cbr.addVaultTag(v, { key: 'env', value: 'test' });
    await cbr.addVaultTag(v, { key: 'env', value: 'prod' });
    await cbr.addVaultTag(v, { key: 'team', value: 'db' });
    const sorted = (await cbr.vaultTags(v)).sort((x, y) => x.key.localeCompare(y.key));
    assert.deepEqual(sorted, [
      { key: 'env', value: 'prod' },
      { key: 'team', value: 'db' },
    ]);
    await cbr.removeVaultTag(v, 'team');
    assert.deepEqual(await cbr.vaultTags(v), [{ key: 'env', value: 'prod' }]);
    await assert.rejects(cbr.removeVaultTag(v, 'team'), NotFoundError);
    await cbr.deleteVault(v);
  });
});
