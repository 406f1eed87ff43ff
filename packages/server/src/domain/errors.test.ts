import assert from 'node:assert/strict';
import { test } from 'node:test';
import { asOutOfSpace, DomainError, failureReport, OUT_OF_SPACE_CBR_CODE, overLimit, withStorageTag } from './errors.js';

const errno = (code: string, message: string) => Object.assign(new Error(message), { code });

test('every kind of "no space" becomes the one 503 out-of-space error naming the storage that is full', () => {
  const cases: Array<[unknown, RegExp]> = [
    [Object.assign(errno('ENOSPC', 'ENOSPC: no space left on device, write'), { storage: 'Volume backend raw' }), /^Volume backend raw is out of space/],
    [errno('EDQUOT', 'EDQUOT: disk quota exceeded'), /^The storage backend is out of space/],
    [errno('SQLITE_FULL', 'database or disk is full'), /^The metadata store is out of space/],
    [errno('53100', 'could not extend file "base/16384/2619": No space left on device'), /^The metadata store is out of space/],
    // qemu-img's stderr, mapped to ENOSPC by the driver's runner, and as plain text when it was not.
    [Object.assign(errno('ENOSPC', 'qemu-img convert failed: error while writing at byte 0: No space left on device'), { storage: 'Volume backend qcow2' }), /^Volume backend qcow2 is out/],
    [new Error('qemu-img: error while writing: No space left on device'), /^The storage backend is out of space/],
    // Wrapped: the restore error carries the errno on its cause; the tag sits on the outer error.
    [Object.assign(new Error('restore failed', { cause: errno('ENOSPC', 'x') }), { storage: 'The backup repository' }), /^The backup repository is out/],
  ];
  for (const [err, message] of cases) {
    const e = asOutOfSpace(err);
    assert.ok(e, `${String((err as Error).message)} is out of space`);
    assert.equal(e.status, 503);
    assert.equal(e.kind, 'serviceUnavailable');
    assert.equal(e.code, OUT_OF_SPACE_CBR_CODE);
    assert.match(e.message, message);
    assert.match(e.message, /Free space or extend it, then retry\.$/);
  }
});

test('other errors are not out of space', () => {
  assert.equal(asOutOfSpace(new Error('boom')), null);
  assert.equal(asOutOfSpace(errno('EIO', 'EIO: i/o error')), null);
  assert.equal(asOutOfSpace(overLimit('quota')), null);
  assert.equal(asOutOfSpace(new DomainError('badRequest', 'capacity', { code: OUT_OF_SPACE_CBR_CODE })), null);
});

test('a failed task reports the out-of-space wording and CBR code, or its own text and the fallback code', () => {
  assert.deepEqual(failureReport(new Error('boom')), { code: 'BackupService.9910', message: 'boom' });
  const r = failureReport(Object.assign(errno('ENOSPC', 'no space'), { storage: 'The backup repository' }));
  assert.equal(r.code, OUT_OF_SPACE_CBR_CODE);
  assert.match(r.message, /^The backup repository is out of space/);
});

test('withStorageTag names the storage on rejections only, and keeps a tag set closer to the failure', async () => {
  const target = {
    fail: async () => Promise.reject(errno('ENOSPC', 'no space')),
    failTagged: async () => Promise.reject(Object.assign(errno('ENOSPC', 'no space'), { storage: 'inner' })),
    ok: async () => 7,
    sync: () => 'plain',
    value: 3,
  };
  const tagged = withStorageTag(target, 'Volume backend raw');
  await assert.rejects(tagged.fail(), (e: { storage?: string }) => e.storage === 'Volume backend raw');
  await assert.rejects(tagged.failTagged(), (e: { storage?: string }) => e.storage === 'inner');
  assert.equal(await tagged.ok(), 7);
  assert.equal(tagged.sync(), 'plain');
  assert.equal(tagged.value, 3);
});
