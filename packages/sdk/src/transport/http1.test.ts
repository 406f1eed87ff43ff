import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { Http1Pool } from './http1.js';

/** A raw TCP server whose every request (one per head) is answered by `answer`; records heads and connections. */
async function rawServer(answer: (head: string, socket: Socket, n: number) => void) {
  const heads: string[] = [];
  let connections = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    connections++;
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
        answer(head, socket, heads.length);
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, heads, connections: () => connections, close: () => {
      // The client pools its sockets: end them, or close() waits for them.
      for (const socket of sockets) socket.destroy();
      return new Promise((r) => server.close(r));
    },
  };
}

const pool = new Http1Pool();
after(() => pool.close());
const get = (url: string, method = 'GET', body?: string) =>
  pool.request({ method, url: new URL(url), headers: { accept: 'application/json' }, body }).response;

describe('Http1Pool', () => {
  it('decodes chunked bodies (split across writes) and reuses the connection afterwards', async () => {
    const server = createHttpServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"a":');
      setTimeout(() => res.end('"' + 'x'.repeat(100_000) + '"}'), 5);
    });
    let connections = 0;
    server.on('connection', () => connections++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      for (let i = 0; i < 3; i++) {
        const res = await get(`${base}/c`);
        assert.equal(res.status, 200);
        assert.equal((JSON.parse(res.body.toString('utf8')) as { a: string }).a.length, 100_000);
        assert.ok(res.rawHeaders.map((h) => h.toLowerCase()).includes('transfer-encoding'));
      }
      assert.equal(connections, 1);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('reads a body framed by the end of the connection, skips a 100 Continue, and sends no body on HEAD/204', async () => {
    const s = await rawServer((head, socket) => {
      if (head.startsWith('GET /close')) socket.end('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nuntil the end');
      else if (head.startsWith('GET /continue'))
        socket.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok');
      else if (head.startsWith('HEAD')) socket.write('HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n');
      else socket.write('HTTP/1.1 204 No Content\r\n\r\n');
    });
    try {
      const closed = await get(`${s.base}/close`);
      assert.equal(closed.body.toString(), 'until the end');
      const cont = await get(`${s.base}/continue`);
      assert.equal(cont.status, 201);
      assert.equal(cont.body.toString(), 'ok');
      const head = await get(`${s.base}/h`, 'HEAD');
      assert.equal(head.status, 200);
      assert.equal(head.body.length, 0);
      const none = await get(`${s.base}/n`, 'DELETE');
      assert.equal(none.status, 204);
      // The last three shared one connection after the one the server closed.
      assert.equal(s.connections(), 2);
      assert.match(s.heads[0]!, /^GET \/close HTTP\/1\.1\r\nhost: 127\.0\.0\.1:\d+\r\naccept: application\/json$/);
    } finally {
      await s.close();
    }
  });

  it('re-sends an idempotent request once when the reused socket was closed by the server, but never a POST', async () => {
    // Answers the first request on each connection, then closes the connection on the next request unanswered.
    const perSocket = new WeakMap<Socket, number>();
    const s = await rawServer((_head, socket) => {
      const n = (perSocket.get(socket) ?? 0) + 1;
      perSocket.set(socket, n);
      if (n === 1) socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}');
      else socket.destroy();
    });
    try {
      await get(`${s.base}/a`);
      const again = await get(`${s.base}/b`);
      assert.equal(again.status, 200);
      assert.equal(s.connections(), 2, 'the GET went out again on a fresh connection');
      const sent = s.heads.length;
      await assert.rejects(get(`${s.base}/p`, 'POST', '{"x":1}'), /closed before the response ended|ECONNRESET|EPIPE/);
      assert.equal(s.heads.length, sent + 1, 'the POST was sent exactly once');
    } finally {
      await s.close();
    }
  });

  it('does not reuse a pooled socket on which the server sent unsolicited bytes (a 408 before hanging up)', async () => {
    const s = await rawServer((_head, socket) => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\na');
      setTimeout(() => socket.write('HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\n\r\n'), 5);
    });
    try {
      await get(`${s.base}/a`);
      await new Promise((r) => setTimeout(r, 50));
      const second = await get(`${s.base}/b`);
      assert.equal(second.status, 200);
      assert.equal(second.body.toString(), 'a');
      assert.equal(s.connections(), 2);
    } finally {
      await s.close();
    }
  });

  it("drops a pooled socket once the server's Keep-Alive timeout has passed, and aborts an exchange on request", async () => {
    const s = await rawServer((head, socket) => {
      if (head.startsWith('GET /hang')) return;
      socket.write('HTTP/1.1 200 OK\r\nkeep-alive: timeout=1\r\ncontent-length: 0\r\n\r\n');
    });
    try {
      await get(`${s.base}/a`);
      await get(`${s.base}/b`);
      assert.equal(s.connections(), 2, 'timeout=1 leaves no idle time to reuse the socket safely');
      const x = pool.request({ method: 'GET', url: new URL(`${s.base}/hang`), headers: {}, body: undefined });
      setTimeout(() => x.abort(new Error('stop')), 20);
      await assert.rejects(x.response, /stop/);
    } finally {
      await s.close();
    }
  });
});
