import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LOGIN_THROTTLE_DEFAULTS } from '../../config/config.js';
import { LoginThrottle } from './login-throttle.js';

test('the throttle holds at most maxEntries per table however many addresses and users fail', () => {
  const t = new LoginThrottle({ now: () => new Date(0) }, { ...LOGIN_THROTTLE_DEFAULTS, maxEntries: 100 });
  for (let i = 0; i < 5_000; i++) t.failed(`10.0.${i >> 8}.${i & 255}`, `name::Default:user${i}`);
  assert.deepEqual(t.size, { addresses: 100, users: 100, knownGood: 0 });
});

test('a refused attempt does not extend the lock', () => {
  let now = 0;
  const t = new LoginThrottle({ now: () => new Date(now) }, { ...LOGIN_THROTTLE_DEFAULTS, maxFailures: 2, lockoutBaseSeconds: 5 });
  t.failed('a', 'u');
  t.failed('a', 'u');
  assert.equal(t.retryAfter('a', 'u'), 5);
  now = 4_000;
  // The caller only asks; a refused guess is never counted as a failure.
  assert.equal(t.retryAfter('a', 'u'), 1);
  now = 5_000;
  assert.equal(t.retryAfter('a', 'u'), null);
});

test('parallel guesses from one address get no more password checks than the failure limit allows', async () => {
  const t = new LoginThrottle({ now: () => new Date(0) }, { ...LOGIN_THROTTLE_DEFAULTS, maxFailures: 3 });
  const outcomes = Array.from({ length: 50 }, () => t.acquire('a', 'u'));
  const settled = async () => {
    const marks = outcomes.map(() => false);
    outcomes.forEach((p, i) => void p.then(() => (marks[i] = true)));
    await new Promise((r) => setImmediate(r));
    return marks.filter(Boolean).length;
  };
  // Three may hash at once; the other 47 wait rather than being refused.
  assert.equal(await settled(), 3);
  const running = await Promise.all(outcomes.slice(0, 3));
  for (const slot of running) {
    assert.ok('done' in slot);
    t.failed('a', 'u');
    slot.done();
  }
  // The third failure locked the address: every waiting guess now learns so, none reaches the hash.
  const rest = await Promise.all(outcomes.slice(3));
  assert.ok(rest.every((r) => 'retryAfter' in r && r.retryAfter === 1));
  // Another address is not held back by this one's checks.
  assert.ok('done' in (await t.acquire('b', 'v')));
});

test('parallel logins with the right password from one address are queued, never refused', async () => {
  const t = new LoginThrottle({ now: () => new Date(0) }, { ...LOGIN_THROTTLE_DEFAULTS, maxFailures: 3 });
  let admitted = 0;
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      const slot = await t.acquire('a', 'u');
      assert.ok('done' in slot, 'a correct login is never answered 429');
      admitted++;
      await new Promise((r) => setImmediate(r));
      t.succeeded('a', 'u');
      slot.done();
    }),
  );
  assert.equal(admitted, 20);
});

test('throttle settings come from flags over CINDERBOX_LOGIN_* over defaults, and nonsense is refused', async () => {
  const { loadConfig } = await import('../../config/config.js');
  assert.deepEqual(loadConfig({}, {}).loginThrottle, LOGIN_THROTTLE_DEFAULTS);
  const c = loadConfig({ loginThrottle: { maxFailures: 9 } }, { CINDERBOX_LOGIN_MAX_FAILURES: '3', CINDERBOX_LOGIN_LOCKOUT_MAX: '60' });
  assert.equal(c.loginThrottle.maxFailures, 9);
  assert.equal(c.loginThrottle.lockoutMaxSeconds, 60);
  assert.throws(() => loadConfig({}, { CINDERBOX_LOGIN_MAX_FAILURES: '0' }), /CINDERBOX_LOGIN_MAX_FAILURES/);
  assert.throws(() => loadConfig({}, { CINDERBOX_LOGIN_LOCKOUT: '10', CINDERBOX_LOGIN_LOCKOUT_MAX: '5' }), /LOCKOUT_MAX/);
});
