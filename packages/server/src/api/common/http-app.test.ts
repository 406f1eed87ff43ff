import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import type { AuthContext, TokenValidator } from '../../domain/auth-context.js';
import { createHttpApp } from './http-app.js';

const ctx = (roles: string[]): AuthContext => ({
  userId: 'u',
  userName: 'u',
  userDomainId: 'default',
  projectId: 'p1',
  projectName: 'p1',
  projectDomainId: 'default',
  roles: roles.map((r) => ({ id: r, name: r })),
  isAdmin: false,
  roleNames: new Set(roles),
  expiresAt: new Date(Date.now() + 3600_000),
});

// Tokens: 'member' and 'reader' resolve (the first through the cache, the second only by lookup), anything else not.
const calls = { cached: 0, validate: 0 };
const tokens: TokenValidator = {
  cached(token) {
    calls.cached++;
    return token === 'member' ? ctx(['member', 'reader']) : null;
  },
  async validate(token) {
    calls.validate++;
    return token === 'reader' ? ctx(['reader']) : null;
  },
};

const lines: Record<string, unknown>[] = [];
const sink = new Writable({
  write(chunk: Buffer, _enc, done) {
    for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
    done();
  },
});
const app = createHttpApp({ logger: pino({ level: 'warn' }, sink), publicUrl: null, tokens });
app.get('/v3/:project_id/volumes/:id', async (req) => ({ volume: { id: (req.params as { id: string }).id } }));
app.post('/v3/:project_id/volumes/:id/action', async () => ({ done: true }));
app.get('/v3/:project_id/volumes/:id/boom', async (req) => {
  req.log.warn('about to fail');
  throw new Error('boom');
});
let base = '';
before(async () => {
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});
after(() => app.close());

const call = (method: string, path: string, token?: string, body?: unknown) =>
  fetch(`${base}${path}`, {
    method,
    headers: { ...(token ? { 'x-auth-token': token } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });

test('a cached token is admitted without a lookup; an uncached one is looked up; an unknown one is refused', async () => {
  calls.cached = calls.validate = 0;
  assert.equal((await call('GET', '/v3/p1/volumes/v', 'member')).status, 200);
  assert.deepEqual(calls, { cached: 1, validate: 0 });
  assert.equal((await call('GET', '/v3/p1/volumes/v', 'reader')).status, 200);
  assert.deepEqual(calls, { cached: 2, validate: 1 });
  const r = await call('GET', '/v3/p1/volumes/v', 'nobody');
  assert.equal(r.status, 401);
  // Cinder's fault shape: { <fault name>: { code, message } }.
  assert.equal((Object.values((await r.json()) as Record<string, { code: number }>)[0])?.code, 401);
  assert.equal((await call('GET', '/v3/p1/volumes/v')).status, 401);
  // The project in the URL must be the token's, on either path.
  assert.equal((await call('GET', '/v3/p2/volumes/v', 'member')).status, 400);
  assert.equal((await call('GET', '/v3/p2/volumes/v', 'reader')).status, 400);
});

test('the route policy is enforced on both paths: a reader may look but not act', async () => {
  assert.equal((await call('POST', '/v3/p1/volumes/v/action', 'member', { 'os-extend': { new_size: 2 } })).status, 200);
  const refused = await call('POST', '/v3/p1/volumes/v/action', 'reader', { 'os-extend': { new_size: 2 } });
  assert.equal(refused.status, 403);
  assert.match(JSON.stringify(await refused.json()), /volume:extend/);
});

test('request log lines are written at their level and carry the request id; quiet requests write none', async () => {
  lines.length = 0;
  assert.equal((await call('GET', '/v3/p1/volumes/v', 'member')).status, 200);
  assert.equal(lines.length, 0);
  const r = await call('GET', '/v3/p1/volumes/v/boom', 'member');
  assert.equal(r.status, 500);
  const id = r.headers.get('x-openstack-request-id');
  assert.match(id ?? '', /^req-/);
  const warn = lines.find((l) => l.msg === 'about to fail');
  const error = lines.find((l) => l.msg === 'unexpected error');
  assert.equal(warn?.reqId, id);
  assert.equal(error?.reqId, id);
  assert.ok(!lines.some((l) => l.level === 30), 'no info lines at level warn');
});
