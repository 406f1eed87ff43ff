import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBackupTarget } from './backup-targets.js';

test('lock_days makes a target immutable: COMPLIANCE on S3 unless lock_mode says governance; the rest of the URL parses as before', () => {
  const s3 = parseBackupTarget('vault=s3://bucket-a/pre?endpoint=http://127.0.0.1:7480&lock_days=30');
  assert.ok(s3.kind === 's3');
  assert.equal(s3.lockDays, 30);
  assert.deepEqual(s3.s3.objectLock, { mode: 'COMPLIANCE' });
  assert.equal(s3.s3.endpoint, 'http://127.0.0.1:7480');
  assert.equal(s3.s3.prefix, 'pre');
  const gov = parseBackupTarget('vault=s3://bucket-a?lock_mode=GOVERNANCE&lock_days=1');
  assert.ok(gov.kind === 's3');
  assert.deepEqual(gov.s3.objectLock, { mode: 'GOVERNANCE' });
  const plain = parseBackupTarget('plain=s3://bucket-a?region=r1');
  assert.ok(plain.kind === 's3');
  assert.equal(plain.lockDays, undefined);
  assert.equal(plain.s3.objectLock, undefined);
  const dir = parseBackupTarget('dir=file:///srv/backups?lock_days=7');
  assert.ok(dir.kind === 'file');
  assert.equal(dir.path, '/srv/backups');
  assert.equal(dir.lockDays, 7);
});

test('bad lock parameters are refused, naming the spec', () => {
  const cases: Array<[string, RegExp]> = [
    ['a=s3://bucket-a?lock_days=0', /lock_days must be a whole number of days from 1 to 36500, not "0"/],
    ['a=s3://bucket-a?lock_days=36501', /lock_days must be/],
    ['a=s3://bucket-a?lock_days=1.5', /lock_days must be/],
    ['a=s3://bucket-a?lock_days=', /lock_days must be/],
    ['a=s3://bucket-a?lock_days=1&lock_mode=legal', /lock_mode must be compliance or governance/],
    ['a=s3://bucket-a?lock_mode=governance', /lock_mode needs lock_days/],
    ['a=file:///srv/x?lock_days=1&lock_mode=compliance', /lock_mode is for s3:\/\/ targets/],
  ];
  for (const [spec, why] of cases) {
    assert.throws(() => parseBackupTarget(spec), (e: Error) => {
      assert.match(e.message, why, spec);
      assert.ok(e.message.includes(JSON.stringify(spec)), e.message);
      return true;
    });
  }
});
