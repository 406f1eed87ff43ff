import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { qemuAvailability } from '../../config/volume-backends.js';
import { startTestServer, waitFor, type TestServer } from '../../test-support/harness.js';

const qemu = qemuAvailability();
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const skipTwoBackends = qemu.available ? false : `moving data between raw and qcow2 needs qcow2: ${qemu.detail}`;

describe('os-retype and os-migrate_volume', () => {
  let t: TestServer;
  let admin: { token: string; projectId: string };
  let alice: { token: string; projectId: string };

  const a = (p: string) => `/v3/${admin.projectId}${p}`;
  const call = (method: string, path: string, opts: { token?: string; body?: unknown; mv?: string } = {}) =>
    t.request(method, path, { token: admin.token, ...opts });

  before(async () => {
    const backends = qemu.available
      ? [
          { name: 'raw', driver: 'raw' as const, pool: 'raw' },
          { name: 'qcow2', driver: 'qcow2' as const, pool: 'qcow2' },
        ]
      : [{ name: 'raw', driver: 'raw' as const, pool: 'raw' }];
    t = await startTestServer({ backends });
    admin = { token: t.adminToken, projectId: t.adminProjectId };
    alice = await t.createMember('retype-alice');
    for (const [name, specs] of [
      ['plain-a', {}],
      ['plain-b', {}],
      ['on-raw', { volume_backend_name: 'raw' }],
      ['on-qcow2', { volume_backend_name: 'qcow2' }],
      ['nowhere', { volume_backend_name: 'tape' }],
    ] as const) {
      const r = await call('POST', a('/types'), { body: { volume_type: { name, extra_specs: specs } } });
      assert.equal(r.status, 200, r.text);
    }
  });
  after(async () => {
    await t?.close();
  });

  async function volume(id: string, who = admin) {
    const r = await call('GET', `/v3/${who.projectId}/volumes/${id}`, { token: who.token });
    assert.equal(r.status, 200, r.text);
    return r.body.volume;
  }

  async function createVolume(type: string, who = admin): Promise<string> {
    const r = await call('POST', `/v3/${who.projectId}/volumes`, { token: who.token, body: { volume: { size: 1, volume_type: type } } });
    assert.equal(r.status, 202, r.text);
    const id = r.body.volume.id as string;
    await waitFor(async () => (await volume(id, who)).status === 'available', `volume ${id} available`);
    return id;
  }

  async function deleteVolume(id: string) {
    const r = await call('DELETE', a(`/volumes/${id}`));
    assert.equal(r.status, 202, r.text);
    await waitFor(async () => (await call('GET', a(`/volumes/${id}`))).status === 404, `volume ${id} gone`);
  }

  const retype = (id: string, body: Record<string, unknown>, who = admin) =>
    call('POST', `/v3/${who.projectId}/volumes/${id}/action`, { token: who.token, body: { 'os-retype': body } });

  /** Writes random MiB-sized pieces at scattered offsets (holes between them); the whole volume's sha256. */
  async function writePattern(id: string): Promise<string> {
    const image = Buffer.alloc(GiB);
    for (const off of [0, 3 * MiB, 200 * MiB + 4096, GiB - MiB]) {
      const piece = randomBytes(MiB);
      piece.copy(image, off);
      const res = await fetch(`${t.url}${a(`/volumes/${id}/cinderbox-data`)}`, {
        method: 'PUT',
        headers: {
          'X-Auth-Token': admin.token,
          'Content-Type': 'application/octet-stream',
          'Content-Range': `bytes ${off}-${off + MiB - 1}/*`,
        },
        body: piece,
      });
      assert.ok(res.status < 300, `${res.status} ${await res.text()}`);
      await waitFor(async () => (await volume(id)).status === 'available', 'upload done');
    }
    return createHash('sha256').update(image).digest('hex');
  }

  async function sha(id: string): Promise<string> {
    const res = await fetch(`${t.url}${a(`/volumes/${id}/cinderbox-data`)}`, { headers: { 'X-Auth-Token': admin.token } });
    assert.equal(res.status, 200);
    const h = createHash('sha256');
    for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) h.update(part);
    return h.digest('hex');
  }

  /** Volume objects per backend directory that belong to `id`. */
  async function objectsOf(id: string): Promise<string[]> {
    const out: string[] = [];
    for (const backend of await readdir(join(t.dataDir, 'volumes'))) {
      for (const f of await readdir(join(t.dataDir, 'volumes', backend))) if (f.includes(id)) out.push(`${backend}/${f}`);
    }
    return out.sort();
  }

  async function messagesFor(id: string): Promise<{ event_id: string; user_message: string }[]> {
    const r = await call('GET', a(`/messages?resource_uuid=${id}`), { mv: '3.5' });
    assert.equal(r.status, 200, r.text);
    return r.body.messages;
  }

  test('between types on the same backend the type changes at once; host and migration status stay', async () => {
    const id = await createVolume('plain-a');
    const before = await volume(id);
    const r = await retype(id, { new_type: 'plain-b' });
    assert.equal(r.status, 202, r.text);
    const v = await volume(id);
    assert.equal(v.volume_type, 'plain-b');
    assert.equal(v.status, 'available');
    assert.equal(v['os-vol-host-attr:host'], before['os-vol-host-attr:host']);
    assert.equal(v.migration_status, null);
    // The per-type usage moved with the type.
    const usage = (await call('GET', a(`/os-quota-sets/${admin.projectId}?usage=true`))).body.quota_set;
    assert.deepEqual(
      [usage['volumes_plain-a'].in_use, usage['volumes_plain-b'].in_use, usage['gigabytes_plain-b'].in_use],
      [0, 1, 1],
    );
    // By id too, with the policy spelled out.
    const types = (await call('GET', a('/types'))).body.volume_types as { id: string; name: string }[];
    const plainA = types.find((x) => x.name === 'plain-a')!;
    assert.equal((await retype(id, { new_type: plainA.id, migration_policy: 'never' })).status, 202);
    assert.equal((await volume(id)).volume_type, 'plain-a');
    await deleteVolume(id);
  });

  test('refusals: same type, unknown or private type, bad policy, wrong status, bad bodies', async () => {
    const id = await createVolume('plain-a');
    const same = await retype(id, { new_type: 'plain-a' });
    assert.equal(same.status, 400);
    assert.match(same.body.badRequest.message, /^Invalid volume: Retype needs volume to be in available or in-use state/);
    const unknown = await retype(id, { new_type: 'no-such-type' });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.itemNotFound.message, 'Volume type with name no-such-type could not be found.');
    assert.equal((await retype(id, { new_type: '' })).status, 404);
    assert.equal((await retype(id, { new_type: 'plain-b', migration_policy: 'sometimes' })).status, 400);
    assert.equal((await retype(id, { new_type: 'plain-b', extra: 1 })).status, 400);
    assert.equal((await retype(id, {})).status, 400);
    assert.equal((await call('POST', a('/volumes/00000000-0000-0000-0000-000000000000/action'), { body: { 'os-retype': { new_type: 'plain-b' } } })).status, 404);

    // A volume in error cannot be retyped.
    assert.equal((await call('POST', a(`/volumes/${id}/action`), { body: { 'os-reset_status': { status: 'error' } } })).status, 202);
    assert.equal((await retype(id, { new_type: 'plain-b' })).status, 400);
    assert.equal((await volume(id)).volume_type, 'plain-a');
    await deleteVolume(id);

    // A private type is unusable to a project without access, as for create.
    const priv = await call('POST', a('/types'), { body: { volume_type: { name: 'private-one', 'os-volume-type-access:is_public': false } } });
    assert.equal(priv.status, 200, priv.text);
    const mine = await createVolume('plain-a', alice);
    assert.equal((await retype(mine, { new_type: 'private-one' }, alice)).status, 404);
    assert.equal((await retype(mine, { new_type: priv.body.volume_type.id }, alice)).status, 404);
    const grant = await call('POST', a(`/types/${priv.body.volume_type.id}/action`), { body: { addProjectAccess: { project: alice.projectId } } });
    assert.equal(grant.status, 202, grant.text);
    assert.equal((await retype(mine, { new_type: 'private-one' }, alice)).status, 202);
    assert.equal((await volume(mine, alice)).volume_type, 'private-one');
    // Members cannot migrate.
    assert.equal((await call('POST', `/v3/${alice.projectId}/volumes/${mine}/action`, { token: alice.token, body: { 'os-migrate_volume': { host: 'x' } } })).status, 403);
    await deleteVolume(mine);
  });

  test('an in-use volume keeps its front-end QoS: a retype that would change it is refused', async () => {
    const id = await createVolume('plain-a');
    const qos = await call('POST', a('/qos-specs'), { body: { qos_specs: { name: 'fe-limits', consumer: 'front-end', total_iops_sec: '100' } } });
    assert.equal(qos.status, 200, qos.text);
    const withQos = await call('POST', a('/types'), { body: { volume_type: { name: 'limited' } } });
    const assoc = await call('GET', a(`/qos-specs/${qos.body.qos_specs.id}/associate?vol_type_id=${withQos.body.volume_type.id}`));
    assert.equal(assoc.status, 202, assoc.text);
    const attach = await call('POST', a(`/volumes/${id}/action`), { body: { 'os-attach': { mountpoint: '/dev/vdb', host_name: 'h1' } } });
    assert.equal(attach.status, 202, attach.text);
    const r = await retype(id, { new_type: 'limited' });
    assert.equal(r.status, 400, r.text);
    assert.match(r.body.badRequest.message, /front-end qos specs cannot change/);
    // Another type without front-end limits is fine while attached (same backend: at once).
    assert.equal((await retype(id, { new_type: 'plain-b' })).status, 202);
    assert.equal((await volume(id)).volume_type, 'plain-b');
    assert.equal((await call('POST', a(`/volumes/${id}/action`), { body: { 'os-detach': {} } })).status, 202);
    await deleteVolume(id);
  });

  test('raw → qcow2 → raw with on-demand copies the data byte-exact and changes the host', { skip: skipTwoBackends }, async () => {
    const id = await createVolume('on-raw');
    const digest = await writePattern(id);
    const r1 = await retype(id, { new_type: 'on-qcow2', migration_policy: 'on-demand' });
    assert.equal(r1.status, 202, r1.text);
    await waitFor(async () => {
      const v = await volume(id);
      return v.status === 'available' && v.volume_type === 'on-qcow2' ? v : null;
    }, 'retyped to qcow2');
    let v = await volume(id);
    assert.match(v['os-vol-host-attr:host'], /@qcow2#qcow2$/);
    assert.equal(v.migration_status, 'success');
    assert.deepEqual(await objectsOf(id), [`qcow2/volume-${id}`]);
    assert.equal(await sha(id), digest);

    assert.equal((await retype(id, { new_type: 'on-raw', migration_policy: 'on-demand' })).status, 202);
    await waitFor(async () => {
      const x = await volume(id);
      return x.status === 'available' && x.volume_type === 'on-raw' ? x : null;
    }, 'retyped back to raw');
    v = await volume(id);
    assert.match(v['os-vol-host-attr:host'], /@raw#raw$/);
    assert.deepEqual(await objectsOf(id), [`raw/volume-${id}`]);
    assert.equal(await sha(id), digest);
    await deleteVolume(id);
  });

  test("policy 'never', snapshots or no matching backend: accepted, then given back unchanged with a message", { skip: skipTwoBackends }, async () => {
    const id = await createVolume('on-raw');
    const digest = await writePattern(id);
    const host = (await volume(id))['os-vol-host-attr:host'];
    const givenBack = async (what: string) => {
      await waitFor(async () => (await volume(id)).status === 'available', `${what}: available again`);
      const v = await volume(id);
      assert.equal(v.volume_type, 'on-raw', what);
      assert.equal(v['os-vol-host-attr:host'], host, what);
      assert.deepEqual(await objectsOf(id), [`raw/volume-${id}`], what);
    };

    assert.equal((await retype(id, { new_type: 'on-qcow2' })).status, 202);
    await givenBack('policy never (the default)');
    assert.equal((await retype(id, { new_type: 'on-qcow2', migration_policy: 'never' })).status, 202);
    await givenBack('policy never');
    assert.equal((await retype(id, { new_type: 'nowhere', migration_policy: 'on-demand' })).status, 202);
    await givenBack('no backend');
    // What a give-back reserved for the new type is released again.
    const usage = (await call('GET', a(`/os-quota-sets/${admin.projectId}?usage=true`))).body.quota_set;
    assert.deepEqual([usage['volumes_on-qcow2'].in_use, usage['volumes_nowhere'].in_use, usage['volumes_on-raw'].in_use], [0, 0, 1]);
    const ms = await messagesFor(id);
    assert.equal(ms.length, 3);
    assert.ok(ms.every((m) => m.event_id === 'VOLUME_VOLUME_001_003'), JSON.stringify(ms));

    const snap = await call('POST', a('/snapshots'), { body: { snapshot: { volume_id: id } } });
    assert.equal(snap.status, 202, snap.text);
    const snapId = snap.body.snapshot.id as string;
    await waitFor(async () => (await call('GET', a(`/snapshots/${snapId}`))).body.snapshot.status === 'available', 'snapshot');
    assert.equal((await retype(id, { new_type: 'on-qcow2', migration_policy: 'on-demand' })).status, 202);
    await givenBack('snapshots present');
    assert.ok((await messagesFor(id)).some((m) => m.event_id === 'VOLUME_VOLUME_001_027'));
    assert.equal(await sha(id), digest);

    // os-migrate_volume refuses a volume with snapshots at once, as Cinder's API does.
    const qcowHost = host.replace(/@raw#raw$/, '@qcow2#qcow2');
    const m = await call('POST', a(`/volumes/${id}/action`), { body: { 'os-migrate_volume': { host: qcowHost } } });
    assert.equal(m.status, 400, m.text);
    assert.equal((await call('DELETE', a(`/snapshots/${snapId}`))).status, 202);
    await waitFor(async () => (await call('GET', a(`/snapshots/${snapId}`))).status === 404, 'snapshot gone');
    await deleteVolume(id);
  });

  test('an attached volume whose data would have to move is given back in-use, with a message', { skip: skipTwoBackends }, async () => {
    const id = await createVolume('on-raw');
    const attach = await call('POST', a(`/volumes/${id}/action`), { body: { 'os-attach': { mountpoint: '/dev/vdb', host_name: 'h1' } } });
    assert.equal(attach.status, 202, attach.text);
    assert.equal((await retype(id, { new_type: 'on-qcow2', migration_policy: 'on-demand' })).status, 202);
    await waitFor(async () => (await volume(id)).status === 'in-use', 'given back in-use');
    const v = await volume(id);
    assert.equal(v.volume_type, 'on-raw');
    assert.equal(v.attachments.length, 1);
    assert.deepEqual((await messagesFor(id)).map((m) => m.event_id), ['VOLUME_VOLUME_001_027']);
    assert.equal((await call('POST', a(`/volumes/${id}/action`), { body: { 'os-detach': {} } })).status, 202);
    await deleteVolume(id);
  });

  test('a copy that fails gives the volume back: old type and host, migration_status error, copy removed, a message', { skip: skipTwoBackends }, async () => {
    const id = await createVolume('on-qcow2');
    // A qcow2 image whose header is garbage: every read of it fails, so the copy does.
    const fh = await open(join(t.dataDir, 'volumes', 'qcow2', `volume-${id}`), 'r+');
    await fh.write(Buffer.alloc(512, 0x5a), 0, 512, 0);
    await fh.close();
    assert.equal((await retype(id, { new_type: 'on-raw', migration_policy: 'on-demand' })).status, 202);
    await waitFor(async () => (await volume(id)).migration_status === 'error', 'copy failed');
    const v = await volume(id);
    assert.equal(v.status, 'available');
    assert.equal(v.volume_type, 'on-qcow2');
    assert.match(v['os-vol-host-attr:host'], /@qcow2#qcow2$/);
    assert.deepEqual(await objectsOf(id), [`qcow2/volume-${id}`]);
    assert.deepEqual((await messagesFor(id)).map((m) => m.event_id), ['VOLUME_VOLUME_008_012']);
    await deleteVolume(id);
  });

  test('os-migrate_volume moves the data to another backend of this node, byte-exact, type unchanged', { skip: skipTwoBackends }, async () => {
    const id = await createVolume('plain-a');
    const digest = await writePattern(id);
    const before = await volume(id);
    const from = before['os-vol-host-attr:host'] as string;
    const to = from.endsWith('@raw#raw') ? from.replace(/@raw#raw$/, '@qcow2#qcow2') : from.replace(/@qcow2#qcow2$/, '@raw#raw');
    const migrate = (host: string | undefined, mv?: string) =>
      call('POST', a(`/volumes/${id}/action`), { body: { 'os-migrate_volume': host === undefined ? {} : { host, force_host_copy: false } }, ...(mv ? { mv } : {}) });
    assert.equal((await migrate(from)).status, 400);
    assert.equal((await migrate('elsewhere@nothing#x')).status, 404);
    assert.equal((await migrate(undefined)).status, 400);
    const r = await migrate(to);
    assert.equal(r.status, 202, r.text);
    await waitFor(async () => {
      const v = await volume(id);
      return v.status === 'available' && v['os-vol-host-attr:host'] === to ? v : null;
    }, 'migrated');
    const v = await volume(id);
    assert.equal(v.migration_status, 'success');
    assert.equal(v.volume_type, 'plain-a');
    assert.equal(await sha(id), digest);
    assert.equal((await objectsOf(id)).length, 1);
    // 3.16: a cluster names the backend as well.
    const back = await call('POST', a(`/volumes/${id}/action`), { body: { 'os-migrate_volume': { cluster: from } }, mv: '3.16' });
    assert.equal(back.status, 202, back.text);
    await waitFor(async () => (await volume(id))['os-vol-host-attr:host'] === from && (await volume(id)).status === 'available', 'migrated back');
    assert.equal(await sha(id), digest);
    await deleteVolume(id);

    // A backend the volume's type excludes: accepted, then the migration fails and the volume stays.
    const pinned = await createVolume('on-raw');
    const pinnedHost = (await volume(pinned))['os-vol-host-attr:host'] as string;
    const m = await call('POST', a(`/volumes/${pinned}/action`), { body: { 'os-migrate_volume': { host: pinnedHost.replace(/@raw#raw$/, '@qcow2#qcow2') } } });
    assert.equal(m.status, 202, m.text);
    await waitFor(async () => (await volume(pinned)).migration_status === 'error', 'migration failed');
    const p = await volume(pinned);
    assert.equal(p.status, 'available');
    assert.equal(p['os-vol-host-attr:host'], pinnedHost);
    assert.deepEqual(await objectsOf(pinned), [`raw/volume-${pinned}`]);
    await deleteVolume(pinned);
  });
});
