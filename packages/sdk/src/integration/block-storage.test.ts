/**
 * The SDK's block-storage proxy against the live cinderbox server over a real socket: volumes and their actions,
 * snapshots with metadata and actions, manage/unmanage, quotas, limits, types, zones, pagination and find.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Connection } from '../connection.js';
import { ConflictError, NotFoundError, OverLimitError } from '../errors.js';
import { SnapshotDetail } from '../block-storage/resources/snapshot.js';
import { adminConnection, memberConnection, startTestServer, type TestServer } from '../test-support/live.js';

const HOST = 'cinderbox@raw#raw';

let t: TestServer;
let admin: Connection;
let alice: Connection;
let aliceProject: string;

before(async () => {
  t = await startTestServer({ backends: [{ name: 'raw', driver: 'raw', pool: 'raw' }] }); // manages raw files of backend raw
  admin = adminConnection(t.url);
  aliceProject = (await t.createMember('alice')).projectId;
  alice = memberConnection(t.url, 'alice');
  await admin.blockStorage.updateQuotaSet(t.adminProjectId, { snapshots: 1000, volumes: 1000, gigabytes: 10000 });
});
after(async () => {
  await t.close();
});

const fast = { minDelayMs: 5, maxDelayMs: 50, waitTimeoutMs: 15_000 };

async function newVolume(conn: Connection, name: string, size = 1) {
  const bs = conn.blockStorage;
  const v = await bs.createVolume({ size, name });
  const r = await bs.waitForStatus(v, fast);
  assert.equal(r.state, 'success', `volume ${name}: ${r.status}`);
  return v;
}

async function newSnapshot(conn: Connection, volumeId: string, name: string) {
  const bs = conn.blockStorage;
  const s = await bs.createSnapshot({ volumeId, name });
  const r = await bs.waitForStatus(s, fast);
  assert.equal(r.state, 'success', `snapshot ${name}: ${r.status}`);
  return s;
}

describe('volumes', () => {
  test('create, get, find by name, list, update, metadata, extend, delete', async () => {
    const bs = alice.blockStorage;
    const v = await bs.createVolume({ size: 1, name: 'vol-a', description: 'first', metadata: { tier: 'gold' } });
    assert.equal(v.status, 'creating');
    assert.match(v.$metadata?.requestId ?? '', /^req-/);
    assert.equal((await bs.waitForStatus(v, fast)).state, 'success');
    assert.equal(v.size, 1);

    const got = await bs.getVolume(v.id as string);
    assert.equal(got.name, 'vol-a');
    assert.equal((await bs.findVolume('vol-a'))?.id, v.id);
    assert.ok((await bs.volumes().toArray()).some((x) => x.id === v.id));
    assert.ok((await bs.volumes({ details: false }).toArray()).some((x) => x.id === v.id));

    const updated = await bs.updateVolume(v, { description: 'second' });
    assert.equal(updated.description, 'second');
    assert.equal((await bs.getVolume(v.id as string)).description, 'second');

    assert.deepEqual(await bs.volumeMetadata(v), { tier: 'gold' });
    assert.deepEqual(await bs.updateVolumeMetadata(v, { app: 'db' }), { tier: 'gold', app: 'db' });
    assert.deepEqual(await bs.updateVolumeMetadata(v, { only: 'x' }, { replace: true }), { only: 'x' });
    await bs.deleteVolumeMetadata(v, ['only']);
    assert.deepEqual(await bs.volumeMetadata(v), {});

    await bs.extendVolume(v, 2);
    assert.equal((await bs.waitForStatus(await v.fetch(), fast)).state, 'success');
    assert.equal(v.size, 2);

    await bs.deleteVolume(v);
    assert.equal((await bs.waitForDelete(v, fast)).state, 'success');
    await assert.rejects(bs.getVolume(v.id as string), NotFoundError);
    await bs.deleteVolume(v.id as string, { ignoreMissing: true });
    await assert.rejects(bs.deleteVolume(v.id as string), NotFoundError);
  });

  test('actions: reserve/unreserve, attach/detach, connections, reset status, force delete, cascade', async () => {
    const bs = admin.blockStorage;
    const v = await newVolume(admin, 'vol-actions');
    await bs.reserveVolume(v);
    assert.equal((await bs.getVolume(v.id as string)).status, 'attaching');
    await bs.unreserveVolume(v);
    assert.equal((await bs.getVolume(v.id as string)).status, 'available');

    const ci = await bs.initializeVolumeConnection(v, { host: 'node-1' });
    assert.ok(ci.driverVolumeType.length > 0);
    await bs.attachVolume(v, { mountpoint: '/dev/vdb', hostName: 'node-1' });
    const attached = await bs.getVolume(v.id as string);
    assert.equal(attached.status, 'in-use');
    assert.equal(attached.attachments?.length, 1);
    await bs.detachVolume(v);
    await bs.terminateVolumeConnection(v, { host: 'node-1' });
    assert.equal((await bs.getVolume(v.id as string)).status, 'available');

    await bs.resetVolumeStatus(v, { status: 'error' });
    assert.equal((await bs.getVolume(v.id as string)).status, 'error');
    await bs.deleteVolume(v, { force: true });
    assert.equal((await bs.waitForDelete(v, fast)).state, 'success');
    await bs.deleteVolume(v, { force: true, ignoreMissing: true });

    const parent = await newVolume(admin, 'vol-cascade');
    const child = await newSnapshot(admin, parent.id as string, 'snap-cascade');
    await assert.rejects(bs.deleteVolume(parent), (e: unknown) => e instanceof Error && /snapshot/i.test(e.message));
    await bs.deleteVolume(parent, { cascade: true });
    assert.equal((await bs.waitForDelete(parent, fast)).state, 'success');
    await assert.rejects(bs.getSnapshot(child.id as string), NotFoundError);
  });

  test('revert to the latest snapshot (3.40)', async () => {
    const bs = admin.blockStorage;
    const v = await newVolume(admin, 'vol-revert');
    const s = await newSnapshot(admin, v.id as string, 'snap-revert');
    await bs.revertVolumeToSnapshot(v, s);
    assert.equal((await bs.waitForStatus(await v.fetch(), fast)).state, 'success');
    await bs.deleteVolume(v, { cascade: true });
  });
});

describe('snapshots', () => {
  test('create, get, find, update, metadata (merge, replace, items, delete), delete', async () => {
    const bs = alice.blockStorage;
    const v = await newVolume(alice, 'vol-snap');
    const s = await bs.createSnapshot({ volumeId: v.id, name: 'nightly', metadata: { app: 'db' } });
    const r = await bs.waitForStatus(s, { ...fast, onProgress: () => {} });
    assert.equal(r.state, 'success');
    assert.equal(s.progressPercent, 100);
    assert.equal(s.projectId, aliceProject);

    assert.equal((await bs.getSnapshot(s.id as string)).name, 'nightly');
    assert.equal((await bs.findSnapshot('nightly'))?.id, s.id);
    assert.equal((await bs.findSnapshot(s.id as string))?.name, 'nightly');
    assert.equal(await bs.findSnapshot('no-such', { ignoreMissing: true }), undefined);
    await assert.rejects(bs.findSnapshot('no-such'), NotFoundError);

    await bs.updateSnapshot(s, { description: 'kept' });
    assert.equal((await bs.getSnapshot(s.id as string)).description, 'kept');

    assert.deepEqual(await bs.snapshotMetadata(s), { app: 'db' });
    assert.deepEqual(await bs.updateSnapshotMetadata(s, { tier: 'gold' }), { app: 'db', tier: 'gold' });
    assert.deepEqual(s.metadata, { app: 'db', tier: 'gold' }, 'the passed snapshot takes the server result');
    assert.equal(await bs.getSnapshotMetadataItem(s, 'tier'), 'gold');
    await bs.setSnapshotMetadataItem(s, 'tier', 'silver');
    assert.equal(await bs.getSnapshotMetadataItem(s, 'tier'), 'silver');
    await bs.deleteSnapshotMetadata(s, ['tier']);
    assert.deepEqual(await bs.snapshotMetadata(s), { app: 'db' });
    await bs.deleteSnapshotMetadata(s, ['gone'], { ignoreMissing: true });
    await assert.rejects(bs.deleteSnapshotMetadata(s, ['gone'], { ignoreMissing: false }), NotFoundError);
    await bs.updateSnapshotMetadata(s, { a: '1', b: '2' });
    await bs.deleteSnapshotMetadata(s, ['a', 'app'], { atomic: true });
    assert.deepEqual(await bs.snapshotMetadata(s), { b: '2' });
    assert.deepEqual(await bs.replaceSnapshotMetadata(s, {}), {});
    await bs.deleteSnapshotMetadata(s);

    await bs.deleteSnapshot(s);
    assert.equal((await bs.waitForDelete(s, fast)).state, 'success');
    await bs.deleteSnapshot(s, { ignoreMissing: true });
    await assert.rejects(bs.deleteSnapshot(s), NotFoundError);
    await bs.deleteVolume(v);
  });

  test('admin actions: reset status, update status, force delete honouring ignoreMissing', async () => {
    const bs = admin.blockStorage;
    const v = await newVolume(admin, 'vol-snap-admin');
    const s = await newSnapshot(admin, v.id as string, 'snap-admin');
    await bs.resetSnapshotStatus(s, 'creating');
    await bs.setSnapshotStatus(s, 'creating', 50);
    const mid = await bs.getSnapshot(s.id as string);
    assert.equal(mid.progressPercent, 50);
    await bs.setSnapshotStatus(s, 'available', 100);
    assert.equal((await bs.getSnapshot(s.id as string)).status, 'available');
    await bs.resetSnapshotStatus(s, 'error');
    await bs.deleteSnapshot(s, { force: true });
    assert.equal((await bs.waitForDelete(s, fast)).state, 'success');
    await bs.deleteSnapshot(s, { force: true, ignoreMissing: true });
    await assert.rejects(bs.deleteSnapshot(s, { force: true }), NotFoundError);
    await bs.deleteVolume(v);
  });

  test('pagination: 25 snapshots in pages of 10 via links, maxItems, pages(), SnapshotDetail', async () => {
    const bob = await t.createMember('bob');
    await admin.blockStorage.updateQuotaSet(bob.projectId, { snapshots: 25 });
    const conn = memberConnection(t.url, 'bob');
    const bs = conn.blockStorage;
    const v = await newVolume(conn, 'vol-pages');
    const ids = new Set<string>();
    for (let i = 0; i < 25; i++) ids.add((await bs.createSnapshot({ volumeId: v.id, name: `page-${i}` })).id as string);

    const requests: string[] = [];
    conn.pipeline.use('spy', (req, next) => {
      if (new URL(req.url).pathname.endsWith('/snapshots/detail')) requests.push(req.url);
      return next(req);
    });
    try {
      const all = await bs.snapshots({ volumeId: v.id }, { limit: 10 }).toArray();
      assert.equal(all.length, 25);
      assert.deepEqual(new Set(all.map((s) => s.id)), ids);
      assert.equal(requests.length, 3, 'three pages, no extra empty request');
      assert.ok(requests.slice(1).every((u) => new URL(u).searchParams.has('marker')));

      const pages = [];
      for await (const p of bs.snapshots({ volumeId: v.id }, { limit: 10 }).pages()) pages.push(p.items.length);
      assert.deepEqual(pages, [10, 10, 5]);

      requests.length = 0;
      assert.equal((await bs.snapshots({ volumeId: v.id }, { maxItems: 12, limit: 10 }).toArray()).length, 12);
      assert.equal(requests.length, 2);

      const detail = await SnapshotDetail.list(bs.client, { volumeId: v.id }, { limit: 10 }).toArray();
      assert.equal(detail.length, 25);
      assert.ok(detail.every((s) => s.progressPercent !== undefined));
    } finally {
      conn.pipeline.remove('spy');
    }
    assert.equal((await bs.snapshots({ volumeId: v.id, name: 'page-7' }).toArray()).length, 1);
    for (const s of await bs.snapshots({ volumeId: v.id }).toArray()) {
      assert.equal((await bs.waitForStatus(s, fast)).state, 'success');
    }
    const quota = await bs.createSnapshot({ volumeId: v.id }).catch((e: unknown) => e);
    assert.ok(quota instanceof OverLimitError, 'beyond the snapshot quota');
    assert.equal(quota.attempts, 1, 'a quota 413 (Retry-After: 0) is not retried');
    await bs.deleteVolume(v, { cascade: true });
  });

  test('find by name: duplicates raise, allProjects finds another project for an admin', async () => {
    const v = await newVolume(alice, 'vol-dup');
    await newSnapshot(alice, v.id as string, 'twin');
    await newSnapshot(alice, v.id as string, 'twin');
    await assert.rejects(alice.blockStorage.findSnapshot('twin'), /more than one/);
    assert.equal(await admin.blockStorage.findSnapshot('twin', { ignoreMissing: true }), undefined);
    await assert.rejects(admin.blockStorage.findSnapshot('twin', { allProjects: true }), /more than one/);
    await alice.blockStorage.deleteVolume(v, { cascade: true });
  });
});

describe('manage and unmanage', () => {
  test('snapshot: unmanage, list manageable, manage back (3.8 path and the legacy path)', async () => {
    const bs = admin.blockStorage;
    const v = await newVolume(admin, 'vol-manage');
    const s = await newSnapshot(admin, v.id as string, 'to-unmanage');
    await bs.unmanageSnapshot(s);
    assert.equal((await bs.waitForDelete(s, fast)).state, 'success');

    const name = `_snapshot-${s.id}`;
    const listed = await bs.manageableSnapshots({ host: HOST, details: true }).toArray();
    const entry = listed.find((m) => m.reference?.['source-name'] === name);
    assert.ok(entry, 'the unmanaged snapshot is listed');
    assert.equal(entry.safeToManage, true);

    const back = await bs.manageSnapshot({ volumeId: v.id as string, ref: { 'source-name': name }, name: 'back' });
    assert.equal(back.name, 'back');
    assert.equal((await bs.waitForStatus(back, fast)).state, 'success');

    await bs.unmanageSnapshot(back);
    await bs.waitForDelete(back, fast);
    const again = `_snapshot-${back.id}`;
    assert.ok(
      (await admin.blockStorageV2.manageableSnapshots({ host: HOST }).toArray()).some(
        (m) => m.reference?.['source-name'] === again,
      ),
    );
    const legacy = await admin.blockStorageV2.manageSnapshot({ volumeId: v.id as string, ref: { 'source-name': again } });
    assert.equal((await bs.waitForStatus(legacy, fast)).state, 'success');
    await bs.deleteVolume(v, { cascade: true });
  });

  test('volume: unmanage, list manageable, manage back', async () => {
    const bs = admin.blockStorage;
    const v = await newVolume(admin, 'vol-unmanage');
    await bs.unmanageVolume(v);
    assert.equal((await bs.waitForDelete(v, fast)).state, 'success');
    const name = `volume-${v.id}`;
    const listed = await bs.manageableVolumes({ host: HOST }).toArray();
    assert.ok(listed.some((m) => m.reference?.['source-name'] === name));
    const back = await bs.manageVolume({ host: HOST, ref: { 'source-name': name }, name: 'adopted' });
    assert.equal((await bs.waitForStatus(back, fast)).state, 'success');
    assert.equal(back.name, 'adopted');
    assert.equal(back.size, 1);
    await bs.deleteVolume(back);
  });
});

describe('quotas, limits, types, zones', () => {
  test('quota sets: get with usage, defaults, update, revert; limits', async () => {
    const bs = admin.blockStorage;
    const q = await bs.getQuotaSet(aliceProject, { usage: true });
    assert.equal(typeof q.snapshots, 'object');
    const defaults = await bs.getQuotaSetDefaults(aliceProject);
    assert.equal(typeof defaults.snapshots, 'number');
    const updated = await bs.updateQuotaSet(aliceProject, { snapshots: 77 });
    assert.equal(updated.snapshots, 77);
    assert.equal((await bs.getQuotaSet(aliceProject)).snapshots, 77);
    await bs.revertQuotaSet(aliceProject);
    assert.equal((await bs.getQuotaSet(aliceProject)).snapshots, defaults.snapshots);
    const own = await alice.blockStorage.getQuotaSet();
    assert.equal(own.snapshots, defaults.snapshots);

    const limits = await alice.blockStorage.getLimits();
    assert.equal(limits.absolute.maxTotalSnapshots, defaults.snapshots);
    assert.equal(typeof limits.absolute.totalSnapshotsUsed, 'number');
  });

  test('volume types and availability zones', async () => {
    const bs = alice.blockStorage;
    const types = await bs.volumeTypes().toArray();
    assert.ok(types.length >= 1);
    const def = await bs.getVolumeType('default');
    assert.ok(types.some((x) => x.id === def.id));
    assert.equal((await bs.findVolumeType(def.name as string))?.id, def.id);
    assert.equal((await bs.getVolumeType(def.id as string)).name, def.name);
    await assert.rejects(bs.getVolumeType('00000000-0000-4000-8000-000000000000'), NotFoundError);
    const zones = await bs.availabilityZones().toArray();
    assert.equal(zones.length, 1);
    assert.equal(zones[0]?.state?.available, true);
    assert.equal(typeof zones[0]?.name, 'string');
  });

  test('a member is refused admin actions with typed errors carrying the request id', async () => {
    const v = await newVolume(alice, 'vol-policy');
    const e = await alice.blockStorage.resetVolumeStatus(v, { status: 'error' }).catch((x: unknown) => x);
    assert.ok(e instanceof Error && 'status' in e && e.status === 403, String(e));
    assert.match((e as { requestId?: string }).requestId ?? '', /^req-/);
    await alice.blockStorage.reserveVolume(v);
    await assert.rejects(alice.blockStorage.deleteVolume(v), (x: unknown) => x instanceof ConflictError || (x as { status?: number }).status === 400);
    await alice.blockStorage.unreserveVolume(v);
    await alice.blockStorage.deleteVolume(v);
  });
});
