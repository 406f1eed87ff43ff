import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DomainError } from '../../domain/errors.js';
import { negotiateVersion } from './api-version.js';

test('no header, or a header without a volume item, negotiates 3.0', () => {
  assert.equal(negotiateVersion(undefined).toString(), '3.0');
  assert.equal(negotiateVersion('compute 2.1').toString(), '3.0');
});

test('latest is the maximum; the first volume item wins', () => {
  assert.equal(negotiateVersion('volume latest').toString(), '3.70');
  assert.equal(negotiateVersion('compute 2.1, volume 3.43').toString(), '3.43');
});

test('malformed versions are 400, versions out of range 406', () => {
  for (const bad of ['volume 3.05', 'volume 3.x', 'volume 3', 'volume ']) {
    assert.throws(() => negotiateVersion(bad), (e: unknown) => e instanceof DomainError && e.status === 400, bad);
  }
  for (const out of ['volume 3.71', 'volume 2.0', 'volume 4.0']) {
    assert.throws(() => negotiateVersion(out), (e: unknown) => e instanceof DomainError && e.status === 406, out);
  }
});

test('atLeast compares numerically, not lexically', () => {
  const v = negotiateVersion('volume 3.9');
  assert.equal(v.atLeast('3.8'), true);
  assert.equal(v.atLeast('3.10'), false);
});
