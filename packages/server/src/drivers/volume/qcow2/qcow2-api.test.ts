/**
 * The qcow2 driver behind the API: many snapshots of one volume from parallel clients are all accepted, all become
 * available and each still reads the volume's bytes; deleting snapshots of an attached volume keeps the others.
 * CINDERBOX_SNAPSHOT_STRESS_COUNT sets how many (default 100 to keep CI short; the figure is 1000).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_QUOTAS } from '../../../config/config.js';
import { startTestServer, type TestServer, waitFor } from '../../../test-support/harness.js';
import { pattern } from '../conformance.js';
import { probeQemuImg } from './qemu.js';

const COUNT = Number(process.env.CINDERBOX_SNAPSHOT_STRESS_COUNT ?? 100);
const CLIENTS = 16;
const qemu = probeQemuImg();

describe('qcow2 volumes through the API', { skip: qemu.available ? false : qemu.detail }, () => {
  let t: TestServer;
  let base: string;
  before(async () => {
    t = await startTestServer({
      backends: [{ name: 'qcow2', driver: 'qcow2', pool: 'qcow2' }],
      quotaDefaults: { ...DEFAULT_QUOTAS, snapshots: -1, gigabytes: -1 },
    });
    base = `/v3/${t.adminProjectId}`;
  });
  after(async () => {
    await t?.close();
  });

  const call = (method: string, path: string, body?: unknown, mv = '3.40') =>
    t.request(method, `${base}${path}`, { token: t.adminToken, body, mv });

  async function download(kind: 'volumes' | 'snapshots', id: string, range: string): Promise<Buffer> {
    const res = await fetch(`${t.url}${base}/${kind}/${id}/cinderbox-data`, {
      headers: { 'X-Auth-Token': t.adminToken, Range: range },
    });
    assert.equal(res.status, 206, `download of ${kind} ${id}`);
    return Buffer.from(await res.arrayBuffer());
  }

  async function newVolume(): Promise<string> {
    const v = await call('POST', '/volumes', { volume: { size: 1, name: 'qcow2-api' } });
    assert.equal(v.status, 202, v.text);
    const id = v.body.volume.id as string;
    await waitFor(async () => (await call('GET', `/volumes/${id}`)).body.volume.status === 'available', 'volume available');
    return id;
  }

  async function snapshotsAvailable(ids: string[]): Promise<void> {
    await waitFor(
      async () => {
        const list = await call('GET', '/snapshots?limit=5000');
        const status = new Map<string, string>(list.body.snapshots.map((s: { id: string; status: string }) => [s.id, s.status]));
        const bad = ids.filter((id) => status.get(id) === 'error');
        assert.deepEqual(bad, [], 'snapshots in error');
        return ids.every((id) => status.get(id) === 'available');
      },
      `${ids.length} snapshots available`,
      120_000,
    );
  }

  it(`takes ${COUNT} snapshots of one volume from ${CLIENTS} parallel clients; each is available and readable`, async () => {
    const vol = await newVolume();
    const data = pattern(64 * 1024, 7);
    const up = await t.request('PUT', `${base}/volumes/${vol}/cinderbox-data`, {
      token: t.adminToken,
      rawBody: data,
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    assert.ok(up.status >= 200 && up.status < 300, up.text);
    const conn = await call('POST', `/volumes/${vol}/action`, { 'os-initialize_connection': { connector: { host: 'h' } } });
    assert.equal(conn.body.connection_info.data.format, 'qcow2');
    const devicePath = conn.body.connection_info.data.device_path as string;

    const ids: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (next < COUNT) {
          next++;
          const r = await call('POST', '/snapshots', { snapshot: { volume_id: vol, name: `s${next}` } });
          assert.equal(r.status, 202, r.text);
          ids.push(r.body.snapshot.id);
        }
      }),
    );
    assert.equal(ids.length, COUNT);
    await snapshotsAvailable(ids);
    assert.equal((await call('GET', `/volumes/${vol}`)).body.volume.status, 'available');
    // Every snapshot reads the bytes; the device path still reaches the live volume.
    for (const id of ids) assert.ok((await download('snapshots', id, 'bytes=0-4095')).equals(data.subarray(0, 4096)), id);
    const again = await call('POST', `/volumes/${vol}/action`, { 'os-initialize_connection': { connector: { host: 'h' } } });
    assert.equal(again.body.connection_info.data.device_path, devicePath);
    assert.ok((await download('volumes', vol, 'bytes=0-65535')).equals(data));
  });

  it('concurrent creates on several volumes, in waves between writes: each snapshot holds its own wave\'s bytes', async () => {
    const vols = [await newVolume(), await newVolume(), await newVolume()];
    const waves: { seed: number; snaps: Map<string, string> }[] = [];
    for (const seed of [11, 12, 13]) {
      for (const [i, vol] of vols.entries()) {
        const up = await t.request('PUT', `${base}/volumes/${vol}/cinderbox-data`, {
          token: t.adminToken,
          rawBody: pattern(64 * 1024, seed * 10 + i),
          headers: { 'Content-Type': 'application/octet-stream' },
        });
        assert.ok(up.status >= 200 && up.status < 300, up.text);
      }
      // Twelve at once, four per volume: the driver takes each volume's four in one batch.
      const snaps = new Map<string, string>();
      await Promise.all(
        Array.from({ length: 12 }, async (_, k) => {
          const vol = vols[k % vols.length]!;
          const s = await call('POST', '/snapshots', { snapshot: { volume_id: vol, force: true } });
          assert.equal(s.status, 202, s.text);
          snaps.set(s.body.snapshot.id as string, vol);
        }),
      );
      await snapshotsAvailable([...snaps.keys()]);
      waves.push({ seed, snaps });
    }
    for (const { seed, snaps } of waves) {
      for (const [id, vol] of snaps) {
        const i = vols.indexOf(vol);
        assert.deepEqual(await download('snapshots', id, 'bytes=0-65535'), pattern(64 * 1024, seed * 10 + i), `snapshot ${id} of wave ${seed}`);
      }
    }
    for (const [i, vol] of vols.entries()) assert.deepEqual(await download('volumes', vol, 'bytes=0-65535'), pattern(64 * 1024, 130 + i));
  });

  it('deleting the newest, an older and the only snapshot of an attached volume keeps the rest', async () => {
    const vol = await newVolume();
    const snaps: string[] = [];
    const contents: Buffer[] = [];
    for (let i = 0; i < 4; i++) {
      const bytes = pattern(4096, 20 + i);
      const up = await t.request('PUT', `${base}/volumes/${vol}/cinderbox-data`, {
        token: t.adminToken,
        rawBody: bytes,
        headers: { 'Content-Type': 'application/octet-stream' },
      });
      assert.ok(up.status < 300, up.text);
      const r = await call('POST', '/snapshots', { snapshot: { volume_id: vol } });
      assert.equal(r.status, 202, r.text);
      snaps.push(r.body.snapshot.id);
      contents.push(bytes);
      await snapshotsAvailable([r.body.snapshot.id]);
    }
    const att = await call('POST', `/volumes/${vol}/action`, {
      'os-attach': { instance_uuid: '3f2b8e1c-52a4-4b44-9d5e-0e6a3d9c1a11', mountpoint: '/dev/vdb' },
    });
    assert.equal(att.status, 202, att.text);
    const del = async (i: number) => {
      const id = snaps[i]!;
      assert.equal((await call('DELETE', `/snapshots/${id}`)).status, 202);
      await waitFor(async () => (await call('GET', `/snapshots/${id}`)).status === 404, `snapshot ${i} deleted`);
    };
    const check = async (alive: number[]) => {
      for (const i of alive) assert.ok((await download('snapshots', snaps[i]!, 'bytes=0-4095')).equals(contents[i]!), `snapshot ${i}`);
      assert.ok((await download('volumes', vol, 'bytes=0-4095')).equals(contents[3]!), 'volume');
    };
    await del(3); // newest
    await check([0, 1, 2]);
    await del(0); // oldest
    await check([1, 2]);
    await del(1);
    await check([2]);
    await del(2); // the only one
    await check([]);
    assert.equal((await call('GET', `/volumes/${vol}`)).body.volume.status, 'in-use');
  });

  it('backs up a qcow2 volume and restores its bytes into a new volume', async () => {
    const vol = await newVolume();
    const data = pattern(256 * 1024, 31);
    const up = await t.request('PUT', `${base}/volumes/${vol}/cinderbox-data`, {
      token: t.adminToken,
      rawBody: data,
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    assert.ok(up.status < 300, up.text);
    const b = await call('POST', '/backups', { backup: { volume_id: vol, name: 'q' } });
    assert.equal(b.status, 202, b.text);
    const backupId = b.body.backup.id as string;
    await waitFor(async () => {
      const r = await call('GET', `/backups/${backupId}`);
      assert.notEqual(r.body.backup.status, 'error', r.body.backup.fail_reason);
      return r.body.backup.status === 'available';
    }, 'backup available', 60_000);
    const r = await call('POST', `/backups/${backupId}/restore`, { restore: {} });
    assert.equal(r.status, 202, r.text);
    const target = r.body.restore.volume_id as string;
    await waitFor(async () => {
      const v = await call('GET', `/volumes/${target}`);
      assert.notEqual(v.body.volume.status, 'error_restoring');
      return v.body.volume.status === 'available';
    }, 'restored volume available', 60_000);
    assert.ok((await download('volumes', target, `bytes=0-${data.length - 1}`)).equals(data));
    assert.ok((await download('volumes', target, 'bytes=1048576-1052671')).equals(Buffer.alloc(4096)));
  });
});
