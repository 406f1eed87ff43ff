/**
 * The SDK's volume-transfer methods against the live cinderbox server over a real socket.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Connection } from '../connection.js';
import { BadRequestError, NotFoundError } from '../errors.js';
import { memberConnection, startTestServer, type TestServer } from '../test-support/live.js';

let t: TestServer;
let alice: Connection;
let bob: Connection;
let bobProject: string;
let aliceProject: string;

before(async () => {
  t = await startTestServer();
  aliceProject = (await t.createMember('sdk-xfer-alice')).projectId;
  bobProject = (await t.createMember('sdk-xfer-bob')).projectId;
  alice = memberConnection(t.url, 'sdk-xfer-alice');
  bob = memberConnection(t.url, 'sdk-xfer-bob');
});
after(async () => t.close());

const fast = { minDelayMs: 5, maxDelayMs: 50, waitTimeoutMs: 15_000 };

async function newVolume(conn: Connection, name: string) {
  const v = await conn.blockStorage.createVolume({ size: 1, name });
  assert.equal((await conn.blockStorage.waitForStatus(v, fast)).state, 'success');
  return v;
}

describe('volume transfers', () => {
  test('create, list, get, accept by another project; the volume changes hands', async () => {
    const v = await newVolume(alice, 'sdk-gift');
    const offer = await alice.blockStorage.createTransfer({ volumeId: v.id, name: 'to bob' });
    assert.match(offer.authKey ?? '', /^[0-9a-f]{16}$/);
    assert.equal(offer.volumeId, v.id);
    assert.equal(offer.sourceProjectId, aliceProject);
    assert.equal(offer.accepted, false);
    assert.equal((await alice.blockStorage.getVolume(v.id as string)).status, 'awaiting-transfer');
    const listed = await alice.blockStorage.transfers().toArray();
    assert.deepEqual(
      listed.map((x) => [x.id, x.name, x.authKey]),
      [[offer.id, 'to bob', undefined]],
    );
    assert.equal((await alice.blockStorage.getTransfer(offer.id as string)).volumeId, v.id);
    await assert.rejects(bob.blockStorage.getTransfer(offer.id as string), NotFoundError);
    await assert.rejects(bob.blockStorage.acceptTransfer(offer.id as string, 'ffffffffffffffff'), BadRequestError);

    const done = await bob.blockStorage.acceptTransfer(offer.id as string, offer.authKey as string);
    assert.equal(done.volumeId, v.id);
    const moved = await bob.blockStorage.getVolume(v.id as string);
    assert.equal(moved.status, 'available');
    assert.equal(moved.projectId, bobProject);
    await assert.rejects(alice.blockStorage.getVolume(v.id as string), NotFoundError);
    assert.deepEqual(await alice.blockStorage.transfers().toArray(), []);
  });

  test('noSnapshots goes to volume-transfers at 3.55+; delete gives the volume back', async () => {
    const v = await newVolume(alice, 'sdk-kept');
    const offer = await alice.blockStorage.createTransfer({ volumeId: v.id, noSnapshots: true });
    assert.equal(offer.noSnapshots, true);
    await alice.blockStorage.deleteTransfer(offer);
    assert.equal((await alice.blockStorage.getVolume(v.id as string)).status, 'available');
    await assert.rejects(alice.blockStorage.getTransfer(offer.id as string), NotFoundError);
    await alice.blockStorage.deleteTransfer(offer.id as string, { ignoreMissing: true });
  });
});
