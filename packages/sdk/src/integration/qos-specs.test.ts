/**
 * The SDK's QoS spec methods against the live cinderbox server over a real socket.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Connection } from '../connection.js';
import { BadRequestError, ForbiddenError, NotFoundError } from '../errors.js';
import { adminConnection, memberConnection, startTestServer, type TestServer } from '../test-support/live.js';

let t: TestServer;
let admin: Connection;
let member: Connection;

before(async () => {
  t = await startTestServer();
  admin = adminConnection(t.url);
  await t.createMember('sdk-qos-member');
  member = memberConnection(t.url, 'sdk-qos-member');
});
after(async () => t.close());

describe('QoS specs', () => {
  test('create, list, get, set and unset keys, associate with a type, delete (forced while associated)', async () => {
    const bs = admin.blockStorage;
    const q = await bs.createQoSSpec({ name: 'sdk-gold', consumer: 'front-end', specs: { read_iops_sec: '2000' } });
    assert.equal(q.consumer, 'front-end');
    assert.deepEqual(q.specs, { read_iops_sec: '2000' });
    assert.ok((await bs.qosSpecs().toArray()).some((x) => x.id === q.id));
    assert.deepEqual(
      (await bs.qosSpecs({ consumer: 'front-end' }).toArray()).map((x) => x.name),
      ['sdk-gold'],
    );
    assert.equal((await bs.getQoSSpec(q.id as string)).name, 'sdk-gold');

    assert.deepEqual((await bs.setQoSSpecKeys(q, { total_bytes_sec_per_gb: '1000' })).specs, { read_iops_sec: '2000', total_bytes_sec_per_gb: '1000' });
    assert.deepEqual((await bs.unsetQoSSpecKeys(q, ['read_iops_sec'])).specs, { total_bytes_sec_per_gb: '1000' });

    const type = await bs.getVolumeType('default');
    await bs.associateQoSSpec(q, type);
    assert.deepEqual(
      (await bs.qosSpecAssociations(q)).map((a) => [a.associationType, a.id]),
      [['volume_type', type.id]],
    );
    assert.equal((await bs.getVolumeType('default')).qosSpecsId, q.id);

    // The member's volume reports the per-GB limit scaled by its size.
    const v = await member.blockStorage.createVolume({ size: 2, name: 'sdk-limited' });
    assert.equal((await member.blockStorage.waitForStatus(v, { minDelayMs: 5, maxDelayMs: 50, waitTimeoutMs: 15_000 })).state, 'success');
    const conn = await member.blockStorage.initializeVolumeConnection(v, { host: 'h' });
    assert.deepEqual((conn.data as Record<string, unknown>).qos_specs, { total_bytes_sec: 2000 });

    await assert.rejects(member.blockStorage.qosSpecs().toArray(), ForbiddenError);
    await assert.rejects(bs.deleteQoSSpec(q), BadRequestError);
    await bs.disassociateQoSSpec(q, type);
    assert.deepEqual(await bs.qosSpecAssociations(q), []);
    await bs.associateQoSSpec(q, type);
    await bs.deleteQoSSpec(q, { force: true });
    await assert.rejects(bs.getQoSSpec(q.id as string), NotFoundError);
    assert.equal((await bs.getVolumeType('default')).raw.qos_specs_id, null, 'the type shows no spec');
    await bs.deleteQoSSpec(q, { ignoreMissing: true });
  });
});
