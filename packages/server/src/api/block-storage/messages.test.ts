import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Clock } from '../../domain/time.js';
import { startTestServer, type TestServer, waitFor } from '../../test-support/harness.js';
import { backupsOf, cbr, checkpoint, createVault, createVolume, startCbrServer, waitVolume } from '../cbr/test-support/cbr.js';
import { assertFault, BackupApi, type Who } from './test-support/backup-api.js';

/** A clock the expiry test moves forward; everything else sees real time. */
let skewMs = 0;
const clock: Clock = { now: () => new Date(Date.now() + skewMs) };
const TTL = 600;

let t: TestServer;
let api: BackupApi;
let alice: Who;
let bob: Who;
let admin: Who;

const MV = '3.5';
const req = (who: Who, method: string, path: string, mv: string | null = MV, body?: unknown) =>
  t.request(method, `/v3/${who.projectId}${path}`, { token: who.token, ...(mv ? { mv } : {}), ...(body === undefined ? {} : { body }) });

async function messagesOf(who: Who, query = ''): Promise<any[]> {
  const r = await req(who, 'GET', `/messages${query}`);
  assert.equal(r.status, 200, r.text);
  return r.body.messages;
}

async function messageFor(who: Who, resourceUuid: string): Promise<any> {
  return waitFor(async () => (await messagesOf(who, `?resource_uuid=${resourceUuid}`))[0], `a message about ${resourceUuid}`);
}

async function statusOf(who: Who, kind: 'volumes' | 'backups', id: string): Promise<string> {
  const r = await req(who, 'GET', `/${kind}/${id}`);
  return r.body[kind === 'volumes' ? 'volume' : 'backup']?.status;
}

function driverPath(kind: 'volume' | 'snapshot', id: string): string {
  const [driver] = [...t.server.services.drivers.values()];
  return driver!.path(kind, id);
}

/** Every file under the backup repository's directory below its top level: the stored backups' data. */
async function removeRepositoryData(): Promise<number> {
  const repo = join(t.dataDir, 'repo');
  let removed = 0;
  for (const e of await readdir(repo, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    await rm(join(repo, e.name), { recursive: true, force: true });
    removed++;
  }
  return removed;
}

let failedVolume: string;
let failedBackup: string;
let restoredBackup: string;

describe('user messages', () => {
  before(async () => {
    t = await startTestServer({ messageTtlSeconds: TTL }, undefined, { clock });
    api = new BackupApi(t);
    alice = await t.createMember('msg-alice');
    bob = await t.createMember('msg-bob');
    admin = { token: t.adminToken, projectId: t.adminProjectId };
  });
  after(async () => {
    await t?.close();
  });

  test('before 3.3 and on v2 there is no messages resource', async () => {
    for (const mv of ['3.0', '3.2']) {
      assertFault(await req(alice, 'GET', '/messages', mv), 404);
      assertFault(await req(alice, 'GET', '/messages/00000000-0000-4000-8000-000000000000', mv), 404);
      assertFault(await req(alice, 'DELETE', '/messages/00000000-0000-4000-8000-000000000000', mv), 404);
    }
    assertFault(await t.request('GET', `/v2/${alice.projectId}/messages`, { token: alice.token }), 404);
    assert.deepEqual((await req(alice, 'GET', '/messages', '3.3')).body, { messages: [] });
  });

  test('a volume create that fails in the driver records VOLUME_VOLUME_008_012 for the volume', async () => {
    const source = await api.volume(alice);
    const s = await req(alice, 'POST', '/snapshots', MV, { snapshot: { volume_id: source, name: 'gone' } });
    assert.equal(s.status, 202, s.text);
    const snapId = s.body.snapshot.id as string;
    await waitFor(async () => (await req(alice, 'GET', `/snapshots/${snapId}`)).body.snapshot?.status === 'available', 'snapshot');
    // The snapshot's file disappears behind the server's back: copying it into a new volume fails in the driver.
    await rm(driverPath('snapshot', snapId), { force: true });
    const v = await req(alice, 'POST', '/volumes', MV, { volume: { size: 1, snapshot_id: snapId } });
    assert.equal(v.status, 202, v.text);
    failedVolume = v.body.volume.id;
    await waitFor(async () => (await statusOf(alice, 'volumes', failedVolume)) === 'error', 'volume error');
    const m = await messageFor(alice, failedVolume);
    assert.equal(m.event_id, 'VOLUME_VOLUME_008_012');
    assert.equal(m.user_message, 'create volume from backend storage: Driver failed to create the volume.');
    assert.equal(m.resource_type, 'VOLUME');
    assert.equal(m.resource_uuid, failedVolume);
    assert.equal(m.message_level, 'ERROR');
    assert.match(m.request_id, /^req-[0-9a-f-]{36}$/);
    assert.deepEqual(Object.keys(m).sort(), [
      'created_at',
      'event_id',
      'guaranteed_until',
      'id',
      'links',
      'message_level',
      'request_id',
      'resource_type',
      'resource_uuid',
      'user_message',
    ]);
    // guaranteed_until is created_at plus the configured TTL.
    assert.equal(Date.parse(`${m.guaranteed_until}Z`) - Date.parse(`${m.created_at}Z`), TTL * 1000);
    assert.match(m.links[0].href, new RegExp(`/v3/${alice.projectId}/messages/${m.id}$`));
  });

  test('a backup that cannot read its volume records VOLUME_VOLUME_BACKUP_013_020 for the backup', async () => {
    const vol = await api.volume(alice);
    await rm(driverPath('volume', vol), { force: true });
    failedBackup = await api.backup(alice, { volume_id: vol, name: 'doomed' });
    await api.backupStatus(alice, failedBackup, 'error');
    const m = await messageFor(alice, failedBackup);
    assert.equal(m.event_id, 'VOLUME_VOLUME_BACKUP_013_020');
    assert.equal(m.user_message, 'create backup: Backup driver failed to create backup.');
    assert.equal(m.resource_type, 'VOLUME_BACKUP');
  });

  test('a restore whose backup data is gone records VOLUME_VOLUME_BACKUP_015_026 and the volume ends in error', async () => {
    const vol = await api.volume(alice);
    restoredBackup = await api.backup(alice, { volume_id: vol, name: 'lost' });
    await api.backupStatus(alice, restoredBackup, 'available');
    assert.ok((await removeRepositoryData()) > 0);
    const r = await req(alice, 'POST', `/backups/${restoredBackup}/restore`, MV, { restore: {} });
    assert.equal(r.status, 202, r.text);
    const target = r.body.restore.volume_id as string;
    await waitFor(async () => (await statusOf(alice, 'volumes', target)) === 'error', 'restored volume error');
    const m = await messageFor(alice, restoredBackup);
    assert.equal(m.event_id, 'VOLUME_VOLUME_BACKUP_015_026');
    assert.equal(m.user_message, 'restore backup: Backup driver failed to restore backup.');
    assert.equal(await statusOf(alice, 'backups', restoredBackup), 'available');
  });

  test('filters, sort and paging from 3.5; before 3.5 every message, newest first', async () => {
    const all = await messagesOf(alice);
    assert.equal(all.length, 3);
    // Newest first by default.
    assert.deepEqual(
      all.map((m) => m.resource_uuid),
      [restoredBackup, failedBackup, failedVolume],
    );
    const asc = await messagesOf(alice, '?sort=created_at:asc');
    assert.deepEqual(
      asc.map((m) => m.id),
      [...all].reverse().map((m) => m.id),
    );
    assert.deepEqual(
      (await messagesOf(alice, '?resource_type=VOLUME_BACKUP')).map((m) => m.resource_uuid).sort(),
      [failedBackup, restoredBackup].sort(),
    );
    assert.deepEqual(
      (await messagesOf(alice, '?event_id=VOLUME_VOLUME_008_012')).map((m) => m.resource_uuid),
      [failedVolume],
    );
    assert.equal((await messagesOf(alice, '?message_level=ERROR')).length, 3);
    assert.equal((await messagesOf(alice, `?request_id=${all[0].request_id}`)).length, 1);
    // From 3.31 a filter Cinder's resource_filters do not list for messages is a 400 for non-admins.
    assertFault(await req(alice, 'GET', '/messages?detail_id=012', '3.31'), 400, /Invalid filters detail_id/);
    assertFault(await req(alice, 'GET', '/messages?sort=bogus'), 400, /sort key/);

    const page1 = await req(alice, 'GET', '/messages?limit=2');
    assert.equal(page1.body.messages.length, 2);
    const next = new URL(page1.body.messages_links[0].href);
    assert.equal(next.searchParams.get('marker'), page1.body.messages[1].id);
    const page2 = await req(alice, 'GET', `/messages${next.search}`);
    assert.deepEqual(
      page2.body.messages.map((m: any) => m.id),
      [all[2].id],
    );
    assert.equal(page2.body.messages_links, undefined);

    // 3.3 and 3.4 read no query parameters at all, as Cinder's controller.
    const v33 = await req(alice, 'GET', '/messages?limit=1&resource_type=VOLUME', '3.3');
    assert.equal(v33.status, 200, v33.text);
    assert.equal(v33.body.messages.length, 3);
    assert.equal(v33.body.messages_links, undefined);
  });

  test('show; another project sees none of them; an admin sees them with all_tenants', async () => {
    const [m] = await messagesOf(alice, `?resource_uuid=${failedVolume}`);
    const shown = await req(alice, 'GET', `/messages/${m.id}`);
    assert.equal(shown.status, 200, shown.text);
    assert.deepEqual(shown.body, { message: m });
    assert.deepEqual(await messagesOf(bob), []);
    assertFault(await req(bob, 'GET', `/messages/${m.id}`), 404, /Message .* could not be found/);
    assertFault(await req(bob, 'DELETE', `/messages/${m.id}`), 404);
    assertFault(await req(alice, 'GET', '/messages/not-a-uuid'), 404);
    assert.deepEqual(await messagesOf(admin), []);
    const everyone = await messagesOf(admin, '?all_tenants=1');
    assert.ok(everyone.some((x) => x.id === m.id));
    assert.equal((await req(admin, 'GET', `/messages/${m.id}`)).status, 200);
  });

  test('delete: a reader is refused, a member deletes once, then it is gone', async () => {
    const [m] = await messagesOf(alice, `?resource_uuid=${failedBackup}`);
    const readerRole = (await t.request('GET', '/identity/v3/roles?name=reader', { token: t.adminToken })).body.roles[0].id;
    const u = await t.request('POST', '/identity/v3/users', {
      token: t.adminToken,
      body: { user: { name: 'msg-reader', domain_id: 'default', password: 'msg-reader-pw' } },
    });
    assert.equal(
      (await t.request('PUT', `/identity/v3/projects/${alice.projectId}/users/${u.body.user.id}/roles/${readerRole}`, { token: t.adminToken })).status,
      204,
    );
    const tok = await t.request('POST', '/identity/v3/auth/tokens', {
      body: {
        auth: {
          identity: { methods: ['password'], password: { user: { name: 'msg-reader', domain: { id: 'default' }, password: 'msg-reader-pw' } } },
          scope: { project: { id: alice.projectId } },
        },
      },
    });
    const reader: Who = { token: tok.headers.get('x-subject-token')!, projectId: alice.projectId };
    assert.equal((await messagesOf(reader)).length, 3);
    assertFault(await req(reader, 'DELETE', `/messages/${m.id}`), 403, /message:delete/);

    const del = await req(alice, 'DELETE', `/messages/${m.id}`);
    assert.equal(del.status, 204, del.text);
    assert.equal(del.text, '');
    assertFault(await req(alice, 'GET', `/messages/${m.id}`), 404);
    assertFault(await req(alice, 'DELETE', `/messages/${m.id}`), 404);
    assert.equal((await messagesOf(alice)).length, 2);
  });

  test('messages expire after the configured TTL: hidden at once, reaped later', async () => {
    const left = await messagesOf(alice);
    assert.equal(left.length, 2);
    skewMs = (TTL + 1) * 1000;
    try {
      assert.deepEqual(await messagesOf(alice), []);
      assertFault(await req(alice, 'GET', `/messages/${left[0].id}`), 404);
      // The reaper deletes them for good (it runs on its interval; here once, by hand).
      assert.ok((await t.server.services.messages.reap()) >= 2);
      skewMs = 0;
      assert.deepEqual(await messagesOf(alice), []);
    } finally {
      skewMs = 0;
    }
  });
});

describe('user messages of CBR', () => {
  let ts: TestServer;
  after(async () => {
    await ts?.close();
  });

  test('a CBR restore that fails leaves the volume error_restoring with a VOLUME_VOLUME_015_026 message about it', async () => {
    ts = await startCbrServer();
    const me = await ts.createMember('msg-cbr');
    const vol = await createVolume(ts, me, 'cbr-msg');
    const vault = await createVault(ts, me, 'cbr-msg-vault', [vol]);
    const { done } = await checkpoint(ts, me, vault.id);
    assert.equal(done.status, 'available');
    const [b] = await backupsOf(ts, me, `vault_id=${vault.id}`);
    // The repository's stored data goes behind the server's back: the restore cannot read the backup.
    for (const e of await readdir(join(ts.dataDir, 'repo'), { withFileTypes: true }))
      if (e.isDirectory()) await rm(join(ts.dataDir, 'repo', e.name), { recursive: true, force: true });
    const r = await cbr(ts, me, 'POST', `/backups/${b.id}/restore`, { restore: { volume_id: vol } });
    assert.equal(r.status, 202, r.text);
    await waitVolume(ts, me, vol, 'error_restoring');
    const list = await ts.request('GET', `/v3/${me.projectId}/messages?resource_uuid=${vol}`, { token: me.token, mv: '3.5' });
    assert.equal(list.status, 200, list.text);
    assert.equal(list.body.messages.length, 1, list.text);
    const [m] = list.body.messages;
    assert.equal(m.event_id, 'VOLUME_VOLUME_015_026');
    assert.equal(m.resource_type, 'VOLUME');
    assert.equal(m.user_message, 'restore backup: Backup driver failed to restore backup.');
  });
});

describe('user messages of snapshots and extends', () => {
  let ts: TestServer;
  after(async () => {
    await ts?.close();
  });

  test('a snapshot of a volume whose file is gone records VOLUME_VOLUME_SNAPSHOT_009_013; an extend VOLUME_VOLUME_007_010', async () => {
    ts = await startTestServer();
    const me = await ts.createMember('msg-snap');
    const bapi = new BackupApi(ts);
    const call = (method: string, path: string, body?: unknown) =>
      ts.request(method, `/v3/${me.projectId}${path}`, { token: me.token, mv: MV, ...(body === undefined ? {} : { body }) });
    const vol = await bapi.volume(me);
    const [driver] = [...ts.server.services.drivers.values()];
    await rm(driver!.path('volume', vol), { force: true });

    const s = await call('POST', '/snapshots', { snapshot: { volume_id: vol, name: 'broken' } });
    assert.equal(s.status, 202, s.text);
    const snapId = s.body.snapshot.id as string;
    await waitFor(async () => (await call('GET', `/snapshots/${snapId}`)).body.snapshot?.status === 'error', 'snapshot error');
    const snapMsgs = (await call('GET', `/messages?resource_uuid=${snapId}`)).body.messages;
    assert.equal(snapMsgs.length, 1);
    assert.equal(snapMsgs[0].event_id, 'VOLUME_VOLUME_SNAPSHOT_009_013');
    assert.equal(snapMsgs[0].resource_type, 'VOLUME_SNAPSHOT');
    assert.equal(snapMsgs[0].user_message, 'create snapshot: Snapshot failed to create.');

    const e = await call('POST', `/volumes/${vol}/action`, { 'os-extend': { new_size: 2 } });
    assert.equal(e.status, 202, e.text);
    await waitFor(async () => (await call('GET', `/volumes/${vol}`)).body.volume?.status === 'error_extending', 'extend error');
    const volMsgs = (await call('GET', `/messages?resource_uuid=${vol}`)).body.messages;
    assert.equal(volMsgs.length, 1);
    assert.equal(volMsgs[0].event_id, 'VOLUME_VOLUME_007_010');
    assert.equal(volMsgs[0].user_message, 'extend volume: Volume Driver failed to extend volume.');

    // An upload the server cannot write answers the client at once, and leaves the reason for its project too.
    const other = await bapi.volume(me);
    await rm(driver!.path('volume', other), { force: true });
    const up = await ts.request('PUT', `/v3/${me.projectId}/volumes/${other}/cinderbox-data`, {
      token: me.token,
      rawBody: Buffer.alloc(4096, 1),
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    assert.ok(up.status >= 400, up.text);
    const upMsgs = (await call('GET', `/messages?resource_uuid=${other}`)).body.messages;
    assert.equal(upMsgs.length, 1, JSON.stringify(upMsgs));
    assert.equal(upMsgs[0].event_id, 'VOLUME_VOLUME_005_001');
    assert.equal(upMsgs[0].user_message, 'copy image to volume: An unknown error occurred.');
  });
});
