import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer, waitFor } from '../../test-support/harness.js';
import { assertFault, BackupApi, MiB, type Who } from './test-support/backup-api.js';

let t: TestServer;
let api: BackupApi;
let admin: Who;
let alice: Who;
let bob: Who;

const BASE_DETAIL = [
  'availability_zone',
  'container',
  'created_at',
  'data_timestamp',
  'description',
  'fail_reason',
  'has_dependent_backups',
  'id',
  'is_incremental',
  'links',
  'name',
  'object_count',
  'size',
  'snapshot_id',
  'status',
  'updated_at',
  'volume_id',
];

before(async () => {
  t = await startTestServer({ backends: [{ name: 'raw', driver: 'raw', pool: 'raw' }] }); // raw files inspected directly
  api = new BackupApi(t);
  admin = { token: t.adminToken, projectId: t.adminProjectId };
  alice = await t.createMember('alice');
  bob = await t.createMember('bob');
  const q = await t.request('PUT', `/v3/${admin.projectId}/os-quota-sets/${alice.projectId}`, {
    token: admin.token,
    body: { quota_set: { volumes: 100, backups: 100 } },
  });
  assert.equal(q.status, 200, q.text);
});
after(async () => t.close());

async function manifests(): Promise<string[]> {
  const out: string[] = [];
  const root = join(t.dataDir, 'repo', 'backups');
  for (const c of await readdir(root).catch(() => [])) {
    for (const f of await readdir(join(root, c))) out.push(`${c}/${f}`);
  }
  return out;
}

describe('backup and restore round trips', () => {
  test('a full backup restores byte-exact into a new volume that gets the source metadata and bootable flag', async () => {
    const vol = await api.volume(alice, { size: 1, name: 'src', metadata: { app: 'db', tier: 'gold' } });
    await api.fill(alice, vol);
    const boot = await t.request('POST', `/v3/${alice.projectId}/volumes/${vol}/action`, {
      token: alice.token,
      body: { 'os-set_bootable': { bootable: true } },
    });
    assert.equal(boot.status, 200, boot.text);
    const source = await api.sha(alice, vol);
    const id = await api.backup(alice, { volume_id: vol, name: 'full-1', description: 'first' });
    const b = await api.backupStatus(alice, id, 'available');
    assert.equal(b.size, 1);
    assert.equal(b.object_count, 4, 'four 4 MiB chunks hold data, the rest are holes');
    assert.equal(b.is_incremental, false);
    assert.equal(b.container, 'backups');
    assert.equal((await api.volumeStatus(alice, vol, 'available')).status, 'available');
    const restored = await api.restore(alice, id);
    assert.equal(await api.sha(alice, restored), source);
    const rv = (await t.request('GET', `/v3/${alice.projectId}/volumes/${restored}`, { token: alice.token })).body
      .volume;
    assert.equal(rv.name, `restore_backup_${id}`);
    assert.equal(rv.size, 1);
    assert.equal(rv.bootable, 'true');
    assert.deepEqual(rv.metadata, { app: 'db', tier: 'gold', src_backup_id: id });
  });

  test('restore into an existing volume full of other bytes leaves exactly the backup (zeros included)', async () => {
    const src = await api.volume(alice);
    await api.write(alice, src, [[7 * MiB, Buffer.alloc(64 * 1024, 0x11)]]);
    const id = await api.backup(alice, { volume_id: src });
    await api.backupStatus(alice, id, 'available');
    const target = await api.volume(alice, { size: 1, metadata: { own: 'x' } });
    await api.write(alice, target, [
      [0, randomBytes(12 * MiB)],
      [900 * MiB, randomBytes(2 * MiB)],
    ]);
    const r = await t.request('POST', `/v3/${alice.projectId}/backups/${id}/restore`, {
      token: alice.token,
      body: { restore: { volume_id: target } },
    });
    assert.equal(r.status, 202, r.text);
    assert.deepEqual(r.body.restore, { backup_id: id, volume_id: target, volume_name: '' });
    await api.volumeStatus(alice, target, 'available');
    await api.backupStatus(alice, id, 'available');
    assert.equal(await api.sha(alice, target), await api.sha(alice, src));
    const tv = (await t.request('GET', `/v3/${alice.projectId}/volumes/${target}`, { token: alice.token })).body.volume;
    assert.deepEqual(tv.metadata, { own: 'x', src_backup_id: id });
  });

  test('an incremental backup names its parent, blocks the parent delete, and restores the newer bytes', async () => {
    const vol = await api.volume(alice);
    await api.fill(alice, vol);
    const full = await api.backup(alice, { volume_id: vol, name: 'base' });
    const fb = await api.backupStatus(alice, full, 'available');
    await api.write(alice, vol, [[600 * MiB, randomBytes(MiB)]]);
    const changed = await api.sha(alice, vol);
    const inc = await api.backup(alice, { volume_id: vol, incremental: true, name: 'inc' });
    const ib = await api.backupStatus(alice, inc, 'available');
    assert.equal(ib.is_incremental, true);
    assert.equal(ib.object_count, fb.object_count + 1);
    const parent = (await t.request('GET', `/v3/${alice.projectId}/backups/${full}`, { token: alice.token })).body
      .backup;
    assert.equal(parent.has_dependent_backups, true);
    assertFault(
      await t.request('DELETE', `/v3/${alice.projectId}/backups/${full}`, { token: alice.token }),
      400,
      /Incremental backups exist for this backup/,
    );
    assertFault(
      await t.request('POST', `/v3/${admin.projectId}/backups/${full}/action`, {
        token: admin.token,
        body: { 'os-force_delete': {} },
      }),
      400,
      /Incremental backups exist/,
    );
    const restored = await api.restore(alice, inc);
    assert.equal(await api.sha(alice, restored), changed);
    // Children first, then the parent.
    assert.equal((await t.request('DELETE', `/v3/${alice.projectId}/backups/${inc}`, { token: alice.token })).status, 202);
    await api.gone(alice, `/backups/${inc}`);
    assert.equal((await t.request('DELETE', `/v3/${alice.projectId}/backups/${full}`, { token: alice.token })).status, 202);
    await api.gone(alice, `/backups/${full}`);
  });

  test('an incremental backup of a volume without an available backup is refused', async () => {
    const vol = await api.volume(alice);
    assertFault(
      await t.request('POST', `/v3/${alice.projectId}/backups`, {
        token: alice.token,
        body: { backup: { volume_id: vol, incremental: true } },
      }),
      400,
      /No backups available to do an incremental backup/,
    );
    assert.equal((await api.volumeStatus(alice, vol, 'available')).status, 'available');
  });

  test('a backup of a snapshot holds the snapshot bytes, not the later volume bytes', async () => {
    const vol = await api.volume(alice);
    await api.fill(alice, vol);
    const atSnapshot = await api.sha(alice, vol);
    const s = await t.request('POST', `/v3/${alice.projectId}/snapshots`, {
      token: alice.token,
      body: { snapshot: { volume_id: vol } },
    });
    const snapId = s.body.snapshot.id as string;
    await waitFor(
      async () =>
        (await t.request('GET', `/v3/${alice.projectId}/snapshots/${snapId}`, { token: alice.token })).body.snapshot
          .status === 'available',
      'snapshot',
    );
    await api.write(alice, vol, [[0, randomBytes(MiB)]]);
    const id = await api.backup(alice, { volume_id: vol, snapshot_id: snapId });
    const b = await api.backupStatus(alice, id, 'available');
    assert.equal(b.snapshot_id, snapId);
    const snap = await t.request('GET', `/v3/${alice.projectId}/snapshots/${snapId}`, { token: alice.token });
    assert.equal(snap.body.snapshot.status, 'available');
    assert.equal(await api.sha(alice, await api.restore(alice, id)), atSnapshot);
    // A snapshot of another volume does not match.
    const other = await api.volume(alice);
    assertFault(
      await t.request('POST', `/v3/${alice.projectId}/backups`, {
        token: alice.token,
        body: { backup: { volume_id: other, snapshot_id: snapId } },
      }),
      400,
      /does not match with snapshot.volume_id/,
    );
  });

  test('an in-use volume needs force, and goes back to in-use after the backup', async () => {
    const vol = await api.volume(alice);
    await api.fill(alice, vol);
    const att = await t.request('POST', `/v3/${alice.projectId}/volumes/${vol}/action`, {
      token: alice.token,
      body: { 'os-attach': { instance_uuid: randomUUID(), mountpoint: '/dev/vdb' } },
    });
    assert.equal(att.status, 202, att.text);
    assertFault(
      await t.request('POST', `/v3/${alice.projectId}/backups`, {
        token: alice.token,
        body: { backup: { volume_id: vol } },
      }),
      400,
      /must use the force flag/,
    );
    const id = await api.backup(alice, { volume_id: vol, force: true });
    await api.backupStatus(alice, id, 'available');
    assert.equal((await api.volumeStatus(alice, vol, 'in-use')).status, 'in-use');
    // Restoring into an in-use volume is refused.
    assertFault(
      await t.request('POST', `/v3/${alice.projectId}/backups/${id}/restore`, {
        token: alice.token,
        body: { restore: { volume_id: vol } },
      }),
      400,
      /must be available/,
    );
    assert.equal(await api.sha(alice, await api.restore(alice, id)), await api.sha(alice, vol));
  });

  test('once a backup shows available its volume is free again: back-to-back backups need no wait', async () => {
    const vol = await api.volume(alice);
    for (let i = 0; i < 5; i++) {
      const id = await api.backup(alice, { volume_id: vol, name: `chain-${i}`, incremental: i > 0 });
      // Polled without pause and the volume read right after, so a gap between the two commits shows up.
      for (;;) {
        const b = await t.request('GET', `/v3/${alice.projectId}/backups/${id}`, { token: alice.token });
        assert.notEqual(b.body.backup.status, 'error', b.body.backup.fail_reason);
        if (b.body.backup.status === 'available') break;
      }
      // Cinder frees the volume before it reports the backup.
      const v = await t.request('GET', `/v3/${alice.projectId}/volumes/${vol}`, { token: alice.token });
      assert.equal(v.body.volume.status, 'available', `after backup ${i}`);
    }
  });

  test('create volume from backup (3.47) restores the bytes into a volume at least as large', async () => {
    const vol = await api.volume(alice);
    await api.fill(alice, vol);
    const id = await api.backup(alice, { volume_id: vol });
    await api.backupStatus(alice, id, 'available');
    const r = await t.request('POST', `/v3/${alice.projectId}/volumes`, {
      token: alice.token,
      mv: '3.47',
      body: { volume: { backup_id: id, name: 'from-backup' } },
    });
    assert.equal(r.status, 202, r.text);
    const nv = r.body.volume.id as string;
    assert.equal(r.body.volume.size, 1);
    await api.volumeStatus(alice, nv, 'available');
    await api.backupStatus(alice, id, 'available');
    assert.equal(await api.sha(alice, nv), await api.sha(alice, vol));
    const big = await t.request('POST', `/v3/${alice.projectId}/volumes`, {
      token: alice.token,
      mv: '3.47',
      body: { volume: { backup_id: id, size: 2 } },
    });
    assert.equal(big.status, 202, big.text);
    const bv = await api.volumeStatus(alice, big.body.volume.id, 'available');
    assert.equal(bv.size, 2);
    await api.write(alice, vol, [[1023 * MiB, randomBytes(MiB)]]);
    assert.notEqual(await api.sha(alice, nv), await api.sha(alice, vol), 'the digest sees a change at the end');
  });
});

describe('backup views and lists', () => {
  let ids: string[] = [];
  let vol = '';
  before(async () => {
    vol = await api.volume(bob);
    ids = [];
    for (const name of ['b-one', 'b-two', 'b-three']) {
      const id = await api.backup(bob, { volume_id: vol, name, metadata: { n: name } }, '3.43');
      await api.backupStatus(bob, id, 'available');
      ids.push(id);
    }
  });

  test('show and detail have exactly the fields of their microversion; project and user ids only for admins', async () => {
    const id = ids[0]!;
    const at = async (who: Who, mv?: string) =>
      (await t.request('GET', `/v3/${who.projectId}/backups/${id}`, { token: who.token, ...(mv ? { mv } : {}) }))
        .body.backup;
    assert.deepEqual(Object.keys(await at(bob)).sort(), BASE_DETAIL);
    assert.deepEqual(Object.keys(await at(admin)).sort(), BASE_DETAIL);
    assert.deepEqual(Object.keys(await at(bob, '3.56')).sort(), [...BASE_DETAIL, 'metadata'].sort());
    assert.deepEqual(
      Object.keys(await at(admin, '3.18')).sort(),
      [...BASE_DETAIL, 'os-backup-project-attr:project_id'].sort(),
    );
    const full = await at(admin, '3.70');
    assert.deepEqual(
      Object.keys(full).sort(),
      [...BASE_DETAIL, 'metadata', 'os-backup-project-attr:project_id', 'user_id'].sort(),
    );
    assert.equal(full['os-backup-project-attr:project_id'], bob.projectId);
    assert.deepEqual(full.metadata, { n: 'b-one' });
    assert.equal(full.links[0].href, `${t.url}/v3/${admin.projectId}/backups/${id}`);
    assert.equal(full.links[1].href, `${t.url}/${admin.projectId}/backups/${id}`);
    const detail = await t.request('GET', `/v3/${bob.projectId}/backups/detail`, { token: bob.token });
    for (const b of detail.body.backups) assert.deepEqual(Object.keys(b).sort(), BASE_DETAIL);
    const list = await t.request('GET', `/v3/${bob.projectId}/backups`, { token: bob.token });
    for (const b of list.body.backups) assert.deepEqual(Object.keys(b).sort(), ['id', 'links', 'name']);
    assert.deepEqual(Object.keys(list.body), ['backups']);
  });

  test('lists are project scoped, filtered, sorted, paginated with next links, and counted from 3.45', async () => {
    const mine = await t.request('GET', `/v3/${alice.projectId}/backups?name=b-one`, { token: alice.token });
    assert.deepEqual(mine.body.backups, []);
    const byName = await t.request('GET', `/v3/${bob.projectId}/backups?name=b-two`, { token: bob.token });
    assert.deepEqual(byName.body.backups.map((b: any) => b.id), [ids[1]]);
    const byVolume = await t.request('GET', `/v3/${bob.projectId}/backups?volume_id=${vol}&status=available`, {
      token: bob.token,
    });
    assert.equal(byVolume.body.backups.length, 3);
    assertFault(
      await t.request('GET', `/v3/${bob.projectId}/backups?size=1`, { token: bob.token, mv: '3.31' }),
      400,
      /Invalid filters size/,
    );
    const like = await t.request('GET', `/v3/${bob.projectId}/backups?name~=t`, { token: bob.token, mv: '3.34' });
    assert.deepEqual(like.body.backups.map((b: any) => b.name).sort(), ['b-three', 'b-two']);
    const sorted = await t.request('GET', `/v3/${bob.projectId}/backups?sort=name:asc`, { token: bob.token, mv: '3.37' });
    assert.deepEqual(sorted.body.backups.map((b: any) => b.name), ['b-one', 'b-three', 'b-two']);
    assertFault(await t.request('GET', `/v3/${bob.projectId}/backups?sort=name:asc`, { token: bob.token }), 400, /sort key/);
    const page1 = await t.request('GET', `/v3/${bob.projectId}/backups/detail?limit=2&with_count=true`, {
      token: bob.token,
      mv: '3.45',
    });
    assert.equal(page1.body.count, 3);
    assert.equal(page1.body.backups.length, 2);
    const next = new URL(page1.body.backups_links[0].href);
    assert.equal(next.pathname, `/v3/${bob.projectId}/backups/detail`);
    const page2 = await t.request('GET', `${next.pathname}${next.search}`, { token: bob.token, mv: '3.45' });
    assert.equal(page2.body.backups.length, 1);
    assert.deepEqual(
      [...page1.body.backups, ...page2.body.backups].map((b: any) => b.id).sort(),
      [...ids].sort(),
    );
    assertFault(
      await t.request('GET', `/v3/${bob.projectId}/backups?marker=${randomUUID()}`, { token: bob.token }),
      404,
    );
    const all = await t.request('GET', `/v3/${admin.projectId}/backups?all_tenants=1&project_id=${bob.projectId}`, {
      token: admin.token,
    });
    assert.deepEqual(all.body.backups.map((b: any) => b.id).sort(), [...ids].sort());
    assertFault(await t.request('GET', `/v3/${admin.projectId}/backups?all_tenants=maybe`, { token: admin.token }), 400);
    const v2 = await t.request('GET', `/v2/${bob.projectId}/backups/detail`, { token: bob.token });
    assert.equal(v2.status, 200);
    assert.equal(v2.body.backups.length, 3);
    assert.ok(v2.body.backups[0].links[0].href.includes(`/v2/${bob.projectId}/backups/`));
    assertFault(await t.request('GET', `/v3/${alice.projectId}/backups/${ids[0]}`, { token: alice.token }), 404);
  });

  test('update (3.9) changes name, description and (3.43) metadata; earlier microversions have no such route', async () => {
    const id = ids[2]!;
    assertFault(
      await t.request('PUT', `/v3/${bob.projectId}/backups/${id}`, { token: bob.token, mv: '3.8', body: { backup: { name: 'x' } } }),
      404,
    );
    const r = await t.request('PUT', `/v3/${bob.projectId}/backups/${id}`, {
      token: bob.token,
      mv: '3.9',
      body: { backup: { name: 'renamed', description: 'd' } },
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.body.backup).sort(), ['id', 'links', 'name']);
    assert.equal(r.body.backup.name, 'renamed');
    assertFault(
      await t.request('PUT', `/v3/${bob.projectId}/backups/${id}`, {
        token: bob.token,
        mv: '3.9',
        body: { backup: { metadata: { a: 'b' } } },
      }),
      400,
    );
    const m = await t.request('PUT', `/v3/${bob.projectId}/backups/${id}`, {
      token: bob.token,
      mv: '3.43',
      body: { backup: { metadata: { a: 'b' } } },
    });
    assert.equal(m.status, 200, m.text);
    const shown = (await t.request('GET', `/v3/${bob.projectId}/backups/${id}`, { token: bob.token, mv: '3.43' })).body
      .backup;
    assert.equal(shown.name, 'renamed');
    assert.equal(shown.description, 'd');
    assert.deepEqual(shown.metadata, { a: 'b' });
  });
});

describe('delete, admin actions, quotas, progress', () => {
  test('delete removes the record, its manifest and its quota; error backups can be deleted too', async () => {
    const vol = await api.volume(alice);
    const id = await api.backup(alice, { volume_id: vol });
    await api.backupStatus(alice, id, 'available');
    assert.ok((await manifests()).includes(`backups/${id}.manifest`));
    const before = (await t.request('GET', `/v3/${alice.projectId}/os-quota-sets/${alice.projectId}?usage=true`, { token: alice.token })).body.quota_set;
    assert.equal((await t.request('DELETE', `/v3/${alice.projectId}/backups/${id}`, { token: alice.token })).status, 202);
    await api.gone(alice, `/backups/${id}`);
    assert.ok(!(await manifests()).includes(`backups/${id}.manifest`));
    const afterQ = (await t.request('GET', `/v3/${alice.projectId}/os-quota-sets/${alice.projectId}?usage=true`, { token: alice.token })).body.quota_set;
    assert.equal(afterQ.backups.in_use, before.backups.in_use - 1);
    assert.equal(afterQ.backup_gigabytes.in_use, before.backup_gigabytes.in_use - 1);
  });

  test('reset status and force delete are admin actions; reset accepts only available and error', async () => {
    const vol = await api.volume(alice);
    const id = await api.backup(alice, { volume_id: vol });
    await api.backupStatus(alice, id, 'available');
    const action = (who: Who, body: unknown) =>
      t.request('POST', `/v3/${who.projectId}/backups/${id}/action`, { token: who.token, body });
    assertFault(await action(alice, { 'os-reset_status': { status: 'error' } }), 403, /Policy doesn't allow/);
    assertFault(await action(alice, { 'os-force_delete': {} }), 403);
    assertFault(await action(admin, { 'os-reset_status': { status: 'creating' } }), 400, /is invalid/);
    assertFault(await action(admin, { 'os-reset_status': {} }), 400);
    assertFault(await action(admin, { 'os-frobnicate': {} }), 400, /no such action/);
    assertFault(await action(admin, { 'os-reset_status': { status: 'error' }, 'os-force_delete': {} }), 400);
    assert.equal((await action(admin, { 'os-reset_status': { status: 'error' } })).status, 202);
    assert.equal((await api.backupStatus(alice, id, 'error')).status, 'error');
    assertFault(
      await t.request('POST', `/v3/${alice.projectId}/backups/${id}/restore`, { token: alice.token, body: { restore: {} } }),
      400,
      /must be available/,
    );
    assert.equal((await action(admin, { 'os-force_delete': {} })).status, 202);
    await api.gone(alice, `/backups/${id}`);
  });

  test('quotas: backups and backup_gigabytes are enforced with 413', async () => {
    const carol = await t.createMember('carol');
    const vol = await api.volume(carol, { size: 2 });
    const setQ = await t.request('PUT', `/v3/${admin.projectId}/os-quota-sets/${carol.projectId}`, {
      token: admin.token,
      body: { quota_set: { backups: 1, backup_gigabytes: 3 } },
    });
    assert.equal(setQ.status, 200, setQ.text);
    const first = await api.backup(carol, { volume_id: vol });
    await api.backupStatus(carol, first, 'available');
    const over = await t.request('POST', `/v3/${carol.projectId}/backups`, { token: carol.token, body: { backup: { volume_id: vol } } });
    assertFault(over, 413, /BackupLimitExceeded/);
    assert.equal(over.headers.get('retry-after'), '0');
    await t.request('PUT', `/v3/${admin.projectId}/os-quota-sets/${carol.projectId}`, {
      token: admin.token,
      body: { quota_set: { backups: 5 } },
    });
    assertFault(
      await t.request('POST', `/v3/${carol.projectId}/backups`, { token: carol.token, body: { backup: { volume_id: vol } } }),
      413,
      /VolumeBackupSizeExceedsAvailableQuota/,
    );
    assert.equal((await api.volumeStatus(carol, vol, 'available')).status, 'available');
  });

  test('progress is served by the cinderbox extension route without touching Cinder bodies', async () => {
    const vol = await api.volume(alice);
    await api.fill(alice, vol);
    const id = await api.backup(alice, { volume_id: vol });
    await api.backupStatus(alice, id, 'available');
    const p = await t.request('GET', `/v3/${alice.projectId}/backups/${id}/cinderbox-progress`, { token: alice.token });
    assert.equal(p.status, 200, p.text);
    assert.deepEqual(p.body, { progress: { fraction: 1, bytes_done: 1024 * MiB, bytes_total: 1024 * MiB, operation: null } });
    assertFault(
      await t.request('GET', `/v3/${bob.projectId}/backups/${id}/cinderbox-progress`, { token: bob.token }),
      404,
    );
  });
});

describe('backup misuse', () => {
  test('bad bodies, unknown ids and wrong states are 4xx faults that change nothing', async () => {
    const vol = await api.volume(alice);
    const p = `/v3/${alice.projectId}`;
    const post = (body: unknown, mv?: string) =>
      t.request('POST', `${p}/backups`, { token: alice.token, body, ...(mv ? { mv } : {}) });
    assertFault(await post({ backup: {} }), 400, /volume_id/);
    assertFault(await post({ backup: { volume_id: 'nope' } }), 400);
    assertFault(await post({ backup: { volume_id: vol, bogus: 1 } }), 400, /bogus/);
    assertFault(await post({ backup: { volume_id: vol, metadata: { a: 'b' } } }, '3.42'), 400, /metadata/);
    assertFault(await post({ backup: { volume_id: vol, availability_zone: 'nova' } }, '3.50'), 400);
    assertFault(await post({ backup: { volume_id: vol, availability_zone: 'mars' } }, '3.51'), 400, /Availability zone/);
    assertFault(await post({ backup: { volume_id: vol, incremental: 'perhaps' } }), 400);
    assertFault(await post({ backup: { volume_id: vol, container: '../../etc' } }), 400, /Container name/);
    assertFault(await post({ backup: { volume_id: randomUUID() } }), 404, /Volume .* could not be found/);
    assertFault(await post({ backup: { volume_id: vol, snapshot_id: randomUUID() } }), 404, /Snapshot/);
    assertFault(await post({ nothing: {} }), 400);
    const bobsVolume = await api.volume(bob);
    assertFault(await post({ backup: { volume_id: bobsVolume } }), 404);
    assertFault(await t.request('GET', `${p}/backups/${randomUUID()}`, { token: alice.token }), 404, /Backup .* could not be found/);
    assertFault(await t.request('GET', `${p}/backups/not-a-uuid`, { token: alice.token }), 404);
    assertFault(await t.request('DELETE', `${p}/backups/${randomUUID()}`, { token: alice.token }), 404);
    assertFault(
      await t.request('POST', `${p}/backups/${randomUUID()}/restore`, { token: alice.token, body: { restore: {} } }),
      404,
    );
    const big = await api.volume(alice, { size: 2 });
    const id = await api.backup(alice, { volume_id: big });
    await api.backupStatus(alice, id, 'available');
    const restore = (body: unknown) => t.request('POST', `${p}/backups/${id}/restore`, { token: alice.token, body });
    assertFault(await restore({ restore: { volume_id: vol } }), 400, /too small to restore backup of size 2/);
    assertFault(await restore({ restore: { volume_id: randomUUID() } }), 404);
    assertFault(await restore({ restore: { volume_id: vol, extra: 1 } }), 400);
    assertFault(await restore({}), 400);
    assertFault(await restore({ restore: { volume_id: bobsVolume } }), 404);
    const volCreate = await t.request('POST', `${p}/volumes`, {
      token: alice.token,
      mv: '3.47',
      body: { volume: { backup_id: id, size: 1 } },
    });
    assertFault(volCreate, 400, /cannot be smaller than the backup size/);
    assert.equal((await api.volumeStatus(alice, vol, 'available')).status, 'available');
    assert.equal((await api.backupStatus(alice, id, 'available')).status, 'available');
  });
});
