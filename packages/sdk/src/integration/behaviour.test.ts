/**
 * Cross-cutting SDK behaviour against the live server: waiters (success, failure state, timeout, abort),
 * re-authentication after the token is revoked, microversion negotiation and client-side gating, and retries
 * honouring Retry-After (a recording proxy in front of the real server injects the 503/413 answers).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Connection } from '../connection.js';
import {
  MicroversionNotSupportedError,
  OverLimitError,
  ResourceFailureError,
  ServiceUnavailableError,
} from '../errors.js';
import type { HttpRequest } from '../transport/types.js';
import { adminConnection, type Injected, type ProxiedRequest, startProxy, startTestServer, type TestServer } from '../test-support/live.js';

let t: TestServer;
let admin: Connection;
let volumeId: string;

const fast = { minDelayMs: 5, maxDelayMs: 20, waitTimeoutMs: 10_000 };

before(async () => {
  t = await startTestServer({ backends: [{ name: 'raw', driver: 'raw', pool: 'raw' }] }); // manages raw files of backend raw
  admin = adminConnection(t.url);
  const v = await admin.blockStorage.createVolume({ size: 1, name: 'behaviour' });
  await admin.blockStorage.waitForStatus(v, fast);
  volumeId = v.id as string;
});
after(async () => {
  await t.close();
});

/** Records every request that leaves the pipeline (method, path, microversion header). */
function spy(conn: Connection): Array<{ method: string; path: string; mv: string | null }> {
  const seen: Array<{ method: string; path: string; mv: string | null }> = [];
  conn.pipeline.use('spy', (req: HttpRequest, next) => {
    seen.push({ method: req.method, path: new URL(req.url).pathname, mv: req.headers.get('openstack-api-version') });
    return next(req);
  });
  return seen;
}

describe('waiters', () => {
  test('success with numeric progress, failure state, timeout, abort, throwOnFailure', async () => {
    const bs = admin.blockStorage;
    const s = await bs.createSnapshot({ volumeId, name: 'wait' });
    const progress: Array<number | undefined> = [];
    const ok = await bs.waitForStatus(s, { ...fast, onProgress: (p) => progress.push(p) });
    assert.equal(ok.state, 'success');
    assert.equal(ok.status, 'available');
    assert.ok(ok.attempts >= 1);
    assert.ok(progress.every((p) => p === undefined || typeof p === 'number'));

    await bs.resetSnapshotStatus(s, 'error');
    const failed = await bs.waitForStatus(await s.fetch(), fast);
    assert.equal(failed.state, 'failure');
    assert.equal(failed.status, 'error');
    await assert.rejects(bs.waitForStatus(s, { ...fast, throwOnFailure: true }), ResourceFailureError);

    await bs.resetSnapshotStatus(s, 'creating');
    await s.fetch();
    const started = Date.now();
    const slow = await bs.waitForStatus(s, { ...fast, waitTimeoutMs: 60 });
    assert.equal(slow.state, 'timeout');
    assert.equal(slow.status, 'creating');
    assert.ok(Date.now() - started < 2000);

    const ac = new AbortController();
    setTimeout(() => ac.abort(), 30);
    assert.equal((await bs.waitForStatus(s, { ...fast, signal: ac.signal })).state, 'aborted');

    await bs.resetSnapshotStatus(s, 'available');
    const again = await bs.waitForStatus(await bs.getSnapshot(s.id as string), { ...fast, status: 'AVAILABLE' });
    assert.equal(again.state, 'success', 'case-insensitive');
    assert.ok(again.attempts >= 1);
    await bs.deleteSnapshot(s);
    assert.equal((await bs.waitForDelete(s, fast)).state, 'success');
  });

  test('wait for delete reports a failure state (error_deleting)', async () => {
    const bs = admin.blockStorage;
    const s = await bs.createSnapshot({ volumeId, name: 'wait-delete' });
    await bs.waitForStatus(s, fast);
    await bs.resetSnapshotStatus(s, 'error_deleting');
    assert.equal((await bs.waitForDelete(s, fast)).state, 'failure');
    await bs.deleteSnapshot(s, { force: true });
    assert.equal((await bs.waitForDelete(s, fast)).state, 'success');
  });
});

describe('re-authentication', () => {
  test('a revoked token is replaced once and the call succeeds', async () => {
    const conn = adminConnection(t.url);
    const seen = spy(conn);
    const first = (await conn.authorize()).token;
    await conn.blockStorage.getVolume(volumeId);
    const revoke = await t.request('DELETE', '/identity/v3/auth/tokens', {
      token: t.adminToken,
      headers: { 'X-Subject-Token': first },
    });
    assert.equal(revoke.status, 204);
    seen.length = 0;
    const v = await conn.blockStorage.getVolume(volumeId);
    assert.equal(v.id, volumeId);
    assert.deepEqual(
      seen.map((r) => `${r.method} ${r.path.replace(/[0-9a-f-]{32,36}/g, ':id')}`),
      ['GET /v3/:id/volumes/:id', 'POST /identity/v3/auth/tokens', 'GET /v3/:id/volumes/:id'],
    );
    assert.notEqual((await conn.authorize()).token, first);
  });

  test('concurrent calls after a revocation share one new token', async () => {
    const conn = adminConnection(t.url);
    const seen = spy(conn);
    const first = (await conn.authorize()).token;
    await t.request('DELETE', '/identity/v3/auth/tokens', { token: t.adminToken, headers: { 'X-Subject-Token': first } });
    seen.length = 0;
    await Promise.all(Array.from({ length: 5 }, () => conn.blockStorage.getVolume(volumeId)));
    assert.equal(seen.filter((r) => r.path.endsWith('/auth/tokens')).length, 1);
  });
});

describe('microversions', () => {
  test('negotiated: min(client max, server max, resource cap) is sent', async () => {
    const seen = spy(admin);
    try {
      assert.equal(await admin.blockStorage.negotiatedMicroversion(), '3.70');
      await admin.blockStorage.getVolume(volumeId);
      await admin.blockStorage.snapshots({}, { maxItems: 1 }).toArray();
      assert.deepEqual(
        seen.map((r) => r.mv),
        ['volume 3.70', 'volume 3.65'],
      );
    } finally {
      admin.pipeline.remove('spy');
    }
  });

  test('pinned to 3.0: later-only operations and fields are refused before anything is sent', async () => {
    const conn = adminConnection(t.url, { blockStorage: { defaultMicroversion: '3.0' } });
    const seen = spy(conn);
    const bs = conn.blockStorage;
    await bs.getVolume(volumeId);
    assert.deepEqual(seen.filter((r) => r.path.includes('/volumes/')).map((r) => r.mv), ['volume 3.0']);
    seen.length = 0;

    const fake = '00000000-0000-4000-8000-000000000001';
    const meta = await bs.updateBackup(fake, { metadata: { k: 'v' } }).catch((e: unknown) => e);
    assert.ok(meta instanceof MicroversionNotSupportedError);
    assert.equal(meta.required, '3.43');
    assert.equal(meta.available, '3.0');
    await assert.rejects(bs.createBackup({ volumeId, availabilityZone: 'nova' }), MicroversionNotSupportedError);
    await assert.rejects(bs.updateBackup(fake, { name: 'x' }), (e: unknown) => e instanceof MicroversionNotSupportedError && e.required === '3.9');
    await assert.rejects(bs.revertVolumeToSnapshot(volumeId, fake), (e: unknown) => e instanceof MicroversionNotSupportedError && e.required === '3.40');
    await assert.rejects(bs.manageableSnapshots({ host: 'h', cluster: 'c' }).toArray(), MicroversionNotSupportedError);
    assert.equal(seen.length, 0, 'nothing reached the wire');

    // Below 3.8 the legacy manage path is chosen.
    const listed = await bs.manageableSnapshots({ host: 'cinderbox@raw#raw' }).toArray();
    assert.ok(Array.isArray(listed));
    assert.ok(seen.some((r) => r.path.endsWith('/os-snapshot-manage') && r.mv === 'volume 3.0'));
  });

  test('a pinned version above the server maximum fails at discovery', async () => {
    const conn = adminConnection(t.url, { blockStorage: { defaultMicroversion: '3.99' } });
    await assert.rejects(conn.blockStorage.getVolume(volumeId), MicroversionNotSupportedError);
  });
});

describe('retries', () => {
  let once: (req: ProxiedRequest) => Injected | undefined;
  const injector = (req: ProxiedRequest) => once(req);

  test('503 with Retry-After on a GET: retried after the delay, attempts recorded', async () => {
    let injected = 0;
    once = (req) => {
      if (req.method === 'GET' && req.path.endsWith(`/volumes/${volumeId}`) && injected++ === 0) {
        return { status: 503, headers: { 'Retry-After': '1' }, body: { serviceUnavailable: { code: 503, message: 'busy' } } };
      }
      return undefined;
    };
    const proxy = await startProxy(t.url, injector);
    try {
      const conn = adminConnection(proxy.url);
      const started = Date.now();
      const v = await conn.blockStorage.getVolume(volumeId);
      assert.equal(v.id, volumeId);
      assert.equal(v.$metadata?.attempts, 2);
      assert.ok((v.$metadata?.totalRetryDelayMs ?? 0) >= 1000, 'Retry-After honoured over the 5 ms backoff');
      assert.ok(Date.now() - started >= 1000);
      assert.equal(proxy.requests.filter((r) => r.path.endsWith(`/volumes/${volumeId}`)).length, 2);
    } finally {
      await proxy.close();
    }
  });

  test('413 with a positive Retry-After (rate limit) is retried even for POST; 503 on POST is not', async () => {
    let posts = 0;
    once = (req) => {
      if (req.method !== 'POST' || !req.path.endsWith('/snapshots')) return undefined;
      posts++;
      if (posts === 1 || posts === 4) {
        return { status: 413, headers: { 'Retry-After': '1' }, body: { overLimit: { code: 413, message: 'rate', retryAfter: '1' } } };
      }
      if (posts === 3) return { status: 503, body: { serviceUnavailable: { code: 503, message: 'busy' } } };
      return undefined;
    };
    const proxy = await startProxy(t.url, injector);
    try {
      const conn = adminConnection(proxy.url);
      const s = await conn.blockStorage.createSnapshot({ volumeId, name: 'retried' });
      assert.equal(s.$metadata?.attempts, 2);
      assert.equal(posts, 2);
      const e = await conn.blockStorage.createSnapshot({ volumeId, name: 'not-retried' }).catch((x: unknown) => x);
      assert.ok(e instanceof ServiceUnavailableError);
      assert.equal(e.attempts, 1);
      assert.equal(posts, 3, 'a POST is not replayed on 503');
      const limited = await conn.blockStorage.createSnapshot({ volumeId }, { retry: false }).catch((x: unknown) => x);
      assert.ok(limited instanceof OverLimitError);
      assert.equal(limited.retryAfter, 1);
      assert.equal(posts, 4);
      await admin.blockStorage.waitForStatus(s, fast);
    } finally {
      await proxy.close();
    }
  });
});
