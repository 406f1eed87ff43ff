/**
 * An rbd backend behind the API, end to end over HTTP: bytes uploaded through the data API, a snapshot, a volume
 * from it (a clone), a full and an incremental backup (reading only the changed chunks, from rbd diff), restores
 * compared by SHA-256 of the downloaded bytes, Cinder's RBD connection info, and nothing left in the pool after
 * the volumes are deleted.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { statfs } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer, waitFor } from '../../../test-support/harness.js';
import { MiB } from '../../../api/block-storage/test-support/backup-api.js';
import { poolCapacity } from './ceph-cluster.js';
import type { RbdVolumeDriver } from './rbd-driver.js';
import { makeTestPool } from './test-support.js';

const made = makeTestPool('api');
const skip = 'skip' in made ? made.skip : false;
const GiB = 1024 * MiB;
const pool = 'skip' in made ? '' : made.pool;

describe('rbd volumes through the API', { skip }, () => {
  let t: TestServer;
  let base: string;
  before(async () => {
    if ('skip' in made) return;
    t = await startTestServer({
      backends: [{ name: 'ceph', driver: 'rbd', pool: 'ceph', rbd: { pool, conf: 'skip' in made ? '' : made.conf, objectSize: MiB } }],
    });
    base = `/v3/${t.adminProjectId}`;
  });
  after(async () => {
    await t?.close();
    if (!('skip' in made)) made.remove();
  });

  const put = async (id: string, offset: number, data: Buffer) => {
    const res = await fetch(`${t.url}${base}/volumes/${id}/cinderbox-data`, {
      method: 'PUT',
      headers: {
        'X-Auth-Token': t.adminToken,
        'Content-Type': 'application/octet-stream',
        'Content-Range': `bytes ${offset}-${offset + data.length - 1}/*`,
      },
      body: data,
    });
    assert.equal(res.status, 200, await res.text());
  };
  const sha = async (kind: 'volumes' | 'snapshots', id: string) => {
    const res = await fetch(`${t.url}${base}/${kind}/${id}/cinderbox-data`, { headers: { 'X-Auth-Token': t.adminToken } });
    assert.equal(res.status, 200);
    const h = createHash('sha256');
    for await (const c of res.body!) h.update(c);
    return h.digest('hex');
  };
  const call = (method: string, path: string, body?: unknown) => t.request(method, `${base}${path}`, { token: t.adminToken, body, mv: '3.40' });
  // Waits with room for a loaded 2-core machine and a busy shared monitor (each RBD snapshot is a mon commit).
  const LONG = 120_000;
  const statusOf = async (kind: 'volumes' | 'backups' | 'snapshots', id: string) => {
    const r = await call('GET', `/${kind}/${id}`);
    return r.status === 404 ? 'gone' : (r.body[kind.slice(0, -1)].status as string);
  };
  const until = async (kind: 'volumes' | 'backups' | 'snapshots', id: string, want: string) =>
    waitFor(async () => {
      const st = await statusOf(kind, id);
      if (st.startsWith('error') && !want.startsWith('error')) throw new Error(`${kind} ${id} went ${st}`);
      return st === want;
    }, `${kind} ${id} ${want}`, LONG);
  const newVolume = async (volume: Record<string, unknown>) => {
    const r = await call('POST', '/volumes', { volume });
    assert.equal(r.status, 202, r.text);
    await until('volumes', r.body.volume.id, 'available');
    return r.body.volume.id as string;
  };
  const backup = async (body: Record<string, unknown>) => {
    const r = await call('POST', '/backups', { backup: body });
    assert.equal(r.status, 202, r.text);
    await until('backups', r.body.backup.id, 'available');
    return r.body.backup.id as string;
  };
  const restore = async (id: string) => {
    const r = await call('POST', `/backups/${id}/restore`, { restore: {} });
    assert.equal(r.status, 202, r.text);
    await until('volumes', r.body.restore.volume_id, 'available');
    await until('backups', id, 'available');
    return r.body.restore.volume_id as string;
  };
  const readBytes = async (backupId: string) =>
    (await t.server.services.backups.repo.readManifest(`backups/${backupId}`)).header.stats.readBytes as number;

  it('uploads, snapshots, clones, backs up incrementally and restores byte for byte', async () => {
    const driver = t.server.services.drivers.get('ceph') as RbdVolumeDriver;
    const vol = await newVolume({ size: 1, name: 'rbd-src' });
    const conn = await call('POST', `/volumes/${vol}/action`, { 'os-initialize_connection': { connector: {} } });
    assert.equal(conn.status, 200, conn.text);
    assert.equal(conn.body.connection_info.driver_volume_type, 'rbd');
    assert.equal(conn.body.connection_info.data.name, `${pool}/volume-${vol}`);
    assert.equal(conn.body.connection_info.data.access_mode, 'rw');

    await put(vol, 0, randomBytes(3 * MiB));
    await put(vol, 600 * MiB + 123, randomBytes(MiB));
    await put(vol, GiB - 4096, randomBytes(4096));
    const v1 = await sha('volumes', vol);

    const snap = await call('POST', '/snapshots', { snapshot: { volume_id: vol, name: 's1' } });
    assert.equal(snap.status, 202, snap.text);
    const snapId = snap.body.snapshot.id as string;
    await until('snapshots', snapId, 'available');
    const clone = await newVolume({ size: 2, snapshot_id: snapId, name: 'rbd-clone' });
    const info = await driver.cli.json<{ parent?: { image: string } }>(['info', `${pool}/volume-${clone}`]);
    assert.equal(info.parent?.image, `volume-${vol}`, 'a volume from a snapshot is an RBD clone');

    const full = await backup({ volume_id: vol, name: 'full' });
    await until('volumes', vol, 'available');

    await put(vol, 200 * MiB, randomBytes(64 * 1024));
    const v2 = await sha('volumes', vol);
    const inc = await backup({ volume_id: vol, name: 'inc', incremental: true });
    assert.equal((await call('GET', `/backups/${inc}`)).body.backup.is_incremental, true);
    await until('volumes', vol, 'available');
    const read = await readBytes(inc);
    assert.ok(read > 0 && read <= 8 * MiB, `the incremental read ${read} bytes for 64 KiB changed`);

    const r1 = await restore(full);
    const r2 = await restore(inc);
    assert.equal(await sha('volumes', r1), v1, 'the full backup restores the volume at its time');
    assert.equal(await sha('volumes', r2), v2, 'the incremental restores the volume at its time');
    assert.equal(await sha('snapshots', snapId), v1, 'the snapshot kept its bytes');

    // Everything goes; the snapshot's clone is flattened on the way, so nothing is left in the pool.
    for (const id of [r1, r2, clone]) assert.equal((await call('DELETE', `/volumes/${id}`)).status, 202);
    assert.equal((await call('DELETE', `/snapshots/${snapId}`)).status, 202);
    await until('snapshots', snapId, 'gone');
    for (const id of [full, inc].reverse()) {
      assert.equal((await call('DELETE', `/backups/${id}`)).status, 202);
      await until('backups', id, 'gone');
    }
    assert.equal((await call('DELETE', `/volumes/${vol}`)).status, 202);
    for (const id of [vol, r1, r2, clone]) await until('volumes', id, 'gone');
    await waitFor(async () => (await driver.listObjects()).length === 0, 'pool empty', LONG);
  });

  it("reports the pool's ceph df capacity in get_pools, or the data directory's when the cluster reports none", async () => {
    const r = await call('GET', '/scheduler-stats/get_pools?detail=true');
    assert.equal(r.status, 200, r.text);
    const entry = (r.body.pools as { capabilities: Record<string, number | string> }[]).find((p) => p.capabilities.volume_backend_name === 'ceph');
    assert.ok(entry, r.text);
    // A loaded monitor now and then refuses a command outright ("problem getting command descriptions"): ask again.
    const cephDf = async (conf: string): Promise<string> => {
      for (let attempt = 1; ; attempt++) {
        try {
          return execFileSync('ceph', ['--conf', conf, 'df', '--format', 'json'], { encoding: 'utf8' });
        } catch (e) {
          if (attempt >= 5) throw e;
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    };
    const df = 'skip' in made ? null : poolCapacity(await cephDf(made.conf), pool);
    let expected: { total: number; free: number };
    if (df) expected = df;
    else {
      // No ceph-mgr in this cluster: the mon has no usage to report, so the backend shows the local figure.
      const fs = await statfs(t.dataDir);
      expected = { total: fs.blocks * fs.bsize, free: fs.bavail * fs.bsize };
    }
    const gib = (n: number) => n / 1024 ** 3;
    assert.ok(Math.abs(Number(entry.capabilities.total_capacity_gb) - gib(expected.total)) <= Math.max(0.02, gib(expected.total) * 0.05), JSON.stringify(entry));
    assert.ok(Number(entry.capabilities.free_capacity_gb) <= Number(entry.capabilities.total_capacity_gb));
  });

  it('lists images and snapshots for manage by their RBD names and manages them by renaming', async () => {
    const driver = t.server.services.drivers.get('ceph') as RbdVolumeDriver;
    const host = 'cinderbox@ceph#ceph';
    const mine = await newVolume({ size: 1, name: 'rbd-managed' });
    const legacy = `legacy-${Date.now()}`;
    const data = randomBytes(64 * 1024);
    await driver.cli.run(['create', '--size', `${GiB + MiB}B`, `${pool}/${legacy}`]);
    const { diffHeader, writeRecord, END_RECORD } = await import('./rbd-cli.js');
    await driver.cli.importDiff(`${pool}/${legacy}`, (async function* () {
      yield diffHeader();
      yield* writeRecord(MiB, data);
      yield END_RECORD;
    })());

    const list = await t.request('GET', `${base}/manageable_volumes/detail?host=${encodeURIComponent(host)}`, { token: t.adminToken, mv: '3.8' });
    assert.equal(list.status, 200, list.text);
    const byName = new Map<string, any>(list.body['manageable-volumes'].map((e: any) => [e.reference['source-name'], e]));
    assert.deepEqual(byName.get(legacy), {
      reference: { 'source-name': legacy }, size: 2, safe_to_manage: true, reason_not_safe: null, cinder_id: null, extra_info: null,
    });
    assert.equal(byName.get(`volume-${mine}`)?.cinder_id, mine);
    assert.equal(byName.get(`volume-${mine}`)?.safe_to_manage, false);

    const m = await t.request('POST', `${base}/os-volume-manage`, {
      token: t.adminToken,
      body: { volume: { host, ref: { 'source-name': legacy }, name: 'adopted' } },
    });
    assert.equal(m.status, 202, m.text);
    const adopted = m.body.volume.id as string;
    await until('volumes', adopted, 'available');
    assert.equal(await driver.inspectObject(legacy), null, 'the image was renamed');
    const res = await fetch(`${t.url}${base}/volumes/${adopted}/cinderbox-data`, {
      headers: { 'X-Auth-Token': t.adminToken, Range: `bytes=${MiB}-${MiB + data.length - 1}` },
    });
    assert.equal(res.status, 206);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), data);

    // A snapshot unmanaged, listed by its RBD snapshot name, managed back.
    const snap = await call('POST', '/snapshots', { snapshot: { volume_id: adopted, name: 'to-unmanage' } });
    const snapId = snap.body.snapshot.id as string;
    await until('snapshots', snapId, 'available');
    assert.equal((await call('POST', `/snapshots/${snapId}/action`, { 'os-unmanage': null })).status, 202);
    await until('snapshots', snapId, 'gone');
    const snaps = await t.request('GET', `${base}/manageable_snapshots/detail?host=${encodeURIComponent(host)}`, { token: t.adminToken, mv: '3.8' });
    assert.equal(snaps.status, 200, snaps.text);
    const entry = snaps.body['manageable-snapshots'].find((e: any) => e.reference['source-name'] === `snapshot-${snapId}`);
    assert.equal(entry?.safe_to_manage, true, JSON.stringify(snaps.body));
    const ms = await t.request('POST', `${base}/os-snapshot-manage`, {
      token: t.adminToken,
      body: { snapshot: { volume_id: adopted, ref: { 'source-name': `snapshot-${snapId}` }, name: 'back' } },
    });
    assert.equal(ms.status, 202, ms.text);
    const back = ms.body.snapshot.id as string;
    await until('snapshots', back, 'available');
    assert.equal(await sha('snapshots', back), await sha('volumes', adopted));

    assert.equal((await call('DELETE', `/snapshots/${back}`)).status, 202);
    await until('snapshots', back, 'gone');
    for (const id of [adopted, mine]) assert.equal((await call('DELETE', `/volumes/${id}`)).status, 202);
    for (const id of [adopted, mine]) await until('volumes', id, 'gone');
    await waitFor(async () => (await driver.listObjects()).length === 0, 'pool empty', LONG);
  });
});
