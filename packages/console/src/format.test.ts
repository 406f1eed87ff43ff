import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { age, bytes, maintenanceInWords, nextRun, parseRule, retentionInWords, scheduleInWords } from '../app/format.js';

describe('console formatting', () => {
  test('policy schedules read as words, times in UTC', () => {
    assert.equal(scheduleInWords('FREQ=DAILY;INTERVAL=1;BYHOUR=2;BYMINUTE=00'), 'every day at 02:00 UTC');
    assert.equal(scheduleInWords('FREQ=DAILY;INTERVAL=2;BYHOUR=3;BYMINUTE=30'), 'every 2 days at 03:30 UTC');
    assert.equal(scheduleInWords('FREQ=WEEKLY;BYDAY=MO,FR;BYHOUR=1;BYMINUTE=15'), 'every Monday and Friday at 01:15 UTC');
    assert.equal(scheduleInWords('FREQ=DAILY;BYHOUR=2,14;BYMINUTE=0'), 'every day at 02:00 and 14:00 UTC');
    // Anything outside CBR's subset is shown as written rather than guessed at.
    assert.equal(scheduleInWords('FREQ=MONTHLY;BYMONTHDAY=1'), 'FREQ=MONTHLY;BYMONTHDAY=1');
    assert.equal(parseRule('FREQ=WEEKLY;BYDAY=XX'), null);
  });

  test('retention reads as "keep N", "keep N days" or "keep all"', () => {
    assert.equal(retentionInWords({ max_backups: 7, retention_duration_days: -1 }), 'keep 7');
    assert.equal(retentionInWords({ max_backups: -1, retention_duration_days: 30 }), 'keep 30 days');
    assert.equal(retentionInWords({ max_backups: -1, retention_duration_days: -1 }), 'keep all');
  });

  test('the next run is the earliest slot after now across patterns, days of the week included', () => {
    const mon = Date.parse('2026-12-07T08:30:00Z'); // a Monday
    assert.equal(nextRun(['FREQ=DAILY;INTERVAL=1;BYHOUR=2;BYMINUTE=00'], mon), Date.parse('2026-12-08T02:00:00Z'));
    assert.equal(nextRun(['FREQ=DAILY;INTERVAL=1;BYHOUR=9;BYMINUTE=00'], mon), Date.parse('2026-12-07T09:00:00Z'));
    assert.equal(nextRun(['FREQ=WEEKLY;BYDAY=SA;BYHOUR=1;BYMINUTE=0', 'FREQ=WEEKLY;BYDAY=WE;BYHOUR=23;BYMINUTE=0'], mon), Date.parse('2026-12-09T23:00:00Z'));
    assert.equal(nextRun(['nonsense'], mon), null);
  });

  test('ages and sizes are short and read naturally; Cinder times without a zone are UTC', () => {
    const now = Date.parse('2026-12-07T12:00:00Z');
    assert.equal(age('2026-12-07T11:59:30.000000', now), '30 s ago');
    assert.equal(age('2026-12-07T09:00:00Z', now), '3 h ago');
    assert.equal(age('2026-12-04T12:00:00.000000', now), '3 d ago');
    assert.equal(bytes(512), '512 B');
    assert.equal(bytes(1536), '1.5 KiB');
    assert.equal(bytes(3 * 1024 ** 3), '3.0 GiB');
  });
});

describe('maintenance reports', () => {
  test('verify and gc reports read as one sentence, from the synchronous body or a job result', () => {
    assert.equal(
      maintenanceInWords('verify', { verify: { ok: true, manifests: 2, chunks: 2, bytes: 8388608, problems: [], target: 'default' } }),
      'Verify on default: ok, 2 manifests and 2 chunks (8.0 MiB) checked, no problems.',
    );
    assert.equal(
      maintenanceInWords('verify', { ok: false, manifests: 1, chunks: 3, bytes: 10, problems: [{ message: 'chunk ab12 is missing' }] }),
      'Verify: FAILED, 1 manifests and 3 chunks (10 B) checked, 1 problem: chunk ab12 is missing.',
    );
    assert.equal(
      maintenanceInWords('gc', { gc: { chunks: 9, deleted: 4, deleted_bytes: 4096, kept_in_grace: 1, dry_run: true, target: 's3' } }),
      'Garbage collection on s3: would remove 4 of 9 chunks (4.0 KiB), kept 1 in their grace period.',
    );
  });
});
