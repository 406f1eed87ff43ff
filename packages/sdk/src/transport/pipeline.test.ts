import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AbortError, NotFoundError, RateLimitError, RequestTimeoutError, ServiceUnavailableError } from '../errors.js';
import { createPipeline } from './create-pipeline.js';
import { backoffDelay, DEFAULT_RETRY_POLICY, parseRetryAfter } from './middleware/retry.js';
import { buildRequest } from './request.js';
import type { HttpResponse } from './types.js';

type Script = Array<{ status: number; headers?: Record<string, string>; body?: unknown; delayMs?: number }>;

let base = '';
let script: Script = [];
const seen: Array<{
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}> = [];
const server = createServer(async (req, res) => {
  let body = '';
  for await (const c of req) body += c;
  seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
  const step = script.shift() ?? { status: 200, body: { ok: true } };
  if (step.delayMs) await new Promise((r) => setTimeout(r, step.delayMs));
  if (res.destroyed) return;
  res.writeHead(step.status, {
    'content-type': 'application/json',
    'x-openstack-request-id': `req-srv-${seen.length}`,
    ...(step.headers ?? {}),
  });
  res.end(step.body === undefined ? '' : JSON.stringify(step.body));
});

before(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

function reset(s: Script) {
  script = s;
  seen.length = 0;
}

const sleeps: number[] = [];
const fakeSleep = async (ms: number) => {
  sleeps.push(ms);
};

describe('pipeline', () => {
  it('has named steps in order and supports use/remove', () => {
    const p = createPipeline({
      tokenProvider: { getToken: async () => 't', invalidate() {}, canReauthenticate: false },
      logger: { debug() {} },
    });
    assert.deepEqual(p.names(), ['requestId', 'errors', 'retry', 'timeout', 'auth', 'microversion', 'logging']);
    p.use('trace', (req, next) => next(req), { before: 'retry' });
    assert.deepEqual(p.names().slice(0, 4), ['requestId', 'errors', 'trace', 'retry']);
    assert.equal(p.remove('trace'), true);
    assert.deepEqual(p.without('auth', 'logging').names(), ['requestId', 'errors', 'retry', 'timeout', 'microversion']);
  });

  it('sends a request id and captures the server id on success', async () => {
    reset([{ status: 200, body: { a: 1 } }]);
    const p = createPipeline({ sleep: fakeSleep });
    const res: HttpResponse = await p.handle(
      buildRequest('GET', `${base}/x`, { query: { limit: 2, all_tenants: true } }),
    );
    assert.deepEqual(res.body, { a: 1 });
    assert.equal(res.$metadata.requestId, 'req-srv-1');
    assert.match(String(seen[0]?.headers['x-openstack-request-id']), /^req-[0-9a-f-]{36}$/);
    assert.equal(res.$metadata.clientRequestId, seen[0]?.headers['x-openstack-request-id']);
    assert.equal(seen[0]?.url, '/x?limit=2&all_tenants=true');
  });

  it('raises typed errors carrying request id, fault and details', async () => {
    reset([{ status: 404, body: { itemNotFound: { code: 404, message: 'Snapshot x could not be found.' } } }]);
    const p = createPipeline({ sleep: fakeSleep });
    await assert.rejects(p.handle(buildRequest('GET', `${base}/snapshots/x`)), (e: unknown) => {
      assert.ok(e instanceof NotFoundError);
      assert.equal(e.requestId, 'req-srv-1');
      assert.equal(e.fault, 'itemNotFound');
      assert.equal(e.details, 'Snapshot x could not be found.');
      assert.equal(e.method, 'GET');
      return true;
    });
  });

  it('retries idempotent requests on 503 honouring Retry-After, with jittered backoff', async () => {
    sleeps.length = 0;
    reset([{ status: 503, headers: { 'retry-after': '2' } }, { status: 502 }, { status: 200, body: {} }]);
    const p = createPipeline({ sleep: fakeSleep, random: () => 0.5, retry: { maxAttempts: 3, baseDelayMs: 100 } });
    const res = await p.handle(buildRequest('GET', `${base}/r`));
    assert.equal(res.status, 200);
    assert.equal(res.$metadata.attempts, 3);
    assert.deepEqual(sleeps, [2000, 100]);
    assert.equal(res.$metadata.totalRetryDelayMs, 2100);
  });

  it('does not retry POST on 503 but retries 429 for any method', async () => {
    reset([{ status: 503 }]);
    const p = createPipeline({ sleep: fakeSleep, random: () => 0 });
    await assert.rejects(p.handle(buildRequest('POST', `${base}/a`, { body: {} })), ServiceUnavailableError);
    assert.equal(seen.length, 1);
    reset([{ status: 429, headers: { 'retry-after': '0' } }, { status: 202 }]);
    const res = await p.handle(buildRequest('POST', `${base}/a`, { body: {} }));
    assert.equal(res.status, 202);
    assert.equal(seen.length, 2);
  });

  it('gives up after maxAttempts and reports attempts', async () => {
    reset([{ status: 429 }, { status: 429 }]);
    const p = createPipeline({ sleep: fakeSleep, random: () => 0, retry: { maxAttempts: 2 } });
    await assert.rejects(
      p.handle(buildRequest('GET', `${base}/a`)),
      (e: unknown) => e instanceof RateLimitError && e.attempts === 2,
    );
  });

  it('times out an attempt and aborts on the caller signal', async () => {
    reset([{ status: 200, delayMs: 300 }]);
    const p = createPipeline({ sleep: fakeSleep, retry: { maxAttempts: 1 } });
    await assert.rejects(p.handle(buildRequest('GET', `${base}/slow`, { timeoutMs: 30 })), RequestTimeoutError);
    reset([{ status: 200, delayMs: 300 }]);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 20);
    await assert.rejects(p.handle(buildRequest('GET', `${base}/slow`, { signal: ac.signal })), AbortError);
  });

  it('redacts credentials in logs', async () => {
    reset([{ status: 201, headers: { 'x-subject-token': 'SECRET-TOKEN' }, body: {} }]);
    const lines: string[] = [];
    const p = createPipeline({
      sleep: fakeSleep,
      logger: { debug: (m, d) => lines.push(`${m} ${JSON.stringify(d)}`) },
    });
    await p.handle(
      buildRequest('POST', `${base}/auth`, {
        headers: { 'x-auth-token': 'SECRET-TOKEN' },
        body: { auth: { identity: { password: { user: { name: 'u', password: 'SECRET-PW' } } } } },
      }),
    );
    const all = lines.join('\n');
    assert.ok(!all.includes('SECRET'), all);
    assert.ok(all.includes('***'));
  });

  it('parses Retry-After dates and computes full-jitter backoff', () => {
    assert.equal(parseRetryAfter('3'), 3);
    assert.equal(
      parseRetryAfter(new Date(10_000).toUTCString(), () => 5_000),
      5,
    );
    assert.equal(parseRetryAfter(null), undefined);
    assert.equal(
      backoffDelay(DEFAULT_RETRY_POLICY, 3, undefined, () => 0.999),
      999,
    );
    assert.equal(
      backoffDelay({ ...DEFAULT_RETRY_POLICY, maxRetryAfterMs: 1000 }, 1, 30, () => 0),
      1000,
    );
  });
});

describe('pipeline steps changed between requests', () => {
  it('a step added or removed after a request applies to the next one (the composed chain is rebuilt)', async () => {
    const p = createPipeline({ retry: { maxAttempts: 1 } });
    script = [{ status: 200, body: {} }, { status: 200, body: {} }, { status: 200, body: {} }];
    seen.length = 0;
    await p.handle(buildRequest('GET', `${base}/a`));
    p.use('tag', (req, next) => {
      req.headers.set('x-tag', 'on');
      return next(req);
    });
    await p.handle(buildRequest('GET', `${base}/b`));
    assert.equal(p.remove('tag'), true);
    await p.handle(buildRequest('GET', `${base}/c`));
    assert.deepEqual(
      seen.map((s) => s.headers['x-tag']),
      [undefined, 'on', undefined],
    );
  });
});
