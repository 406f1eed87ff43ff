import assert from 'node:assert/strict';
import { test } from 'node:test';
import { storeRetentionEnd } from './immutability.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

test('store retention: never before locked_until, at most one step (a quarter of the period, 1 h to 7 days) after it, and shared by nearby dates', () => {
  const now = new Date(Date.UTC(2030, 0, 1, 10, 17));
  for (const [days, step] of [
    [1, 6 * HOUR],
    [10, 60 * HOUR],
    [365, 7 * DAY],
    [1 / 48, HOUR],
  ] as const) {
    const until = new Date(now.getTime() + days * DAY);
    const end = storeRetentionEnd(until, now);
    assert.ok(end.getTime() >= until.getTime(), `${days} d`);
    assert.ok(end.getTime() - until.getTime() < step, `${days} d: ${end.toISOString()}`);
    assert.equal(end.getTime() % step, 0, `${days} d: aligned on the step, so backups within one step share it`);
  }
  // Daily incrementals of a 365-day lock: most fall into the same 7-day step as the day before.
  let same = 0;
  for (let d = 1; d <= 70; d++) {
    const at = (k: number) => new Date(now.getTime() + k * DAY);
    if (storeRetentionEnd(at(d + 365), at(d)).getTime() === storeRetentionEnd(at(d - 1 + 365), at(d - 1)).getTime()) same++;
  }
  assert.ok(same >= 59, `${same} of 70`);
});
