import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuthContext } from '../../domain/auth-context.js';
import { TokenCache } from './token-cache.js';

const now = new Date('2030-01-01T00:00:00Z');
const ctx = (userId: string, projectId: string | null = 'p', expiresInMs = 3600_000): AuthContext => ({
  userId,
  userName: userId,
  userDomainId: 'default',
  projectId,
  projectName: projectId,
  projectDomainId: 'default',
  roles: [],
  isAdmin: false,
  roleNames: new Set(),
  expiresAt: new Date(now.getTime() + expiresInMs),
});

test('the cache is bounded and evicts the least recently used entry', () => {
  const c = new TokenCache(2, 60_000);
  c.set('a', ctx('a'), now, c.snapshot());
  c.set('b', ctx('b'), now, c.snapshot());
  assert.ok(c.get('a', now)); // a is now the most recent
  c.set('c', ctx('c'), now, c.snapshot());
  assert.equal(c.size, 2);
  assert.equal(c.get('b', now), null);
  assert.ok(c.get('a', now));
  assert.ok(c.get('c', now));
});

test('entries expire with their token and after the recheck interval', () => {
  const c = new TokenCache(10, 60_000);
  c.set('short', ctx('u', 'p', 1000), now, c.snapshot());
  c.set('long', ctx('u'), now, c.snapshot());
  assert.equal(c.get('short', new Date(now.getTime() + 1000)), null);
  assert.ok(c.get('long', new Date(now.getTime() + 59_000)));
  assert.equal(c.get('long', new Date(now.getTime() + 60_000)), null);
});

test('a lookup that raced an invalidation does not repopulate the cache', () => {
  const c = new TokenCache(10, 60_000);
  const generation = c.snapshot();
  c.drop('t'); // a revoke lands while the store lookup is in flight
  c.set('t', ctx('u'), now, generation);
  assert.equal(c.get('t', now), null);
});

test('contexts are dropped by user and by project', () => {
  const c = new TokenCache(10, 60_000);
  c.set('u1p1', ctx('u1', 'p1'), now, c.snapshot());
  c.set('u2p1', ctx('u2', 'p1'), now, c.snapshot());
  c.set('u2p2', ctx('u2', 'p2'), now, c.snapshot());
  c.dropWhere((a) => a.userId === 'u1');
  assert.equal(c.get('u1p1', now), null);
  c.dropWhere((a) => a.projectId === 'p2');
  assert.equal(c.get('u2p2', now), null);
  assert.ok(c.get('u2p1', now));
});

test('an entry kept by the raw token is dropped by its hash, and only that entry', () => {
  const c = new TokenCache(10, 60_000);
  c.set('raw-1', ctx('u1'), now, c.snapshot(), 'hash-1');
  c.set('raw-2', ctx('u2'), now, c.snapshot(), 'hash-2');
  c.drop('raw-1'); // the raw token is not the name a revoke uses
  assert.ok(c.get('raw-1', now));
  c.drop('hash-1');
  assert.equal(c.get('raw-1', now), null);
  assert.ok(c.get('raw-2', now));
  assert.equal(c.size, 1);
});

test('a token in constant use survives any churn of others', () => {
  const c = new TokenCache(4, 60_000);
  c.set('busy', ctx('busy'), now, c.snapshot());
  for (let i = 0; i < 50; i++) {
    c.set(`other-${i}`, ctx(`o${i}`), now, c.snapshot());
    assert.ok(c.get('busy', now), `evicted after ${i + 1} others`);
  }
  assert.equal(c.size, 4);
  assert.equal(c.get('other-0', now), null);
});
