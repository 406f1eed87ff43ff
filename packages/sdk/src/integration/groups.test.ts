/**
 * The SDK's group type, group and group snapshot methods against the live cinderbox server over a real socket.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Connection } from '../connection.js';
import { ForbiddenError, NotFoundError } from '../errors.js';
import { adminConnection, memberConnection, startTestServer, type TestServer } from '../test-support/live.js';

let t: TestServer;
let admin: Connection;
let alice: Connection;

before(async () => {
  t = await startTestServer();
  await t.createMember('sdk-grp-alice');
  admin = adminConnection(t.url);
  alice = memberConnection(t.url, 'sdk-grp-alice');
});
after(async () => t.close());

const fast = { minDelayMs: 5, maxDelayMs: 50, waitTimeoutMs: 15_000 };

test('group types (admin), a group with members, a group snapshot and a group made from it', async () => {
  const gt = await admin.blockStorage.createGroupType({ name: 'sdk-gt', groupSpecs: { consistent_group_snapshot_enabled: '<is> True' } });
  assert.equal(gt.name, 'sdk-gt');
  assert.deepEqual(gt.groupSpecs, { consistent_group_snapshot_enabled: '<is> True' });
  await assert.rejects(alice.blockStorage.createGroupType({ name: 'nope' }), ForbiddenError);
  assert.equal((await admin.blockStorage.updateGroupType(gt, { description: 'for the SDK' })).description, 'for the SDK');
  await admin.blockStorage.setGroupTypeSpecs(gt, { k: 'v' });
  await admin.blockStorage.deleteGroupTypeSpec(gt, 'k');
  assert.deepEqual((await admin.blockStorage.getGroupType(gt.id!)).groupSpecs, { consistent_group_snapshot_enabled: '<is> True' });

  const bs = alice.blockStorage;
  assert.ok((await bs.groupTypes().toArray()).some((x) => x.id === gt.id));
  const g = await bs.createGroup({ name: 'sdk-group', groupType: 'sdk-gt', volumeTypes: ['__DEFAULT__'] });
  const a = await bs.createVolume({ size: 1, name: 'sdk-a' });
  const b = await bs.createVolume({ size: 1, name: 'sdk-b' });
  await bs.waitForStatus(a, fast);
  await bs.waitForStatus(b, fast);
  await bs.updateGroup(g, { addVolumes: [a.id!, b.id!], description: 'two' });
  const shown = await bs.getGroup(g.id!, { listVolume: true });
  assert.equal(shown.status, 'available');
  assert.equal(shown.description, 'two');
  assert.deepEqual([...(shown.volumes ?? [])].sort(), [a.id, b.id].sort());
  assert.ok((await bs.groups().toArray()).some((x) => x.id === g.id));

  const gs = await bs.createGroupSnapshot({ groupId: g.id!, name: 'sdk-gs' });
  for (let i = 0; i < 150 && (await bs.getGroupSnapshot(gs.id!)).status !== 'available'; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal((await bs.getGroupSnapshot(gs.id!)).groupId, g.id);
  assert.deepEqual(
    (await bs.groupSnapshots({ groupId: g.id! }).toArray()).map((x) => x.id),
    [gs.id],
  );
  const copy = await bs.createGroupFromSource({ name: 'sdk-copy', groupSnapshotId: gs.id! });
  const copied = await bs.getGroup(copy.id!, { listVolume: true });
  assert.equal(copied.groupSnapshotId, gs.id);
  assert.equal(copied.volumes?.length, 2);
  for (const id of copied.volumes ?? []) await bs.waitForStatus(await bs.getVolume(id), fast);

  await bs.deleteGroup(copy, { deleteVolumes: true });
  await bs.deleteGroupSnapshot(gs);
  await assert.rejects(bs.getGroupSnapshot(gs.id!), NotFoundError);
  // Its member snapshots go in their own tasks; the group's volumes cannot go before them (as in Cinder).
  for (let i = 0; i < 150 && (await bs.snapshots().toArray()).some((s) => s.volumeId === a.id || s.volumeId === b.id); i++)
    await new Promise((r) => setTimeout(r, 100));
  await bs.deleteGroup(g, { deleteVolumes: true });
  await assert.rejects(bs.getGroup(g.id!), NotFoundError);
  await bs.deleteGroup(g, { ignoreMissing: true });
  await admin.blockStorage.deleteGroupType(gt);
});
