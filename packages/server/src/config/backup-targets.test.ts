import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backupTargetsConfig, parseBackupTarget } from './backup-targets.js';

test('an s3 target spec gives the bucket, prefix, endpoint and region; a file target its directory', () => {
  const s3 = parseBackupTarget('offsite=s3://cbx-backups/site-a?endpoint=http://127.0.0.1:7480&region=default');
  assert.equal(s3.kind, 's3');
  assert.equal(s3.name, 'offsite');
  if (s3.kind !== 's3') return;
  assert.deepEqual(s3.s3, { bucket: 'cbx-backups', prefix: 'site-a', endpoint: 'http://127.0.0.1:7480', region: 'default' });
  const file = parseBackupTarget('nas=file:///mnt/nas/cinderbox');
  assert.deepEqual(file, { name: 'nas', kind: 'file', url: 'file:///mnt/nas/cinderbox', path: '/mnt/nas/cinderbox' });
});

test('malformed target specs are refused with the spec in the message', () => {
  const cases: Array<[string, RegExp]> = [
    ['no-equals', /NAME=s3:/],
    ['=s3://bucket', /NAME=s3:/],
    ['bad name=s3://bucket', /the name must be/],
    ['default=s3://bucket', /data directory's repository/],
    ['x=s3://Bad_Bucket', /invalid bucket name/],
    ['x=s3://user:secret@bucket', /credentials do not belong/],
    ['x=s3://bucket?colour=blue', /unknown s3:\/\/ URL parameter/],
    ['x=http://example.com/', /only s3:\/\/ and file:\/\//],
    ['x=file:///', /absolute directory other than \//],
    ['x=file://remote-host/dir', /x=file:\/\/remote-host\/dir/],
  ];
  for (const [spec, why] of cases) {
    assert.throws(() => parseBackupTarget(spec), (e: Error) => {
      assert.match(e.message, why, spec);
      assert.ok(e.message.includes(JSON.stringify(spec)), e.message);
      return true;
    });
  }
});

test('the default target is the one named, else the first configured, else the data directory repository', () => {
  const env = {};
  assert.deepEqual(backupTargetsConfig({}, env), { targets: [], defaultTarget: 'default' });
  const two = ['a=s3://bucket-a', 'b=file:///srv/b'];
  assert.equal(backupTargetsConfig({ targets: two }, env).defaultTarget, 'a');
  assert.equal(backupTargetsConfig({ targets: two, defaultTarget: 'b' }, env).defaultTarget, 'b');
  assert.equal(backupTargetsConfig({ targets: two, defaultTarget: 'default' }, env).defaultTarget, 'default');
  assert.throws(() => backupTargetsConfig({ targets: two, defaultTarget: 'c' }, env), /"c" is not configured \(configured: default, a, b\)/);
  assert.throws(() => backupTargetsConfig({ targets: ['a=s3://bucket-a', 'a=file:///x'] }, env), /"a" is configured twice/);
});

test('the environment configures targets when the command line does not', () => {
  const env = { CINDERBOX_BACKUP_TARGETS: ' a=s3://bucket-a\n b=file:///srv/b ', CINDERBOX_DEFAULT_BACKUP_TARGET: 'b' };
  const c = backupTargetsConfig({}, env);
  assert.deepEqual(c.targets.map((t) => t.name), ['a', 'b']);
  assert.equal(c.defaultTarget, 'b');
  // The command line wins over the environment.
  assert.deepEqual(backupTargetsConfig({ targets: ['z=s3://bucket-z'], defaultTarget: 'z' }, env).targets.map((t) => t.name), ['z']);
});
