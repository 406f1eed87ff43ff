import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lockedUntilFor, lockStep } from './immutability.js';
import { parseStoredTime, storedTime } from './time.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

test('a lock ends no earlier than the days asked for, at most one step (a quarter of the period, 1 h to 7 days) later, on the step', () => {
  assert.equal(lockStep(DAY), 6 * HOUR);
  assert.equal(lockStep(10 * DAY), 60 * HOUR);
  assert.equal(lockStep(365 * DAY), 7 * DAY);
  const now = storedTime(new Date(Date.UTC(2030, 0, 1, 10, 17, 3)));
  for (const days of [1, 10, 365]) {
    const exact = parseStoredTime(now).getTime() + days * DAY;
    const until = parseStoredTime(lockedUntilFor(now, days)!).getTime();
    assert.ok(until >= exact && until < exact + lockStep(days * DAY), `${days} d`);
    assert.equal(until % lockStep(days * DAY), 0, `${days} d: on the step`);
  }
  assert.equal(lockedUntilFor(now, null, 0), null);
  // The longest period wins, and its own step rounds it.
  assert.equal(lockedUntilFor(now, 1, 10), lockedUntilFor(now, 10));
});

test('daily backups under a 365-day lock share their lock end for most of each week (their chunks need no extension then)', () => {
  const t0 = Date.UTC(2030, 0, 1, 2, 0);
  let same = 0;
  for (let d = 1; d <= 70; d++) {
    const at = (k: number) => lockedUntilFor(storedTime(new Date(t0 + k * DAY)), 365);
    if (at(d) === at(d - 1)) same++;
  }
  assert.equal(same, 60, 'six of seven days share the previous day\'s end');
});
