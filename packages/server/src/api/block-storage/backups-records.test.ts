import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../../test-support/harness.js';
import { assertFault, BackupApi, type Who } from './test-support/backup-api.js';

let t: TestServer;
let api: BackupApi;
let admin: Who;
let alice: Who;

before(async () => {
  t = await startTestServer({ backends: [{ name: 'raw', driver: 'raw', pool: 'raw' }] }); // raw files inspected directly
  api = new BackupApi(t);
  admin = { token: t.adminToken, projectId: t.adminProjectId };
  alice = await t.createMember('alice');
});
after(async () => t.close());

function decode(url: string): Record<string, any> {
  return JSON.parse(Buffer.from(url, 'base64').toString('utf8'));
}
function encode(record: unknown): string {
  return Buffer.from(JSON.stringify(record), 'utf8').toString('base64');
}

async function exportOf(id: string): Promise<{ backup_service: string; backup_url: string }> {
  const r = await t.request('GET', `/v3/${admin.projectId}/backups/${id}/export_record`, { token: admin.token });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(Object.keys(r.body), ['backup-record']);
  assert.deepEqual(Object.keys(r.body['backup-record']).sort(), ['backup_service', 'backup_url']);
  return r.body['backup-record'];
}

async function countBackups(): Promise<number> {
  const r = await t.request('GET', `/v3/${admin.projectId}/backups?all_tenants=1`, { token: admin.token });
  return r.body.backups.length;
}

function importRecord(record: unknown, path = 'import_record') {
  return t.request('POST', `/v3/${admin.projectId}/backups/${path}`, { token: admin.token, body: { 'backup-record': record } });
}

describe('export and import of backup records', () => {
  let source = '';
  let sourceSha = '';
  let original = '';
  before(async () => {
    source = await api.volume(admin, { size: 1, metadata: { origin: 'exported' } });
    await api.fill(admin, source);
    sourceSha = await api.sha(admin, source);
    original = await api.backup(admin, { volume_id: source, name: 'to-export', container: 'exports' });
    await api.backupStatus(admin, original, 'available');
  });

  test('a record imported under a new id is a separate backup: deleting either leaves the other restorable', async () => {
    const rec = await exportOf(original);
    assert.ok(rec.backup_service.startsWith('cinder.backup.drivers.'));
    assert.match(rec.backup_url, /^[A-Za-z0-9+/]+={0,2}$/);
    assert.equal(rec.backup_url.length % 4, 0);
    const body = decode(rec.backup_url);
    for (const k of ['id', 'size', 'volume_id', 'container', 'name', 'display_name', 'object_count', 'status'])
      assert.ok(k in body, k);
    assert.equal(body.id, original);
    assert.equal(JSON.parse(body.service_metadata).locator, `exports/${original}`);
    const copyId = randomUUID();
    const imported = await importRecord({ backup_service: rec.backup_service, backup_url: encode({ ...body, id: copyId }) });
    assert.equal(imported.status, 201, imported.text);
    assert.deepEqual(Object.keys(imported.body.backup).sort(), ['id', 'links', 'name']);
    assert.equal(imported.body.backup.id, copyId);
    assert.equal(imported.body.backup.name, 'to-export');
    const shown = await api.backupStatus(admin, copyId, 'available');
    assert.equal(shown.size, 1);
    assert.equal(shown.container, 'exports');
    assert.equal(shown.volume_id, source);
    // Importing the same id again, or the live original's id, is refused.
    assertFault(await importRecord({ backup_service: rec.backup_service, backup_url: encode({ ...body, id: copyId }) }), 400, /already exists/);
    assertFault(await importRecord(rec), 400, /already exists/);
    // Delete the original: the copy still restores byte-exact, with the source volume's metadata.
    assert.equal((await t.request('DELETE', `/v3/${admin.projectId}/backups/${original}`, { token: admin.token })).status, 202);
    await api.gone(admin, `/backups/${original}`);
    const restored = await api.restore(admin, copyId);
    assert.equal(await api.sha(admin, restored), sourceSha);
    const rv = (await t.request('GET', `/v3/${admin.projectId}/volumes/${restored}`, { token: admin.token })).body.volume;
    assert.equal(rv.metadata.origin, 'exported');
    // And the reverse: a copy of the copy (through openstacksdk's alias path) survives deleting the copy.
    const second = randomUUID();
    const rec2 = await exportOf(copyId);
    const viaAlias = await importRecord(
      { backup_service: rec2.backup_service, backup_url: encode({ ...decode(rec2.backup_url), id: second }) },
      'export_record',
    );
    assert.equal(viaAlias.status, 201, viaAlias.text);
    assert.equal((await t.request('DELETE', `/v3/${admin.projectId}/backups/${copyId}`, { token: admin.token })).status, 202);
    await api.gone(admin, `/backups/${copyId}`);
    assert.equal(await api.sha(admin, await api.restore(admin, second)), sourceSha);
  });

  test('untrusted records are refused with 400 and create nothing', async () => {
    const keep = await api.backup(admin, { volume_id: source, name: 'probe' });
    await api.backupStatus(admin, keep, 'available');
    const rec = await exportOf(keep);
    const body = decode(rec.backup_url);
    const svc = rec.backup_service;
    const withLocator = (locator: unknown) =>
      encode({ ...body, id: randomUUID(), service_metadata: JSON.stringify({ locator }) });
    const before = await countBackups();
    const cases: [string, unknown][] = [
      ['not base64', { backup_service: svc, backup_url: '!!!not base64!!!' }],
      ['unpadded', { backup_service: svc, backup_url: rec.backup_url.replace(/=+$/, '') + (rec.backup_url.endsWith('=') ? '' : 'A') }],
      ['not json', { backup_service: svc, backup_url: Buffer.from('hello world').toString('base64') }],
      ['json array', { backup_service: svc, backup_url: encode([1, 2]) }],
      ['no id', { backup_service: svc, backup_url: encode({ ...body, id: undefined }) }],
      ['no size', { backup_service: svc, backup_url: encode({ ...body, id: randomUUID(), size: undefined }) }],
      ['oversized', { backup_service: svc, backup_url: encode({ ...body, id: randomUUID(), pad: 'x'.repeat(100000) }) }],
      ['foreign service', { backup_service: 'acme.backup.driver', backup_url: encode({ ...body, id: randomUUID() }) }],
      ['path escape', { backup_service: svc, backup_url: withLocator('../../../etc/passwd') }],
      ['absolute path', { backup_service: svc, backup_url: withLocator('/etc/passwd') }],
      ['dot segments', { backup_service: svc, backup_url: withLocator('../config') }],
      ['three segments', { backup_service: svc, backup_url: withLocator('backups/x/y') }],
      ['chunk object', { backup_service: svc, backup_url: withLocator('chunks/ab') }],
      ['missing manifest', { backup_service: svc, backup_url: withLocator(`backups/${randomUUID()}`) }],
      ['locator not a string', { backup_service: svc, backup_url: withLocator({ $ne: 1 }) }],
      ['no record', {}],
      ['empty url', { backup_service: svc, backup_url: '' }],
    ];
    for (const [what, record] of cases) {
      const r = await importRecord(record);
      assert.equal(r.status, 400, `${what}: ${r.text}`);
      assertFault(r, 400);
    }
    // A manifest that fails its checksum: flip one byte of the stored manifest.
    const manifestPath = join(t.dataDir, 'repo', 'backups', 'backups', `${keep}.manifest`);
    const bytes = await readFile(manifestPath);
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 40]! ^= 0xff;
    await writeFile(manifestPath, flipped);
    try {
      assertFault(
        await importRecord({ backup_service: svc, backup_url: encode({ ...body, id: randomUUID() }) }),
        400,
        /checksum|invalid/,
      );
    } finally {
      await writeFile(manifestPath, bytes);
    }
    assert.equal(await countBackups(), before);
    const usage = (await t.request('GET', `/v3/${admin.projectId}/os-quota-sets/${admin.projectId}?usage=true`, { token: admin.token })).body.quota_set;
    assert.equal(usage.backups.in_use, before);
  });

  test('export and import are admin-only; export needs an available backup', async () => {
    const vol = await api.volume(alice);
    const id = await api.backup(alice, { volume_id: vol });
    await api.backupStatus(alice, id, 'available');
    assertFault(await t.request('GET', `/v3/${alice.projectId}/backups/${id}/export_record`, { token: alice.token }), 403);
    assertFault(
      await t.request('POST', `/v3/${alice.projectId}/backups/import_record`, {
        token: alice.token,
        body: { 'backup-record': { backup_service: 'cinder.backup.drivers.x', backup_url: 'e30=' } },
      }),
      403,
    );
    assertFault(await t.request('GET', `/v3/${admin.projectId}/backups/${randomUUID()}/export_record`, { token: admin.token }), 404);
    await t.request('POST', `/v3/${admin.projectId}/backups/${id}/action`, {
      token: admin.token,
      body: { 'os-reset_status': { status: 'error' } },
    });
    assertFault(await t.request('GET', `/v3/${admin.projectId}/backups/${id}/export_record`, { token: admin.token }), 400);
  });
});

describe('repository administration (cinderbox extension)', () => {
  test('verify and gc run for admins only and report what they found', async () => {
    const vol = await api.volume(admin);
    await api.fill(admin, vol);
    const id = await api.backup(admin, { volume_id: vol });
    await api.backupStatus(admin, id, 'available');
    assertFault(await t.request('POST', `/v3/${alice.projectId}/cinderbox-repo/verify`, { token: alice.token }), 403);
    assertFault(await t.request('POST', `/v3/${alice.projectId}/cinderbox-repo/gc`, { token: alice.token }), 403);
    assertFault(
      await t.request('POST', `/v3/${admin.projectId}/cinderbox-repo/gc`, { token: admin.token, body: { grace_seconds: -1 } }),
      400,
    );
    const v = await t.request('POST', `/v3/${admin.projectId}/cinderbox-repo/verify`, { token: admin.token, body: { full: true } });
    assert.equal(v.status, 200, v.text);
    assert.equal(v.body.verify.ok, true);
    assert.ok(v.body.verify.manifests >= 1);
    assert.ok(v.body.verify.chunks >= 4);
    const dry = await t.request('POST', `/v3/${admin.projectId}/cinderbox-repo/gc`, {
      token: admin.token,
      body: { grace_seconds: 0, dry_run: true },
    });
    assert.equal(dry.status, 200, dry.text);
    assert.equal(dry.body.gc.dry_run, true);
    // Deleting the only backup of these chunks lets gc reclaim them; the verify of what remains stays clean.
    assert.equal((await t.request('DELETE', `/v3/${admin.projectId}/backups/${id}`, { token: admin.token })).status, 202);
    await api.gone(admin, `/backups/${id}`);
    const gc = await t.request('POST', `/v3/${admin.projectId}/cinderbox-repo/gc`, { token: admin.token, body: { grace_seconds: 0 } });
    assert.equal(gc.status, 200, gc.text);
    assert.ok(gc.body.gc.deleted >= 1, JSON.stringify(gc.body));
    const after = await t.request('POST', `/v3/${admin.projectId}/cinderbox-repo/verify`, { token: admin.token });
    assert.equal(after.body.verify.ok, true);
  });
});
