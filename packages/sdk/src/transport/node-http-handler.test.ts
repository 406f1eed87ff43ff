import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { RequestTimeoutError } from '../errors.js';
import { createPipeline } from './create-pipeline.js';
import { buildRequest } from './request.js';

let server: Server;
let base: string;
let connections = 0;
const seen: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }> = [];

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (req.url === '/hang') return; // never answers
      if (req.url === '/text') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('plain words');
        return;
      }
      res
        .writeHead(req.url === '/missing' ? 404 : 200, {
          'content-type': 'application/json',
          'x-openstack-request-id': 'req-server-1',
          'openstack-api-version': 'volume 3.65',
        })
        .end(JSON.stringify(req.url === '/missing' ? { itemNotFound: { message: 'gone', code: 404 } } : { echo: body || null }));
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

test('the default transport reuses keep-alive connections for sequential calls and reads ids, microversion, JSON and text', async () => {
  const p = createPipeline();
  const before = connections;
  const first = await p.handle(buildRequest('POST', `${base}/a`, { body: { snapshot: { name: 'é' } }, retry: false }));
  const second = await p.handle(buildRequest('GET', `${base}/b`, { query: { limit: 2 } }));
  const text = await p.handle(buildRequest('GET', `${base}/text`));
  for (let i = 0; i < 5; i++) await p.handle(buildRequest('GET', `${base}/again`));
  // undici holds a just-freed socket back for one event-loop turn (to see a server's late FIN/bytes before
  // reusing it), so back-to-back calls alternate between two connections rather than share one.
  assert.ok(connections - before <= 2, `${connections - before} TCP connections for eight calls`);
  assert.deepEqual(first.body, { echo: '{"snapshot":{"name":"é"}}' });
  const sent = seen.find((s) => s.url === '/a')!;
  assert.equal(sent.headers['content-type'], 'application/json');
  assert.equal(sent.headers['content-length'], String(Buffer.byteLength('{"snapshot":{"name":"é"}}')));
  assert.equal(sent.headers['user-agent'], 'cinderbox-sdk');
  assert.match(String(sent.headers['x-openstack-request-id']), /^req-/);
  assert.equal(second.$metadata.requestId, 'req-server-1');
  assert.equal(second.$metadata.microversion, 'volume 3.65');
  assert.equal(second.headers.get('content-type'), 'application/json');
  assert.equal(seen.find((s) => s.url === '/b?limit=2')?.method, 'GET');
  assert.equal(text.body, 'plain words');
});

test('errors and per-attempt timeouts behave as with fetch: typed 404, RequestTimeoutError after the deadline', async () => {
  const p = createPipeline({ retry: { maxAttempts: 1 } });
  await assert.rejects(p.handle(buildRequest('GET', `${base}/missing`)), (e: any) => e.status === 404 && e.requestId === 'req-server-1');
  await assert.rejects(p.handle(buildRequest('GET', `${base}/hang`, { timeoutMs: 100 })), RequestTimeoutError);
  // The same deadline on the fetch path (a raw body), and a call that beats its deadline is not cut off by it.
  await assert.rejects(
    p.handle(buildRequest('PUT', `${base}/hang`, { timeoutMs: 100, rawBody: new Uint8Array([1]) })),
    RequestTimeoutError,
  );
  const quick = await p.handle(buildRequest('GET', `${base}/quick`, { timeoutMs: 100 }));
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(quick.status, 200);
});

test('raw bodies go through fetch (the fallback), JSON calls do not touch fetch', async () => {
  const calls: string[] = [];
  const original = globalThis.fetch;
  globalThis.fetch = (async (input: string, init: RequestInit) => {
    calls.push(String(input));
    return original(input, init);
  }) as typeof fetch;
  try {
    const p = createPipeline();
    await p.handle(buildRequest('GET', `${base}/json`));
    const raw = await p.handle(buildRequest('PUT', `${base}/raw`, { rawBody: new Uint8Array([1, 2, 3]) }));
    assert.deepEqual(raw.body, { echo: '\u0001\u0002\u0003' });
  } finally {
    globalThis.fetch = original;
  }
  assert.deepEqual(calls, [`${base}/raw`]);
});

test('a caller abort ends the call at once with AbortError, and a call with an already aborted signal is not sent', async () => {
  const p = createPipeline({ retry: { maxAttempts: 1 } });
  const ac = new AbortController();
  const pending = p.handle(buildRequest('GET', `${base}/hang`, { signal: ac.signal }));
  setTimeout(() => ac.abort(), 50);
  await assert.rejects(pending, (e: any) => e.name === 'AbortError');
  const sentBefore = seen.length;
  await assert.rejects(p.handle(buildRequest('GET', `${base}/x`, { signal: AbortSignal.abort() })), (e: any) => e.name === 'AbortError');
  assert.equal(seen.length, sentBefore);
});

/** A raw TCP server whose every request (one per head) is answered by `answer`; records heads and connections. */
async function rawServer(answer: (head: string, socket: Socket) => void) {
  const heads: string[] = [];
  let opened = 0;
  const sockets = new Set<Socket>();
  const raw = createTcpServer((socket) => {
    opened++;
    sockets.add(socket);
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const head = buf.slice(0, end);
        const len = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + len) return;
        heads.push(head);
        buf = buf.slice(end + 4 + len);
        answer(head, socket);
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
  return {
    base: `http://127.0.0.1:${(raw.address() as AddressInfo).port}`,
    heads,
    connections: () => opened,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((r) => raw.close(r));
    },
  };
}

const noSleep = { sleep: async () => {} };

test('chunked bodies split across writes are joined, and the connection is kept for the next call', async () => {
  const chunky = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"a":');
    setTimeout(() => res.end('"' + 'x'.repeat(100_000) + '"}'), 5);
  });
  let opened = 0;
  chunky.on('connection', () => opened++);
  await new Promise<void>((r) => chunky.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(chunky.address() as AddressInfo).port}/c`;
  try {
    const p = createPipeline({ retry: { maxAttempts: 1 } });
    for (let i = 0; i < 4; i++) {
      const res = await p.handle(buildRequest('GET', url));
      assert.equal((res.body as { a: string }).a.length, 100_000);
      assert.equal(res.headers.get('transfer-encoding'), 'chunked');
    }
    assert.ok(opened <= 2, `${opened} connections for four calls`);
  } finally {
    chunky.closeAllConnections();
    await new Promise((r) => chunky.close(r));
  }
});

test('a body framed by the end of the connection, an interim 1xx before the answer, and bodiless HEAD/204 answers', async () => {
  const s = await rawServer((head, socket) => {
    if (head.startsWith('GET /close')) socket.end('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nuntil the end');
    else if (head.startsWith('POST /continue'))
      socket.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n');
    else if (head.startsWith('POST /hints'))
      socket.write('HTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: 8\r\n\r\n{"ok":1}');
    else if (head.startsWith('HEAD')) socket.write('HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n');
    else socket.write('HTTP/1.1 204 No Content\r\n\r\n');
  });
  try {
    const p = createPipeline({ retry: { maxAttempts: 1 } });
    assert.equal((await p.handle(buildRequest('GET', `${s.base}/close`))).body, 'until the end');
    const hinted = await p.handle(buildRequest('POST', `${s.base}/hints`, { body: { a: 1 } }));
    assert.equal(hinted.status, 201);
    assert.deepEqual(hinted.body, { ok: 1 });
    // undici refuses a 100 Continue the request did not ask for (it never sends Expect: 100-continue), as a
    // framing error; the hand-written client skipped it. Pinned here so a change in undici shows up.
    await assert.rejects(p.handle(buildRequest('POST', `${s.base}/continue`, { body: { a: 1 } })), (e: any) => e.name === 'NetworkError');
    const head = await p.handle(buildRequest('HEAD', `${s.base}/h`));
    assert.equal(head.status, 200);
    assert.equal(head.body, undefined);
    const none = await p.handle(buildRequest('DELETE', `${s.base}/n`));
    assert.equal(none.status, 204);
    assert.match(s.heads[0]!, /^GET \/close HTTP\/1\.1\r\n/);
    // A bodiless POST still states its length, or the server would wait for a body.
    await p.handle(buildRequest('POST', `${s.base}/n`));
    assert.match(s.heads.at(-1)!, /\r\ncontent-length: 0(\r\n|$)/i);
  } finally {
    await s.close();
  }
});

test('a GET whose reused socket the server closes unanswered succeeds on a fresh one; a POST is sent exactly once', async () => {
  // Answers the first request on each connection, then closes the connection on the next one unanswered.
  const perSocket = new WeakMap<Socket, number>();
  const s = await rawServer((_head, socket) => {
    const n = (perSocket.get(socket) ?? 0) + 1;
    perSocket.set(socket, n);
    if (n === 1) socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}');
    else socket.destroy();
  });
  try {
    const p = createPipeline({ sleep: noSleep.sleep });
    await p.handle(buildRequest('GET', `${s.base}/a`));
    // Let undici's idle check pass so the next call goes out on the same, reused socket.
    await new Promise((r) => setTimeout(r, 20));
    const again = await p.handle(buildRequest('GET', `${s.base}/b`));
    assert.equal(again.status, 200);
    assert.ok(s.connections() >= 2, 'the GET went out again on a fresh connection');
    await new Promise((r) => setTimeout(r, 20));
    const sent = s.heads.length;
    await assert.rejects(p.handle(buildRequest('POST', `${s.base}/p`, { body: { x: 1 } })), (e: any) => e.name === 'NetworkError');
    assert.equal(s.heads.length, sent + 1, 'the POST was sent exactly once');
  } finally {
    await s.close();
  }
});

test('a pooled socket on which the server sent unsolicited bytes (a 408 before hanging up) is not reused', async () => {
  const s = await rawServer((_head, socket) => {
    socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 1\r\n\r\na');
    setTimeout(() => socket.write('HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\n\r\n'), 5);
  });
  try {
    const p = createPipeline({ retry: { maxAttempts: 1 } });
    await p.handle(buildRequest('GET', `${s.base}/a`));
    await new Promise((r) => setTimeout(r, 50));
    const second = await p.handle(buildRequest('GET', `${s.base}/b`));
    assert.equal(second.status, 200);
    assert.equal(second.body, 'a');
    assert.equal(s.connections(), 2);
  } finally {
    await s.close();
  }
});

test('an abort while the body is streaming in ends the call with AbortError', async () => {
  const s = await rawServer((_head, socket) => {
    socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"partial":');
  });
  try {
    const p = createPipeline({ retry: { maxAttempts: 1 } });
    const ac = new AbortController();
    const pending = p.handle(buildRequest('GET', `${s.base}/slow`, { signal: ac.signal }));
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(pending, (e: any) => e.name === 'AbortError');
  } finally {
    await s.close();
  }
});
