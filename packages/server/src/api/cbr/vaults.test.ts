import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type TestServer, waitFor } from '../../test-support/harness.js';
import { admin, backupsOf, type Caller, cbr, checkpoint, createVault, createVolume, noise, writeVolume, startCbrServer } from './test-support/cbr.js';

const MiB = 1024 * 1024;
const DISK = 'OS::Cinder::Volume';
const daily = (h: number) => [`FREQ=DAILY;INTERVAL=1;BYHOUR=${h};BYMINUTE=00`];

describe('CBR vaults, policies, tags, isolation and capacity', () => {
  let ts: TestServer;
  let me: Caller;
  let other: Caller;
  /** The race tests' own project, so their volumes do not count against the others' quota. */
  let racer: Caller;
  before(async () => {
    // A billing GB of 1 MiB lets a few MiB of test data exhaust a vault.
    ts = await startCbrServer({}, undefined, { cbr: { gigabyte: MiB } });
    me = admin(ts);
    other = await ts.createMember('cbr-other');
    racer = await ts.createMember('cbr-racer');
  });
  after(async () => ts.close());

  it('creates, lists, shows, updates and deletes vaults with resources and tags', async () => {
    const vol = await createVolume(ts, me, 'disk1');
    const create = await cbr(ts, me, 'POST', '/vaults', {
      vault: {
        name: 'v1',
        description: 'first',
        billing: { consistent_level: 'crash_consistent', object_type: 'disk', protect_type: 'backup', size: 40, charging_mode: 'post_paid', cloud_type: 'public' },
        resources: [{ id: vol, type: DISK, name: 'named' }],
        tags: [{ key: 'env', value: 'test' }],
        enterprise_project_id: '0',
      },
    });
    assert.equal(create.status, 200);
    const v = create.body.vault;
    assert.equal(v.billing.size, 40);
    assert.equal(v.billing.used, 0);
    assert.equal(v.billing.object_type, 'disk');
    assert.equal(v.billing.spec_code, 'vault.backup.volume.normal');
    assert.equal(v.billing.status, 'available');
    assert.equal(v.provider_id, 'd1603440-187d-4516-af25-121250c7cc97');
    assert.deepEqual(v.resources.map((r: any) => [r.id, r.name, r.type, r.protect_status, r.size, r.backup_count]), [[vol, 'named', DISK, 'available', 1, 0]]);
    assert.deepEqual(v.tags, [{ key: 'env', value: 'test' }]);
    assert.match(v.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);

    const list = await cbr(ts, me, 'GET', '/vaults?name=v1');
    assert.equal(list.body.count, 1);
    assert.equal(list.body.vaults[0].id, v.id);
    assert.equal((await cbr(ts, me, 'GET', `/vaults?resource_ids=${vol}`)).body.count, 1);
    const upd = await cbr(ts, me, 'PUT', `/vaults/${v.id}`, { vault: { id: v.id, name: 'v1b', billing: { size: 50 } } });
    assert.equal(upd.status, 200);
    assert.equal(upd.body.vault.name, 'v1b');
    assert.equal(upd.body.vault.billing.size, 50);

    // Tags family.
    assert.equal((await cbr(ts, me, 'POST', `/vault/${v.id}/tags`, { tag: { key: 'team', value: 'a' } })).status, 204);
    assert.equal((await cbr(ts, me, 'POST', `/vault/${v.id}/tags/action`, { action: 'create', tags: [{ key: 'x', value: '1' }] })).status, 204);
    assert.deepEqual((await cbr(ts, me, 'GET', `/vault/${v.id}/tags`)).body.tags.map((t: any) => t.key), ['env', 'team', 'x']);
    assert.equal((await cbr(ts, me, 'DELETE', `/vault/${v.id}/tags/team`)).status, 204);
    assert.equal((await cbr(ts, me, 'POST', `/vault/${v.id}/tags/action`, { action: 'delete', tags: [{ key: 'x' }] })).status, 204);
    assert.deepEqual((await cbr(ts, me, 'GET', '/vault/tags')).body.tags, [{ key: 'env', values: ['test'] }]);
    const badTag = await cbr(ts, me, 'POST', `/vault/${v.id}/tags`, { tag: { key: 'a=b', value: '' } });
    assert.equal(badTag.status, 400);
    assert.equal(badTag.body.error_code, 'BackupService.9900');

    // Resources: duplicate, already in a vault, unknown disk, server type, remove.
    const vol2 = await createVolume(ts, me, 'disk2');
    const dup = await cbr(ts, me, 'POST', `/vaults/${v.id}/addresources`, { resources: [{ id: vol2, type: DISK }, { id: vol2, type: DISK }] });
    assert.deepEqual([dup.status, dup.body.error_code], [400, 'BackupService.6104']);
    const v2 = await createVault(ts, me, 'v2', []);
    const taken = await cbr(ts, me, 'POST', `/vaults/${v2.id}/addresources`, { resources: [{ id: vol, type: DISK }] });
    assert.deepEqual([taken.status, taken.body.error_code], [400, 'BackupService.6103']);
    const server = await cbr(ts, me, 'POST', `/vaults/${v2.id}/addresources`, { resources: [{ id: vol2, type: 'OS::Nova::Server' }] });
    assert.deepEqual([server.status, server.body.error_code], [400, 'BackupService.6102']);
    assert.match(server.body.error_msg, /no compute service/);
    const unknown = await cbr(ts, me, 'POST', `/vaults/${v2.id}/addresources`, { resources: [{ id: '00000000-0000-4000-8000-000000000000', type: DISK }] });
    assert.deepEqual([unknown.status, unknown.body.error_code], [404, 'BackupService.7000']);
    const added = await cbr(ts, me, 'POST', `/vaults/${v2.id}/addresources`, { resources: [{ id: vol2, type: DISK }] });
    assert.deepEqual(added.body, { add_resource_ids: [vol2] });
    const migrated = await cbr(ts, me, 'POST', `/vaults/${v2.id}/migrateresources`, { resource_ids: [vol2], destination_vault_id: v.id });
    assert.deepEqual(migrated.body, { migrated_resources: [vol2] });
    const removed = await cbr(ts, me, 'POST', `/vaults/${v.id}/removeresources`, { resource_ids: [vol2] });
    assert.deepEqual(removed.body, { remove_resource_ids: [vol2] });
    const notIn = await cbr(ts, me, 'POST', `/vaults/${v.id}/removeresources`, { resource_ids: [vol2] });
    assert.deepEqual([notIn.status, notIn.body.error_code], [400, 'BackupService.6135']);

    // Policy binding.
    const p = await cbr(ts, me, 'POST', '/policies', {
      policy: { name: 'p1', operation_type: 'backup', operation_definition: { max_backups: 3 }, trigger: { properties: { pattern: daily(2) } } },
    });
    assert.equal(p.status, 200);
    const assoc = await cbr(ts, me, 'POST', `/vaults/${v.id}/associatepolicy`, { policy_id: p.body.policy.id });
    assert.deepEqual(assoc.body, { associate_policy: { vault_id: v.id, policy_id: p.body.policy.id } });
    assert.equal((await cbr(ts, me, 'GET', `/vaults/${v.id}`)).body.vault.backup_policy_id, p.body.policy.id);
    assert.deepEqual((await cbr(ts, me, 'GET', `/policies/${p.body.policy.id}`)).body.policy.associated_vaults, [{ vault_id: v.id, destination_vault_id: '' }]);
    assert.equal((await cbr(ts, me, 'GET', `/vaults?policy_id=${p.body.policy.id}`)).body.count, 1);
    const dis = await cbr(ts, me, 'POST', `/vaults/${v.id}/dissociatepolicy`, { policy_id: p.body.policy.id });
    assert.deepEqual(dis.body, { dissociate_policy: { vault_id: v.id, policy_id: p.body.policy.id } });
    const dis2 = await cbr(ts, me, 'POST', `/vaults/${v.id}/dissociatepolicy`, { policy_id: p.body.policy.id });
    assert.deepEqual([dis2.status, dis2.body.error_code], [404, 'BackupService.6002']);

    // Delete removes the vault with its backups.
    await checkpoint(ts, me, v.id);
    assert.equal((await backupsOf(ts, me, `vault_id=${v.id}`)).length, 1);
    assert.equal((await cbr(ts, me, 'DELETE', `/vaults/${v.id}`)).status, 204);
    await waitFor(async () => (await cbr(ts, me, 'GET', `/vaults/${v.id}`)).status === 404, 'vault gone');
    assert.equal((await backupsOf(ts, me, `vault_id=${v.id}`)).length, 0);
    const logs = await cbr(ts, me, 'GET', `/operation-logs?operation_type=vault_delete&vault_id=${v.id}`);
    assert.equal(logs.body.operation_logs[0].status, 'success');
    const gone = await cbr(ts, me, 'GET', `/vaults/${v.id}`);
    assert.deepEqual(gone.body.error_code, 'BackupService.6105');
  });

  it('answers racing requests with one winner and CBR refusals for the rest, never a server error', async () => {
    const vol = await createVolume(ts, racer, 'contested');
    const vaults = await Promise.all([0, 1, 2, 3].map((i) => createVault(ts, racer, `race-${i}`, [])));
    // The same disk added to four vaults at once: one vault gets it, the others hear it is already protected.
    const adds = await Promise.all(
      vaults.map((v) => cbr(ts, racer, 'POST', `/vaults/${v.id}/addresources`, { resources: [{ id: vol, type: DISK }] })),
    );
    assert.deepEqual(adds.map((r) => r.status).sort(), [200, 400, 400, 400]);
    for (const r of adds.filter((x) => x.status === 400)) assert.equal(r.body.error_code, 'BackupService.6103');
    // The same tag set eight times at once on one vault: one tag, no constraint error.
    const tags = await Promise.all(
      [0, 1, 2, 3, 4, 5, 6, 7].map((i) => cbr(ts, racer, 'POST', `/vault/${vaults[0].id}/tags/action`, { action: 'create', tags: [{ key: 'k', value: `v${i}` }] })),
    );
    assert.deepEqual([...new Set(tags.map((r) => r.status))], [204]);
    assert.equal((await cbr(ts, racer, 'GET', `/vault/${vaults[0].id}/tags`)).body.tags.length, 1);
    // Two backup policies bound to one vault at once: the vault ends with one backup policy.
    const policies = await Promise.all(
      ['race-a', 'race-b'].map((name) =>
        cbr(ts, racer, 'POST', '/policies', {
          policy: { name, operation_type: 'backup', operation_definition: { max_backups: 1 }, trigger: { properties: { pattern: daily(3) } } },
        }),
      ),
    );
    const binds = await Promise.all(
      policies.map((p) => cbr(ts, racer, 'POST', `/vaults/${vaults[1].id}/associatepolicy`, { policy_id: p.body.policy.id })),
    );
    assert.deepEqual(binds.map((r) => r.status), [200, 200]);
    const bound = await Promise.all(policies.map((p) => cbr(ts, racer, 'GET', `/policies/${p.body.policy.id}`)));
    assert.equal(bound.filter((r) => r.body.policy.associated_vaults.length === 1).length, 1);
    for (const v of vaults) assert.equal((await cbr(ts, racer, 'DELETE', `/vaults/${v.id}`)).status, 204);
    for (const p of policies) await cbr(ts, racer, 'DELETE', `/policies/${p.body.policy.id}`);
  });

  it('never both backs up into a vault and deletes it when the two requests race', async () => {
    for (let i = 0; i < 6; i++) {
      const vol = await createVolume(ts, racer, `raced-${i}`);
      const v = await createVault(ts, racer, `raced-${i}`, [vol]);
      const [made, deleted] = await Promise.all([
        cbr(ts, racer, 'POST', '/checkpoints', { checkpoint: { vault_id: v.id, parameters: {} } }),
        cbr(ts, racer, 'DELETE', `/vaults/${v.id}`),
      ]);
      // One wins: a checkpoint in a vault being deleted (or a deleted vault with a backup running) is the bug.
      assert.deepEqual(
        [made.status === 200, deleted.status === 204].filter(Boolean).length,
        1,
        `checkpoint ${made.status} ${made.body?.error_code ?? ''}, delete ${deleted.status} ${deleted.body?.error_code ?? ''}`,
      );
      // The loser of a delete that won finds the vault leaving (6113) or, once its task ran, gone (6105).
      if (made.status !== 200) assert.ok(['BackupService.6113', 'BackupService.6105'].includes(made.body.error_code), made.body.error_code);
      if (deleted.status !== 204) assert.equal(deleted.body.error_code, 'BackupService.6111');
      await waitFor(async () => (await cbr(ts, racer, 'GET', '/operation-logs?status=waiting&status=running')).body.count === 0, 'operations');
      if (made.status === 200) assert.equal((await cbr(ts, racer, 'DELETE', `/vaults/${v.id}`)).status, 204);
      await waitFor(async () => (await cbr(ts, racer, 'GET', `/vaults/${v.id}`)).status === 404, 'vault deletion');
    }
  });

  it('refuses server vaults and invalid input with the documented codes', async () => {
    const mk = (billing: Record<string, unknown>) =>
      cbr(ts, me, 'POST', '/vaults', { vault: { name: 'x', billing: { consistent_level: 'crash_consistent', protect_type: 'backup', size: 10, ...billing }, resources: [] } });
    const server = await mk({ object_type: 'server' });
    assert.deepEqual([server.status, server.body.error_code], [400, 'BackupService.6116']);
    assert.match(server.body.error_msg, /no compute service/);
    assert.equal((await mk({ object_type: 'disk', size: 0 })).body.error_code, 'BackupService.6101');
    assert.equal((await mk({ object_type: 'disk', protect_type: 'replication' })).body.error_code, 'BackupService.6116');
    const noBody = await cbr(ts, me, 'POST', '/vaults', { nope: {} });
    assert.deepEqual([noBody.status, noBody.body.error_code], [400, 'BackupService.9900']);
    const bad = await cbr(ts, me, 'GET', '/vaults/not-a-uuid');
    assert.deepEqual([bad.status, bad.body.error_code], [404, 'BackupService.6105']);
  });

  it('validates policy triggers and retention', async () => {
    const mk = (pattern: unknown, def: unknown = { max_backups: 2 }) =>
      cbr(ts, me, 'POST', '/policies', { policy: { name: 'pp', operation_type: 'backup', operation_definition: def, trigger: { properties: { pattern } } } });
    for (const bad of [
      ['FREQ=HOURLY;BYHOUR=1;BYMINUTE=0'],
      ['FREQ=DAILY;BYHOUR=24;BYMINUTE=0'],
      ['FREQ=DAILY;BYHOUR=1'],
      ['FREQ=WEEKLY;BYHOUR=1;BYMINUTE=0'],
      ['FREQ=WEEKLY;BYDAY=MO;TU;BYHOUR=1;BYMINUTE=0'],
      ['FREQ=DAILY;INTERVAL=31;BYHOUR=1;BYMINUTE=0'],
      ['FREQ=DAILY;BYHOUR=1;BYMINUTE=0', 'FREQ=DAILY;BYHOUR=1;BYMINUTE=30'],
      Array.from({ length: 25 }, (_, i) => `FREQ=DAILY;BYHOUR=${i % 24};BYMINUTE=00`),
      [],
    ]) {
      const r = await mk(bad);
      assert.deepEqual([r.status, r.body.error_code], [400, 'BackupService.9900'], JSON.stringify(bad));
    }
    const combined = await mk(daily(1), { max_backups: 2, retention_duration_days: 3 });
    assert.equal(combined.body.error_code, 'BackupService.9900');
    const noTz = await mk(daily(1), { max_backups: 2, day_backups: 3 });
    assert.equal(noTz.body.error_code, 'BackupService.9900');
    const repl = await cbr(ts, me, 'POST', '/policies', { policy: { name: 'r', operation_type: 'replication', operation_definition: {}, trigger: { properties: { pattern: daily(1) } } } });
    assert.equal(repl.body.error_code, 'BackupService.6117');

    const ok = await mk(['FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;BYHOUR=14;BYMINUTE=00', 'FREQ=DAILY;INTERVAL=2;BYHOUR=2,20;BYMINUTE=00'], {
      max_backups: 5,
      day_backups: 3,
      week_backups: 2,
      timezone: 'UTC+08:00',
    });
    assert.equal(ok.status, 200);
    const p = ok.body.policy;
    assert.equal(p.enabled, true);
    assert.equal(p.trigger.type, 'time');
    assert.equal(p.operation_definition.max_backups, 5);
    assert.equal(p.operation_definition.retention_duration_days, -1);
    assert.equal(p.operation_definition.timezone, 'UTC+08:00');
    const upd = await cbr(ts, me, 'PUT', `/policies/${p.id}`, { policy: { enabled: false, operation_definition: { retention_duration_days: 7, max_backups: -1, day_backups: 0, week_backups: 0 } } });
    assert.equal(upd.status, 200);
    assert.equal(upd.body.policy.enabled, false);
    assert.equal(upd.body.policy.operation_definition.retention_duration_days, 7);
    assert.equal((await cbr(ts, me, 'GET', '/policies?operation_type=backup')).body.count >= 1, true);
    assert.equal((await cbr(ts, me, 'DELETE', `/policies/${p.id}`)).status, 204);
    assert.equal((await cbr(ts, me, 'GET', `/policies/${p.id}`)).body.error_code, 'BackupService.6000');
  });

  it('isolates projects: another project sees none of the vaults, policies, backups or logs', async () => {
    const vol = await createVolume(ts, me, 'iso');
    const v = await createVault(ts, me, 'iso', [vol]);
    const { created } = await checkpoint(ts, me, v.id);
    const [b] = await backupsOf(ts, me, `checkpoint_id=${created.id}`);
    assert.equal((await cbr(ts, other, 'GET', `/vaults/${v.id}`)).body.error_code, 'BackupService.6105');
    assert.equal((await cbr(ts, other, 'GET', '/vaults')).body.count, 0);
    assert.equal((await cbr(ts, other, 'GET', `/backups/${b.id}`)).body.error_code, 'BackupService.6200');
    assert.equal((await cbr(ts, other, 'GET', '/backups')).body.count, 0);
    assert.equal((await cbr(ts, other, 'GET', `/checkpoints/${created.id}`)).body.error_code, 'BackupService.6217');
    assert.equal((await cbr(ts, other, 'GET', '/operation-logs')).body.count, 0);
    assert.equal((await cbr(ts, other, 'POST', `/backups/${b.id}/restore`, { restore: {} })).status, 404);
    // The other project cannot put my disk in its vault.
    const theirs = await createVault(ts, other, 'theirs', []);
    const steal = await cbr(ts, other, 'POST', `/vaults/${theirs.id}/addresources`, { resources: [{ id: vol, type: DISK }] });
    assert.equal(steal.body.error_code, 'BackupService.7000');
    // A path project that is not the token's is 403 8600.
    const cross = await ts.request('GET', `/cbr/v3/${me.projectId}/vaults`, { token: other.token });
    assert.deepEqual([cross.status, cross.body.error_code], [403, 'BackupService.8600']);
    // Disk sharing is off: sharing is refused with 6700.
    const share = await cbr(ts, me, 'POST', `/backups/${b.id}/members`, { members: [other.projectId] });
    assert.deepEqual([share.status, share.body.error_code], [400, 'BackupService.6700']);
    // CBR backups never show up as Cinder backups.
    const cinder = await ts.request('GET', `/v3/${me.projectId}/backups`, { token: me.token });
    assert.equal(cinder.body.backups.some((x: any) => x.id === b.id), false);
  });

  it('fails a backup that would exceed the vault capacity with 6114', async () => {
    const vol = await createVolume(ts, me, 'cap');
    await writeVolume(ts, vol, 0, noise(512 * 1024));
    const v = await createVault(ts, me, 'cap', [vol], 1);
    const first = await checkpoint(ts, me, v.id);
    assert.equal(first.done.status, 'available');
    await writeVolume(ts, vol, 8 * MiB, noise(768 * 1024));
    const second = await checkpoint(ts, me, v.id);
    assert.equal(second.done.status, 'error');
    const [b] = await backupsOf(ts, me, `checkpoint_id=${second.created.id}`);
    assert.equal(b.status, 'error');
    assert.equal(b.extend_info.error_code, 'BackupService.6114');
    const logs = await cbr(ts, me, 'GET', `/operation-logs?vault_id=${v.id}&status=failed`);
    assert.equal(logs.body.operation_logs[0].error_info.code, 'BackupService.6114');
    const vault = (await cbr(ts, me, 'GET', `/vaults/${v.id}`)).body.vault;
    assert.ok(vault.billing.used > 0 && vault.billing.used <= 1024, `used ${vault.billing.used}`);
    // Shrinking below what is stored is refused; expanding lets the next checkpoint through.
    assert.equal((await cbr(ts, me, 'PUT', `/vaults/${v.id}`, { vault: { billing: { size: 2 } } })).status, 200);
    await writeVolume(ts, vol, 16 * MiB, noise(768 * 1024));
    const third = await checkpoint(ts, me, v.id);
    assert.equal(third.done.status, 'available');
    const shrink = await cbr(ts, me, 'PUT', `/vaults/${v.id}`, { vault: { billing: { size: 1 } } });
    assert.equal(shrink.body.error_code, 'BackupService.6101');
  });

  it('lists backups with filters, sort and pagination, and refuses bad restores', async () => {
    const vol = await createVolume(ts, me, 'pg');
    const v = await createVault(ts, me, 'pg', [vol]);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { created } = await checkpoint(ts, me, v.id, { name: `bk${i}` });
      ids.push((await backupsOf(ts, me, `checkpoint_id=${created.id}`))[0].id);
    }
    const asc = await cbr(ts, me, 'GET', `/backups?vault_id=${v.id}&sort=created_at:asc&limit=2`);
    assert.equal(asc.body.count, 3);
    assert.deepEqual(asc.body.backups.map((b: any) => b.name), ['bk0', 'bk1']);
    const next = await cbr(ts, me, 'GET', `/backups?vault_id=${v.id}&sort=created_at:asc&limit=2&marker=${asc.body.backups[1].id}`);
    assert.deepEqual(next.body.backups.map((b: any) => b.name), ['bk2']);
    const off = await cbr(ts, me, 'GET', `/backups?vault_id=${v.id}&sort=name:desc&offset=1&limit=1`);
    assert.deepEqual(off.body.backups.map((b: any) => b.name), ['bk1']);
    assert.equal((await cbr(ts, me, 'GET', `/backups?vault_id=${v.id}&name=bk1`)).body.count, 1);
    assert.equal((await cbr(ts, me, 'GET', `/backups?vault_id=${v.id}&status=available&status=error`)).body.count, 3);
    assert.equal((await cbr(ts, me, 'GET', `/backups?vault_id=${v.id}&start_time=2000-01-01T00:00:00Z&end_time=2100-01-01T00:00:00Z`)).body.count, 3);
    assert.equal((await cbr(ts, me, 'GET', `/backups?sort=bogus`)).body.error_code, 'BackupService.9900');

    const small = await createVolume(ts, me, 'small', 1);
    const big = await createVolume(ts, me, 'big', 2);
    const v2 = await createVault(ts, me, 'big', [big]);
    const { created } = await checkpoint(ts, me, v2.id);
    const [bigBackup] = await backupsOf(ts, me, `checkpoint_id=${created.id}`);
    const tooSmall = await cbr(ts, me, 'POST', `/backups/${bigBackup.id}/restore`, { restore: { volume_id: small } });
    assert.deepEqual([tooSmall.status, tooSmall.body.error_code], [400, 'BackupService.2001']);
    await ts.request('POST', `/v3/${me.projectId}/volumes/${small}/action`, { token: me.token, body: { 'os-reset_status': { status: 'error' } } });
    const notAvail = await cbr(ts, me, 'POST', `/backups/${ids[0]}/restore`, { restore: { volume_id: small } });
    assert.deepEqual([notAvail.status, notAvail.body.error_code], [400, 'BackupService.7003']);
  });
});
