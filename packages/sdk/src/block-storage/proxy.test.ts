import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Connection } from '../connection.js';
import { MicroversionNotSupportedError, NotFoundError } from '../errors.js';
import {
  authFor,
  type FakeCloud,
  PROJECT_ID,
  type RecordedRequest,
  startFakeCloud,
} from '../test-support/fake-cloud.js';
import { Snapshot } from './resources/snapshot.js';

const SID = '11111111-1111-4111-8111-111111111111';
const BID = '22222222-2222-4222-8222-222222222222';

function setup(cloud: FakeCloud, prefix: string) {
  let polls = 0;
  cloud.route('POST', new RegExp(`^${prefix}/snapshots$`), (req) => ({
    status: 202,
    body: { snapshot: { id: SID, status: 'creating', ...(req.body as { snapshot: object }).snapshot } },
  }));
  cloud.route('GET', new RegExp(`^${prefix}/snapshots/${SID}$`), () => {
    polls++;
    const progress = Math.min(100, polls * 50);
    return {
      body: {
        snapshot: {
          id: SID,
          status: progress === 100 ? 'available' : 'creating',
          'os-extended-snapshot-attributes:progress': `${progress}%`,
        },
      },
    };
  });
  cloud.route('POST', new RegExp(`^${prefix}/snapshots/([^/]+)/action$`), (_r, m) =>
    m[1] === SID ? { status: 202 } : { status: 404, body: { itemNotFound: { code: 404, message: 'gone' } } },
  );
  cloud.route('DELETE', new RegExp(`^${prefix}/snapshots/([^/]+)$`), () => ({
    status: 404,
    body: { itemNotFound: { code: 404, message: 'gone' } },
  }));
  cloud.route('POST', new RegExp(`^${prefix}/snapshots/${SID}/metadata$`), (req) => ({
    body: { metadata: { existing: '1', ...(req.body as { metadata: object }).metadata } },
  }));
  cloud.route('PUT', new RegExp(`^${prefix}/snapshots/${SID}/metadata$`), (req) => ({ body: req.body }));
  cloud.route('GET', new RegExp(`^${prefix}/snapshots/${SID}/metadata$`), () => ({
    body: { metadata: { a: '1', b: '2' } },
  }));
  cloud.route('DELETE', new RegExp(`^${prefix}/snapshots/${SID}/metadata/(.+)$`), (_r, m) =>
    m[1] === 'a' ? { status: 200 } : { status: 404, body: { itemNotFound: { code: 404, message: 'no key' } } },
  );
  cloud.route('POST', new RegExp(`^${prefix}/backups$`), () => ({
    status: 202,
    body: { backup: { id: BID, name: 'b', links: [] } },
  }));
  cloud.route('PUT', new RegExp(`^${prefix}/backups/${BID}$`), () => ({
    body: { backup: { id: BID, name: 'renamed', links: [] } },
  }));
  cloud.route('POST', new RegExp(`^${prefix}/backups/${BID}/restore$`), () => ({
    status: 202,
    body: { restore: { backup_id: BID, volume_id: 'vol-new', volume_name: 'restored' } },
  }));
  cloud.route('GET', new RegExp(`^${prefix}/backups/${BID}/export_record$`), () => ({
    body: { 'backup-record': { backup_service: 'cinder.backup.drivers.x', backup_url: 'eyJpZCI6MX0=' } },
  }));
  cloud.route('POST', new RegExp(`^${prefix}/backups/import_record$`), () => ({
    status: 201,
    body: { backup: { id: 'imported', name: null, links: [] } },
  }));
  cloud.route('POST', new RegExp(`^${prefix}/(manageable_snapshots|os-snapshot-manage)$`), (req) => ({
    status: 202,
    body: { snapshot: { id: 'managed', status: 'creating', ...(req.body as { snapshot: object }).snapshot } },
  }));
  cloud.route('GET', new RegExp(`^${prefix}/manageable_snapshots/detail$`), () => ({
    body: {
      'manageable-snapshots': [
        { reference: { 'source-name': 'x' }, size: 1, safe_to_manage: true, reason_not_safe: null, cinder_id: null },
      ],
    },
  }));
}

const find = (cloud: FakeCloud, method: string, suffix: string): RecordedRequest | undefined =>
  cloud.requests.filter((r) => r.method === method && r.path.endsWith(suffix)).at(-1);

describe('block storage v3 proxy', () => {
  let cloud: FakeCloud;
  let conn: Connection;
  const prefix = `/v3/${PROJECT_ID}`;
  before(async () => {
    cloud = await startFakeCloud({ maxMicroversion: '3.70' });
    setup(cloud, prefix);
    conn = new Connection({ auth: authFor(cloud), sleep: async () => {} });
  });
  after(() => cloud.close());

  it('negotiates min(resource cap, server max) and sends it on every call', async () => {
    assert.equal(await conn.blockStorage.negotiatedMicroversion(), '3.70');
    const snap = await conn.blockStorage.createSnapshot({ volumeId: 'v1', name: 'n', force: true });
    const req = find(cloud, 'POST', '/snapshots');
    assert.equal(req?.headers['openstack-api-version'], 'volume 3.65');
    assert.deepEqual(req?.body, { snapshot: { volume_id: 'v1', name: 'n', force: true } });
    assert.equal(snap.status, 'creating');
    await conn.blockStorage.resetSnapshotStatus(snap, 'error');
    assert.equal(find(cloud, 'POST', '/action')?.headers['openstack-api-version'], 'volume 3.65');
    assert.deepEqual(find(cloud, 'POST', '/action')?.body, { 'os-reset_status': { status: 'error' } });
  });

  it('waits with numeric progress, and returns failure/timeout results', async () => {
    const progress: Array<number | undefined> = [];
    const snap = Snapshot.existing({ id: SID, status: 'creating' });
    const r = await conn.blockStorage.waitForStatus(snap, {
      sleep: async () => {},
      onProgress: (p) => progress.push(p),
    });
    assert.equal(r.state, 'success');
    assert.deepEqual(progress, [50]);
    assert.equal(snap.progressPercent, 100);
    let now = 0;
    const stuck = Snapshot.existing({ id: 'not-there' }, conn.blockStorage.client);
    stuck.fetch = async function () {
      this.applyServerBody({ status: 'creating' });
      return this;
    };
    const t = await conn.blockStorage.waitForStatus(stuck, {
      waitTimeoutMs: 5000,
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    });
    assert.equal(t.state, 'timeout');
    const failing = Snapshot.existing({ id: 'x', status: 'ERROR_DELETING' }, conn.blockStorage.client);
    failing.fetch = async function () {
      return this;
    };
    assert.equal((await conn.blockStorage.waitForStatus(failing, { sleep: async () => {} })).state, 'failure');
  });

  it('deleteSnapshot honours ignoreMissing with and without force', async () => {
    await conn.blockStorage.deleteSnapshot('33333333-3333-4333-8333-333333333333', { ignoreMissing: true });
    await conn.blockStorage.deleteSnapshot('33333333-3333-4333-8333-333333333333', {
      force: true,
      ignoreMissing: true,
    });
    assert.deepEqual(find(cloud, 'POST', '/action')?.body, { 'os-force_delete': null });
    await assert.rejects(conn.blockStorage.deleteSnapshot('33333333-3333-4333-8333-333333333333'), (e: unknown) => {
      assert.ok(e instanceof NotFoundError);
      assert.match(String(e.requestId), /^req-/);
      return true;
    });
  });

  it('metadata: merge returns the server map, replace uses PUT, deleteKeys per key or atomic', async () => {
    const snap = Snapshot.existing({ id: SID }, conn.blockStorage.client);
    const merged = await conn.blockStorage.updateSnapshotMetadata(snap, { tier: 'gold' });
    assert.deepEqual(merged, { existing: '1', tier: 'gold' });
    assert.deepEqual(snap.metadata, { existing: '1', tier: 'gold' });
    const replaced = await conn.blockStorage.updateSnapshotMetadata(SID, { only: 'x' }, { replace: true });
    assert.deepEqual(replaced, { only: 'x' });
    assert.deepEqual(await conn.blockStorage.snapshotMetadata(SID), { a: '1', b: '2' });
    await conn.blockStorage.deleteSnapshotMetadata(SID, ['a', 'zzz']);
    await assert.rejects(
      conn.blockStorage.deleteSnapshotMetadata(SID, ['zzz'], { ignoreMissing: false }),
      NotFoundError,
    );
    await conn.blockStorage.deleteSnapshotMetadata(SID, ['a'], { atomic: true });
    assert.deepEqual(find(cloud, 'PUT', '/metadata')?.body, { metadata: { b: '2' } });
  });

  it('backups: incremental create, update (3.9), restore, export and import_record', async () => {
    const b = await conn.blockStorage.createBackup({ volumeId: 'v1', isIncremental: true, force: true });
    assert.deepEqual(find(cloud, 'POST', '/backups')?.body, {
      backup: { volume_id: 'v1', incremental: true, force: true },
    });
    assert.equal(find(cloud, 'POST', '/backups')?.headers['openstack-api-version'], 'volume 3.64');
    assert.equal(b.id, BID);
    await conn.blockStorage.updateBackup(b, { name: 'renamed' });
    assert.deepEqual(find(cloud, 'PUT', `/backups/${BID}`)?.body, { backup: { name: 'renamed' } });
    const r = await conn.blockStorage.restoreBackup(b);
    assert.deepEqual(find(cloud, 'POST', '/restore')?.body, { restore: {} });
    assert.deepEqual(r, { backupId: BID, volumeId: 'vol-new', volumeName: 'restored' });
    assert.equal(b.volumeId, 'v1', 'the Backup keeps its source volume (not the restore target)');
    const rec = await conn.blockStorage.exportBackup(b);
    assert.equal(rec.backupService, 'cinder.backup.drivers.x');
    const imported = await conn.blockStorage.importBackup(rec);
    assert.equal(imported.id, 'imported');
    assert.deepEqual(find(cloud, 'POST', '/backups/import_record')?.body, {
      'backup-record': { backup_service: 'cinder.backup.drivers.x', backup_url: 'eyJpZCI6MX0=' },
    });
  });

  it('manage uses /manageable_snapshots at >= 3.8 and omits unset optionals', async () => {
    const s = await conn.blockStorage.manageSnapshot({ volumeId: 'v1', ref: { 'source-name': 'x' } });
    assert.equal(s.id, 'managed');
    assert.deepEqual(find(cloud, 'POST', '/manageable_snapshots')?.body, {
      snapshot: { volume_id: 'v1', ref: { 'source-name': 'x' } },
    });
    const list = await conn.blockStorage.manageableSnapshots({ host: 'h@b#p', details: true }).toArray();
    assert.equal(list[0]?.safeToManage, true);
    assert.deepEqual(list[0]?.reference, { 'source-name': 'x' });
  });
});

describe('block storage with an older server and v2', () => {
  let cloud: FakeCloud;
  before(async () => {
    cloud = await startFakeCloud({ maxMicroversion: '3.8' });
    setup(cloud, `/v3/${PROJECT_ID}`);
    setup(cloud, `/v2/${PROJECT_ID}`);
  });
  after(() => cloud.close());

  it('checks per-operation minimums before sending', async () => {
    const conn = new Connection({ auth: authFor(cloud) });
    const before = cloud.requests.length;
    await assert.rejects(conn.blockStorage.updateBackup(BID, { name: 'x' }), MicroversionNotSupportedError);
    await assert.rejects(conn.blockStorage.createBackup({ volumeId: 'v', metadata: { a: '1' } }), (e: unknown) => {
      assert.ok(e instanceof MicroversionNotSupportedError);
      assert.equal(e.required, '3.43');
      return true;
    });
    assert.equal(cloud.requests.filter((r) => r.path.includes('/backups')).length, 0);
    assert.ok(cloud.requests.length > before);
    await conn.blockStorage.createSnapshot({ volumeId: 'v' });
    assert.equal(find(cloud, 'POST', '/snapshots')?.headers['openstack-api-version'], 'volume 3.8');
  });

  it('a pinned default microversion outside the server range is rejected', async () => {
    const conn = new Connection({ auth: authFor(cloud), blockStorage: { defaultMicroversion: '3.60' } });
    await assert.rejects(conn.blockStorage.getLimits(), MicroversionNotSupportedError);
  });

  it('v2 uses the volumev2 endpoint, no microversion header, /os-snapshot-manage', async () => {
    const conn = new Connection({ auth: authFor(cloud) });
    await conn.blockStorageV2.createSnapshot({ volumeId: 'v2vol' });
    const req = find(cloud, 'POST', '/snapshots');
    assert.equal(req?.path, `/v2/${PROJECT_ID}/snapshots`);
    assert.equal(req?.headers['openstack-api-version'], undefined);
    await conn.blockStorageV2.manageSnapshot({ volumeId: 'v', ref: 'x', name: 'n' });
    assert.equal(find(cloud, 'POST', '/os-snapshot-manage')?.path, `/v2/${PROJECT_ID}/os-snapshot-manage`);
  });

  it('endpoint override with %(project_id)s and interface selection', async () => {
    const conn = new Connection({
      auth: authFor(cloud),
      blockStorage: { endpointOverride: `${cloud.url}/v3/%(project_id)s` },
    });
    await conn.blockStorage.createSnapshot({ volumeId: 'o' });
    assert.equal(find(cloud, 'POST', '/snapshots')?.path, `/v3/${PROJECT_ID}/snapshots`);
    const internal = new Connection({ auth: authFor(cloud), interface: 'internal' });
    assert.equal((await internal.blockStorage.client.info()).endpoint, `${cloud.url}/internal/v3/${PROJECT_ID}`);
  });
});
