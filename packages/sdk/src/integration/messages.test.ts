/**
 * The SDK's user-message methods against the live cinderbox server over a real socket.
 */
import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Connection } from '../connection.js';
import { NotFoundError } from '../errors.js';
import { memberConnection, startTestServer, type TestServer } from '../test-support/live.js';

let t: TestServer;
let alice: Connection;

before(async () => {
  t = await startTestServer();
  await t.createMember('sdk-msg-alice');
  alice = memberConnection(t.url, 'sdk-msg-alice');
});
after(async () => t.close());

const fast = { minDelayMs: 5, maxDelayMs: 50, waitTimeoutMs: 15_000 };

/** Removes a volume's backend file behind the server's back, so a backup of it fails in the backup driver. */
async function breakVolume(id: string): Promise<void> {
  const root = join(t.dataDir, 'volumes');
  for (const e of await readdir(root, { recursive: true, withFileTypes: true }))
    if (e.isFile() && e.name === `volume-${id}`) await rm(join(e.parentPath, e.name));
}

describe('user messages', () => {
  test('a failed backup is listed, shown and deleted as a message', async () => {
    const bs = alice.blockStorage;
    const v = await bs.createVolume({ size: 1, name: 'sdk-msg' });
    assert.equal((await bs.waitForStatus(v, fast)).state, 'success');
    await breakVolume(v.id!);
    const b = await bs.createBackup({ volumeId: v.id!, name: 'sdk-msg-backup' });
    assert.equal((await bs.waitForStatus(b, fast)).state, 'failure');

    const list = await bs.messages({ resourceUuid: b.id! }).toArray();
    assert.equal(list.length, 1);
    const [m] = list;
    assert.equal(m!.eventId, 'VOLUME_VOLUME_BACKUP_013_020');
    assert.equal(m!.userMessage, 'create backup: Backup driver failed to create backup.');
    assert.equal(m!.resourceType, 'VOLUME_BACKUP');
    assert.equal(m!.messageLevel, 'ERROR');
    assert.ok(m!.guaranteedUntil! > m!.createdAt!);

    const shown = await bs.getMessage(m!.id!);
    assert.equal(shown.requestId, m!.requestId);
    assert.deepEqual(await bs.messages({ resourceType: 'VOLUME' }).toArray(), []);

    await bs.deleteMessage(m!);
    await assert.rejects(bs.getMessage(m!.id!), NotFoundError);
    await bs.deleteMessage(m!.id!, { ignoreMissing: true });
    await assert.rejects(bs.deleteMessage(m!.id!), NotFoundError);
  });
});
