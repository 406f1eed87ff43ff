import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { LOGIN_THROTTLE_DEFAULTS } from '../../config/config.js';
import { ADMIN_PASSWORD, passwordAuth, startIdentityServer, type IdentityTestServer } from './test-support/server.js';

// The whole 127/8 block is loopback on Linux: binding the client socket to another 127.x address makes the
// server see a different source address without any proxy header.
const ATTACKER = '127.0.0.2';
const OWNER = '127.0.0.3';

/** POST /auth/tokens from `localAddress`. */
function login(url: string, localAddress: string, body: unknown): Promise<{ status: number; retryAfter: string | undefined; body: any }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${url}/identity/v3/auth/tokens`,
      { method: 'POST', localAddress, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          const h = res.headers['retry-after'];
          resolve({ status: res.statusCode ?? 0, retryAfter: typeof h === 'string' ? h : undefined, body: text ? JSON.parse(text) : null });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

let now = Date.parse('2026-12-01T00:00:00Z');
const clock = { now: () => new Date(now) };
let s: IdentityTestServer;

before(async () => {
  s = await startIdentityServer(
    { loginThrottle: { ...LOGIN_THROTTLE_DEFAULTS, maxFailures: 3, windowSeconds: 10, userMaxFailures: 8, lockoutBaseSeconds: 2, lockoutMaxSeconds: 16 } },
    { clock },
  );
});
after(() => s.close());

const good = () => passwordAuth('admin', ADMIN_PASSWORD);
const bad = () => passwordAuth('admin', 'not-the-password');

describe('failed password logins are throttled', () => {
  test('N bad passwords from one address are answered 429 with Retry-After, in Keystone error shape', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await login(s.url, ATTACKER, bad())).status, 401);
    const refused = await login(s.url, ATTACKER, bad());
    assert.equal(refused.status, 429);
    assert.equal(refused.retryAfter, '2');
    assert.equal(refused.body.error.code, 429);
    assert.equal(refused.body.error.title, 'Too Many Requests');
    assert.match(refused.body.error.message, /retry in 2 seconds/);
    // The right password from the locked address is refused too: the lock is checked before any password is.
    assert.equal((await login(s.url, ATTACKER, good())).status, 429);
  });

  test('the same user logs in from another address while the attacking address is locked', async () => {
    const res = await login(s.url, OWNER, good());
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal((await login(s.url, ATTACKER, good())).status, 429);
  });

  test('the lockout expires on its own, and the next one after a failure is twice as long', async () => {
    now += 2_000;
    assert.equal((await login(s.url, ATTACKER, bad())).status, 401);
    const again = await login(s.url, ATTACKER, bad());
    assert.equal(again.status, 429);
    assert.equal(again.retryAfter, '4');
    now += 4_000;
    assert.equal((await login(s.url, ATTACKER, good())).status, 201);
  });

  test('a good login resets the counter', async () => {
    for (let i = 0; i < 2; i++) assert.equal((await login(s.url, ATTACKER, bad())).status, 401);
    assert.equal((await login(s.url, ATTACKER, good())).status, 201);
    for (let i = 0; i < 2; i++) assert.equal((await login(s.url, ATTACKER, bad())).status, 401);
    assert.equal((await login(s.url, ATTACKER, good())).status, 201);
  });

  test('lockouts are capped: the longest Retry-After is the configured maximum', async () => {
    const seen: number[] = [];
    for (let i = 0; i < 8; i++) {
      let r = await login(s.url, ATTACKER, bad());
      while (r.status === 401) r = await login(s.url, ATTACKER, bad());
      assert.equal(r.status, 429);
      seen.push(Number(r.retryAfter));
      now += Number(r.retryAfter) * 1000;
    }
    assert.equal(Math.max(...seen), 16);
    assert.deepEqual(seen.slice(-3), [16, 16, 16]);
    // Quiet for a window after its last lock, the address is forgiven entirely.
    now += 11_000;
    for (let i = 0; i < 2; i++) assert.equal((await login(s.url, ATTACKER, bad())).status, 401);
    assert.equal((await login(s.url, ATTACKER, good())).status, 201);
  });

  test('guessing one user from many addresses locks that user for new addresses, not for one it logged in from', async () => {
    now += 60_000;
    const user = passwordAuth('spread', 'wrong');
    const u = await s.request('POST', '/identity/v3/users', {
      token: await adminToken(),
      body: { user: { name: 'spread', domain_id: 'default', password: 'spread-pw' } },
    });
    assert.equal(u.status, 201, u.text);
    assert.equal((await login(s.url, OWNER, passwordAuth('spread', 'spread-pw'))).status, 201);
    // Two failures from each of four addresses: no address reaches its limit, the user reaches 8.
    for (const a of ['127.0.1.1', '127.0.1.2', '127.0.1.3', '127.0.1.4']) {
      for (let i = 0; i < 2; i++) assert.equal((await login(s.url, a, user)).status, 401);
    }
    const fresh = await login(s.url, '127.0.1.5', passwordAuth('spread', 'spread-pw'));
    assert.equal(fresh.status, 429);
    assert.equal((await login(s.url, OWNER, passwordAuth('spread', 'spread-pw'))).status, 201);
    // Other users are not affected by that user's lock.
    assert.equal((await login(s.url, '127.0.1.5', good())).status, 201);
  });

  test('an unknown user is throttled like a known one (a 429 does not reveal whether the user exists)', async () => {
    const ghost = passwordAuth('no-such-user', 'x');
    for (let i = 0; i < 3; i++) assert.equal((await login(s.url, '127.0.2.1', ghost)).status, 401);
    assert.equal((await login(s.url, '127.0.2.1', ghost)).status, 429);
  });
});

async function adminToken(): Promise<string> {
  const t = await s.request('POST', '/identity/v3/auth/tokens', { body: passwordAuth('admin', ADMIN_PASSWORD, { project: { name: 'admin', domain: { id: 'default' } } }) });
  assert.equal(t.status, 201, t.text);
  return t.headers.get('x-subject-token')!;
}
