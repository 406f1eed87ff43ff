/**
 * The backup API's status rules, row by row: each action is allowed from exactly the statuses listed here (written
 * out, not read back from the table under test), moves the resource where Cinder moves it, and is refused from
 * every other status with Cinder's error kind and words.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BACKUP_STATUSES,
  backupLifecycle,
  backupSourceVolume,
  ensureResetTarget,
  holdsData,
  parseVolumeInfo,
} from './backup.js';
import { DomainError } from './errors.js';
import { allows, ensureAllowed, type Lifecycle } from './lifecycle.js';
import { volumeLifecycle } from './volume.js';

interface Row {
  action: string;
  from: readonly string[];
  to: string | undefined;
  kind: 'badRequest' | 'conflict';
  /** The refusal's message for a resource `id` in status `status`. */
  message: (status: string) => string;
}

const ID = '11111111-2222-3333-4444-555555555555';
const raced = (expected: string) => (status: string) => `Backup ${ID} is ${status}, no longer ${expected}.`;

const BACKUP_ROWS: Row[] = [
  {
    action: 'delete',
    from: ['available', 'error'],
    to: 'deleting',
    kind: 'badRequest',
    message: () => 'Invalid backup: Backup status must be available or error',
  },
  {
    action: 'forceDelete',
    from: ['creating', 'available', 'error', 'error_deleting', 'restoring'],
    to: 'deleting',
    kind: 'badRequest',
    message: () => 'Invalid backup: Backup is already being deleted.',
  },
  {
    action: 'restore',
    from: ['available'],
    to: 'restoring',
    kind: 'badRequest',
    message: () => 'Invalid backup: Backup status must be available',
  },
  {
    action: 'exportRecord',
    from: ['available'],
    to: undefined,
    kind: 'badRequest',
    message: () => 'Invalid backup: Backup status must be available and not restoring.',
  },
  { action: 'resetStatus', from: BACKUP_STATUSES, to: undefined, kind: 'badRequest', message: () => '' },
  { action: 'createDone', from: ['creating'], to: 'available', kind: 'conflict', message: raced('creating') },
  { action: 'createFailed', from: ['creating'], to: 'error', kind: 'conflict', message: raced('creating') },
  { action: 'importDone', from: ['creating'], to: 'available', kind: 'conflict', message: raced('creating') },
  { action: 'restoreDone', from: ['restoring'], to: 'available', kind: 'conflict', message: raced('restoring') },
  { action: 'restoreFailed', from: ['restoring'], to: 'available', kind: 'conflict', message: raced('restoring') },
  { action: 'deleteFailed', from: ['deleting'], to: 'error_deleting', kind: 'conflict', message: raced('deleting') },
];

const notAvailableOrInUse = (status: string) =>
  `Invalid volume: Volume to be backed up must be available or in-use, but the current status is "${status}".`;

const VOLUME_ROWS: Row[] = [
  {
    action: 'backup',
    from: ['available'],
    to: 'backing-up',
    kind: 'badRequest',
    message: (status) =>
      status === 'in-use' ? 'Invalid volume: Backing up an in-use volume must use the force flag.' : notAvailableOrInUse(status),
  },
];


function checkTable(name: string, lc: Lifecycle<string, string>, rows: Row[]): void {
  describe(name, () => {
    test('every action of the table has a row here, and no row names an unknown action', () => {
      assert.deepEqual(Object.keys(lc.actions).sort(), rows.map((r) => r.action).sort());
    });
    for (const row of rows) {
      test(`${row.action}: allowed from ${row.from.join(', ')}${row.to ? `, moves to ${row.to}` : ''}`, () => {
        const rule = lc.actions[row.action]!;
        assert.equal(rule.to, row.to);
        for (const status of lc.statuses) {
          const subject = { id: ID, status };
          if (row.from.includes(status)) {
            assert.ok(allows(lc, row.action, status), `${row.action} from ${status}`);
            assert.equal(ensureAllowed(lc, row.action, subject), rule);
          } else {
            assert.ok(!allows(lc, row.action, status), `${row.action} must be refused from ${status}`);
            assert.throws(
              () => ensureAllowed(lc, row.action, subject),
              (e: unknown) =>
                e instanceof DomainError && e.kind === row.kind && e.message === row.message(status),
              `${row.action} from ${status}`,
            );
          }
        }
      });
    }
  });
}

checkTable('backup lifecycle', backupLifecycle, BACKUP_ROWS);
checkTable('what a backup without force accepts of its source volume', backupSourceVolume, VOLUME_ROWS);

describe('backup rules outside the transition tables', () => {
  test('the statuses are Cinder\'s, less `deleted` (a deleted backup is gone)', () => {
    assert.deepEqual([...BACKUP_STATUSES].sort(), ['available', 'creating', 'deleting', 'error', 'error_deleting', 'restoring']);
  });

  test('reset-status accepts exactly available and error, with Cinder\'s message otherwise', () => {
    for (const status of ['available', 'error']) assert.equal(ensureResetTarget(status), status);
    for (const status of ['creating', 'deleting', 'error_deleting', 'restoring', 'bogus', '']) {
      assert.throws(
        () => ensureResetTarget(status),
        (e: unknown) =>
          e instanceof DomainError &&
          e.kind === 'badRequest' &&
          e.message ===
            `Invalid input received: Backup status: ${status} is invalid, valid statuses are: ['available', 'error'].`,
      );
    }
  });

  test('with force the volume rule for backups applies: it accepts in-use, which the unforced rule refuses', () => {
    const inUse = { id: ID, status: 'in-use' };
    assert.ok(allows(volumeLifecycle, 'backup', 'in-use'));
    assert.equal(volumeLifecycle.actions.backup.to, backupSourceVolume.actions.backup.to);
    assert.throws(() => ensureAllowed(backupSourceVolume, 'backup', inUse), /must use the force flag/);
    // Outside available/in-use both refuse with the same words.
    const error = { id: ID, status: 'error' };
    assert.throws(() => ensureAllowed(volumeLifecycle, 'backup', error), (e: unknown) => {
      assert.throws(() => ensureAllowed(backupSourceVolume, 'backup', error), { message: (e as Error).message });
      return true;
    });
  });

  test('an idle backup holds its data while available or restoring only', () => {
    assert.deepEqual(
      BACKUP_STATUSES.filter((s) => holdsData(s)),
      ['available', 'restoring'],
    );
  });

  test('volume_info is read tolerantly: unusable parts are dropped, never thrown', () => {
    assert.deepEqual(parseVolumeInfo('{"metadata":{"a":"1","n":2},"bootable":true}'), {
      metadata: { a: '1' },
      bootable: true,
    });
    assert.deepEqual(parseVolumeInfo('null'), { metadata: {}, bootable: false });
    assert.deepEqual(parseVolumeInfo('not json'), { metadata: {}, bootable: false });
    assert.deepEqual(parseVolumeInfo('{"bootable":"yes"}'), { metadata: {}, bootable: false });
  });
});
