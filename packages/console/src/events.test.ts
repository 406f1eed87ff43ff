import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffMs, parseChange } from '../app/events.js';

test('a lost event stream is reopened after a pause that doubles from 1 s up to 30 s, with some jitter', () => {
  const none = () => 0;
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 50].map((a) => backoffMs(a, none)), [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  // Jitter only shortens the pause, by at most a fifth.
  assert.equal(backoffMs(0, () => 1), 800);
  for (let i = 0; i < 100; i++) {
    const ms = backoffMs(3);
    assert.ok(ms >= 6400 && ms <= 8000, String(ms));
  }
});

test('only well-formed change events are taken from the stream', () => {
  assert.deepEqual(parseChange('{"type":"backup","id":"b1","status":"creating","progress":42,"project_id":"p","at":"t"}'), {
    type: 'backup',
    id: 'b1',
    status: 'creating',
    progress: 42,
    project_id: 'p',
    at: 't',
  });
  assert.equal(parseChange('{"type":"backup","id":"b1","status":"creating","project_id":"p"}')?.progress, null);
  assert.equal(parseChange('not json'), null);
  assert.equal(parseChange('{"id":"x"}'), null);
  assert.equal(parseChange(undefined), null);
});
