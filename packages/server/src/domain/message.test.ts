import assert from 'node:assert/strict';
import { test } from 'node:test';
import { overLimit } from './errors.js';
import { detailFor, eventId, MessageAction, MessageDetail, userMessage, volumeCreateFailure } from './message.js';

test("event ids are Cinder's VOLUME_<resource>_<action>_<detail>", () => {
  assert.equal(eventId('VOLUME', '001', '003'), 'VOLUME_VOLUME_001_003');
  assert.equal(eventId('VOLUME_BACKUP', '013', '020'), 'VOLUME_VOLUME_BACKUP_013_020');
});

test('the user message is the action and the detail in words; unknown ids read as Cinder reads them', () => {
  assert.equal(userMessage('001', '003'), 'schedule allocate volume: Could not find any available weighted backend.');
  assert.equal(userMessage('999', '999'), 'unknown action: An unknown error occurred.');
  assert.equal(userMessage('__proto__', 'constructor'), 'unknown action: An unknown error occurred.');
});

test('action and detail ids are unique', () => {
  for (const table of [MessageAction, MessageDetail]) {
    const ids = Object.values(table).map(([id]) => id);
    assert.equal(new Set(ids).size, ids.length);
  }
});

test('a volume create out of space says no backend had room; a driver failure says the driver failed', () => {
  const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  assert.deepEqual(volumeCreateFailure(enospc), { action: 'SCHEDULE_ALLOCATE_VOLUME', detail: 'NO_BACKEND_AVAILABLE' });
  assert.deepEqual(volumeCreateFailure(new Error('nope')), { action: 'CREATE_VOLUME_FROM_BACKEND', detail: 'DRIVER_FAILED_CREATE' });
  assert.deepEqual(volumeCreateFailure(Object.assign(new Error('no valid backend'), { code: 'NoValidBackend' })), {
    action: 'SCHEDULE_ALLOCATE_VOLUME',
    detail: 'NO_BACKEND_AVAILABLE',
  });
});

test('a quota refusal is QUOTA_EXCEED whatever the failure path', () => {
  assert.equal(detailFor('SNAPSHOT_CREATE_ERROR', overLimit('over quota')), 'QUOTA_EXCEED');
  assert.equal(detailFor('SNAPSHOT_CREATE_ERROR', new Error('x')), 'SNAPSHOT_CREATE_ERROR');
});
