import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  cbrBackupLifecycle,
  cbrDiskLifecycle,
  checkpointLifecycle,
  memberAction,
  memberLifecycle,
  vaultLifecycle,
  vaultResourceLifecycle,
} from './cbr.js';
import { DomainError } from './errors.js';
import { ensureAllowed, type Lifecycle } from './lifecycle.js';

/**
 * Each row: the action, the statuses it starts from, where it moves, and CBR's answer from a status it refuses
 * (kind, `BackupService.NNNN` code and message, per refused status when CBR tells them apart).
 */
interface Row {
  action: string;
  from: string[];
  to?: string;
  refuse: 'badRequest' | 'conflict';
  /** The code and message for a refused `status`. */
  answer: (status: string) => { code: string; message: string };
}

const ID = '3f9c1d2e-0000-4000-8000-000000000001';

function checkTable(name: string, lc: Lifecycle<string, string>, rows: Row[]): void {
  describe(name, () => {
    it('has a row for every action and no other', () => {
      assert.deepEqual(Object.keys(lc.actions).sort(), rows.map((r) => r.action).sort());
    });
    for (const row of rows) {
      it(`${row.action}: allowed from ${row.from.join(', ')}${row.to ? ` to ${row.to}` : ''}, refused from every other status`, () => {
        for (const status of lc.statuses) {
          const subject = { id: ID, status };
          if (row.from.includes(status)) {
            const rule = ensureAllowed(lc, row.action, subject);
            assert.equal(rule.to, row.to, `${row.action} from ${status}`);
            continue;
          }
          const expected = row.answer(status);
          assert.throws(
            () => ensureAllowed(lc, row.action, subject),
            (e: unknown) =>
              e instanceof DomainError &&
              e.kind === row.refuse &&
              e.code === `BackupService.${expected.code}` &&
              e.message === expected.message,
            `${row.action} from ${status}`,
          );
        }
        for (const s of row.from) assert.ok(lc.statuses.includes(s), `${s} is a status`);
      });
    }
  });
}

const fixed = (code: string, message: (s: string) => string) => (status: string) => ({ code, message: message(status) });

checkTable('vault lifecycle', vaultLifecycle, [
  { action: 'update', from: ['available'], refuse: 'badRequest', answer: fixed('6110', (s) => `Vault ${ID} cannot be updated in status ${s}.`) },
  {
    action: 'delete',
    from: ['available', 'error'],
    to: 'deleting',
    refuse: 'badRequest',
    answer: fixed('6111', (s) => `Vault ${ID} cannot be deleted in status ${s}.`),
  },
  { action: 'modify', from: ['available'], refuse: 'badRequest', answer: fixed('6112', (s) => `Vault ${ID} is ${s}.`) },
  {
    action: 'backup',
    from: ['available'],
    refuse: 'badRequest',
    answer: fixed('6113', (s) => `Vault ${ID} is ${s}: no backup can be made in it.`),
  },
  { action: 'restoreFrom', from: ['available'], refuse: 'badRequest', answer: fixed('6202', () => "The backup's vault is not available.") },
  { action: 'deleteFailed', from: ['deleting'], to: 'error', refuse: 'conflict', answer: fixed('9910', (s) => `Vault ${ID} is ${s}, not deleting.`) },
]);

checkTable('checkpoint lifecycle', checkpointLifecycle, [
  {
    action: 'complete',
    from: ['protecting'],
    to: 'available',
    refuse: 'conflict',
    answer: fixed('9910', (s) => `Restore point ${ID} is ${s}, not protecting.`),
  },
  { action: 'fail', from: ['protecting'], to: 'error', refuse: 'conflict', answer: fixed('9910', (s) => `Restore point ${ID} is ${s}, not protecting.`) },
]);

checkTable('CBR backup lifecycle', cbrBackupLifecycle, [
  {
    action: 'delete',
    from: ['available', 'error'],
    to: 'deleting',
    refuse: 'badRequest',
    // Deleting a backup still being made has its own code (6203); any other busy status is "in use" (6216).
    answer: (s) =>
      s === 'protecting'
        ? { code: '6203', message: `Backup ${ID} is still being made.` }
        : { code: '6216', message: `Backup ${ID} is ${s} and cannot be deleted now.` },
  },
  {
    action: 'restore',
    from: ['available'],
    to: 'restoring',
    refuse: 'badRequest',
    answer: (s) =>
      s === 'restoring'
        ? { code: '2010', message: `Backup ${ID} is already being restored.` }
        : { code: '2005', message: `Backup ${ID} is ${s}; only available backups can be restored.` },
  },
  { action: 'share', from: ['available'], refuse: 'badRequest', answer: fixed('6702', () => 'Only available backups can be shared.') },
  { action: 'complete', from: ['protecting'], to: 'available', refuse: 'conflict', answer: fixed('9910', (s) => `Backup ${ID} is ${s}, not protecting.`) },
  { action: 'fail', from: ['protecting'], to: 'error', refuse: 'conflict', answer: fixed('9910', (s) => `Backup ${ID} is ${s}, not protecting.`) },
  { action: 'restored', from: ['restoring'], to: 'available', refuse: 'conflict', answer: fixed('9910', (s) => `Backup ${ID} is ${s}, not restoring.`) },
  { action: 'deleteFailed', from: ['deleting'], to: 'error', refuse: 'conflict', answer: fixed('9910', (s) => `Backup ${ID} is ${s}, not deleting.`) },
]);

checkTable('vault resource protect_status lifecycle', vaultResourceLifecycle, [
  {
    action: 'detach',
    from: ['available', 'error'],
    refuse: 'badRequest',
    answer: fixed('6125', (s) => `Resource ${ID} is ${s}; try again when it is done.`),
  },
  {
    action: 'protect',
    from: ['available', 'error'],
    to: 'protecting',
    refuse: 'badRequest',
    answer: (s) =>
      s === 'restoring'
        ? { code: '2010', message: 'The resource is being restored.' }
        : { code: '6125', message: 'The resource is already being backed up.' },
  },
  {
    action: 'protected',
    from: ['protecting'],
    to: 'available',
    refuse: 'conflict',
    answer: fixed('9910', (s) => `Resource ${ID} is ${s}, not protecting.`),
  },
  {
    action: 'restore',
    from: ['available', 'error'],
    to: 'restoring',
    refuse: 'badRequest',
    answer: (s) => ({ code: s === 'protecting' ? '2002' : '2010', message: `Disk ${ID} is ${s}.` }),
  },
  {
    action: 'restored',
    from: ['restoring'],
    to: 'available',
    refuse: 'conflict',
    answer: fixed('9910', (s) => `Resource ${ID} is ${s}, not restoring.`),
  },
]);

checkTable('share member lifecycle', memberLifecycle, [
  {
    action: 'accept',
    from: ['pending'],
    to: 'accepted',
    refuse: 'badRequest',
    answer: fixed('9900', (s) => `The share is already ${s}; only a pending share can be accepted.`),
  },
  {
    action: 'reject',
    from: ['pending'],
    to: 'rejected',
    refuse: 'badRequest',
    answer: fixed('9900', (s) => `The share is already ${s}; only a pending share can be rejected.`),
  },
  {
    action: 'keepPending',
    from: ['pending'],
    refuse: 'badRequest',
    answer: fixed('9900', (s) => `The share is already ${s}; it cannot be made pending again.`),
  },
]);

checkTable("CBR's gate on a disk", cbrDiskLifecycle, [
  {
    action: 'backup',
    from: ['available', 'in-use'],
    to: 'backing-up',
    refuse: 'badRequest',
    answer: (s) =>
      s === 'backing-up'
        ? { code: '6125', message: 'The resource is already being backed up.' }
        : s === 'restoring-backup'
          ? { code: '2010', message: 'The resource is being restored.' }
          : { code: '7003', message: `The disk is ${s}; only available or in-use disks can be backed up.` },
  },
  {
    action: 'restoreTarget',
    from: ['available'],
    to: 'restoring-backup',
    refuse: 'badRequest',
    answer: (s) =>
      s === 'backing-up'
        ? { code: '2002', message: `Disk ${ID} is being backed up.` }
        : s === 'restoring-backup'
          ? { code: '2010', message: `Disk ${ID} is already being restored.` }
          : { code: '7003', message: `Disk ${ID} is ${s}; a restore needs an available disk (detach it first).` },
  },
]);

describe('share member answers', () => {
  it('maps the status a member update asks for to its action', () => {
    assert.deepEqual(
      (['accepted', 'rejected', 'pending'] as const).map(memberAction),
      ['accept', 'reject', 'keepPending'],
    );
  });
});
