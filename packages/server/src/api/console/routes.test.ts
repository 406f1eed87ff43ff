import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { createHttpApp } from '../common/http-app.js';
import { CONSOLE_CSP, registerConsoleRoutes } from './routes.js';

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** node:http rather than fetch: fetch would inflate a gzip answer and hide whether it was compressed. */
function get(base: string, path: string, headers: Record<string, string> = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function serve(dir: string): Promise<{ app: FastifyInstance; base: string }> {
  // No route here needs a token: a validator that knows none proves it.
  const app = createHttpApp({ logger: pino({ level: 'silent' }), publicUrl: null, tokens: { validate: async () => null } });
  registerConsoleRoutes(app, { dir });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}

describe('console static files', () => {
  let dir: string;
  let built: { app: FastifyInstance; base: string };
  let empty: { app: FastifyInstance; base: string };
  const script = `console.log(${JSON.stringify('x'.repeat(2000))});`;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cbx-console-'));
    await mkdir(join(dir, 'assets'));
    await writeFile(join(dir, 'index.html'), '<!doctype html><title>t</title><script type="module" src="assets/main-AAAA.js"></script>');
    await writeFile(join(dir, 'assets', 'main-AAAA.js'), script);
    built = await serve(dir);
    empty = await serve(join(dir, 'nothing-built-here'));
  });
  after(async () => {
    await built.app.close();
    await empty.app.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('the bare path moves to /console/, which serves index.html without a token, revalidated on every load', async () => {
    const bare = await get(built.base, '/console');
    assert.equal(bare.status, 308);
    assert.equal(bare.headers.location, '/console/');
    const page = await get(built.base, '/console/');
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.equal(page.headers['cache-control'], 'no-cache');
    assert.match(page.body.toString(), /assets\/main-AAAA\.js/);
  });

  test('every answer carries a CSP that allows this origin only, and no sniffing or framing', async () => {
    for (const path of ['/console/', '/console/assets/main-AAAA.js']) {
      const r = await get(built.base, path);
      assert.equal(r.headers['content-security-policy'], CONSOLE_CSP, path);
      assert.match(CONSOLE_CSP, /default-src 'none'/);
      assert.doesNotMatch(CONSOLE_CSP, /https?:|\*|unsafe/);
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      assert.equal(r.headers['x-frame-options'], 'DENY');
    }
  });

  test('hashed assets are immutable and sent gzipped to clients that accept it', async () => {
    const plain = await get(built.base, '/console/assets/main-AAAA.js');
    assert.equal(plain.status, 200);
    assert.equal(plain.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.body.toString(), script);
    const zipped = await get(built.base, '/console/assets/main-AAAA.js', { 'Accept-Encoding': 'gzip, br' });
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.equal(zipped.headers.vary, 'Accept-Encoding');
    assert.ok(zipped.body.length < plain.body.length / 5, `${zipped.body.length} bytes gzipped of ${plain.body.length}`);
    assert.equal(gunzipSync(zipped.body).toString(), script);
  });

  test('a matching ETag answers 304 with no body', async () => {
    const first = await get(built.base, '/console/');
    const etag = String(first.headers.etag);
    const again = await get(built.base, '/console/', { 'If-None-Match': etag });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
  });

  test('an unknown file is a Cinder-shaped 404, and so is every path when the console was not built, saying so', async () => {
    const missing = await get(built.base, '/console/assets/../../etc/passwd');
    assert.equal(missing.status, 404);
    const nope = await get(built.base, '/console/nope.js');
    assert.equal(nope.status, 404);
    assert.deepEqual(Object.keys(JSON.parse(nope.body.toString())), ['itemNotFound']);
    const unbuilt = await get(empty.base, '/console/');
    assert.equal(unbuilt.status, 404);
    assert.match(JSON.parse(unbuilt.body.toString()).itemNotFound.message, /npm run setup/);
  });
});
