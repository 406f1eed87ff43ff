import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CbrScheduler } from '../../services/cbr/scheduler.js';
import { type TestServer, waitFor } from '../../test-support/harness.js';
import { admin, backupsOf, type Caller, cbr, createVault, createVolume, startCbrServer } from './test-support/cbr.js';

const DAY = 86_400_000;
const T0 = Date.parse('2030-01-07T00:30:00Z');

/** Time stands still unless the test moves it. */
function fakeClock(start: number) {
  let t = start;
  return { now: () => new Date(t), set: (ms: number) => (t = ms) };
}

async function settle(ts: TestServer, who: Caller): Promise<void> {
  await waitFor(async () => {
    const r = await cbr(ts, who, 'GET', '/operation-logs?status=waiting&status=running');
    return r.body.count === 0;
  }, 'operations to finish').catch(async (e) => {
    console.log(JSON.stringify((await cbr(ts, who, 'GET', '/operation-logs?status=waiting&status=running')).body, null, 1));
    throw e;
  });
  await ts.server.tasks.idle();
}

describe('CBR scheduler (injected clock)', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('runs bound policies once per trigger, applies retention by count and by days, and survives restarts without losing or doubling a run', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cbr-sched-'));
    dirs.push(dir);
    const clock = fakeClock(T0);
    const opts = { clock, cbr: { schedulerIntervalMs: 3_600_000 } };
    let ts = await startCbrServer({ tokenTtlSeconds: 60 * 86_400 }, dir, opts);
    // A restart reopens the same store: on PostgreSQL the harness would otherwise hand the new server a fresh database.
    const again = { tokenTtlSeconds: 60 * 86_400, database: ts.server.config.database };
    let me = admin(ts);
    const v1 = await createVolume(ts, me, 'sched-a');
    const v2 = await createVolume(ts, me, 'sched-b');
    const byCount = await createVault(ts, me, 'by-count', [v1]);
    const byDays = await createVault(ts, me, 'by-days', [v2]);
    const pattern = ['FREQ=DAILY;INTERVAL=1;BYHOUR=1;BYMINUTE=00'];
    const p1 = await cbr(ts, me, 'POST', '/policies', {
      policy: { name: 'count', operation_type: 'backup', operation_definition: { max_backups: 1 }, trigger: { properties: { pattern } } },
    });
    const p2 = await cbr(ts, me, 'POST', '/policies', {
      policy: { name: 'days', operation_type: 'backup', operation_definition: { retention_duration_days: 1 }, trigger: { properties: { pattern } } },
    });
    for (const [vault, policy] of [[byCount, p1], [byDays, p2]] as const)
      assert.equal((await cbr(ts, me, 'POST', `/vaults/${vault.id}/associatepolicy`, { policy_id: policy.body.policy.id })).status, 200);

    // Not due yet.
    clock.set(T0 + 29 * 60_000);
    assert.equal(await ts.server.cbr.scheduler.tick(), 0);

    // Due: two schedulers on one store (as two processes would be) claim each run once.
    clock.set(T0 + 31 * 60_000);
    const c = ts.server.cbr;
    const rival = new CbrScheduler(c.context, c.checkpoints, c.operationLogs);
    const [mine, theirs] = await Promise.all([c.scheduler.tick(), rival.tick()]);
    assert.equal(mine + theirs, 2);
    assert.equal(await rival.tick(), 0);
    await settle(ts, me);
    const day1 = await backupsOf(ts, me, `vault_id=${byCount.id}`);
    assert.equal(day1.length, 1);
    assert.equal(day1[0].extend_info.auto_trigger, true);
    assert.match(day1[0].name, /^autobk_/);
    assert.equal((await backupsOf(ts, me, `vault_id=${byDays.id}`))[0].expired_at, '2030-01-08T01:01:00.000000');

    for (const day of [1, 2]) {
      clock.set(T0 + day * DAY + 31 * 60_000);
      assert.equal(await c.scheduler.tick(), 2);
      await settle(ts, me);
    }
    // max_backups 1 keeps only the newest; 1 day keeps what is at most a day old (day 2 and day 3).
    const countLeft = await backupsOf(ts, me, `vault_id=${byCount.id}`);
    assert.deepEqual(countLeft.map((b) => b.created_at), ['2030-01-09T01:01:00.000000']);
    const daysLeft = await backupsOf(ts, me, `vault_id=${byDays.id}`);
    assert.deepEqual(daysLeft.map((b) => b.created_at), ['2030-01-09T01:01:00.000000', '2030-01-08T01:01:00.000000']);
    const deletes = await cbr(ts, me, 'GET', '/operation-logs?operation_type=delete&status=success');
    assert.equal(deletes.body.count, 3);
    assert.ok(deletes.body.operation_logs.every((l: any) => l.policy_id !== ''));

    // Down for three trigger times (days 4, 5, 6): the next start runs once, late, and says so.
    await ts.close({ keepData: true });
    clock.set(T0 + 5 * DAY + 3 * 3_600_000);
    ts = await startCbrServer(again, dir, opts);
    me = admin(ts);
    await settle(ts, me);
    const auto = await cbr(ts, me, 'GET', `/operation-logs?operation_type=backup&vault_id=${byCount.id}`);
    const latest = auto.body.operation_logs[0];
    assert.equal(auto.body.count, 4);
    assert.equal(latest.status, 'success');
    assert.deepEqual(latest.extra_info.schedule, { scheduled_at: '2030-01-12T01:00:00.000000', late: true, missed_runs: 2 });
    assert.equal(latest.started_at, '2030-01-12T03:30:00.000000');

    // Another restart at the same time: nothing is due, nothing runs again.
    await ts.close({ keepData: true });
    ts = await startCbrServer(again, dir, opts);
    me = admin(ts);
    assert.equal(await ts.server.cbr.scheduler.tick(), 0);
    assert.equal((await cbr(ts, me, 'GET', `/operation-logs?operation_type=backup&vault_id=${byCount.id}`)).body.count, 4);

    // A disabled policy does not run.
    await cbr(ts, me, 'PUT', `/policies/${p1.body.policy.id}`, { policy: { enabled: false } });
    clock.set(T0 + 6 * DAY + 31 * 60_000);
    assert.equal(await ts.server.cbr.scheduler.tick(), 1);
    await settle(ts, me);
    await ts.close({ keepData: true });
  });
});
