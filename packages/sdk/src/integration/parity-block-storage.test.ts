/**
 * The block-storage proxy methods added for parity with the server (see parity.test.ts), against the live server:
 * version documents, volume summary, pools, extensions, metadata items, detaching actions, volume-type and
 * group-type spec items, backup progress and the volume/snapshot data extension.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Connection } from '../connection.js';
import { MicroversionNotSupportedError, NotFoundError } from '../errors.js';
import { adminConnection, memberConnection, startTestServer, type TestServer } from '../test-support/live.js';

let t: TestServer;
let admin: Connection;
const fast = { minDelayMs: 5, maxDelayMs: 50, waitTimeoutMs: 30_000 };
const MiB = 1024 * 1024;

before(async () => {
  t = await startTestServer();
  admin = adminConnection(t.url);
});
after(async () => {
  await t.close();
});

async function bytesOf(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

describe('version documents, summary, pools and extensions', () => {
  test('apiVersions lists v2 and v3 with their ranges; apiVersion is the document of the proxy\'s own API', async () => {
    const all = await admin.blockStorage.apiVersions();
    assert.deepEqual(all.map((v) => v.id.split('.')[0]).sort(), ['v2', 'v3']);
    const v3 = await admin.blockStorage.apiVersion();
    assert.match(v3?.id ?? '', /^v3/);
    assert.equal(v3?.maxMicroversion, all.find((v) => v.id.startsWith('v3'))?.maxMicroversion);
    assert.match((await admin.blockStorageV2.apiVersion())?.id ?? '', /^v2/);
  });

  test('volumeSummary counts and sizes the caller\'s volumes and lists their metadata values', async () => {
    const m = await t.createMember('sdk-summary');
    const bob = memberConnection(t.url, 'sdk-summary').blockStorage;
    assert.deepEqual(await bob.volumeSummary(), { totalSize: 0, totalCount: 0, metadata: {} });
    const a = await bob.createVolume({ size: 1, metadata: { tier: 'gold' } });
    const b = await bob.createVolume({ size: 2, metadata: { tier: 'silver' } });
    await bob.waitForStatus(a, fast);
    await bob.waitForStatus(b, fast);
    const s = await bob.volumeSummary();
    assert.equal(s.totalCount, 2);
    assert.equal(s.totalSize, 3);
    assert.deepEqual(s.metadata?.tier?.sort(), ['gold', 'silver']);
    // The admin's own project has none of these; all projects sums bob's too.
    const everyone = await admin.blockStorage.volumeSummary({ allProjects: true });
    assert.ok(everyone.totalCount >= 2, `${everyone.totalCount}`);
    assert.ok(m.projectId);
  });

  test('volumeSummary below 3.12 is refused before anything is sent; metadata comes with 3.36', async () => {
    const at311 = adminConnection(t.url, { blockStorage: { defaultMicroversion: '3.11' } });
    await assert.rejects(at311.blockStorage.volumeSummary(), MicroversionNotSupportedError);
    const at335 = adminConnection(t.url, { blockStorage: { defaultMicroversion: '3.35' } });
    const s = await at335.blockStorage.volumeSummary();
    assert.equal(s.metadata, undefined);
    assert.equal(typeof s.totalCount, 'number');
  });

  test('pools: names by default, capacity and capabilities with details; a member is refused', async () => {
    const bs = admin.blockStorage;
    const pools = await bs.pools();
    assert.ok(pools.length >= 1);
    assert.ok(pools.every((p) => /.+@.+#.+/.test(p.name) && p.capabilities === undefined), JSON.stringify(pools));
    const detailed = await bs.pools({ details: true });
    const first = detailed[0]!;
    assert.equal(first.capabilities?.poolName, first.name.split('#')[1]);
    assert.equal(first.capabilities?.vendorName, 'Open Source');
    assert.equal(typeof first.capabilities?.totalCapacityGb, 'number');
    assert.ok('QoS_support' in (first.capabilities?.properties ?? {}));
    const one = await bs.pools({ name: first.name });
    assert.deepEqual(one.map((p) => p.name), [first.name]);
    await t.createMember('sdk-pools');
    const refused = await memberConnection(t.url, 'sdk-pools').blockStorage.pools().catch((e: unknown) => e);
    assert.equal((refused as { status?: number }).status, 403);
  });

  test('extensions lists descriptors; getExtension finds one by alias and 404s for an unknown one', async () => {
    const bs = admin.blockStorage;
    const list = await bs.extensions();
    const hosts = list.find((e) => e.alias === 'os-hosts');
    assert.equal(hosts?.name, 'Hosts');
    assert.deepEqual(await bs.getExtension('os-hosts'), hosts);
    await assert.rejects(bs.getExtension('no-such-extension'), NotFoundError);
  });
});

describe('volume metadata items and detaching', () => {
  test('get, set and replace volume metadata through the item and whole-map routes', async () => {
    const bs = admin.blockStorage;
    const v = await bs.createVolume({ size: 1, metadata: { a: '1' } });
    await bs.waitForStatus(v, fast);
    assert.equal(await bs.getVolumeMetadataItem(v, 'a'), '1');
    assert.deepEqual(await bs.setVolumeMetadataItem(v, 'b', '2'), { b: '2' });
    assert.deepEqual(await bs.volumeMetadata(v), { a: '1', b: '2' });
    assert.deepEqual(await bs.replaceVolumeMetadata(v, { only: 'this' }), { only: 'this' });
    assert.deepEqual(await bs.volumeMetadata(v), { only: 'this' });
    await assert.rejects(bs.getVolumeMetadataItem(v, 'a'), NotFoundError);
  });

  test('beginDetachingVolume marks an in-use volume detaching; rollDetachingVolume puts it back', async () => {
    const bs = admin.blockStorage;
    const v = await bs.createVolume({ size: 1 });
    await bs.waitForStatus(v, fast);
    await bs.attachVolume(v, { mountpoint: '/dev/vdb', hostName: 'node-1' });
    assert.equal((await bs.getVolume(v.id as string)).status, 'in-use');
    await bs.beginDetachingVolume(v);
    assert.equal((await bs.getVolume(v.id as string)).status, 'detaching');
    await bs.rollDetachingVolume(v);
    assert.equal((await bs.getVolume(v.id as string)).status, 'in-use');
    await bs.detachVolume(v);
    assert.equal((await bs.getVolume(v.id as string)).status, 'available');
  });
});

describe('volume-type and group-type spec items', () => {
  test('volume type extra specs: list, one key, set one key; encryption spec fields', async () => {
    const bs = admin.blockStorage;
    const vt = await bs.createVolumeType({ name: 'sdk-parity-type', extraSpecs: { tier: 'gold' } });
    assert.deepEqual(await bs.volumeTypeExtraSpecs(vt), { tier: 'gold' });
    assert.equal(await bs.getVolumeTypeExtraSpec(vt, 'tier'), 'gold');
    assert.deepEqual(await bs.setVolumeTypeExtraSpec(vt, 'tier', 'silver'), { tier: 'silver' });
    assert.equal(vt.extraSpecs?.tier, 'silver');
    assert.deepEqual(await bs.volumeTypeExtraSpecs(vt.id as string), { tier: 'silver' });
    await assert.rejects(bs.getVolumeTypeExtraSpec(vt, 'absent'), NotFoundError);

    await assert.rejects(bs.getVolumeTypeEncryptionSpec(vt, 'cipher'), NotFoundError);
    await bs.createVolumeTypeEncryption(vt, { provider: 'luks', controlLocation: 'front-end', cipher: 'aes-xts-plain64', keySize: 256 });
    assert.equal(await bs.getVolumeTypeEncryptionSpec(vt, 'cipher'), 'aes-xts-plain64');
    assert.equal(await bs.getVolumeTypeEncryptionSpec(vt, 'key_size'), 256);
    await bs.deleteVolumeTypeEncryption(vt);
    await bs.deleteVolumeType(vt);
  });

  test('group type specs: list, one key, set one key; no default group type is configured', async () => {
    const bs = admin.blockStorage;
    const gt = await bs.createGroupType({ name: 'sdk-parity-gt', groupSpecs: { k: 'v' } });
    assert.deepEqual(await bs.groupTypeSpecs(gt), { k: 'v' });
    assert.equal(await bs.getGroupTypeSpec(gt, 'k'), 'v');
    assert.deepEqual(await bs.setGroupTypeSpec(gt, 'k', 'w'), { k: 'w' });
    assert.deepEqual(await bs.groupTypeSpecs(gt.id as string), { k: 'w' });
    await assert.rejects(bs.getGroupTypeSpec(gt, 'absent'), NotFoundError);
    await assert.rejects(bs.getDefaultGroupType(), NotFoundError);
    await bs.deleteGroupType(gt);
  });
});

describe('cinderbox extensions: data and backup progress', () => {
  test('upload bytes into a volume, download them whole and by range, from the volume and from a snapshot', async () => {
    const bs = admin.blockStorage;
    const v = await bs.createVolume({ size: 1 });
    await bs.waitForStatus(v, fast);
    const data = new Uint8Array(MiB).map((_, i) => i % 251);
    assert.deepEqual(await bs.uploadVolumeData(v, data), { written: MiB });
    const tail = new Uint8Array(4096).fill(7);
    const at = 2 * MiB;
    assert.deepEqual(await bs.uploadVolumeData(v, tail, { range: { start: at, end: at + tail.length - 1 } }), { written: 4096 });

    const whole = await bs.downloadVolumeData(v);
    assert.equal(whole.status, 200);
    assert.equal(whole.totalSize, 1024 * MiB);
    await whole.stream.cancel();
    const head = await bs.downloadVolumeData(v, { start: 0, end: MiB - 1 });
    assert.equal(head.status, 206);
    assert.equal(head.contentLength, MiB);
    assert.equal(head.totalSize, 1024 * MiB);
    assert.deepEqual(await bytesOf(head.stream), data);
    const written = await bs.downloadVolumeData(v, { start: at, end: at + 4095 });
    assert.deepEqual(await bytesOf(written.stream), tail);

    const snap = await bs.createSnapshot({ volumeId: v.id });
    assert.equal((await bs.waitForStatus(snap, fast)).state, 'success');
    const fromSnap = await bs.downloadSnapshotData(snap, { start: 0, end: 9 });
    assert.deepEqual(await bytesOf(fromSnap.stream), data.slice(0, 10));
    await assert.rejects(bs.downloadSnapshotData('00000000-0000-4000-8000-000000000000'), NotFoundError);
  });

  test('backupProgress reports a finished backup as complete', async () => {
    const bs = admin.blockStorage;
    const v = await bs.createVolume({ size: 1 });
    await bs.waitForStatus(v, fast);
    const b = await bs.createBackup({ volumeId: v.id });
    assert.equal((await bs.waitForStatus(b, fast)).state, 'success');
    assert.deepEqual(await bs.backupProgress(b), { fraction: 1, bytesDone: 1024 * MiB, bytesTotal: 1024 * MiB, operation: null });
    await assert.rejects(bs.backupProgress('00000000-0000-4000-8000-000000000000'), NotFoundError);
  });
});
