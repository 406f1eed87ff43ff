/**
 * Input that used to reach a 500 (issue 15): deep JSON, invalid UTF-8, NUL, sort keys and filters named like
 * Object.prototype's members, control characters in names. Each is a 4xx in the API's dialect, and nothing is
 * created or changed by it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../../test-support/harness.js';
import { jsonDepthExceeds, MAX_JSON_DEPTH, parseJsonBody } from './http-app.js';

describe('the JSON body parser', () => {
  test('counts nesting without building objects, skipping brackets inside strings and escaped quotes', () => {
    assert.equal(jsonDepthExceeds('[[[]]]', 3), false);
    assert.equal(jsonDepthExceeds('[[[[]]]]', 3), true);
    assert.equal(jsonDepthExceeds('{"a": "[[[[[[[[", "b": "\\"[[[[[["}', 2), false);
    assert.equal(jsonDepthExceeds(`{"a":${'{"b":'.repeat(MAX_JSON_DEPTH)}1${'}'.repeat(MAX_JSON_DEPTH)}}`, MAX_JSON_DEPTH), true);
  });

  test('refuses invalid UTF-8, NUL anywhere and over-deep text; takes an empty body as absent', () => {
    const refused = (b: Buffer) => {
      const [err] = parseJsonBody(b);
      assert.ok(err, `${b.toString('hex')} was accepted`);
      assert.equal((err as { status?: number }).status, 400);
    };
    refused(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]));
    refused(Buffer.from([0xed, 0xa0, 0x80])); // a surrogate encoded as UTF-8 is not UTF-8
    refused(Buffer.from('{"a": "x\\u0000y"}'));
    refused(Buffer.from('{"a\\u0000": 1}'));
    refused(Buffer.from('['.repeat(100_000) + ']'.repeat(100_000)));
    assert.deepEqual(parseJsonBody(Buffer.from('  ')), [null, undefined]);
    assert.deepEqual(parseJsonBody(Buffer.from('{"name": "\\u00e9t\\u00e9 \\ud83d\\ude00"}')), [null, { name: 'été 😀' }]);
  });
});

describe('hostile input over HTTP', () => {
  let t: TestServer;
  let P: string;
  let member: { token: string; projectId: string };

  before(async () => {
    t = await startTestServer({ backends: [{ name: 'raw', driver: 'raw', pool: 'raw' }] });
    P = t.adminProjectId;
    member = await t.createMember('hostile');
  });
  after(async () => t?.close());

  async function volumeCount(): Promise<number> {
    const r = await t.request('GET', `/v3/${P}/volumes?all_tenants=1`, { token: t.adminToken });
    return r.body.volumes.length as number;
  }

  test('JSON nested thousands of levels deep is a 400 on volume create and on token issue without a token', async () => {
    const before = await volumeCount();
    const deep = `{"volume": ${'['.repeat(50_000)}${']'.repeat(50_000)}}`;
    const v = await t.request('POST', `/v3/${P}/volumes`, { token: t.adminToken, rawBody: deep, headers: { 'Content-Type': 'application/json' } });
    assert.equal(v.status, 400, v.text);
    assert.match(v.body.badRequest.message, /nested deeper/);
    const auth = `{"auth": {"identity": ${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}}`;
    const k = await t.request('POST', '/identity/v3/auth/tokens', { rawBody: auth, headers: { 'Content-Type': 'application/json' } });
    assert.equal(k.status, 400, k.text);
    assert.equal(k.body.error.code, 400);
    assert.equal(await volumeCount(), before);
  });

  test('a body that is not UTF-8 or holds NUL is a 400, and a body over the limit is a 413 overLimit', async () => {
    const bad = Buffer.concat([Buffer.from('{"volume": {"size": 1, "name": "'), Buffer.from([0xc3, 0x28]), Buffer.from('"}}')]);
    const r = await t.request('POST', `/v3/${P}/volumes`, { token: t.adminToken, rawBody: bad, headers: { 'Content-Type': 'application/json' } });
    assert.equal(r.status, 400, r.text);
    const nul = await t.request('POST', `/v3/${P}/volumes`, { token: t.adminToken, body: { volume: { size: 1, name: 'a\u0000b' } } });
    assert.equal(nul.status, 400, nul.text);
    const huge = await t.request('POST', `/v3/${P}/volumes`, {
      token: t.adminToken,
      body: { volume: { size: 1, description: 'x'.repeat(5 * 1024 * 1024) } },
    });
    assert.equal(huge.status, 413, huge.text);
    assert.equal(huge.body.overLimit.code, 413);
    const url = await t.request('GET', `/v3/${P}/volumes/a%00b/metadata`, { token: t.adminToken });
    assert.equal(url.status, 400, url.text);
    assert.equal(await volumeCount(), 0);
  });

  test('sort keys and filters named like built-in object properties are refused or match nothing on every list', async () => {
    const lists = [
      `/v3/${P}/volumes`,
      `/v3/${P}/volumes/detail`,
      `/v3/${P}/snapshots`,
      `/v3/${P}/snapshots/detail`,
      `/v3/${P}/backups`,
      `/v3/${P}/backups/detail`,
      `/cbr/v3/${P}/vaults`,
      `/cbr/v3/${P}/policies`,
      `/cbr/v3/${P}/backups`,
      `/cbr/v3/${P}/operation-logs`,
      '/identity/v3/projects',
      '/identity/v3/users',
      '/identity/v3/roles',
      '/identity/v3/role_assignments',
    ];
    for (const key of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'prototype', '__defineGetter__']) {
      for (const list of lists) {
        for (const q of [`sort=${key}`, `sort_key=${key}`, `sort=name:${key}`, `${key}=1`, `${key}[a]=1`, `metadata=${encodeURIComponent(`{"${key}": "x"}`)}`]) {
          const r = await t.request('GET', `${list}?${q}`, { token: t.adminToken });
          assert.ok(r.status < 500, `${list}?${q}: ${r.status} ${r.text}`);
          if (r.status >= 400) assert.ok(r.body && typeof r.body === 'object', `${list}?${q}: ${r.text}`);
        }
        if (!list.startsWith('/cbr') && !list.startsWith('/identity')) {
          const r = await t.request('GET', `${list}?sort=${key}`, { token: t.adminToken });
          assert.equal(r.status, 400, `${list}?sort=${key}`);
          assert.match(r.body.badRequest.message, /Invalid sort key/);
        }
      }
    }
  });

  test('metadata keys named like built-in object properties are stored, read and summed as ordinary keys', async () => {
    const v = await t.request('POST', `/v3/${member.projectId}/volumes`, {
      token: member.token,
      rawBody: '{"volume": {"size": 1, "metadata": {"constructor": "c", "toString": "t", "__proto__": "p"}}}',
      headers: { 'Content-Type': 'application/json' },
    });
    assert.equal(v.status, 202, v.text);
    const id = v.body.volume.id;
    // JSON.parse, not a literal: `__proto__: 'p'` in an object literal sets a prototype instead of an own key, and an
    // expectation written that way passed while the key was being dropped.
    assert.deepEqual(v.body.volume.metadata, JSON.parse('{"constructor": "c", "toString": "t", "__proto__": "p"}'));
    assert.ok(Object.hasOwn(v.body.volume.metadata, '__proto__'), 'the __proto__ key is an ordinary key of the answer');
    const proto = await t.request('GET', `/v3/${member.projectId}/volumes/${id}/metadata/__proto__`, { token: member.token });
    assert.equal(proto.status, 200, proto.text);
    assert.equal(proto.body.meta.__proto__, 'p');
    const one = await t.request('GET', `/v3/${member.projectId}/volumes/${id}/metadata/toString`, { token: member.token });
    assert.equal(one.status, 200, one.text);
    assert.deepEqual(one.body, { meta: { toString: 't' } });
    const missing = await t.request('GET', `/v3/${member.projectId}/volumes/${id}/metadata/hasOwnProperty`, { token: member.token });
    assert.equal(missing.status, 404, missing.text);
    const summary = await t.request('GET', `/v3/${member.projectId}/volumes/summary`, { token: member.token, mv: '3.36' });
    assert.equal(summary.status, 200, summary.text);
    assert.deepEqual(summary.body['volume-summary'].metadata.constructor, ['c']);
    const types = await t.request('GET', `/v3/${member.projectId}/types`, { token: member.token });
    const spec = await t.request('GET', `/v3/${member.projectId}/types/${types.body.volume_types[0].id}/extra_specs/constructor`, { token: member.token });
    assert.equal(spec.status, 404, spec.text);
  });

  test('control characters in names and descriptions are refused with Cinder-style 400s; printable unicode is kept', async () => {
    const M = member.projectId;
    const tries: Array<[string, string, unknown]> = [
      ['POST', `/v3/${M}/volumes`, { volume: { size: 1, name: 'bell\u0007' } }],
      ['POST', `/v3/${M}/volumes`, { volume: { size: 1, description: 'line\u0001' } }],
      ['POST', `/v3/${M}/volumes`, { volume: { size: 1, description: 'rtl \u202e override' } }],
      ['POST', `/v3/${M}/volumes`, { volume: { size: 1, name: 'lone \ud800' } }],
      ['POST', '/identity/v3/projects', { project: { name: 'esc\u001b[31m', domain_id: 'default' } }],
      ['POST', '/identity/v3/users', { user: { name: 'tab\tuser', domain_id: 'default' } }],
      ['POST', `/cbr/v3/${M}/vaults`, { vault: { name: 'v\u0002', billing: { consistent_level: 'crash_consistent', object_type: 'disk', protect_type: 'backup', size: 10 }, resources: [] } }],
    ];
    for (const [method, path, body] of tries) {
      const token = path.startsWith('/identity') ? t.adminToken : member.token;
      const r = await t.request(method, path, { token, body });
      assert.equal(r.status, 400, `${path} ${JSON.stringify(body)}: ${r.status} ${r.text}`);
    }
    const ok = await t.request('POST', `/v3/${M}/volumes`, { token: member.token, body: { volume: { size: 1, name: 'שלום 👍🏽', description: 'été' } } });
    assert.equal(ok.status, 202, ok.text);
    assert.equal(ok.body.volume.name, 'שלום 👍🏽');
  });
});
