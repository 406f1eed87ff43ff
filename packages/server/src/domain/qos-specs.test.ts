import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { frontEndQos, type QosSpecs } from './qos-specs.js';

const spec = (consumer: QosSpecs['consumer'], specs: Record<string, string | null>): QosSpecs => ({
  id: 'q',
  name: 'q',
  consumer,
  specs,
  created_at: '2026-01-01T00:00:00.000000',
  updated_at: null,
});

describe('front-end QoS in connection_info', () => {
  test('only front-end and both specs reach the front end', () => {
    assert.equal(frontEndQos(undefined, 1), null);
    assert.equal(frontEndQos(spec('back-end', { total_iops_sec: '1' }), 1), null);
    assert.deepEqual(frontEndQos(spec('front-end', { total_iops_sec: '1' }), 1), { total_iops_sec: '1' });
    assert.deepEqual(frontEndQos(spec('both', { total_iops_sec: '1' }), 1), { total_iops_sec: '1' });
  });

  test('per-GB limits scale with the size, within their minimum and maximum, which are then dropped', () => {
    const q = spec('front-end', {
      read_bytes_sec_per_gb: '1000',
      read_bytes_sec_per_gb_min: '50000',
      write_bytes_sec_per_gb: '1000',
      write_bytes_sec_max: '5000',
      total_iops_sec_per_gb: '7',
      other: 'kept',
    });
    assert.deepEqual(frontEndQos(q, 10), { read_bytes_sec: 50000, write_bytes_sec: 5000, total_iops_sec: 70, other: 'kept' });
    assert.deepEqual(frontEndQos(q, 100), { read_bytes_sec: 100000, write_bytes_sec: 5000, total_iops_sec: 700, other: 'kept' });
  });

  test('a per-GB value that is no integer is passed through rather than failing the attach', () => {
    assert.deepEqual(frontEndQos(spec('front-end', { total_iops_sec_per_gb: 'lots' }), 2), { total_iops_sec_per_gb: 'lots' });
    assert.deepEqual(frontEndQos(spec('front-end', { total_iops_sec_per_gb: '5', total_iops_sec_max: 'x' }), 2), {
      total_iops_sec_per_gb: '5',
      total_iops_sec_max: 'x',
    });
  });

  test('keys named like Object.prototype members are plain keys', () => {
    const specs: Record<string, string | null> = {};
    Object.defineProperty(specs, '__proto__', { value: 'x', enumerable: true, writable: true, configurable: true });
    const out = frontEndQos(spec('front-end', specs), 1);
    assert.ok(out && Object.hasOwn(out, '__proto__'));
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
  });
});
