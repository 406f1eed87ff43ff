import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { allows, ensureAllowed, isStatus, refusal } from './lifecycle.js';
import { RESETTABLE_VOLUME_STATUSES, VOLUME_STATUSES, type VolumeAction, volumeLifecycle } from './volume.js';

const DELETE_REFUSED =
  'Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer.';
const DELETABLE = ['available', 'error', 'error_restoring', 'error_extending', 'error_managing'];
const all = [...VOLUME_STATUSES] as string[];
const except = (...out: string[]) => all.filter((s) => !out.includes(s));

interface Expected {
  from: string[];
  to?: string;
  kind: 'badRequest' | 'conflict';
  message: (status: string) => string;
}

function steps<K extends string>(t: Record<K, [string | string[], string?]>): Record<K, Expected> {
  const out = {} as Record<K, Expected>;
  for (const [action, [f, to]] of Object.entries(t) as [K, [string | string[], string?]][]) {
    const from = Array.isArray(f) ? f : [f];
    out[action] = {
      from,
      ...(to ? { to } : {}),
      kind: 'conflict',
      message: (s) => `Volume v1 is ${s}, no longer ${from.join(' or ')}.`,
    };
  }
  return out;
}

/** What Cinder (and cinderbox today) answers, written out independently of the table under test. */
const EXPECTED: Record<VolumeAction, { from: string[]; to?: string; kind: 'badRequest' | 'conflict'; message: (status: string) => string }> = {
  delete: { from: DELETABLE, to: 'deleting', kind: 'badRequest', message: () => DELETE_REFUSED },
  forceDelete: { from: all, to: 'deleting', kind: 'badRequest', message: () => DELETE_REFUSED },
  unmanage: { from: DELETABLE, to: 'unmanaging', kind: 'badRequest', message: () => DELETE_REFUSED },
  extend: {
    from: ['available'],
    to: 'extending',
    kind: 'badRequest',
    message: (s) => `Invalid volume: Volume v1 status must be available to extend, currently ${s}.`,
  },
  extendInUse: {
    from: ['available', 'in-use'],
    to: 'extending',
    kind: 'badRequest',
    message: (s) => `Invalid volume: Volume v1 status must be available or in-use to extend, currently ${s}.`,
  },
  snapshot: {
    from: ['available'],
    kind: 'badRequest',
    message: (s) => `Invalid volume: Volume v1 status must be available, but current status is: ${s}.`,
  },
  snapshotInUse: {
    from: ['available', 'in-use'],
    kind: 'badRequest',
    message: (s) => `Invalid volume: Volume v1 status must be available or in-use, but current status is: ${s}.`,
  },
  manageSnapshot: {
    from: ['available', 'in-use'],
    kind: 'badRequest',
    message: (s) => `Invalid volume: Volume v1 status must be available or in-use, but current status is: ${s}.`,
  },
  clone: {
    from: ['available', 'in-use'],
    kind: 'badRequest',
    message: (s) => `Invalid volume: Unable to clone volumes that are in ${s} state.`,
  },
  backup: {
    from: ['available', 'in-use'],
    to: 'backing-up',
    kind: 'badRequest',
    message: (s) => `Invalid volume: Volume to be backed up must be available or in-use, but the current status is "${s}".`,
  },
  restoreBackup: {
    from: ['available'],
    to: 'restoring-backup',
    kind: 'badRequest',
    message: () => 'Invalid volume: Volume to be restored to must be available',
  },
  reserve: {
    from: ['available'],
    to: 'attaching',
    kind: 'badRequest',
    message: (s) => `Invalid volume: Volume status must be available to reserve, but the status is ${s}.`,
  },
  reserveMultiattach: {
    from: ['available', 'in-use'],
    to: 'attaching',
    kind: 'badRequest',
    message: (s) => `Invalid volume: Volume status must be available or in-use to reserve, but the status is ${s}.`,
  },
  attachmentReserve: {
    from: ['available'],
    to: 'reserved',
    kind: 'badRequest',
    message: (s) => `Invalid volume: Volume v1 status must be available or downloading to reserve, but the current status is ${s}.`,
  },
  attachmentReserveMultiattach: {
    from: ['available', 'in-use'],
    to: 'reserved',
    kind: 'badRequest',
    message: (s) =>
      `Invalid volume: Volume v1 status must be available or in-use or downloading to reserve, but the current status is ${s}.`,
  },
  attachmentConnect: {
    from: ['reserved', 'attaching', 'in-use', 'detaching'],
    to: 'attaching',
    kind: 'conflict',
    message: (s) => `Volume v1 status must be reserved or in-use to be connected, but the status is ${s}.`,
  },
  attachmentComplete: {
    from: ['reserved', 'attaching', 'in-use', 'detaching'],
    to: 'in-use',
    kind: 'badRequest',
    message: (s) => `Invalid volume: Volume v1 status must be attaching to complete an attachment, but the status is ${s}.`,
  },
  unreserve: { from: ['attaching'], kind: 'badRequest', message: () => 'Invalid volume: Volume v1 is not reserved.' },
  attach: {
    from: ['available', 'attaching'],
    to: 'in-use',
    kind: 'badRequest',
    message: (s) => `Invalid volume: Volume v1 status must be available or attaching to attach, but the status is ${s}.`,
  },
  attachMultiattach: {
    from: ['available', 'attaching', 'in-use'],
    to: 'in-use',
    kind: 'badRequest',
    message: (s) => `Invalid volume: Volume v1 status must be available or attaching to attach, but the status is ${s}.`,
  },
  beginDetaching: {
    from: ['in-use'],
    to: 'detaching',
    kind: 'badRequest',
    message: () =>
      "Invalid volume: Unable to detach volume. Volume status must be 'in-use' and attach_status must be 'attached' to detach.",
  },
  rollDetaching: {
    from: ['detaching'],
    to: 'in-use',
    kind: 'badRequest',
    message: () => 'Invalid volume: Volume v1 is not detaching.',
  },
  detach: {
    from: ['in-use', 'detaching'],
    kind: 'badRequest',
    message: () => 'Invalid volume: Volume must be attached in order to detach.',
  },
  revert: {
    from: ['available'],
    to: 'reverting',
    kind: 'conflict',
    message: (s) => `Volume v1 status must be available to revert, but the status is ${s}.`,
  },
  retype: {
    from: ['available', 'in-use'],
    to: 'retyping',
    kind: 'badRequest',
    message: () =>
      'Invalid volume: Retype needs volume to be in available or in-use state, not be part of an active migration or a consistency group, requested type has to be different that the one from the volume, and for in-use volumes front-end qos specs cannot change.',
  },
  migrate: {
    from: ['available', 'in-use'],
    kind: 'badRequest',
    message: () =>
      'Invalid volume: Volume v1 status must be available or in-use, must not be migrating, have snapshots, be replicated, be part of a group and destination host/cluster must be different than the current one',
  },
  resetStatus: { from: all, kind: 'badRequest', message: () => 'Invalid volume: Volume v1 cannot be reset.' },
  update: { from: except('maintenance'), kind: 'badRequest', message: () => 'Invalid volume: Volume v1 is in maintenance.' },
  setBootable: {
    from: except('maintenance'),
    kind: 'badRequest',
    message: () => 'Invalid volume: Volume v1 is in maintenance.',
  },
  updateMetadata: {
    from: except('maintenance', 'uploading'),
    kind: 'badRequest',
    message: (s) => `Invalid volume: Volume v1 status must not be ${s} to update its metadata.`,
  },
  updateReadonly: {
    from: ['available'],
    kind: 'badRequest',
    message: () => 'Invalid volume: Volume status must be available to update readonly flag.',
  },
  initializeConnection: {
    from: except('creating', 'deleting', 'error', 'error_deleting', 'maintenance'),
    kind: 'badRequest',
    message: (s) => `Invalid volume: Volume v1 status must not be ${s} to initialize a connection.`,
  },
  uploadData: {
    from: ['available'],
    to: 'uploading',
    kind: 'badRequest',
    message: (s) => `Invalid volume: Volume v1 status must be available to upload data, but the status is ${s}.`,
  },
  downloadData: {
    from: except('creating', 'deleting', 'error', 'error_deleting', 'downloading'),
    kind: 'badRequest',
    message: (s) => `Invalid volume: Volume v1 status must not be ${s} to read its data.`,
  },
  createTransfer: {
    from: ['available'],
    to: 'awaiting-transfer',
    kind: 'badRequest',
    message: () => 'Invalid volume: status must be available',
  },
  acceptTransfer: {
    from: ['awaiting-transfer'],
    to: 'available',
    kind: 'badRequest',
    message: (s) => `Invalid volume: Volume v1 is ${s}, not awaiting a transfer.`,
  },
  // Task steps: only from the status the request left; a refusal is never shown, so it is a conflict.
  ...steps({
    cancelTransfer: ['awaiting-transfer', 'available'],
    created: ['creating', 'available'],
    createFailed: ['creating', 'error'],
    deleteFailed: ['deleting', 'error_deleting'],
    extended: ['extending'],
    extendFailed: ['extending', 'error_extending'],
    reverted: ['reverting', 'available'],
    revertFailed: ['reverting', 'error'],
    manageSized: ['managing'],
    managed: ['managing', 'available'],
    manageFailed: ['managing', 'error_managing'],
    unmanageFailed: ['unmanaging', 'error'],
    uploaded: ['uploading', 'available'],
    uploadInterrupted: ['uploading', 'error'],
    backedUp: ['backing-up'],
    restoreStarted: ['creating', 'restoring-backup'],
    restored: [['restoring-backup', 'creating'], 'available'],
    restoreFailed: [['restoring-backup', 'creating']],
  }),
};

describe('volume lifecycle', () => {
  test('the table has exactly the expected actions', () => {
    assert.deepEqual(Object.keys(volumeLifecycle.actions).sort(), Object.keys(EXPECTED).sort());
  });

  for (const [action, want] of Object.entries(EXPECTED) as [VolumeAction, (typeof EXPECTED)[VolumeAction]][]) {
    test(`${action}: allowed from ${want.from.length === all.length ? 'any status' : want.from.join(', ')}, refused from every other`, () => {
      assert.equal(volumeLifecycle.actions[action].to, want.to);
      for (const status of all) {
        const subject = { id: 'v1', status };
        if (want.from.includes(status)) {
          assert.ok(allows(volumeLifecycle, action, status), `${action} from ${status}`);
          assert.doesNotThrow(() => ensureAllowed(volumeLifecycle, action, subject));
        } else {
          assert.ok(!allows(volumeLifecycle, action, status), `${action} refused from ${status}`);
          const e = refusal(volumeLifecycle, action, subject);
          assert.equal(e.kind, want.kind);
          assert.equal(e.message, want.message(status));
          assert.throws(() => ensureAllowed(volumeLifecycle, action, subject), { message: want.message(status) });
        }
      }
    });
  }

  test("reset-status accepts Cinder's 22 volume statuses and not the internal ones", () => {
    assert.equal(RESETTABLE_VOLUME_STATUSES.length, 22);
    for (const s of RESETTABLE_VOLUME_STATUSES) assert.ok(isStatus(volumeLifecycle, s));
    assert.ok(!(RESETTABLE_VOLUME_STATUSES as readonly string[]).includes('reverting'));
    assert.ok(!isStatus(volumeLifecycle, 'bogus'));
  });
});
