import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_SCRYPT_LOG_N, PasswordHasher } from './passwords.js';

test('the default cost hashes with scrypt N=2^15 and a fresh salt, and verifies', async () => {
  const hasher = new PasswordHasher();
  const a = await hasher.hash('correct horse');
  const b = await hasher.hash('correct horse');
  assert.match(a, new RegExp(`^scrypt\\$${2 ** DEFAULT_SCRYPT_LOG_N}\\$8\\$1\\$[A-Za-z0-9_-]{22}\\$[A-Za-z0-9_-]{43}$`));
  assert.notEqual(a, b);
  assert.equal(await hasher.verify('correct horse', a), true);
  assert.equal(await hasher.verify('correct horsE', a), false);
});

test('a hash made at one cost still verifies after the cost changes', async () => {
  const cheap = await new PasswordHasher(10).hash('pw');
  assert.equal(await new PasswordHasher().verify('pw', cheap), true);
});

test('a missing or malformed stored hash never verifies', async () => {
  const hasher = new PasswordHasher(10);
  assert.equal(await hasher.verify('', null), false);
  assert.equal(await hasher.verify('pw', 'pw'), false);
  assert.equal(await hasher.verify('pw', 'bcrypt$1$2$3$4$5'), false);
});
