/**
 * The SDK's volume-type management (create/update/delete, extra specs, access, encryption, 3.62 default types)
 * against the live cinderbox server over a real socket.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Connection } from '../connection.js';
import { BadRequestError, NotFoundError } from '../errors.js';
import { adminConnection, memberConnection, startTestServer, type TestServer } from '../test-support/live.js';

let t: TestServer;
let admin: Connection;
let alice: Connection;
let aliceProject: string;

before(async () => {
  t = await startTestServer();
  aliceProject = (await t.createMember('sdk-types-alice')).projectId;
  admin = adminConnection(t.url);
  alice = memberConnection(t.url, 'sdk-types-alice');
});
after(async () => t.close());

describe('volume types', () => {
  test('create, update, extra specs, delete', async () => {
    const bs = admin.blockStorage;
    const ty = await bs.createVolumeType({ name: 'sdk-gold', description: 'fast', extraSpecs: { tier: 'gold' } });
    assert.equal(ty.name, 'sdk-gold');
    assert.equal(ty.isPublic, true);
    assert.deepEqual(ty.extraSpecs, { tier: 'gold' });
    await bs.updateVolumeType(ty, { description: 'faster' });
    assert.equal((await bs.getVolumeType(ty.id as string)).description, 'faster');
    assert.deepEqual(await bs.setVolumeTypeExtraSpecs(ty, { color: 'red' }), { color: 'red' });
    assert.deepEqual((await bs.getVolumeType(ty.id as string)).extraSpecs, { tier: 'gold', color: 'red' });
    await bs.deleteVolumeTypeExtraSpecs(ty, ['tier']);
    assert.deepEqual((await bs.getVolumeType(ty.id as string)).extraSpecs, { color: 'red' });
    await bs.deleteVolumeType(ty);
    await assert.rejects(bs.getVolumeType(ty.id as string), NotFoundError);
    await bs.deleteVolumeType(ty, { ignoreMissing: true });
  });

  test('private type access', async () => {
    const bs = admin.blockStorage;
    const ty = await bs.createVolumeType({ name: 'sdk-private', isPublic: false });
    assert.equal(ty.isPublic, false);
    await assert.rejects(alice.blockStorage.getVolumeType(ty.id as string), NotFoundError);
    await bs.addVolumeTypeAccess(ty, aliceProject);
    assert.deepEqual(await bs.volumeTypeAccess(ty), [aliceProject]);
    assert.equal((await alice.blockStorage.getVolumeType(ty.id as string)).name, 'sdk-private');
    await bs.removeVolumeTypeAccess(ty, aliceProject);
    assert.deepEqual(await bs.volumeTypeAccess(ty), []);
    await bs.deleteVolumeType(ty);
  });

  test('encryption spec', async () => {
    const bs = admin.blockStorage;
    const ty = await bs.createVolumeType({ name: 'sdk-luks' });
    assert.equal(await bs.getVolumeTypeEncryption(ty), undefined);
    const e = await bs.createVolumeTypeEncryption(ty, { provider: 'luks', controlLocation: 'front-end', keySize: 256 });
    assert.equal(e.volumeTypeId, ty.id);
    assert.ok(e.encryptionId);
    await bs.updateVolumeTypeEncryption(ty, { keySize: 512 });
    assert.equal((await bs.getVolumeTypeEncryption(ty))?.keySize, 512);
    await assert.rejects(bs.createVolumeTypeEncryption(ty, { provider: 'luks', controlLocation: 'back-end' }), BadRequestError);
    await bs.deleteVolumeTypeEncryption(ty);
    assert.equal(await bs.getVolumeTypeEncryption(ty), undefined);
    await bs.deleteVolumeType(ty);
  });

  test('project default type (3.62)', async () => {
    const bs = admin.blockStorage;
    const ty = await bs.createVolumeType({ name: 'sdk-house' });
    assert.deepEqual(await bs.setDefaultVolumeType(aliceProject, 'sdk-house'), { projectId: aliceProject, volumeTypeId: ty.id });
    assert.deepEqual(await bs.getDefaultVolumeType(aliceProject), { projectId: aliceProject, volumeTypeId: ty.id });
    assert.deepEqual(await bs.defaultVolumeTypes(), [{ projectId: aliceProject, volumeTypeId: ty.id }]);
    await bs.unsetDefaultVolumeType(aliceProject);
    await assert.rejects(bs.getDefaultVolumeType(aliceProject), NotFoundError);
    await bs.deleteVolumeType(ty);
  });
});
