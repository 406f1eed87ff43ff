/**
 * Immutable backups on the filesystem (a cinderbox extension): a target with `lock_days` and a CBR vault with
 * `lock_days` give their backups a `locked_until`; before it, Cinder delete and force-delete answer 400 with
 * Cinder's body, CBR delete 400 BackupService.6201 and vault delete 400 BackupService.6111, naming the retention
 * end; once it has passed (set through the store: the test cannot wait a day) the deletes go through.
 * The S3 side (Object Lock on radosgw) is in drivers/objects/s3/s3-immutable.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseBackupTarget } from '../config/backup-targets.js';
import { storedTime } from '../domain/time.js';
import { startTestServer, type TestServer, waitFor } from '../test-support/harness.js';
import { assertFault, BackupApi, type Who } from './block-storage/test-support/backup-api.js';
import { admin, backupsOf, cbr, checkpoint, createVolume, startCbrServer } from './cbr/test-support/cbr.js';

const DAY_MS = 86_400_000;

describe('immutable backups on a directory target and the data directory', () => {
  let t: TestServer;
  let api: BackupApi;
  let admin: Who;
  let volume = '';
  let dir = '';
  const past = storedTime(new Date(Date.now() - 60_000));

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cbx-locked-target-'));
    t = await startTestServer({
      backends: [{ name: 'raw', driver: 'raw', pool: 'raw' }],
      backupTargets: [parseBackupTarget(`vaulted=file://${dir}?lock_days=2`)],
      defaultBackupTarget: 'default',
    });
    api = new BackupApi(t);
    admin = { token: t.adminToken, projectId: t.adminProjectId };
    volume = await api.volume(admin);
    await api.write(admin, volume, [[0, Buffer.alloc(4096, 0x5a)]]);
  });
  after(async () => {
    await t?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('a backup on a lock_days target shows locked_until; delete and force-delete are refused with it until it passes', async () => {
    const before = Date.now();
    const id = await api.backup(admin, { volume_id: volume, container: 'vaulted' });
    const b = await api.backupStatus(admin, id, 'available');
    const until = Date.parse(b.locked_until);
    // Two days, rounded up to the lock's step (12 h for two days: see lockedUntilFor).
    assert.ok(until >= before + 2 * DAY_MS - 1000 && until <= Date.now() + 2 * DAY_MS + 12 * 3_600_000, b.locked_until);
    // Backups elsewhere carry no lock and no field.
    const free = await api.backup(admin, { volume_id: volume, container: 'nightly' });
    assert.equal((await api.backupStatus(admin, free, 'available')).locked_until, undefined);

    const path = `/v3/${admin.projectId}/backups/${id}`;
    const refusal = new RegExp(`Backup ${id} is immutable until ${b.locked_until.replace(/[.]/g, '\\.')}`);
    assertFault(await t.request('DELETE', path, { token: admin.token }), 400, refusal);
    assertFault(await t.request('POST', `${path}/action`, { token: admin.token, body: { 'os-force_delete': {} } }), 400, refusal);
    assert.equal((await api.backupStatus(admin, id, 'available')).id, id);

    // The retention over: an ordinary delete.
    await (t.server.services.backups as any).backups.update(t.server.cbr.context.root, id, { locked_until: past });
    assert.equal((await t.request('DELETE', path, { token: admin.token })).status, 202);
    await api.gone(admin, `/backups/${id}`);
    assert.equal((await t.request('DELETE', `/v3/${admin.projectId}/backups/${free}`, { token: admin.token })).status, 202);
  });

  test('a backup on a lock_days target that never committed (no manifest) is not locked: it deletes at once', async () => {
    const id = await api.backup(admin, { volume_id: volume, container: 'vaulted' });
    assert.ok((await api.backupStatus(admin, id, 'available')).locked_until);
    // As a backup that failed before its manifest was written: no locator, status error.
    await (t.server.services.backups as any).backups.update(t.server.cbr.context.root, id, { locator: null });
    const path = `/v3/${admin.projectId}/backups/${id}`;
    const reset = await t.request('POST', `${path}/action`, { token: admin.token, body: { 'os-reset_status': { status: 'error' } } });
    assert.equal(reset.status, 202, reset.text);
    assert.equal((await t.request('DELETE', path, { token: admin.token })).status, 202);
    await api.gone(admin, `/backups/${id}`);
  });

  test('a CBR vault with lock_days: its backups show locked_until; backup and vault delete are refused with CBR bodies until it passes', async () => {
    const me = { token: t.adminToken, projectId: t.adminProjectId };
    const vault = (body: Record<string, unknown>) =>
      cbr(t, me, 'POST', '/vaults', {
        vault: {
          name: 'v-locked',
          billing: { consistent_level: 'crash_consistent', object_type: 'disk', protect_type: 'backup', size: 10 },
          resources: [{ id: volume, type: 'OS::Cinder::Volume' }],
          ...body,
        },
      });
    for (const bad of [0, -1, 1.5, '3', 36501, true]) {
      const r = await vault({ lock_days: bad });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.body.error_code, 'BackupService.9900', r.text);
      assert.match(r.body.error_msg, /^vault\.lock_days /);
    }
    const created = await vault({ lock_days: 1 });
    assert.equal(created.status, 200, created.text);
    const v = created.body.vault;
    assert.equal(v.lock_days, 1);
    assert.equal(v.backup_target, 'default');

    const { done } = await checkpoint(t, me, v.id);
    assert.equal(done.status, 'available', JSON.stringify(done));
    const list = await cbr(t, me, 'GET', `/backups?vault_id=${v.id}`);
    assert.equal(list.body.backups.length, 1, list.text);
    const backup = list.body.backups[0];
    const lockedUntil = backup.extend_info.locked_until as string;
    assert.ok(Date.parse(`${lockedUntil}Z`) > Date.now() + DAY_MS - 60_000, lockedUntil);

    const del = await cbr(t, me, 'DELETE', `/backups/${backup.id}`);
    assert.equal(del.status, 400, del.text);
    assert.equal(del.body.error_code, 'BackupService.6201');
    assert.match(del.body.error_msg, new RegExp(`Backup ${backup.id} is immutable until ${lockedUntil.replace(/[.]/g, '\\.')}Z`));
    const vdel = await cbr(t, me, 'DELETE', `/vaults/${v.id}`);
    assert.equal(vdel.status, 400, vdel.text);
    assert.equal(vdel.body.error_code, 'BackupService.6111');
    assert.match(vdel.body.error_msg, /holds immutable backups until/);
    assert.equal((await cbr(t, me, 'GET', `/vaults/${v.id}`)).status, 200);
    assert.equal((await cbr(t, me, 'GET', `/backups/${backup.id}`)).body.backup.status, 'available');

    const c = t.server.cbr.context;
    assert.ok((await c.stores.backups.transition(c.root, backup.id, ['available'], 'available', { locked_until: past })).ok);
    assert.equal((await cbr(t, me, 'DELETE', `/backups/${backup.id}`)).status, 204);
    await waitFor(async () => (await cbr(t, me, 'GET', `/backups/${backup.id}`)).status === 404, 'CBR backup gone');
    assert.equal((await cbr(t, me, 'DELETE', `/vaults/${v.id}`)).status, 204);
  });
});

describe('retention policies and immutable backups (injected clock)', () => {
  test('a max_backups policy skips backups still locked and deletes them on the first run after their lock ends', async () => {
    const T0 = Date.parse('2030-01-07T00:30:00Z');
    let now = T0;
    const clock = { now: () => new Date(now) };
    const ts = await startCbrServer({ tokenTtlSeconds: 60 * 86_400 }, undefined, { clock, cbr: { schedulerIntervalMs: 3_600_000 } });
    try {
      const me = admin(ts);
      const disk = await createVolume(ts, me, 'locked-sched');
      const v = await cbr(ts, me, 'POST', '/vaults', {
        vault: {
          name: 'locked-policy',
          billing: { consistent_level: 'crash_consistent', object_type: 'disk', protect_type: 'backup', size: 10 },
          resources: [{ id: disk, type: 'OS::Cinder::Volume' }],
          lock_days: 2,
        },
      });
      assert.equal(v.status, 200, v.text);
      const pattern = ['FREQ=DAILY;INTERVAL=1;BYHOUR=1;BYMINUTE=00'];
      const p = await cbr(ts, me, 'POST', '/policies', {
        policy: { name: 'keep-one', operation_type: 'backup', operation_definition: { max_backups: 1 }, trigger: { properties: { pattern } } },
      });
      assert.equal((await cbr(ts, me, 'POST', `/vaults/${v.body.vault.id}/associatepolicy`, { policy_id: p.body.policy.id })).status, 200);
      const left: string[][] = [];
      for (const day of [0, 1, 2, 3]) {
        now = T0 + day * DAY_MS + 31 * 60_000;
        assert.equal(await ts.server.cbr.scheduler.tick(), 1);
        await waitFor(async () => (await cbr(ts, me, 'GET', '/operation-logs?status=waiting&status=running')).body.count === 0, 'operations');
        await ts.server.tasks.idle();
        left.push((await backupsOf(ts, me, `vault_id=${v.body.vault.id}`)).map((b) => b.created_at.slice(0, 10)).sort());
      }
      // Each backup is locked for two days rounded up to the 12 h step (01:01 + 2 days → 12:00): max_backups 1
      // deletes it only on the first run after that, three days after it was made. (Two layers keep it:
      // retention.ts leaves locked backups out, and the delete itself refuses them.)
      assert.deepEqual(left, [
        ['2030-01-07'],
        ['2030-01-07', '2030-01-08'],
        ['2030-01-07', '2030-01-08', '2030-01-09'],
        ['2030-01-08', '2030-01-09', '2030-01-10'],
      ]);
    } finally {
      await ts.close();
    }
  });
});
