/**
 * Which node a new task is bound to. The lookup is a fake here (this is the unit test of the code calling it);
 * the cluster suite (tests/cluster) checks the same rules over real nodes and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TaskRoutingLookup } from '../domain/ports/task-store.js';
import { nodeOfHost, taskRouter } from './task-routing.js';

const volumes: Record<string, { host: string; driver: string }> = {
  localA: { host: 'A@local#local', driver: 'local' },
  localB: { host: 'B@local#local', driver: 'local' },
  rbdA: { host: 'A@ceph#volumes', driver: 'ceph' },
};
const lookup: TaskRoutingLookup = {
  volume: async (_s, id) => volumes[id] ?? null,
  snapshotVolumeId: async (_s, id) => ({ snapLocalB: 'localB', snapRbd: 'rbdA' })[id] ?? null,
  backup: async (_s, id) =>
    ({
      onShared: { volumeId: 'localB', target: 'shared', host: 'B' },
      rbdOnShared: { volumeId: 'rbdA', target: 'shared', host: 'C' },
      rbdInDataDir: { volumeId: 'rbdA', target: 'default', host: 'C' },
    })[id] ?? null,
};
const route = taskRouter(lookup, new Set(['ceph']));
const scope = {} as never;
const task = (kind: string, resourceType: string, resourceId: string, payload: unknown = {}) => route(scope, { kind, resourceType, resourceId, payload });

describe('task routing over nodes', () => {
  test('a node-local volume’s tasks are bound to its node; an RBD volume’s to none', async () => {
    assert.equal(await task('volume.extend', 'volume', 'localA'), 'A');
    assert.equal(await task('volume.delete', 'volume', 'rbdA'), null);
    assert.equal(await task('snapshot.create', 'snapshot', 's1', { volumeId: 'localB' }), 'B');
    assert.equal(await task('snapshot.delete', 'snapshot', 'snapLocalB'), 'B');
    assert.equal(await task('snapshot.delete', 'snapshot', 'snapRbd'), null);
  });

  test('backups: a local volume’s run on its node; on the shared target alone, anywhere; in a data directory, on its node', async () => {
    assert.equal(await task('backup.create', 'backup', 'onShared', { volumeId: 'localB' }), 'B');
    assert.equal(await task('backup.delete', 'backup', 'onShared'), null);
    assert.equal(await task('backup.create', 'backup', 'rbdOnShared', { volumeId: 'rbdA' }), null);
    assert.equal(await task('backup.restore', 'backup', 'rbdOnShared', { volumeId: 'localA' }), 'A');
    assert.equal(await task('backup.delete', 'backup', 'rbdInDataDir'), 'C');
  });

  test('group snapshots and CBR work follow the first node-local volume they name', async () => {
    const members = [{ volumeId: 'rbdA' }, { volumeId: 'localB' }];
    assert.equal(await task('group_snapshot.create', 'group_snapshot', 'g', { members }), 'B');
    assert.equal(await task('cbr.freeze', 'cbr_checkpoint', 'c', { backups: [{ volumeId: 'rbdA' }] }), null);
    assert.equal(await task('cbr.restore', 'cbr_backup', 'b', { volumeId: 'localA' }), 'A');
    assert.equal(await task('cbr.replicate', 'cbr_backup', 'b', { logId: 'l' }), null);
  });

  test('a move to another node’s local backend runs on that node; a move to a shared backend stays with the source’s rule', async () => {
    assert.equal(await task('volume.move', 'volume', 'rbdA', { target: 'local', targetNode: 'C' }), 'C');
    assert.equal(await task('volume.move', 'volume', 'localA', { target: 'ceph', targetNode: 'B' }), 'A');
    assert.equal(await task('volume.move', 'volume', 'rbdA', { target: 'ceph', targetNode: 'B' }), null);
    assert.equal(await task('volume.move', 'volume', 'localA', { target: 'local2', targetNode: null }), 'A');
  });

  test('a vanished volume binds nothing (its task fails wherever it runs, rather than waiting forever)', async () => {
    assert.equal(await task('volume.delete', 'volume', 'gone'), null);
  });

  test('node names come from host strings of every shape', () => {
    assert.equal(nodeOfHost('n1@raw#raw'), 'n1');
    assert.equal(nodeOfHost('n1@raw'), 'n1');
    assert.equal(nodeOfHost('n1'), 'n1');
  });
});
