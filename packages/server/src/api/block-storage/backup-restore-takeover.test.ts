import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { FsObjectStore } from '../../drivers/objects/fs/fs-object-store.js';
import { startTestServer, type TestServer } from '../../test-support/harness.js';
import { BackupApi, type Who } from './test-support/backup-api.js';

/**
 * An admin who resets or force-deletes a volume while a restore writes it takes the volume over: the restore's
 * end must neither move it back to available nor merge the backup's metadata into it. The window is made
 * deterministic by holding the restore's first chunk read (the server and its bytes are real; only the read waits).
 */
let t: TestServer;
let api: BackupApi;
let admin: Who;

const original = FsObjectStore.prototype.getInto;
let hold: { entered: Promise<void>; release: () => void } | null = null;

function holdNextChunkRead(): { entered: Promise<void>; release: () => void } {
  let entered!: () => void;
  let release!: () => void;
  const enteredP = new Promise<void>((r) => (entered = r));
  const released = new Promise<void>((r) => (release = r));
  FsObjectStore.prototype.getInto = async function (this: FsObjectStore, key: string, into: Uint8Array) {
    FsObjectStore.prototype.getInto = original;
    entered();
    await released;
    return original.call(this, key, into);
  };
  hold = { entered: enteredP, release };
  return hold;
}

before(async () => {
  t = await startTestServer({ backends: [{ name: 'raw', driver: 'raw', pool: 'raw' }] });
  api = new BackupApi(t);
  admin = { token: t.adminToken, projectId: t.adminProjectId };
});
afterEach(() => {
  hold?.release();
  hold = null;
  FsObjectStore.prototype.getInto = original;
});
after(async () => t.close());

async function backupWithMetadata(): Promise<string> {
  const src = await api.volume(admin, { size: 1, metadata: { app: 'db' } });
  await api.fill(admin, src);
  const id = await api.backup(admin, { volume_id: src });
  await api.backupStatus(admin, id, 'available');
  return id;
}

async function startRestore(backupId: string, target: string): Promise<void> {
  const r = await t.request('POST', `/v3/${admin.projectId}/backups/${backupId}/restore`, {
    token: admin.token,
    body: { restore: { volume_id: target } },
  });
  assert.equal(r.status, 202, r.text);
}

const volumeAction = (id: string, body: Record<string, unknown>) =>
  t.request('POST', `/v3/${admin.projectId}/volumes/${id}/action`, { token: admin.token, body });

describe('a restore whose target volume an admin took over', () => {
  test('a status reset during the restore stands, and the backup metadata is not merged into the volume', async () => {
    const id = await backupWithMetadata();
    const target = await api.volume(admin, { size: 1, metadata: { own: 'x' } });
    const h = holdNextChunkRead();
    await startRestore(id, target);
    await h.entered;
    assert.equal((await volumeAction(target, { 'os-reset_status': { status: 'error' } })).status, 202);
    h.release();
    // The backup is freed either way: it is readable and was read in full.
    await api.backupStatus(admin, id, 'available');
    const v = (await t.request('GET', `/v3/${admin.projectId}/volumes/${target}`, { token: admin.token })).body.volume;
    assert.equal(v.status, 'error', "the admin's reset is not undone by the restore's end");
    assert.deepEqual(v.metadata, { own: 'x' }, 'no src_backup_id or backup metadata on a volume the restore no longer owns');
  });

  test('a force delete during the restore leaves the volume gone and the backup available', async () => {
    const id = await backupWithMetadata();
    const target = await api.volume(admin, { size: 1 });
    const h = holdNextChunkRead();
    await startRestore(id, target);
    await h.entered;
    assert.equal((await volumeAction(target, { 'os-force_delete': {} })).status, 202);
    await api.gone(admin, `/volumes/${target}`);
    h.release();
    await api.backupStatus(admin, id, 'available');
    // The backup restores again into a new volume: nothing of the interrupted target held it.
    const again = await api.restore(admin, id);
    assert.equal((await t.request('GET', `/v3/${admin.projectId}/volumes/${again}`, { token: admin.token })).body.volume.status, 'available');
  });
});
