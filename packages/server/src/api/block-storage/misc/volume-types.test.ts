import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { qemuAvailability } from '../../../config/volume-backends.js';
import { startTestServer, waitFor, type TestServer } from '../../../test-support/harness.js';

const qemu = qemuAvailability();

describe('volume types: manage, extra specs, access, encryption, default types', () => {
  let t: TestServer;
  let admin: { token: string; projectId: string };
  let alice: { token: string; projectId: string };
  let bob: { token: string; projectId: string };

  const call = (method: string, path: string, opts: { token?: string; body?: unknown; mv?: string } = {}) => t.request(method, path, opts);
  const a = (p: string) => `/v3/${admin.projectId}${p}`;

  async function createType(body: Record<string, unknown>): Promise<{ id: string; name: string }> {
    const r = await call('POST', a('/types'), { token: admin.token, body: { volume_type: body } });
    assert.equal(r.status, 200, r.text);
    return r.body.volume_type;
  }

  async function createVolume(who: { token: string; projectId: string }, volume: Record<string, unknown>) {
    const r = await call('POST', `/v3/${who.projectId}/volumes`, { token: who.token, body: { volume: { size: 1, ...volume } } });
    if (r.status === 202) {
      const id = r.body.volume.id as string;
      await waitFor(
        async () => (await call('GET', `/v3/${who.projectId}/volumes/${id}`, { token: who.token })).body?.volume?.status === 'available',
        `volume ${id} available`,
      );
    }
    return r;
  }

  async function deleteVolume(who: { token: string; projectId: string }, id: string) {
    const d = await call('DELETE', `/v3/${who.projectId}/volumes/${id}`, { token: who.token });
    assert.equal(d.status, 202, d.text);
    await waitFor(async () => (await call('GET', `/v3/${who.projectId}/volumes/${id}`, { token: who.token })).status === 404, `volume ${id} gone`);
  }

  before(async () => {
    const backends = qemu.available
      ? [
          { name: 'raw', driver: 'raw' as const, pool: 'raw' },
          { name: 'qcow2', driver: 'qcow2' as const, pool: 'qcow2' },
        ]
      : [{ name: 'raw', driver: 'raw' as const, pool: 'raw' }];
    t = await startTestServer({ backends });
    admin = { token: t.adminToken, projectId: t.adminProjectId };
    alice = await t.createMember('types-alice');
    bob = await t.createMember('types-bob');
  });

  after(async () => {
    await t?.close();
  });

  test('an admin creates, shows, renames and deletes a type; a name taken already is a 409', async () => {
    const ty = await createType({ name: 'gold', description: 'fast', extra_specs: { tier: 'gold' } });
    const show = await call('GET', a(`/types/${ty.id}`), { token: admin.token });
    assert.equal(show.status, 200);
    assert.deepEqual(
      { name: show.body.volume_type.name, description: show.body.volume_type.description, is_public: show.body.volume_type.is_public, extra_specs: show.body.volume_type.extra_specs },
      { name: 'gold', description: 'fast', is_public: true, extra_specs: { tier: 'gold' } },
    );
    const dup = await call('POST', a('/types'), { token: admin.token, body: { volume_type: { name: 'gold' } } });
    assert.equal(dup.status, 409, dup.text);
    assert.equal(dup.body.conflictingRequest.message, 'Volume Type gold already exists.');

    const upd = await call('PUT', a(`/types/${ty.id}`), { token: admin.token, body: { volume_type: { name: 'platinum', description: null } } });
    assert.equal(upd.status, 200, upd.text);
    assert.equal(upd.body.volume_type.name, 'platinum');
    assert.equal(upd.body.volume_type.description, null);
    const empty = await call('PUT', a(`/types/${ty.id}`), { token: admin.token, body: { volume_type: {} } });
    assert.equal(empty.status, 400);
    assert.match(empty.body.badRequest.message, /Specify volume type name, description, is_public/);

    const del = await call('DELETE', a(`/types/${ty.id}`), { token: admin.token });
    assert.equal(del.status, 202, del.text);
    assert.equal((await call('GET', a(`/types/${ty.id}`), { token: admin.token })).status, 404);
  });

  test('members cannot create, update or delete types; bad bodies are 400', async () => {
    const r = await call('POST', `/v3/${alice.projectId}/types`, { token: alice.token, body: { volume_type: { name: 'mine' } } });
    assert.equal(r.status, 403, r.text);
    assert.match(r.body.forbidden.message, /volume_extension:type_create/);
    for (const body of [{}, { volume_type: {} }, { volume_type: { name: '' } }, { volume_type: { name: 'x\u0000y' } }, { volume_type: { name: 'x', extra: 1 } }]) {
      const bad = await call('POST', a('/types'), { token: admin.token, body });
      assert.equal(bad.status, 400, `${JSON.stringify(body)}: ${bad.text}`);
    }
    const names = (await call('GET', a('/types?is_public=none'), { token: admin.token })).body.volume_types.map((x: { name: string }) => x.name);
    assert.ok(!names.includes('mine') && !names.includes('x'));
  });

  test('a type in use cannot be deleted, nor the default type', async () => {
    const ty = await createType({ name: 'busy' });
    const v = await createVolume(alice, { volume_type: 'busy' });
    assert.equal(v.status, 202, v.text);
    assert.equal(v.body.volume.volume_type, 'busy');
    const del = await call('DELETE', a(`/types/${ty.id}`), { token: admin.token });
    assert.equal(del.status, 400);
    assert.equal(del.body.badRequest.message, 'Target volume type is still in use.');
    // Its extra specs are fixed while volumes use it, as in Cinder.
    const spec = await call('POST', a(`/types/${ty.id}/extra_specs`), { token: admin.token, body: { extra_specs: { volume_backend_name: 'raw' } } });
    assert.equal(spec.status, 400);
    assert.equal(spec.body.badRequest.message, 'Volume Type is currently in use.');
    const dflt = (await call('GET', a('/types/default'), { token: admin.token })).body.volume_type;
    const d2 = await call('DELETE', a(`/types/${dflt.id}`), { token: admin.token });
    assert.equal(d2.status, 400);
    await deleteVolume(alice, v.body.volume.id);
    assert.equal((await call('DELETE', a(`/types/${ty.id}`), { token: admin.token })).status, 202);
  });

  test('extra specs: set, show, update one key, delete; backend specs hidden from members', async () => {
    const ty = await createType({ name: 'specs' });
    const base = a(`/types/${ty.id}/extra_specs`);
    const c = await call('POST', base, { token: admin.token, body: { extra_specs: { volume_backend_name: 'raw', multiattach: '<is> False' } } });
    assert.equal(c.status, 200, c.text);
    assert.deepEqual(c.body.extra_specs, { volume_backend_name: 'raw', multiattach: '<is> False' });
    assert.deepEqual((await call('GET', base, { token: admin.token })).body.extra_specs, { volume_backend_name: 'raw', multiattach: '<is> False' });
    const asMember = await call('GET', `/v3/${alice.projectId}/types/${ty.id}/extra_specs`, { token: alice.token });
    assert.deepEqual(asMember.body.extra_specs, { multiattach: '<is> False' });
    // 3.52 lists by extra specs (JSON or cinderclient's single-quoted dict); members match only what they see.
    const byspec = async (q: string, token = admin.token, project = admin.projectId) =>
      (await call('GET', `/v3/${project}/types?extra_specs=${encodeURIComponent(q)}`, { token, mv: '3.52' })).body.volume_types?.map((x: { id: string }) => x.id);
    assert.deepEqual(await byspec(`{"volume_backend_name": "raw"}`), [ty.id]);
    assert.deepEqual(await byspec(`{'volume_backend_name': 'raw', 'multiattach': '<is> False'}`), [ty.id]);
    assert.deepEqual(await byspec(`{"volume_backend_name": "qcow2"}`), []);
    assert.deepEqual(await byspec(`{"volume_backend_name": "raw"}`, alice.token, alice.projectId), []);
    assert.deepEqual(await byspec(`{"multiattach": "<is> False"}`, alice.token, alice.projectId), [ty.id]);
    assert.equal((await call('GET', a('/types?extra_specs=notadict'), { token: admin.token, mv: '3.52' })).status, 400);

    const u = await call('PUT', `${base}/multiattach`, { token: admin.token, body: { multiattach: '<is> True' } });
    assert.equal(u.status, 200, u.text);
    assert.deepEqual(u.body, { multiattach: '<is> True' });
    assert.equal((await call('PUT', `${base}/multiattach`, { token: admin.token, body: { other: 'x' } })).status, 400);
    assert.equal((await call('PUT', `${base}/multiattach`, { token: admin.token, body: { multiattach: 'a', b: 'c' } })).status, 400);
    assert.deepEqual((await call('GET', `${base}/multiattach`, { token: admin.token })).body, { multiattach: '<is> True' });

    assert.equal((await call('DELETE', `${base}/multiattach`, { token: admin.token })).status, 202);
    assert.equal((await call('DELETE', `${base}/multiattach`, { token: admin.token })).status, 404);
    assert.equal((await call('GET', `${base}/multiattach`, { token: admin.token })).status, 404);
    assert.equal((await call('POST', `/v3/${alice.projectId}/types/${ty.id}/extra_specs`, { token: alice.token, body: { extra_specs: { a: 'b' } } })).status, 403);
    assert.equal((await call('POST', base, { token: admin.token, body: { extra_specs: 'x' } })).status, 400);
    assert.equal((await call('POST', a('/types/00000000-0000-0000-0000-000000000000/extra_specs'), { token: admin.token, body: { extra_specs: { a: 'b' } } })).status, 404);
  });

  test('volume_backend_name steers new volumes to that backend; with an unknown backend the volume is error', { skip: qemu.available ? false : `two backends need qcow2: ${qemu.detail}` }, async () => {
    await createType({ name: 'on-raw', extra_specs: { volume_backend_name: 'raw' } });
    await createType({ name: 'on-qcow2', extra_specs: { volume_backend_name: 'qcow2' } });
    await createType({ name: 'nowhere', extra_specs: { volume_backend_name: 'tape' } });
    const host = async (id: string) => (await call('GET', a(`/volumes/${id}`), { token: admin.token })).body.volume['os-vol-host-attr:host'] as string;
    const r = await createVolume(admin, { volume_type: 'on-raw' });
    const q = await createVolume(admin, { volume_type: 'on-qcow2' });
    assert.equal(r.status, 202, r.text);
    assert.equal(q.status, 202, q.text);
    assert.match(await host(r.body.volume.id), /@raw#raw$/);
    assert.match(await host(q.body.volume.id), /@qcow2#qcow2$/);
    // A clone stays with its source's driver, whatever backend its (inherited) type names.
    const clone = await createVolume(admin, { source_volid: q.body.volume.id });
    assert.equal(clone.status, 202, clone.text);
    assert.match(await host(clone.body.volume.id), /@qcow2#qcow2$/);

    // No backend of that name: as after Cinder's scheduler, the volume is `error` and can be deleted.
    const n = await call('POST', a('/volumes'), { token: admin.token, body: { volume: { size: 1, volume_type: 'nowhere' } } });
    assert.equal(n.status, 202, n.text);
    assert.equal(n.body.volume.status, 'error');
    assert.equal((await call('GET', a(`/volumes/${n.body.volume.id}`), { token: admin.token })).body.volume.status, 'error');
    for (const v of [clone, r, q, n]) await deleteVolume(admin, v.body.volume.id);
  });

  test('a private type is invisible and unusable to a project until it is given access', async () => {
    const ty = await createType({ name: 'secret', 'os-volume-type-access:is_public': false });
    const listed = async (who: { token: string; projectId: string }) =>
      (await call('GET', `/v3/${who.projectId}/types`, { token: who.token })).body.volume_types.map((x: { id: string }) => x.id);
    assert.ok(!(await listed(alice)).includes(ty.id));
    assert.equal((await call('GET', `/v3/${alice.projectId}/types/${ty.id}`, { token: alice.token })).status, 404);
    assert.equal((await createVolume(alice, { volume_type: 'secret' })).status, 404);
    assert.equal((await createVolume(alice, { volume_type: ty.id })).status, 404);
    // Admins see it with is_public=false or none, not by default.
    const adminSees = async (q: string) =>
      (await call('GET', a(`/types${q}`), { token: admin.token })).body.volume_types.some((x: { id: string }) => x.id === ty.id);
    assert.deepEqual([await adminSees(''), await adminSees('?is_public=false'), await adminSees('?is_public=none')], [false, true, true]);

    const access = a(`/types/${ty.id}/os-volume-type-access`);
    assert.deepEqual((await call('GET', access, { token: admin.token })).body, { volume_type_access: [] });
    const add = await call('POST', a(`/types/${ty.id}/action`), { token: admin.token, body: { addProjectAccess: { project: alice.projectId } } });
    assert.equal(add.status, 202, add.text);
    assert.equal((await call('POST', a(`/types/${ty.id}/action`), { token: admin.token, body: { addProjectAccess: { project: alice.projectId } } })).status, 409);
    assert.deepEqual((await call('GET', access, { token: admin.token })).body, {
      volume_type_access: [{ volume_type_id: ty.id, project_id: alice.projectId }],
    });
    assert.equal((await call('POST', `/v3/${alice.projectId}/types/${ty.id}/action`, { token: alice.token, body: { addProjectAccess: { project: bob.projectId } } })).status, 403);

    assert.ok((await listed(alice)).includes(ty.id));
    assert.ok(!(await listed(bob)).includes(ty.id));
    assert.equal((await call('GET', `/v3/${alice.projectId}/types/${ty.id}`, { token: alice.token })).status, 200);
    assert.equal((await call('GET', `/v3/${bob.projectId}/types/${ty.id}`, { token: bob.token })).status, 404);
    const v = await createVolume(alice, { volume_type: 'secret' });
    assert.equal(v.status, 202, v.text);
    assert.equal((await createVolume(bob, { volume_type: 'secret' })).status, 404);

    const rm = await call('POST', a(`/types/${ty.id}/action`), { token: admin.token, body: { removeProjectAccess: { project: alice.projectId } } });
    assert.equal(rm.status, 202, rm.text);
    assert.equal((await call('POST', a(`/types/${ty.id}/action`), { token: admin.token, body: { removeProjectAccess: { project: alice.projectId } } })).status, 404);
    assert.ok(!(await listed(alice)).includes(ty.id));
    await deleteVolume(alice, v.body.volume.id);

    const pub = await createType({ name: 'open' });
    assert.equal((await call('GET', a(`/types/${pub.id}/os-volume-type-access`), { token: admin.token })).status, 404);
    assert.equal((await call('POST', a(`/types/${pub.id}/action`), { token: admin.token, body: { addProjectAccess: { project: alice.projectId } } })).status, 400);
    assert.equal((await call('POST', a(`/types/${pub.id}/action`), { token: admin.token, body: { bogus: {} } })).status, 400);
  });

  test('encryption specs: create, show, update, delete; refused while volumes of the type exist', async () => {
    const ty = await createType({ name: 'luks' });
    const enc = a(`/types/${ty.id}/encryption`);
    assert.deepEqual((await call('GET', enc, { token: admin.token })).body, {});
    const body = { encryption: { provider: 'luks', control_location: 'front-end', cipher: 'aes-xts-plain64', key_size: 256 } };
    const c = await call('POST', enc, { token: admin.token, body });
    assert.equal(c.status, 200, c.text);
    assert.deepEqual(c.body, { encryption: { ...body.encryption, volume_type_id: ty.id, encryption_id: c.body.encryption.encryption_id } });
    assert.match(c.body.encryption.encryption_id, /^[0-9a-f-]{36}$/);
    assert.equal((await call('POST', enc, { token: admin.token, body })).status, 400);
    assert.equal((await call('POST', enc, { token: admin.token, body: { encryption: { provider: 'luks', control_location: 'middle' } } })).status, 400);
    const shown = (await call('GET', enc, { token: admin.token })).body;
    assert.equal(shown.volume_type_id, ty.id);
    assert.equal(shown.provider, 'luks');
    assert.equal(shown.key_size, 256);
    assert.deepEqual((await call('GET', `${enc}/provider`, { token: admin.token })).body, { provider: 'luks' });
    assert.equal((await call('GET', `/v3/${alice.projectId}/types/${ty.id}/encryption`, { token: alice.token })).status, 403);

    const u = await call('PUT', `${enc}/${shown.encryption_id}`, { token: admin.token, body: { encryption: { key_size: 512 } } });
    assert.equal(u.status, 200, u.text);
    assert.deepEqual(u.body, { encryption: { key_size: 512 } });
    assert.equal((await call('GET', enc, { token: admin.token })).body.key_size, 512);

    const v = await createVolume(admin, { volume_type: 'luks' });
    assert.equal(v.status, 202, v.text);
    const inUse = await call('PUT', `${enc}/${shown.encryption_id}`, { token: admin.token, body: { encryption: { key_size: 128 } } });
    assert.equal(inUse.status, 400);
    assert.equal(inUse.body.badRequest.message, 'Cannot update encryption specs. Volume type in use.');
    const delInUse = await call('DELETE', `${enc}/${shown.encryption_id}`, { token: admin.token });
    assert.equal(delInUse.status, 400);
    assert.equal(delInUse.body.badRequest.message, 'Cannot delete encryption specs. Volume type in use.');
    await deleteVolume(admin, v.body.volume.id);

    assert.equal((await call('DELETE', `${enc}/${shown.encryption_id}`, { token: admin.token })).status, 202);
    assert.deepEqual((await call('GET', enc, { token: admin.token })).body, {});
    assert.equal((await call('DELETE', `${enc}/${shown.encryption_id}`, { token: admin.token })).status, 404);
  });

  test('default types (3.62): a project default is used for volumes created without a type', async () => {
    const ty = await createType({ name: 'house' });
    const path = a(`/default-types/${bob.projectId}`);
    assert.equal((await call('GET', path, { token: admin.token, mv: '3.61' })).status, 404);
    assert.equal((await call('GET', path, { token: admin.token, mv: '3.62' })).status, 404);
    const set = await call('PUT', path, { token: admin.token, mv: '3.62', body: { default_type: { volume_type: 'house' } } });
    assert.equal(set.status, 200, set.text);
    assert.deepEqual(set.body, { default_type: { project_id: bob.projectId, volume_type_id: ty.id } });
    assert.deepEqual((await call('GET', path, { token: admin.token, mv: '3.62' })).body, set.body);
    const all = await call('GET', a('/default-types'), { token: admin.token, mv: '3.62' });
    assert.deepEqual(all.body.default_types, [{ project_id: bob.projectId, volume_type_id: ty.id }]);
    assert.equal((await call('GET', `/v3/${bob.projectId}/default-types/${bob.projectId}`, { token: bob.token, mv: '3.62' })).status, 403);
    assert.equal((await call('PUT', path, { token: admin.token, mv: '3.62', body: { default_type: { volume_type: 'no-such-type' } } })).status, 404);
    const noProject = await call('PUT', a('/default-types/0123456789abcdef0123456789abcdef'), { token: admin.token, mv: '3.62', body: { default_type: { volume_type: 'house' } } });
    assert.equal(noProject.status, 404);
    assert.equal(noProject.body.itemNotFound.message, 'Project with id 0123456789abcdef0123456789abcdef not found.');

    const v = await createVolume(bob, {});
    assert.equal(v.status, 202, v.text);
    assert.equal(v.body.volume.volume_type, 'house');
    assert.equal((await call('GET', `/v3/${bob.projectId}/types/default`, { token: bob.token })).body.volume_type.id, ty.id);
    const other = await createVolume(alice, {});
    assert.equal(other.body.volume.volume_type, '__DEFAULT__');
    // The project's default cannot be deleted from under it.
    await deleteVolume(bob, v.body.volume.id);
    assert.equal((await call('DELETE', a(`/types/${ty.id}`), { token: admin.token })).status, 400);

    assert.equal((await call('DELETE', path, { token: admin.token, mv: '3.62' })).status, 204);
    assert.equal((await call('GET', path, { token: admin.token, mv: '3.62' })).status, 404);
    const after = await createVolume(bob, {});
    assert.equal(after.body.volume.volume_type, '__DEFAULT__');
    await deleteVolume(bob, after.body.volume.id);
    await deleteVolume(alice, other.body.volume.id);
    assert.equal((await call('DELETE', a(`/types/${ty.id}`), { token: admin.token })).status, 202);
  });
});
