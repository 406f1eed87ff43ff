import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DomainError } from '../../domain/errors.js';
import { errorBody, isStoreUnavailable } from './errors.js';

test('store outages are told apart from bugs: socket errnos, connection SQLSTATEs and pg pool messages, also as a cause', () => {
  const coded = (code: string) => Object.assign(new Error('x'), { code });
  for (const e of [
    coded('ECONNREFUSED'),
    coded('57P01'),
    coded('08006'),
    coded('57014'),
    new Error('Connection terminated unexpectedly'),
    new Error('timeout exceeded when trying to connect'),
    new Error('wrapped', { cause: coded('ECONNRESET') }),
    new AggregateError([coded('ECONNREFUSED')]),
  ]) {
    assert.equal(isStoreUnavailable(e), true, String(e));
  }
  for (const e of [new Error('boom'), coded('23505'), coded('42P01'), new TypeError('x is undefined'), null, 'ECONNREFUSED']) {
    assert.equal(isStoreUnavailable(e), false, String(e));
  }
});

test('503 bodies follow each API: Cinder serviceUnavailable, Keystone error title, CBR error_code', () => {
  const err = new DomainError('serviceUnavailable', 'down');
  assert.deepEqual(errorBody('cinder', err), { serviceUnavailable: { code: 503, message: 'down' } });
  assert.deepEqual(errorBody('keystone', err), { error: { code: 503, title: 'Service Unavailable', message: 'down' } });
  assert.deepEqual(errorBody('cbr', err), { error_code: 'BackupService.9999', error_msg: 'down' });
});
