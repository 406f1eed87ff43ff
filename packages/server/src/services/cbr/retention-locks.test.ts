import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expiredBackups, parseRetention } from './retention.js';

const at = (s: string) => new Date(`${s}Z`);

test('retention policies skip locked backups: they still count towards the rules, and go on a run after their lock ends', () => {
  const backups = ['2030-01-01T01:00:00', '2030-01-02T01:00:00', '2030-01-03T01:00:00', '2030-01-04T01:00:00'].map((t, i) => ({
    id: `b${i}`,
    createdAt: at(t),
    locked: i === 1,
  }));
  const now = at('2030-01-04T02:00:00');
  // max_backups 1 would delete b0-b2; b1 is locked and stays, and does not make the rules delete another one.
  assert.deepEqual(expiredBackups(backups, parseRetention({ max_backups: 1 }), now).sort(), ['b0', 'b2']);
  assert.deepEqual(expiredBackups(backups, parseRetention({ max_backups: 2 }), now).sort(), ['b0']);
  assert.deepEqual(expiredBackups(backups, parseRetention({ retention_duration_days: 1 }), now).sort(), ['b0', 'b2']);
  const unlocked = backups.map((b) => ({ ...b, locked: false }));
  assert.deepEqual(expiredBackups(unlocked, parseRetention({ max_backups: 1 }), now).sort(), ['b0', 'b1', 'b2']);
});
