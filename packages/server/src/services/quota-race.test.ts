/**
 * Quota reservations race-free under concurrency. SQLite's single writer serializes transactions anyway; on
 * PostgreSQL (CINDERBOX_TEST_DATABASE_URL) transactions run at READ COMMITTED in parallel, and only a check
 * made in the same statement as the increment (or under a row lock) keeps a burst of creates within the limit.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../test-support/harness.js';

describe('quota reservations under concurrency', () => {
  let t: TestServer;

  before(async () => {
    t = await startTestServer({ backends: [{ name: 'raw', driver: 'raw', pool: 'raw' }] });
  });
  after(async () => {
    await t?.close();
  });

  // Each resource a request reserves is its own row: the limit must hold whichever one runs out.
  for (const [resource, refusal] of [
    ['volumes', /VolumeLimitExceeded/],
    ['gigabytes', /VolumeSizeExceedsAvailableQuota/],
  ] as const) {
    test(`50 concurrent volume creates in a project with 10 ${resource} left create exactly 10`, async () => {
      const admin = { projectId: t.adminProjectId, token: t.adminToken };
      const m = await t.createMember(`quota-race-${resource}`);
      const set = await t.request('PUT', `/v3/${admin.projectId}/os-quota-sets/${m.projectId}`, {
        token: admin.token,
        // The other resource unlimited, so only the one under test can refuse.
        body: { quota_set: { volumes: -1, gigabytes: -1, [resource]: 12 } },
      });
      assert.equal(set.status, 200, set.text);
      // Two in use before the burst, so the usage rows exist and the race is on their increment, not their creation.
      for (let i = 0; i < 2; i++) {
        const r = await t.request('POST', `/v3/${m.projectId}/volumes`, { token: m.token, body: { volume: { size: 1, name: `pre-${i}` } } });
        assert.equal(r.status, 202, r.text);
      }

      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          t.request('POST', `/v3/${m.projectId}/volumes`, { token: m.token, body: { volume: { size: 1, name: `burst-${i}` } } }),
        ),
      );
      const statuses = results.map((r) => r.status);
      assert.equal(statuses.filter((s) => s === 202).length, 10, `statuses: ${statuses.join(',')}`);
      assert.equal(statuses.filter((s) => s === 413).length, 40, `statuses: ${statuses.join(',')}`);
      for (const r of results.filter((x) => x.status === 413)) assert.match(r.body.overLimit.message, refusal);

      const list = await t.request('GET', `/v3/${m.projectId}/volumes`, { token: m.token });
      assert.equal(list.body.volumes.length, 12);
      const usage = await t.request('GET', `/v3/${admin.projectId}/os-quota-sets/${m.projectId}?usage=true`, { token: admin.token });
      assert.equal(usage.status, 200, usage.text);
      assert.equal(usage.body.quota_set.volumes.in_use, 12);
      assert.equal(usage.body.quota_set.gigabytes.in_use, 12);
    });
  }
});
