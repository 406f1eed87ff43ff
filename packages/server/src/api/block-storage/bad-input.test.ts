import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer, waitFor } from '../../test-support/harness.js';

type Who = { token: string; projectId: string };

let t: TestServer;
let admin: Who;
let m: Who;
let other: Who;
let vol: string;
let snap: string;

/** Everything a bad request could have touched: the visible records and the backend files. */
async function snapshotOfState(): Promise<string> {
  const vols = await t.request('GET', `/v3/${admin.projectId}/volumes/detail?all_tenants=1`, {
    token: admin.token,
    mv: '3.0',
  });
  const snaps = await t.request('GET', `/v3/${admin.projectId}/snapshots/detail?all_tenants=1`, { token: admin.token });
  const files = (await readdir(join(t.dataDir, 'volumes', 'raw'))).sort();
  return JSON.stringify({ vols: vols.body, snaps: snaps.body, files });
}

before(async () => {
  t = await startTestServer({ backends: [{ name: 'raw', driver: 'raw', pool: 'raw' }] }); // raw files inspected directly
  admin = { token: t.adminToken, projectId: t.adminProjectId };
  m = await t.createMember('member');
  other = await t.createMember('other');
  const v = await t.request('POST', `/v3/${m.projectId}/volumes`, {
    token: m.token,
    body: { volume: { size: 1, metadata: { a: 'b' } } },
  });
  vol = v.body.volume.id;
  await waitFor(
    async () =>
      (await t.request('GET', `/v3/${m.projectId}/volumes/${vol}`, { token: m.token })).body.volume.status ===
      'available',
    'vol',
  );
  const s = await t.request('POST', `/v3/${m.projectId}/snapshots`, {
    token: m.token,
    body: { snapshot: { volume_id: vol } },
  });
  snap = s.body.snapshot.id;
  await waitFor(
    async () =>
      (await t.request('GET', `/v3/${m.projectId}/snapshots/${snap}`, { token: m.token })).body.snapshot.status ===
      'available',
    'snap',
  );
});
after(async () => t.close());

interface Case {
  name: string;
  who: () => Who | null;
  method: string;
  path: () => string;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
  mv?: string;
  status: number;
  fault: string;
  message?: RegExp;
}

const cases: Case[] = [
  {
    name: 'malformed JSON on create',
    who: () => m,
    method: 'POST',
    path: () => `/v3/${m.projectId}/volumes`,
    raw: '{"volume": {',
    status: 400,
    fault: 'badRequest',
    message: /Malformed request body/,
  },
  {
    name: 'malformed JSON on an action',
    who: () => m,
    method: 'POST',
    path: () => `/v3/${m.projectId}/volumes/${vol}/action`,
    raw: '{"os-extend"',
    status: 400,
    fault: 'badRequest',
  },
  {
    name: 'wrong type for size',
    who: () => m,
    method: 'POST',
    path: () => `/v3/${m.projectId}/volumes`,
    body: { volume: { size: [1] } },
    status: 400,
    fault: 'badRequest',
    message: /Invalid input for field\/attribute size/,
  },
  {
    name: 'size zero',
    who: () => m,
    method: 'POST',
    path: () => `/v3/${m.projectId}/volumes`,
    body: { volume: { size: 0 } },
    status: 400,
    fault: 'badRequest',
  },
  {
    name: 'volume body not an object',
    who: () => m,
    method: 'POST',
    path: () => `/v3/${m.projectId}/volumes`,
    body: { volume: 'x' },
    status: 400,
    fault: 'badRequest',
  },
  {
    name: 'snapshot extra key',
    who: () => m,
    method: 'POST',
    path: () => `/v3/${m.projectId}/snapshots`,
    body: () => ({ snapshot: { volume_id: vol, bogus: 1 } }),
    status: 400,
    fault: 'badRequest',
  },
  {
    name: 'snapshot name not a string',
    who: () => m,
    method: 'POST',
    path: () => `/v3/${m.projectId}/snapshots`,
    body: () => ({ snapshot: { volume_id: vol, name: 5 } }),
    status: 400,
    fault: 'badRequest',
  },
  {
    name: 'snapshot update with nothing',
    who: () => m,
    method: 'PUT',
    path: () => `/v3/${m.projectId}/snapshots/${snap}`,
    body: { snapshot: {} },
    status: 400,
    fault: 'badRequest',
  },
  {
    name: 'action body with zero keys',
    who: () => m,
    method: 'POST',
    path: () => `/v3/${m.projectId}/volumes/${vol}/action`,
    body: {},
    status: 400,
    fault: 'badRequest',
    message: /^Malformed request body$/,
  },
  {
    name: 'action body with two keys',
    who: () => m,
    method: 'POST',
    path: () => `/v3/${m.projectId}/volumes/${vol}/action`,
    body: { 'os-reserve': null, 'os-unreserve': null },
    status: 400,
    fault: 'badRequest',
    message: /^Malformed request body$/,
  },
  {
    name: 'unknown volume action',
    who: () => m,
    method: 'POST',
    path: () => `/v3/${m.projectId}/volumes/${vol}/action`,
    body: { 'os-fly': {} },
    status: 400,
    fault: 'badRequest',
    message: /There is no such action: os-fly/,
  },
  {
    name: 'unknown snapshot action',
    who: () => m,
    method: 'POST',
    path: () => `/v3/${m.projectId}/snapshots/${snap}/action`,
    body: { 'os-fly': {} },
    status: 400,
    fault: 'badRequest',
  },
  {
    name: 'extend with a string size',
    who: () => m,
    method: 'POST',
    path: () => `/v3/${m.projectId}/volumes/${vol}/action`,
    body: { 'os-extend': { new_size: 'big' } },
    status: 400,
    fault: 'badRequest',
  },
  {
    name: 'missing token',
    who: () => null,
    method: 'POST',
    path: () => `/v3/${m.projectId}/volumes`,
    body: { volume: { size: 1 } },
    status: 401,
    fault: 'unauthorized',
  },
  {
    name: 'another project volume (delete)',
    who: () => other,
    method: 'DELETE',
    path: () => `/v3/${other.projectId}/volumes/${vol}`,
    status: 404,
    fault: 'itemNotFound',
  },
  {
    name: 'another project volume (action)',
    who: () => other,
    method: 'POST',
    path: () => `/v3/${other.projectId}/volumes/${vol}/action`,
    body: { 'os-extend': { new_size: 5 } },
    status: 404,
    fault: 'itemNotFound',
  },
  {
    name: 'another project snapshot (metadata)',
    who: () => other,
    method: 'POST',
    path: () => `/v3/${other.projectId}/snapshots/${snap}/metadata`,
    body: { metadata: { x: 'y' } },
    status: 404,
    fault: 'itemNotFound',
  },
  {
    name: 'snapshot of another project volume',
    who: () => other,
    method: 'POST',
    path: () => `/v3/${other.projectId}/snapshots`,
    body: () => ({ snapshot: { volume_id: vol } }),
    status: 404,
    fault: 'itemNotFound',
  },
  {
    name: 'member resets status',
    who: () => m,
    method: 'POST',
    path: () => `/v3/${m.projectId}/volumes/${vol}/action`,
    body: { 'os-reset_status': { status: 'error' } },
    status: 403,
    fault: 'forbidden',
  },
  {
    name: 'member force-deletes a snapshot',
    who: () => m,
    method: 'POST',
    path: () => `/v3/${m.projectId}/snapshots/${snap}/action`,
    body: { 'os-force_delete': null },
    status: 403,
    fault: 'forbidden',
  },
  {
    name: 'quota: volume larger than gigabytes',
    who: () => m,
    method: 'POST',
    path: () => `/v3/${m.projectId}/volumes`,
    body: { volume: { size: 5000 } },
    status: 413,
    fault: 'overLimit',
  },
  {
    name: 'empty id on GET',
    who: () => m,
    method: 'GET',
    path: () => `/v3/${m.projectId}/volumes/`,
    status: 404,
    fault: 'itemNotFound',
  },
  {
    name: 'empty id on PUT (body irrelevant)',
    who: () => m,
    method: 'PUT',
    path: () => `/v3/${m.projectId}/volumes/`,
    body: { bogus: true },
    status: 404,
    fault: 'itemNotFound',
  },
  {
    name: 'malformed id',
    who: () => m,
    method: 'GET',
    path: () => `/v3/${m.projectId}/snapshots/not-a-uuid`,
    status: 404,
    fault: 'itemNotFound',
  },
  {
    name: 'unknown id before a bad body',
    who: () => m,
    method: 'PUT',
    path: () => `/v3/${m.projectId}/snapshots/${crypto.randomUUID()}`,
    body: { nope: 1 },
    status: 404,
    fault: 'itemNotFound',
  },
  {
    name: 'unsupported content type',
    who: () => m,
    method: 'POST',
    path: () => `/v3/${m.projectId}/volumes`,
    raw: 'size=1',
    headers: { 'Content-Type': 'text/plain' },
    status: 415,
    fault: 'badMediaType',
  },
  {
    name: 'attachment create without a volume uuid',
    who: () => m,
    method: 'POST',
    path: () => `/v3/${m.projectId}/attachments`,
    body: { attachment: { volume_uuid: 'not-a-uuid' } },
    mv: '3.27',
    status: 400,
    fault: 'badRequest',
  },
  {
    name: 'groups are not served',
    who: () => m,
    method: 'POST',
    path: () => `/v3/${m.projectId}/groups`,
    body: { group: {} },
    status: 404,
    fault: 'itemNotFound',
  },
  {
    name: 'metadata value too long on a volume',
    who: () => m,
    method: 'POST',
    path: () => `/v3/${m.projectId}/volumes/${vol}/metadata`,
    body: { metadata: { k: 'x'.repeat(300) } },
    status: 400,
    fault: 'badRequest',
  },
];

for (const c of cases) {
  test(`bad input: ${c.name} → ${c.status} ${c.fault}, nothing changed`, async () => {
    const before = await snapshotOfState();
    const who = c.who();
    const headers: Record<string, string> = { ...(c.headers ?? {}) };
    if (c.raw !== undefined && !headers['Content-Type']) headers['Content-Type'] = 'application/json';
    const r = await t.request(c.method, c.path(), {
      token: who?.token ?? null,
      headers,
      ...(c.raw !== undefined
        ? { rawBody: c.raw }
        : c.body !== undefined
          ? { body: typeof c.body === 'function' ? (c.body as () => unknown)() : c.body }
          : {}),
      ...(c.mv ? { mv: c.mv } : {}),
    });
    assert.equal(r.status, c.status, r.text);
    if (c.fault === 'unauthorized') assert.ok(r.body.error ?? r.body.unauthorized, r.text);
    else assert.ok(r.body?.[c.fault], r.text);
    if (c.message) assert.match(r.body[c.fault].message, c.message);
    assert.equal(await snapshotOfState(), before);
  });
}
