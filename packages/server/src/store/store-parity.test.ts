/**
 * Behaviours where SQLite and PostgreSQL differ by default (LIKE and case, NULLs in ORDER BY, bigint
 * columns read back as strings) must look the same through the API. Runs in both passes of `npm test`.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from '../test-support/harness.js';

let t: TestServer;
let p: string;
let token: string;

before(async () => {
  t = await startTestServer({ backends: [{ name: 'raw', driver: 'raw', pool: 'raw' }] });
  p = t.adminProjectId;
  token = t.adminToken;
  for (const name of ['beta', null, 'Alpha', 'alphabet']) {
    const r = await t.request('POST', `/v3/${p}/volumes`, { token, body: { volume: { size: 1, ...(name === null ? {} : { name }) } } });
    assert.equal(r.status, 202, r.text);
  }
  await t.server.tasks.idle();
});
after(async () => t?.close());

test('a name~ filter matches regardless of case, as Cinder does', async () => {
  const r = await t.request('GET', `/v3/${p}/volumes?name~=ALPHA`, { token, mv: '3.34' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.volumes.map((v: { name: string }) => v.name).sort(), ['Alpha', 'alphabet']);
});

test('sorting by a column that holds NULLs puts them first ascending and last descending, and pages through all', async () => {
  const asc = await t.request('GET', `/v3/${p}/volumes?sort=name:asc`, { token });
  assert.deepEqual(asc.body.volumes.map((v: { name: string | null }) => v.name), [null, 'Alpha', 'alphabet', 'beta']);
  const desc = await t.request('GET', `/v3/${p}/volumes?sort=name:desc`, { token });
  assert.deepEqual(desc.body.volumes.map((v: { name: string | null }) => v.name), ['beta', 'alphabet', 'Alpha', null]);
  // Keyset pages across the NULL: one at a time, every volume once.
  const names: (string | null)[] = [];
  let marker = '';
  for (;;) {
    const r = await t.request('GET', `/v3/${p}/volumes?sort=name:asc&limit=1${marker ? `&marker=${marker}` : ''}`, { token });
    if (r.body.volumes.length === 0) break;
    names.push(r.body.volumes[0].name);
    marker = r.body.volumes[0].id;
  }
  assert.deepEqual(names, [null, 'Alpha', 'alphabet', 'beta']);
});

test('sizes and counts are JSON numbers, not strings', async () => {
  const r = await t.request('GET', `/v3/${p}/volumes/detail?with_count=true`, { token, mv: '3.45' });
  assert.equal(r.body.count, 4);
  for (const v of r.body.volumes) assert.equal(typeof v.size, 'number');
  const q = await t.request('GET', `/v3/${p}/os-quota-sets/${p}?usage=true`, { token });
  assert.equal(q.body.quota_set.volumes.in_use, 4);
  assert.equal(q.body.quota_set.gigabytes.in_use, 4);
  const limits = await t.request('GET', `/v3/${p}/limits`, { token });
  assert.equal(limits.body.limits.absolute.totalGigabytesUsed, 4);
});
