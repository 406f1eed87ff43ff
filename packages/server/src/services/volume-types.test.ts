import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BackendConfig } from '../config/config.js';
import type { VolumeType } from '../domain/volume-type.js';
import { backendForType } from './volume-types.js';

const raw: BackendConfig = { name: 'raw', driver: 'raw', pool: 'raw' };
const qcow2: BackendConfig = { name: 'qcow2', driver: 'qcow2', pool: 'qcow2' };
const typeWith = (extra_specs: Record<string, string>): VolumeType => ({
  id: 't',
  name: 't',
  description: null,
  is_public: true,
  extra_specs,
  created_at: '',
});
const pick = (specs: Record<string, string>) => backendForType([raw, qcow2], typeWith(specs), raw)?.name ?? null;

test('a type without capability specs stays on the fallback backend; unrelated specs are not matched', () => {
  assert.equal(pick({}), 'raw');
  assert.equal(pick({ tier: 'gold', 'drv:option': 'x' }), 'raw');
});

test('volume_backend_name picks the backend of that name, bare or scoped capabilities:', () => {
  assert.equal(pick({ volume_backend_name: 'qcow2' }), 'qcow2');
  assert.equal(pick({ 'capabilities:volume_backend_name': 'qcow2' }), 'qcow2');
  assert.equal(pick({ volume_backend_name: '<or> tape <or> qcow2' }), 'qcow2');
  assert.equal(pick({ volume_backend_name: 'tape' }), null);
});

test('vendor_name and storage_protocol match what the pools report, with Cinder operators', () => {
  assert.equal(pick({ vendor_name: 'Open Source', storage_protocol: 'local' }), 'raw');
  assert.equal(pick({ vendor_name: '<in> Open' }), 'raw');
  assert.equal(pick({ storage_protocol: 's== local', volume_backend_name: 'qcow2' }), 'qcow2');
  assert.equal(pick({ storage_protocol: 'iSCSI' }), null);
  assert.equal(pick({ vendor_name: 'vendor_name-123' }), null);
});
