import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { allows, ensureAllowed, isStatus, refusal } from './lifecycle.js';
import { SNAPSHOT_STATUSES, type SnapshotAction, snapshotLifecycle, UPDATE_STATUS_TARGETS } from './snapshot.js';

const REFUSED = 'Invalid snapshot: Snapshot status must be available or error and must not be part of a group.';
const all = [...SNAPSHOT_STATUSES] as string[];

interface Expected {
  from: string[];
  to?: string;
  kind: 'badRequest' | 'conflict';
  message: (status: string) => string;
}

function steps<K extends string>(t: Record<K, [string, string?]>): Record<K, Expected> {
  const out = {} as Record<K, Expected>;
  for (const [action, [from, to]] of Object.entries(t) as [K, [string, string?]][]) {
    out[action] = { from: [from], ...(to ? { to } : {}), kind: 'conflict', message: (s) => `Snapshot s1 is ${s}, no longer ${from}.` };
  }
  return out;
}

/** What Cinder (and cinderbox today) answers, written out independently of the table under test. */
const EXPECTED: Record<SnapshotAction, { from: string[]; to?: string; kind: 'badRequest' | 'conflict'; message: (status: string) => string }> = {
  delete: { from: ['available', 'error'], to: 'deleting', kind: 'badRequest', message: () => REFUSED },
  forceDelete: { from: all, to: 'deleting', kind: 'badRequest', message: () => REFUSED },
  unmanage: { from: ['available', 'error'], to: 'unmanaging', kind: 'badRequest', message: () => REFUSED },
  updateStatus: {
    from: ['creating', 'deleting'],
    kind: 'badRequest',
    message: (s) => `Invalid snapshot: Snapshot status ${s} not allowed for update_snapshot_status`,
  },
  resetStatus: { from: all, kind: 'badRequest', message: () => 'Invalid snapshot: Snapshot s1 cannot be reset.' },
  revert: {
    from: ['available'],
    to: 'restoring',
    kind: 'conflict',
    message: (s) => `Snapshot s1 status must be available to revert, but the status is ${s}.`,
  },
  createVolume: {
    from: ['available'],
    kind: 'badRequest',
    message: () => "Invalid snapshot: Originating snapshot status must be 'available' to create a volume from it.",
  },
  backup: {
    from: ['available'],
    to: 'backing-up',
    kind: 'badRequest',
    message: (s) => `Invalid snapshot: Snapshot to be backed up must be available, but the current status is "${s}".`,
  },
  downloadData: {
    from: ['available'],
    kind: 'badRequest',
    message: () => 'Invalid snapshot: Snapshot s1 status must be available to read its data.',
  },
  ...steps({
    progress: ['creating'],
    created: ['creating', 'available'],
    createFailed: ['creating', 'error'],
    deleteFailed: ['deleting', 'error_deleting'],
    restored: ['restoring', 'available'],
    unmanageFailed: ['unmanaging', 'error'],
    backedUp: ['backing-up', 'available'],
  }),
};

describe('snapshot lifecycle', () => {
  test('the table has exactly the expected actions', () => {
    assert.deepEqual(Object.keys(snapshotLifecycle.actions).sort(), Object.keys(EXPECTED).sort());
  });

  for (const [action, want] of Object.entries(EXPECTED) as [SnapshotAction, (typeof EXPECTED)[SnapshotAction]][]) {
    test(`${action}: allowed from ${want.from.length === all.length ? 'any status' : want.from.join(', ')}, refused from every other`, () => {
      assert.equal(snapshotLifecycle.actions[action].to, want.to);
      for (const status of all) {
        const subject = { id: 's1', status };
        if (want.from.includes(status)) {
          assert.ok(allows(snapshotLifecycle, action, status), `${action} from ${status}`);
          assert.doesNotThrow(() => ensureAllowed(snapshotLifecycle, action, subject));
        } else {
          assert.ok(!allows(snapshotLifecycle, action, status), `${action} refused from ${status}`);
          const e = refusal(snapshotLifecycle, action, subject);
          assert.equal(e.kind, want.kind);
          assert.equal(e.message, want.message(status));
        }
      }
    });
  }

  test("nova's update_snapshot_status targets: creating → creating/available/error, deleting → deleting/error_deleting", () => {
    assert.deepEqual(UPDATE_STATUS_TARGETS, {
      creating: ['creating', 'available', 'error'],
      deleting: ['deleting', 'error_deleting'],
    });
    for (const from of Object.keys(UPDATE_STATUS_TARGETS)) assert.ok(allows(snapshotLifecycle, 'updateStatus', from));
  });

  test("reset-status accepts exactly Cinder's snapshot statuses", () => {
    assert.equal(SNAPSHOT_STATUSES.length, 10);
    for (const s of SNAPSHOT_STATUSES) assert.ok(isStatus(snapshotLifecycle, s));
    assert.ok(!isStatus(snapshotLifecycle, 'in-use'));
  });
});
