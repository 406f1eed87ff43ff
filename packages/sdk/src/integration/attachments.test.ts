/**
 * The SDK's attachment methods against the live cinderbox server over a real socket.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Connection } from '../connection.js';
import { BadRequestError, NotFoundError } from '../errors.js';
import { adminConnection, memberConnection, startTestServer, type TestServer } from '../test-support/live.js';

let t: TestServer;
let alice: Connection;
let bob: Connection;

before(async () => {
  t = await startTestServer();
  await t.createMember('sdk-att-alice');
  await t.createMember('sdk-att-bob');
  alice = memberConnection(t.url, 'sdk-att-alice');
  bob = memberConnection(t.url, 'sdk-att-bob');
});
after(async () => t.close());

const fast = { minDelayMs: 5, maxDelayMs: 50, waitTimeoutMs: 15_000 };

describe('attachments', () => {
  test('create, update with a connector, complete, list, get, delete; the volume follows', async () => {
    const v = await alice.blockStorage.createVolume({ size: 1, name: 'sdk-att' });
    assert.equal((await alice.blockStorage.waitForStatus(v, fast)).state, 'success');
    const server = randomUUID();
    const a = await alice.blockStorage.createAttachment({ volumeId: v.id, instance: server, mode: 'ro' });
    assert.equal(a.status, 'reserved');
    assert.equal(a.attachMode, 'ro');
    assert.equal((await alice.blockStorage.getVolume(v.id as string)).status, 'reserved');
    await assert.rejects(alice.blockStorage.createAttachment({ volumeId: v.id, instance: randomUUID() }), BadRequestError);

    const connected = await alice.blockStorage.updateAttachment(a, { host: 'compute-1', mountpoint: '/dev/vdb' });
    assert.equal(connected.status, 'attaching');
    assert.equal(connected.connectionInfo?.access_mode, 'ro');
    assert.equal(connected.connectionInfo?.attachment_id, a.id);

    await alice.blockStorage.completeAttachment(a);
    assert.equal((await alice.blockStorage.getAttachment(a.id as string)).status, 'attached');
    assert.equal((await alice.blockStorage.getVolume(v.id as string)).status, 'in-use');
    const listed = await alice.blockStorage.attachments({ volumeId: v.id as string, details: true }).toArray();
    assert.deepEqual(
      listed.map((x) => [x.id, x.instance, x.status, x.volumeId]),
      [[a.id, server, 'attached', v.id]],
    );
    assert.deepEqual(await bob.blockStorage.attachments().toArray(), []);
    await assert.rejects(bob.blockStorage.getAttachment(a.id as string), NotFoundError);

    await alice.blockStorage.deleteAttachment(a);
    assert.equal((await alice.blockStorage.getVolume(v.id as string)).status, 'available');
    await assert.rejects(alice.blockStorage.getAttachment(a.id as string), NotFoundError);
    await alice.blockStorage.deleteAttachment(a, { ignoreMissing: true });
  });

  test('detachVolume with force sends os-force_detach (admin) and removes an attachment the new API made', async () => {
    const admin = adminConnection(t.url);
    const v = await alice.blockStorage.createVolume({ size: 1, name: 'sdk-att-force' });
    assert.equal((await alice.blockStorage.waitForStatus(v, fast)).state, 'success');
    const a = await alice.blockStorage.createAttachment({ volumeId: v.id, instance: randomUUID(), connector: { host: 'h' } });
    await alice.blockStorage.completeAttachment(a);
    await admin.blockStorage.detachVolume(v.id as string, { attachmentId: a.id as string, force: true, connector: { host: 'h' } });
    assert.equal((await alice.blockStorage.getVolume(v.id as string)).status, 'available');
    assert.deepEqual(await alice.blockStorage.attachments({ volumeId: v.id as string }).toArray(), []);
  });
});
