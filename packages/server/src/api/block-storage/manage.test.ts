/**
 * Managing and unmanaging existing backend objects over the real server: os-snapshot-manage / manageable_snapshots,
 * os-volume-manage / manageable_volumes, the os-unmanage actions, listings, policy, microversion gating, and
 * references that try to leave the backend directory.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer, waitFor } from '../../test-support/harness.js';

type Who = { token: string; projectId: string };

const GiB = 1024 ** 3;
const HOST = 'cinderbox@raw#raw';
const H = encodeURIComponent(HOST);

let t: TestServer;
let admin: Who;
let alice: Who;
let backendDir: string;

async function status(who: Who, kind: 'volumes' | 'snapshots', id: string): Promise<string | null> {
  const r = await t.request('GET', `/v3/${who.projectId}/${kind}/${id}`, { token: who.token });
  return r.status === 404 ? null : r.body[kind === 'volumes' ? 'volume' : 'snapshot'].status;
}

async function until(who: Who, kind: 'volumes' | 'snapshots', id: string, want: string | null): Promise<void> {
  await waitFor(async () => (await status(who, kind, id)) === want, `${kind} ${id} ${want}`);
}

async function createVolume(who: Who, size = 1): Promise<string> {
  const r = await t.request('POST', `/v3/${who.projectId}/volumes`, { token: who.token, body: { volume: { size } } });
  assert.equal(r.status, 202, r.text);
  await until(who, 'volumes', r.body.volume.id, 'available');
  return r.body.volume.id;
}

async function createSnapshot(who: Who, volumeId: string): Promise<string> {
  const r = await t.request('POST', `/v3/${who.projectId}/snapshots`, {
    token: who.token,
    body: { snapshot: { volume_id: volumeId } },
  });
  assert.equal(r.status, 202, r.text);
  await until(who, 'snapshots', r.body.snapshot.id, 'available');
  return r.body.snapshot.id;
}

async function writeAt(path: string, offset: number, data: Buffer): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.write(data, 0, data.length, offset);
  } finally {
    await fh.close();
  }
}

async function readAt(path: string, offset: number, length: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(length);
    await fh.read(buf, 0, length, offset);
    return buf;
  } finally {
    await fh.close();
  }
}

const action = (who: Who, kind: 'volumes' | 'snapshots', id: string, body: unknown) =>
  t.request('POST', `/v3/${who.projectId}/${kind}/${id}/action`, { token: who.token, body });

const manageSnapshot = (who: Who, body: unknown, path = 'os-snapshot-manage', mv?: string) =>
  t.request('POST', `/v3/${who.projectId}/${path}`, { token: who.token, body, ...(mv ? { mv } : {}) });

const manageVolume = (who: Who, body: unknown, path = 'os-volume-manage', mv?: string) =>
  t.request('POST', `/v3/${who.projectId}/${path}`, { token: who.token, body, ...(mv ? { mv } : {}) });

const listing = (who: Who, path: string, mv?: string) =>
  t.request('GET', `/v3/${who.projectId}/${path}`, { token: who.token, ...(mv ? { mv } : {}) });

async function usage(who: Who): Promise<{ snapshots: number; gigabytes: number; volumes: number }> {
  const r = await t.request('GET', `/v3/${who.projectId}/limits`, { token: who.token });
  const a = r.body.limits.absolute;
  return { snapshots: a.totalSnapshotsUsed, gigabytes: a.totalGigabytesUsed, volumes: a.totalVolumesUsed };
}

async function tree(): Promise<string[]> {
  return (await readdir(backendDir, { recursive: true })).sort();
}

before(async () => {
  t = await startTestServer({ backends: [{ name: 'raw', driver: 'raw', pool: 'raw' }] }); // raw files inspected directly
  admin = { token: t.adminToken, projectId: t.adminProjectId };
  alice = await t.createMember('manage-alice');
  backendDir = join(t.dataDir, 'volumes', 'raw');
  const q = await t.request('PUT', `/v3/${admin.projectId}/os-quota-sets/${admin.projectId}`, {
    token: admin.token,
    body: { quota_set: { volumes: 100, snapshots: 100 } },
  });
  assert.equal(q.status, 200, q.text);
});
after(() => t.close());

describe('snapshots', () => {
  test('manage → unmanage → manage round trip keeps the bytes, the quota follows the record', async () => {
    const vol = await createVolume(admin);
    const data = randomBytes(64 * 1024);
    await writeAt(join(backendDir, `volume-${vol}`), 5 * 1024 * 1024, data);
    const snap = await createSnapshot(admin, vol);
    const before = await usage(admin);

    assert.equal((await action(admin, 'snapshots', snap, { 'os-unmanage': null })).status, 202);
    await until(admin, 'snapshots', snap, null);
    assert.deepEqual(await usage(admin), { ...before, snapshots: before.snapshots - 1, gigabytes: before.gigabytes - 1 });
    const name = `_snapshot-${snap}`;
    assert.deepEqual(await readAt(join(backendDir, name), 5 * 1024 * 1024, data.length), data, 'file kept');

    const list = await listing(admin, `manageable_snapshots/detail?host=${encodeURIComponent(HOST)}`, '3.8');
    assert.equal(list.status, 200, list.text);
    const entry = list.body['manageable-snapshots'].find(
      (e: { reference: { 'source-name': string } }) => e.reference['source-name'] === name,
    );
    assert.deepEqual(entry, {
      reference: { 'source-name': name },
      size: 1,
      safe_to_manage: true,
      source_reference: { 'source-name': `volume-${vol}` },
      reason_not_safe: null,
      cinder_id: null,
      extra_info: null,
    });

    const m = await manageSnapshot(admin, {
      snapshot: { volume_id: vol, ref: { 'source-name': name }, name: 'back', metadata: { k: 'v' } },
    });
    assert.equal(m.status, 202, m.text);
    assert.deepEqual(Object.keys(m.body.snapshot).sort(), [
      'created_at',
      'description',
      'id',
      'metadata',
      'name',
      'size',
      'status',
      'updated_at',
      'volume_id',
    ]);
    assert.equal(m.body.snapshot.status, 'creating');
    assert.deepEqual(m.body.snapshot.metadata, { k: 'v' });
    const id = m.body.snapshot.id;
    await until(admin, 'snapshots', id, 'available');
    const shown = await t.request('GET', `/v3/${admin.projectId}/snapshots/${id}`, { token: admin.token });
    assert.equal(shown.body.snapshot.size, 1);
    assert.equal(shown.body.snapshot['os-extended-snapshot-attributes:progress'], '100%');
    assert.deepEqual(await usage(admin), before);
    // The driver took the object under its own name, bytes intact.
    const files = await readdir(backendDir);
    assert.ok(!files.includes(name), 'old name still present');
    assert.deepEqual(await readAt(join(backendDir, `_snapshot-${id}`), 5 * 1024 * 1024, data.length), data);
    // And the managed snapshot is a real one: a volume made from it holds the bytes.
    const clone = await t.request('POST', `/v3/${admin.projectId}/volumes`, {
      token: admin.token,
      body: { volume: { snapshot_id: id } },
    });
    assert.equal(clone.status, 202, clone.text);
    await until(admin, 'volumes', clone.body.volume.id, 'available');
    assert.deepEqual(
      await readAt(join(backendDir, `volume-${clone.body.volume.id}`), 5 * 1024 * 1024, data.length),
      data,
    );
    // Managed objects are listed as not safe, with their id.
    const again = await listing(admin, `os-snapshot-manage/detail?host=${encodeURIComponent(HOST)}`);
    const managed = again.body['manageable-snapshots'].find(
      (e: { reference: { 'source-name': string } }) => e.reference['source-name'] === `_snapshot-${id}`,
    );
    assert.equal(managed.safe_to_manage, false);
    assert.equal(managed.reason_not_safe, 'already managed');
    assert.equal(managed.cinder_id, id);
    assert.deepEqual(managed.source_reference, { 'source-name': `volume-${vol}` });
  });

  test('a reference to a missing object is accepted and ends in error; a managed object cannot be managed twice', async () => {
    const vol = await createVolume(admin);
    const m = await manageSnapshot(admin, { snapshot: { volume_id: vol, ref: { 'source-name': '_snapshot-nope' } } });
    assert.equal(m.status, 202, m.text);
    await until(admin, 'snapshots', m.body.snapshot.id, 'error');
    // A file of another size cannot be a snapshot of this volume; it is left as it was.
    await writeFile(join(backendDir, '_snapshot-small'), 'tiny');
    const small = await manageSnapshot(admin, {
      snapshot: { volume_id: vol, ref: { 'source-name': '_snapshot-small' } },
    });
    await until(admin, 'snapshots', small.body.snapshot.id, 'error');
    assert.equal((await readFile(join(backendDir, '_snapshot-small'))).toString(), 'tiny');
    // Error records can be deleted without touching the object.
    assert.equal(
      (await t.request('DELETE', `/v3/${admin.projectId}/snapshots/${small.body.snapshot.id}`, { token: admin.token }))
        .status,
      202,
    );
    await until(admin, 'snapshots', small.body.snapshot.id, null);
    assert.equal((await readFile(join(backendDir, '_snapshot-small'))).toString(), 'tiny');
    // An object that a record owns is refused outright.
    const snap = await createSnapshot(admin, vol);
    const twice = await manageSnapshot(admin, {
      snapshot: { volume_id: vol, ref: { 'source-name': `_snapshot-${snap}` } },
    });
    assert.equal(twice.status, 400, twice.text);
    assert.match(twice.body.badRequest.message, /already managed/);
  });

  test('a snapshot object of another volume is refused at the task', async () => {
    const v1 = await createVolume(admin);
    const v2 = await createVolume(admin);
    const snap = await createSnapshot(admin, v1);
    assert.equal((await action(admin, 'snapshots', snap, { 'os-unmanage': {} })).status, 202);
    await until(admin, 'snapshots', snap, null);
    const m = await manageSnapshot(admin, {
      snapshot: { volume_id: v2, ref: { 'source-name': `_snapshot-${snap}` } },
    });
    await until(admin, 'snapshots', m.body.snapshot.id, 'error');
    assert.ok((await readdir(backendDir)).includes(`_snapshot-${snap}`));
  });

  test('references that leave the backend directory are a 400 and touch nothing', async () => {
    const vol = await createVolume(admin);
    await writeFile(join(t.dataDir, 'outside.img'), Buffer.alloc(GiB / 1024));
    await symlink(join(t.dataDir, 'outside.img'), join(backendDir, 'link.img'));
    const before = await tree();
    const count = (await listing(admin, 'snapshots')).body.snapshots.length;
    const usageBefore = await usage(admin);
    for (const name of ['../outside.img', join(t.dataDir, 'outside.img'), 'a/b', 'import/../x', '..', 'link.img']) {
      const r = await manageSnapshot(admin, { snapshot: { volume_id: vol, ref: { 'source-name': name } } });
      assert.equal(r.status, 400, `${name}: ${r.text}`);
      assert.match(r.body.badRequest.message, /invalid backend reference/);
      const v = await manageVolume(admin, { volume: { host: HOST, ref: { 'source-name': name } } });
      assert.equal(v.status, 400, `${name}: ${v.text}`);
    }
    assert.deepEqual(await tree(), before);
    assert.equal((await listing(admin, 'snapshots')).body.snapshots.length, count);
    assert.deepEqual(await usage(admin), usageBefore);
  });

  test('a reference the driver does not understand is a 400 before any record or quota, on every manage route', async () => {
    const vol = await createVolume(admin);
    const count = (await listing(admin, 'snapshots')).body.snapshots.length;
    const volumes = (await listing(admin, 'volumes')).body.volumes.length;
    const usageBefore = await usage(admin);
    const refs: unknown[] = ['str', {}, { 'source-id': 'x' }, { 'source-name': 7 }, { 'source-name': 'x', 'source-id': 'y' }, { 'source-name': '' }];
    for (const ref of refs) {
      for (const [path, mv] of [['os-snapshot-manage', undefined], ['manageable_snapshots', '3.8']] as const) {
        const r = await manageSnapshot(admin, { snapshot: { volume_id: vol, ref } }, path, mv);
        assert.equal(r.status, 400, `${path} ${JSON.stringify(ref)}: ${r.text}`);
        assert.match(r.body.badRequest.message, /^Manage existing snapshot failed due to invalid backend reference/);
      }
      for (const [path, mv] of [['os-volume-manage', undefined], ['manageable_volumes', '3.8']] as const) {
        const r = await manageVolume(admin, { volume: { host: HOST, ref } }, path, mv);
        assert.equal(r.status, 400, `${path} ${JSON.stringify(ref)}: ${r.text}`);
        assert.match(r.body.badRequest.message, /^Manage existing volume failed due to invalid backend reference/);
      }
    }
    assert.equal((await listing(admin, 'snapshots')).body.snapshots.length, count);
    assert.equal((await listing(admin, 'volumes')).body.volumes.length, volumes);
    assert.deepEqual(await usage(admin), usageBefore);
  });

  test('a hard link in the import area is a 400 and is not adopted', async () => {
    await mkdir(join(backendDir, 'import'), { recursive: true });
    const outside = join(t.dataDir, 'shared-inode.img');
    await writeFile(outside, Buffer.alloc(1024, 5));
    await link(outside, join(backendDir, 'import', 'shared.img'));
    const before = await tree();
    const usageBefore = await usage(admin);
    const v = await manageVolume(admin, { volume: { host: HOST, ref: { 'source-name': 'import/shared.img' } } });
    assert.equal(v.status, 400, v.text);
    assert.match(v.body.badRequest.message, /hard links/);
    const vol = await createVolume(admin);
    const s = await manageSnapshot(admin, { snapshot: { volume_id: vol, ref: { 'source-name': 'import/shared.img' } } });
    assert.equal(s.status, 400, s.text);
    assert.deepEqual((await tree()).filter((f) => !f.includes(vol)), before);
    assert.equal((await stat(outside)).nlink, 2);
    assert.equal((await usage(admin)).snapshots, usageBefore.snapshots);
  });

  test('body rules: volume_id and ref required, strict keys, unknown volume 404', async () => {
    const vol = await createVolume(admin);
    const cases: [unknown, number][] = [
      [{ snapshot: { ref: { 'source-name': 'x' } } }, 400],
      [{ snapshot: { volume_id: vol } }, 400],
      [{ snapshot: { volume_id: vol, ref: {}, extra: 1 } }, 400],
      [{ snapshot: { volume_id: null, ref: {} } }, 400],
      [{}, 400],
      [{ snapshot: { volume_id: '00000000-0000-4000-8000-000000000000', ref: {} } }, 404],
    ];
    for (const [body, code] of cases) {
      const r = await manageSnapshot(admin, body);
      assert.equal(r.status, code, `${JSON.stringify(body)}: ${r.text}`);
    }
  });

  test('policy: members get 403 on their own volume, 404 on others; listing and unmanage are admin-only', async () => {
    const own = await createVolume(alice);
    const r = await manageSnapshot(alice, { snapshot: { volume_id: own, ref: { 'source-name': 'x' } } });
    assert.equal(r.status, 403, r.text);
    assert.match(r.body.forbidden.message, /snapshot_extension:snapshot_manage/);
    const adminVol = await createVolume(admin);
    const other = await manageSnapshot(alice, { snapshot: { volume_id: adminVol, ref: { 'source-name': 'x' } } });
    assert.equal(other.status, 404);
    assert.equal((await listing(alice, `os-snapshot-manage?host=${H}`)).status, 403);
    assert.equal((await listing(alice, `os-volume-manage?host=${H}`)).status, 403);
    assert.equal((await manageVolume(alice, { volume: { host: HOST, ref: { 'source-name': 'x' } } })).status, 403);
    const snap = await createSnapshot(alice, own);
    assert.equal((await action(alice, 'snapshots', snap, { 'os-unmanage': null })).status, 403);
    assert.equal((await action(alice, 'volumes', own, { 'os-unmanage': null })).status, 403);
    assert.equal(await status(alice, 'snapshots', snap), 'available');
  });

  test('unmanage follows the delete preconditions', async () => {
    const vol = await createVolume(admin);
    const snap = await createSnapshot(admin, vol);
    await action(admin, 'snapshots', snap, { 'os-reset_status': { status: 'creating' } });
    const r = await action(admin, 'snapshots', snap, { 'os-unmanage': null });
    assert.equal(r.status, 400);
    assert.equal(await status(admin, 'snapshots', snap), 'creating');
  });
});

describe('listings', () => {
  test('host or cluster: exactly one, with or without the pool, naming a known backend', async () => {
    for (const h of ['cinderbox@raw', 'cinderbox@raw#raw']) {
      for (const p of ['os-snapshot-manage', 'os-volume-manage']) {
        const r = await listing(admin, `${p}?host=${encodeURIComponent(h)}`);
        assert.equal(r.status, 200, r.text);
      }
    }
    const missing = await listing(admin, 'os-snapshot-manage');
    assert.equal(missing.status, 400);
    assert.equal(missing.body.badRequest.message, 'Invalid input received: Host field is missing.');
    const both = await listing(admin, `manageable_volumes?host=${H}&cluster=${H}`, '3.17');
    assert.equal(both.status, 400, both.text);
    assert.equal(both.body.badRequest.message, 'Invalid input received: One and only one of cluster and host must be set.');
    const neither = await listing(admin, 'manageable_volumes', '3.17');
    assert.equal(neither.status, 400);
    const cluster = await listing(admin, `manageable_volumes?cluster=${encodeURIComponent(HOST)}`, '3.17');
    assert.equal(cluster.status, 200, cluster.text);
    // Below 3.17 a cluster is not a way to name the backend.
    assert.equal((await listing(admin, `manageable_volumes?cluster=${encodeURIComponent(HOST)}`, '3.16')).status, 400);
    for (const h of ['cinderbox', 'other@raw', 'cinderbox@raw#otherpool', 'cinderbox@nope']) {
      const r = await listing(admin, `os-volume-manage?host=${encodeURIComponent(h)}`);
      assert.equal(r.status, 404, `${h}: ${r.text}`);
    }
  });

  test('the os-services and volume host names are what the listings accept', async () => {
    const svc = await t.request('GET', `/v3/${admin.projectId}/os-services?binary=cinder-volume`, {
      token: admin.token,
    });
    const vol = await createVolume(admin);
    const shown = await t.request('GET', `/v3/${admin.projectId}/volumes/${vol}`, { token: admin.token });
    for (const h of [svc.body.services[0].host, shown.body.volume['os-vol-host-attr:host']]) {
      const r = await listing(admin, `os-volume-manage?host=${encodeURIComponent(h)}`);
      assert.equal(r.status, 200, `${h}: ${r.text}`);
    }
  });

  test('manageable_* routes need 3.8; the legacy routes answer at every version and on v2', async () => {
    for (const p of ['manageable_snapshots', 'manageable_volumes']) {
      assert.equal((await listing(admin, `${p}?host=${H}`, '3.7')).status, 404);
      assert.equal((await listing(admin, `${p}?host=${H}`)).status, 404);
      assert.equal((await listing(admin, `${p}/detail?host=${H}`, '3.7')).status, 404);
      assert.equal((await t.request('POST', `/v3/${admin.projectId}/${p}`, { token: admin.token, body: {} })).status, 404);
      assert.equal(
        (await t.request('GET', `/v2/${admin.projectId}/${p}?host=${H}`, { token: admin.token })).status,
        404,
      );
      assert.equal((await listing(admin, `${p}?host=${H}`, '3.8')).status, 200);
    }
    for (const p of ['os-snapshot-manage', 'os-volume-manage']) {
      const v2 = await t.request('GET', `/v2/${admin.projectId}/${p}/detail?host=${H}`, { token: admin.token });
      assert.equal(v2.status, 200, v2.text);
      assert.equal((await listing(admin, `${p}?host=${H}`, '3.70')).status, 200);
    }
  });

  test('summary and detail fields, sort, limit, offset and marker', async () => {
    await mkdir(join(backendDir, 'import'), { recursive: true });
    await writeFile(join(backendDir, 'import', 'a.img'), Buffer.alloc(10));
    await writeFile(join(backendDir, 'import', 'b.img'), Buffer.alloc(GiB + 1));
    const q = (s: string) => listing(admin, `manageable_volumes${s}${s.includes('?') ? '&' : '?'}host=${H}`, '3.8');
    const summary = await q('');
    const imported = summary.body['manageable-volumes'].find(
      (e: { reference: { 'source-name': string } }) => e.reference['source-name'] === 'import/b.img',
    );
    assert.deepEqual(imported, { reference: { 'source-name': 'import/b.img' }, size: 2, safe_to_manage: true });
    const detail = await q('/detail?sort=reference:asc');
    const names = detail.body['manageable-volumes'].map((e: { reference: { 'source-name': string } }) => e.reference['source-name']);
    assert.deepEqual(names, [...names].sort());
    assert.deepEqual(Object.keys(detail.body['manageable-volumes'][0]).sort(), [
      'cinder_id',
      'extra_info',
      'reason_not_safe',
      'reference',
      'safe_to_manage',
      'size',
    ]);
    const desc = await q('/detail');
    assert.deepEqual(
      desc.body['manageable-volumes'].map((e: { reference: { 'source-name': string } }) => e.reference['source-name']),
      [...names].reverse(),
      'default order is reference descending',
    );
    const bySize = await q('?sort=size:desc');
    const sizes = bySize.body['manageable-volumes'].map((e: { size: number }) => e.size);
    assert.deepEqual(sizes, [...sizes].sort((a, b) => b - a));
    const marker = encodeURIComponent(JSON.stringify({ 'source-name': names[0] }));
    const page = await q(`?sort=reference:asc&limit=2&marker=${marker}`);
    assert.deepEqual(
      page.body['manageable-volumes'].map((e: { reference: { 'source-name': string } }) => e.reference['source-name']),
      names.slice(1, 3),
    );
    const offset = await q(`?sort=reference:asc&limit=1&offset=1&marker=${marker}`);
    assert.deepEqual(offset.body['manageable-volumes'][0].reference, { 'source-name': names[2] });
    assert.equal((await q('?marker=notjson')).status, 400);
    assert.equal((await q(`?marker=${encodeURIComponent('{"source-name":"zz-none"}')}`)).status, 400);
    const badSort = await q('?sort=name');
    assert.equal(badSort.status, 400);
    assert.equal(badSort.body.badRequest.message, 'Invalid sort keys passed: name');
  });
});

describe('volumes', () => {
  test('unmanage keeps the file as volume-<id>; manage brings it back under a new id with its bytes', async () => {
    const vol = await createVolume(admin, 2);
    const data = randomBytes(4096);
    await writeAt(join(backendDir, `volume-${vol}`), GiB + 7, data);
    const before = await usage(admin);
    assert.equal((await action(admin, 'volumes', vol, { 'os-unmanage': null })).status, 202);
    await until(admin, 'volumes', vol, null);
    assert.deepEqual(await usage(admin), { ...before, volumes: before.volumes - 1, gigabytes: before.gigabytes - 2 });
    const name = `volume-${vol}`;
    const list = await listing(admin, `os-volume-manage/detail?host=${H}`);
    const entry = list.body['manageable-volumes'].find(
      (e: { reference: { 'source-name': string } }) => e.reference['source-name'] === name,
    );
    assert.deepEqual(entry, {
      reference: { 'source-name': name },
      size: 2,
      safe_to_manage: true,
      reason_not_safe: null,
      cinder_id: null,
      extra_info: null,
    });
    const m = await manageVolume(
      admin,
      {
        volume: {
          host: HOST,
          ref: { 'source-name': name },
          name: ' again ',
          description: null,
          volume_type: null,
          availability_zone: null,
          metadata: { a: 'b' },
          bootable: true,
        },
      },
      'manageable_volumes',
      '3.8',
    );
    assert.equal(m.status, 202, m.text);
    assert.equal(m.body.volume.status, 'creating', 'managing is shown as creating');
    assert.equal(m.body.volume.name, 'again');
    const id = m.body.volume.id;
    await until(admin, 'volumes', id, 'available');
    const shown = await t.request('GET', `/v3/${admin.projectId}/volumes/${id}`, { token: admin.token });
    assert.equal(shown.body.volume.size, 2);
    assert.equal(shown.body.volume.bootable, 'true');
    assert.deepEqual(shown.body.volume.metadata, { a: 'b' });
    assert.deepEqual(await usage(admin), before);
    assert.deepEqual(await readAt(join(backendDir, `volume-${id}`), GiB + 7, data.length), data);
    assert.ok(!(await readdir(backendDir)).includes(name));
  });

  test('a file of the import area is padded to whole GiB; a bad reference ends in error', async () => {
    await mkdir(join(backendDir, 'import'), { recursive: true });
    const data = randomBytes(1000);
    await writeFile(join(backendDir, 'import', 'disk.raw'), data);
    const m = await manageVolume(admin, { volume: { host: 'cinderbox@raw', ref: { 'source-name': 'import/disk.raw' } } });
    assert.equal(m.status, 202, m.text);
    await until(admin, 'volumes', m.body.volume.id, 'available');
    const path = join(backendDir, `volume-${m.body.volume.id}`);
    assert.deepEqual(await readAt(path, 0, 1000), data);
    assert.equal((await stat(path)).size, GiB);
    const bad = await manageVolume(admin, { volume: { host: HOST, ref: { 'source-name': 'volume-missing' } } });
    assert.equal(bad.status, 202);
    await until(admin, 'volumes', bad.body.volume.id, 'error');
    // error_managing can be deleted; nothing of the backend goes with it.
    const del = await t.request('DELETE', `/v3/${admin.projectId}/volumes/${bad.body.volume.id}`, { token: admin.token });
    assert.equal(del.status, 202, del.text);
    await until(admin, 'volumes', bad.body.volume.id, null);
  });

  test('body and host rules', async () => {
    const missingRef = await manageVolume(admin, { volume: { host: HOST } });
    assert.equal(missingRef.status, 400);
    const noHost = await manageVolume(admin, { volume: { ref: { 'source-name': 'x' } } });
    assert.equal(noHost.body.badRequest.message, 'Invalid input received: Host field is missing.');
    const unknown = await manageVolume(admin, { volume: { host: 'elsewhere@raw', ref: { 'source-name': 'x' } } });
    assert.equal(unknown.status, 503);
    const badType = await manageVolume(admin, { volume: { host: HOST, ref: { 'source-name': 'x' }, volume_type: 'nope' } });
    assert.equal(badType.status, 400);
    const extra = await manageVolume(admin, { volume: { host: HOST, ref: {}, size: 1 } });
    assert.equal(extra.status, 400);
    const clusterOld = await manageVolume(admin, { volume: { cluster: HOST, ref: {} } }, 'os-volume-manage', '3.15');
    assert.equal(clusterOld.status, 400);
    const both = await manageVolume(admin, { volume: { host: HOST, cluster: HOST, ref: {} } }, 'os-volume-manage', '3.16');
    assert.equal(both.body.badRequest.message, 'Invalid input received: One and only one of cluster and host must be set.');
  });

  test('unmanage refuses volumes with snapshots or attached', async () => {
    const vol = await createVolume(admin);
    await createSnapshot(admin, vol);
    assert.equal((await action(admin, 'volumes', vol, { 'os-unmanage': null })).status, 400);
    assert.equal(await status(admin, 'volumes', vol), 'available');
  });
});
