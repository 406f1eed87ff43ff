/**
 * A server whose whole data directory (SQLite metadata, volumes, backup repository) sits on a small ext4 filesystem
 * that the test fills to the last block. Every operation must then fail cleanly — no 5xx other than the 503
 * out-of-space answer in its API's dialect, every record in a usable status, no temporaries left — and, once the
 * filler is gone, the same operations must succeed with byte-exact data. Raw and qcow2 backends.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { probeQemuImg } from '../../drivers/volume/qcow2/qemu.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer, waitFor } from '../../test-support/harness.js';
import type { TestResponse } from '../../test-support/http.js';
import { mountSmallFs, type SmallFs } from './small-fs.js';

const MiB = 1024 * 1024;
/** More than the metadata reserve below, so a write still fails after the reserve was handed back to the disk. */
const DATA = 16 * MiB;
const RESERVE = 2 * MiB;
const qemu = probeQemuImg();
const onPostgres = Boolean(process.env.CINDERBOX_TEST_DATABASE_URL);

const SETTLED_VOLUME = ['available', 'error', 'error_restoring', 'error_extending', 'in-use'];
const SETTLED_BACKUP = ['available', 'error'];
const SETTLED_SNAPSHOT = ['available', 'error'];

/** A 5xx may only be the out-of-space answer, in the dialect of the API that gave it. */
function assertClean(res: TestResponse, dialect: 'cinder' | 'keystone' | 'cbr', what: string): void {
  if (res.status < 500) return;
  assert.equal(res.status, 503, `${what}: ${res.status} ${res.text}`);
  if (dialect === 'cinder') {
    assert.equal(res.body?.serviceUnavailable?.code, 503, `${what}: ${res.text}`);
    assert.match(res.body.serviceUnavailable.message, /is out of space\. Free space or extend it, then retry\./, what);
  } else if (dialect === 'keystone') {
    assert.deepEqual(Object.keys(res.body?.error ?? {}).sort(), ['code', 'message', 'title'], `${what}: ${res.text}`);
    assert.equal(res.body.error.title, 'Service Unavailable');
    assert.match(res.body.error.message, /is out of space/, what);
  } else {
    assert.equal(res.body?.error_code, 'BackupService.6114', `${what}: ${res.text}`);
    assert.match(res.body.error_msg, /is out of space/, what);
  }
}

/** Files a failed operation could have left behind: driver temporaries, object store temporaries, reserve temporaries. */
async function temporaries(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && (e.name.startsWith('.tmp-') || e.name.endsWith('.tmp'))) out.push(join(e.parentPath, e.name));
  }
  return out;
}

for (const driver of ['raw', 'qcow2'] as const) {
  const mounted = driver === 'qcow2' && !qemu.available ? { skipped: qemu.detail } : await mountSmallFs(256);
  const skip = 'skipped' in mounted ? mounted.skipped : false;
  if (skip) console.log(`# full-disk tests on ${driver} skipped: ${skip}`);

  describe(`a full disk on the ${driver} backend`, { skip }, () => {
    const fs = mounted as SmallFs;
    let t: TestServer;
    let base: string;
    const call = (method: string, path: string, body?: unknown) => t.request(method, `${base}${path}`, { token: t.adminToken, body, mv: '3.40' });
    const cbrCall = (method: string, path: string, body?: unknown) =>
      t.request(method, `/cbr/v3/${t.adminProjectId}${path}`, { token: t.adminToken, body });

    async function upload(id: string, data: Buffer): Promise<TestResponse> {
      const r = await fetch(`${t.url}${base}/volumes/${id}/cinderbox-data`, {
        method: 'PUT',
        headers: { 'X-Auth-Token': t.adminToken, 'Content-Type': 'application/octet-stream' },
        body: data,
      });
      const text = await r.text();
      return { status: r.status, headers: r.headers, text, body: text ? JSON.parse(text) : null };
    }

    async function download(id: string, length: number): Promise<Buffer> {
      const r = await fetch(`${t.url}${base}/volumes/${id}/cinderbox-data`, {
        headers: { 'X-Auth-Token': t.adminToken, Range: `bytes=0-${length - 1}` },
      });
      assert.equal(r.status, 206, `download of ${id}`);
      return Buffer.from(await r.arrayBuffer());
    }

    async function settled(kind: 'volumes' | 'snapshots' | 'backups', id: string, statuses: string[]) {
      const key = kind.slice(0, -1);
      return waitFor(
        async () => {
          const r = await call('GET', `/${kind}/${id}`);
          assert.equal(r.status, 200, r.text);
          return statuses.includes(r.body[key].status) ? r.body[key] : null;
        },
        `${key} ${id} settled`,
        60_000,
      );
    }

    async function newVolume(name: string): Promise<string> {
      const r = await call('POST', '/volumes', { volume: { size: 1, name } });
      assert.equal(r.status, 202, r.text);
      const v = await settled('volumes', r.body.volume.id, SETTLED_VOLUME);
      assert.equal(v.status, 'available');
      return v.id;
    }

    async function backupOf(volumeId: string): Promise<TestResponse> {
      return call('POST', '/backups', { backup: { volume_id: volumeId, name: 'fd' } });
    }

    async function checkpointOf(vaultId: string): Promise<TestResponse> {
      return cbrCall('POST', '/checkpoints', { checkpoint: { vault_id: vaultId, parameters: {} } });
    }

    /** Every record of every kind settled (nothing in a transitional status) and nothing temporary on disk. */
    async function assertUsable(): Promise<void> {
      await t.server.tasks.idle();
      const vols = (await call('GET', '/volumes/detail')).body.volumes as Array<{ id: string; status: string }>;
      for (const v of vols) assert.ok(SETTLED_VOLUME.includes(v.status), `volume ${v.id} left ${v.status}`);
      const snaps = (await call('GET', '/snapshots/detail')).body.snapshots as Array<{ id: string; status: string }>;
      for (const s of snaps) assert.ok(SETTLED_SNAPSHOT.includes(s.status), `snapshot ${s.id} left ${s.status}`);
      const backups = (await call('GET', '/backups/detail')).body.backups as Array<{ id: string; status: string; fail_reason: string | null }>;
      for (const b of backups) {
        assert.ok(SETTLED_BACKUP.includes(b.status), `backup ${b.id} left ${b.status}`);
        if (b.status === 'error') assert.match(String(b.fail_reason), /out of space|interrupted/, `backup ${b.id} reason`);
      }
      assert.deepEqual(await temporaries(t.dataDir), [], 'temporaries left');
    }

    let vol: string;
    let content: Buffer;
    let backup: string;
    let vault: string;
    let snapshot: string;
    before(async () => {
      t = await startTestServer(
        {
          backends: [{ name: driver, driver, pool: driver }],
          // On the PostgreSQL pass the metadata lives on the database server's disk: only the data directory fills.
          ...(onPostgres ? {} : { database: { kind: 'sqlite' as const, reserveBytes: RESERVE } }),
        },
        fs.mountPoint,
      );
      base = `/v3/${t.adminProjectId}`;
      vol = await newVolume('fd-source');
      content = randomBytes(DATA);
      const up = await upload(vol, content);
      assert.equal(up.status < 300, true, up.text);
      await settled('volumes', vol, ['available']);
      const b = await backupOf(vol);
      assert.equal(b.status, 202, b.text);
      backup = b.body.backup.id;
      assert.equal((await settled('backups', backup, SETTLED_BACKUP)).status, 'available');
      await settled('volumes', vol, ['available']);
      const sn = await call('POST', '/snapshots', { snapshot: { volume_id: vol, name: 'fd-base' } });
      assert.equal(sn.status, 202, sn.text);
      snapshot = sn.body.snapshot.id;
      assert.equal((await settled('snapshots', snapshot, SETTLED_SNAPSHOT)).status, 'available');
      const v = await cbrCall('POST', '/vaults', {
        vault: {
          name: 'fd',
          billing: { consistent_level: 'crash_consistent', object_type: 'disk', protect_type: 'backup', size: 10 },
          resources: [{ id: vol, type: 'OS::Cinder::Volume' }],
        },
      });
      assert.equal(v.status, 200, v.text);
      vault = v.body.vault.id;
      await fs.fill();
    });
    after(async () => {
      try {
        await t?.close({ keepData: true });
      } finally {
        await fs.release();
      }
    });

    test('on the full disk every operation fails cleanly and leaves its records usable', async () => {
      const token = await t.request('POST', '/identity/v3/auth/tokens', {
        body: {
          auth: {
            identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: ADMIN_PASSWORD } } },
            scope: { project: { name: 'admin', domain: { id: 'default' } } },
          },
        },
      });
      assertClean(token, 'keystone', 'token issue');
      // A token issued before the disk filled keeps working.
      assert.equal((await call('GET', `/volumes/${vol}`)).status, 200);

      // Twice what the volume holds: the second half needs new blocks (the first overwrites allocated ones in raw).
      const up = await upload(vol, randomBytes(2 * DATA));
      assertClean(up, 'cinder', 'upload');
      assert.equal(up.status, 503, `an upload that cannot fit is refused: ${up.text}`);
      assert.equal((await settled('volumes', vol, SETTLED_VOLUME)).status, 'available');

      const created = await call('POST', '/volumes', { volume: { size: 1, name: 'fd-new' } });
      assertClean(created, 'cinder', 'volume create');
      const clone = await call('POST', '/volumes', { volume: { size: 1, name: 'fd-clone', source_volid: vol } });
      assertClean(clone, 'cinder', 'volume clone');
      const fromSnap = await call('POST', '/volumes', { volume: { size: 1, name: 'fd-from-snap', snapshot_id: snapshot } });
      assertClean(fromSnap, 'cinder', 'volume from snapshot');
      if (fromSnap.status === 202) {
        const c = await settled('volumes', fromSnap.body.volume.id, SETTLED_VOLUME);
        assert.equal(c.status, 'error', 'a volume from a 16 MiB snapshot on a full disk');
      }
      assert.equal((await settled('snapshots', snapshot, SETTLED_SNAPSHOT)).status, 'available');
      const snap = await call('POST', '/snapshots', { snapshot: { volume_id: vol, name: 'fd-snap' } });
      assertClean(snap, 'cinder', 'snapshot create');
      if (snap.status === 202) {
        const done = await settled('snapshots', snap.body.snapshot.id, SETTLED_SNAPSHOT);
        if (done.status === 'error') {
          const del = await call('DELETE', `/snapshots/${done.id}`);
          assertClean(del, 'cinder', 'snapshot delete');
          assert.equal(del.status, 202, del.text);
          await waitFor(async () => (await call('GET', `/snapshots/${done.id}`)).status === 404, 'snapshot deleted', 60_000);
        }
      }
      const renamed = await call('PUT', `/volumes/${vol}`, { volume: { name: 'fd-renamed', description: 'x'.repeat(200) } });
      assertClean(renamed, 'cinder', 'volume update');
      if (clone.status === 202) {
        const c = await settled('volumes', clone.body.volume.id, SETTLED_VOLUME);
        // A raw clone copies the data, which cannot fit; a qcow2 clone converts it, which cannot either.
        assert.equal(c.status, 'error', 'a clone of 16 MiB on a full disk');
      }
      if (created.status === 202) await settled('volumes', created.body.volume.id, SETTLED_VOLUME);
      await settled('volumes', vol, SETTLED_VOLUME);

      const ext = await call('POST', `/volumes/${vol}/action`, { 'os-extend': { new_size: 2 } });
      assertClean(ext, 'cinder', 'extend');
      await settled('volumes', vol, SETTLED_VOLUME);

      const b = await backupOf(vol);
      assertClean(b, 'cinder', 'backup create');
      if (b.status === 202) {
        const done = await settled('backups', b.body.backup.id, SETTLED_BACKUP);
        assert.equal(done.status, 'error', 'a backup of 16 MiB new data on a full disk');
        assert.match(done.fail_reason, /is out of space/);
      }
      await settled('volumes', vol, SETTLED_VOLUME);

      const restore = await call('POST', `/backups/${backup}/restore`, { restore: { name: 'fd-restored' } });
      assertClean(restore, 'cinder', 'restore');
      if (restore.status === 202) {
        const target = await settled('volumes', restore.body.restore.volume_id, SETTLED_VOLUME);
        assert.equal(target.status, 'error', 'a restore of 16 MiB on a full disk');
      }
      assert.equal((await settled('backups', backup, SETTLED_BACKUP)).status, 'available');

      const cp = await checkpointOf(vault);
      assertClean(cp, 'cbr', 'CBR checkpoint');
      if (cp.status === 200) {
        await waitFor(async () => {
          const r = await cbrCall('GET', `/checkpoints/${cp.body.checkpoint.id}`);
          return ['available', 'error'].includes(r.body?.checkpoint?.status);
        }, 'checkpoint settled', 60_000);
        const list = await cbrCall('GET', `/backups?checkpoint_id=${cp.body.checkpoint.id}`);
        assert.equal(list.status, 200, list.text);
        for (const b of list.body.backups as Array<{ id: string; status: string; extend_info?: { error_code?: string; error_message?: string } }>) {
          assert.ok(['available', 'error'].includes(b.status), `CBR backup ${b.id} left ${b.status}`);
          if (b.status === 'error') {
            assert.equal(b.extend_info?.error_code, 'BackupService.6114', `CBR backup ${b.id}`);
            assert.match(String(b.extend_info?.error_message), /is out of space/);
          }
        }
      }
      await settled('volumes', vol, SETTLED_VOLUME);

      // Deleting is how an operator makes room: it must work on a full disk.
      if (created.status === 202) {
        const del = await call('DELETE', `/volumes/${created.body.volume.id}`);
        assertClean(del, 'cinder', 'volume delete');
        assert.equal(del.status, 202, del.text);
        await waitFor(async () => (await call('GET', `/volumes/${created.body.volume.id}`)).status === 404, 'volume deleted', 60_000);
      }
      await assertUsable();
      // The source stays readable (a raw upload that failed part-way has written its first part in place).
      assert.equal((await download(vol, DATA)).length, DATA);
    });

    test('once space is freed the same operations succeed and the data is byte-exact', async () => {
      await fs.unfill();
      const data = randomBytes(DATA);
      const up = await upload(vol, data);
      assert.ok(up.status < 300, up.text);
      assert.ok(data.equals(await download(vol, DATA)), 'upload read back');

      const snap = await call('POST', '/snapshots', { snapshot: { volume_id: vol, name: 'fd-snap-2' } });
      assert.equal(snap.status, 202, snap.text);
      assert.equal((await settled('snapshots', snap.body.snapshot.id, SETTLED_SNAPSHOT)).status, 'available');

      const created = await newVolume('fd-after');
      const ext = await call('POST', `/volumes/${created}/action`, { 'os-extend': { new_size: 2 } });
      assert.equal(ext.status, 202, ext.text);
      assert.equal((await settled('volumes', created, SETTLED_VOLUME)).size, 2);

      const b = await backupOf(vol);
      assert.equal(b.status, 202, b.text);
      assert.equal((await settled('backups', b.body.backup.id, SETTLED_BACKUP)).status, 'available');
      await settled('volumes', vol, ['available']);

      const restore = await call('POST', `/backups/${b.body.backup.id}/restore`, { restore: { name: 'fd-restored-2' } });
      assert.equal(restore.status, 202, restore.text);
      const target = restore.body.restore.volume_id as string;
      assert.equal((await settled('volumes', target, SETTLED_VOLUME)).status, 'available');
      assert.ok(data.equals(await download(target, DATA)), 'restore read back');

      const cp = await checkpointOf(vault);
      assert.equal(cp.status, 200, cp.text);
      const done = await waitFor(async () => {
        const r = await cbrCall('GET', `/checkpoints/${cp.body.checkpoint.id}`);
        return ['available', 'error'].includes(r.body?.checkpoint?.status) ? r.body.checkpoint : null;
      }, 'checkpoint settled', 60_000);
      assert.equal(done.status, 'available');

      const del = await call('DELETE', `/volumes/${created}`);
      assert.equal(del.status, 202, del.text);
      await waitFor(async () => (await call('GET', `/volumes/${created}`)).status === 404, 'volume deleted', 60_000);
      await assertUsable();
    });
  });
}
