import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expiredBackups, parseRetention } from './retention.js';
import { dueSlots, nextFire, parseRules } from './rrule.js';

const at = (s: string) => new Date(`${s}Z`);

describe('CBR trigger rules and retention', () => {
  it('finds the next weekly and every-other-day trigger times in UTC', () => {
    const weekly = parseRules(['FREQ=WEEKLY;BYDAY=MO,FR;BYHOUR=14;BYMINUTE=30']);
    // 2030-01-09 is a Wednesday.
    assert.deepEqual(nextFire(weekly, at('2030-01-01T00:00:00'), at('2030-01-09T12:00:00')), at('2030-01-11T14:30:00'));
    assert.deepEqual(nextFire(weekly, at('2030-01-01T00:00:00'), at('2030-01-11T14:30:00')), at('2030-01-14T14:30:00'));
    const everyOther = parseRules(['FREQ=DAILY;INTERVAL=2;BYHOUR=2,20;BYMINUTE=00']);
    assert.deepEqual(nextFire(everyOther, at('2030-01-01T05:00:00'), at('2030-01-01T05:00:00')), at('2030-01-01T20:00:00'));
    assert.deepEqual(nextFire(everyOther, at('2030-01-01T05:00:00'), at('2030-01-01T20:00:00')), at('2030-01-03T02:00:00'));
  });

  it('collapses missed runs into the latest one', () => {
    const daily = parseRules(['FREQ=DAILY;BYHOUR=1;BYMINUTE=00']);
    const d = dueSlots(daily, at('2030-01-01T00:00:00'), at('2030-01-02T01:00:00'), at('2030-01-05T03:00:00'))!;
    assert.deepEqual([d.slot, d.missed, d.next], [at('2030-01-05T01:00:00'), 3, at('2030-01-06T01:00:00')]);
    assert.equal(dueSlots(daily, at('2030-01-01T00:00:00'), at('2030-01-06T01:00:00'), at('2030-01-05T03:00:00')), null);
  });

  it('keeps the newest backup, the newest N and one per long-term period', () => {
    const backups = ['2030-01-01T01:00:00', '2030-01-01T13:00:00', '2030-01-02T01:00:00', '2030-01-03T01:00:00', '2030-01-04T01:00:00'].map(
      (t, i) => ({ id: `b${i}`, createdAt: at(t) }),
    );
    const now = at('2030-01-04T02:00:00');
    assert.deepEqual(expiredBackups(backups, parseRetention({ max_backups: 2 }), now).sort(), ['b0', 'b1', 'b2']);
    // day_backups 3 keeps the newest of each of the three latest days besides the newest two.
    assert.deepEqual(expiredBackups(backups, parseRetention({ max_backups: 1, day_backups: 3, timezone: 'UTC+00:00' }), now).sort(), ['b0', 'b1']);
    // In UTC+12 the 13:00 backup falls on the next local day, where the 01:00 one of that day is newer; the first
    // backup is alone on its local day and stays.
    assert.deepEqual(expiredBackups(backups, parseRetention({ max_backups: 1, day_backups: 4, timezone: 'UTC+12:00' }), now).sort(), ['b1']);
    assert.deepEqual(expiredBackups(backups, parseRetention({ retention_duration_days: 2 }), now).sort(), ['b0', 'b1', 'b2']);
    assert.deepEqual(expiredBackups(backups.slice(0, 1), parseRetention({ retention_duration_days: 1 }), at('2031-01-01T00:00:00')), []);
    assert.deepEqual(expiredBackups(backups, parseRetention({}), now), []);
  });
});
