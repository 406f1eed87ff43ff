import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import type { TaskRecord } from '../domain/ports/task-queue.js';
import { systemClock } from '../domain/time.js';
import type { OpenedDatabase } from '../store/database.js';
import { asScope } from '../store/metadata-store.js';
import { taskStore } from '../store/repositories/tasks.js';
import { openTestDatabase } from '../test-support/harness.js';
import { TaskEngine, type TaskEngineOptions } from './task-engine.js';

const logger = pino({ level: 'silent' });

describe('task engine', () => {
  let dir: string;
  let database: OpenedDatabase;
  const engineOn = (opts: Omit<TaskEngineOptions, 'store'>) => new TaskEngine({ store: taskStore(database), ...opts });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cinderbox-tasks-'));
    database = await openTestDatabase(dir);
  });
  after(async () => {
    await database.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('a dispatched task runs once and its row is removed when done', async () => {
    const engine = engineOn({ clock: systemClock, logger, leaseSeconds: 30 });
    const seen: TaskRecord[] = [];
    engine.register<{ n: number }>({ kind: 'ok', run: async (t) => void seen.push(t), fail: async () => assert.fail('fail() called') });
    const id = await engine.enqueue(asScope(database.db), { kind: 'ok', resourceType: 'x', resourceId: 'r1', payload: { n: 7 } });
    engine.dispatch(id);
    engine.dispatch(id); // a second dispatch of the same task must not run it twice
    await engine.idle();
    assert.equal(seen.length, 1);
    assert.deepEqual(seen[0]?.payload, { n: 7 });
    const row = await database.db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirst();
    assert.equal(row, undefined);
    await engine.stop();
  });

  test('a claimOnEnqueue task is stored running under this node and runs on dispatch without a claim', async () => {
    let paused = false;
    const engine = engineOn({ clock: systemClock, logger, leaseSeconds: 30, paused: () => paused });
    const seen: TaskRecord[] = [];
    let rowWhileRunning: { state: string; owner: string | null; attempts: number | string } | undefined;
    engine.register<{ n: number }>({
      kind: 'quick',
      claimOnEnqueue: true,
      run: async (t) => {
        seen.push(t);
        rowWhileRunning = await database.db.selectFrom('tasks').select(['state', 'owner', 'attempts']).where('id', '=', t.id).executeTakeFirst();
      },
      fail: async () => assert.fail('fail() called'),
    });
    const scope = asScope(database.db);
    const id = await engine.enqueue(scope, { kind: 'quick', resourceType: 'x', resourceId: 'c1', payload: { n: 1 } });
    const stored = await database.db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    assert.equal(stored.state, 'running', 'inserted claimed');
    assert.equal(stored.owner, engine.nodeId);
    engine.dispatch(id);
    engine.dispatch(id);
    await engine.idle();
    assert.equal(seen.length, 1);
    assert.deepEqual(seen[0]?.payload, { n: 1 });
    assert.equal(seen[0]?.attempts, 1);
    assert.equal(rowWhileRunning?.state, 'running');
    assert.equal(await database.db.selectFrom('tasks').select('id').where('id', '=', id).executeTakeFirst(), undefined);

    // Paused between the insert and the dispatch: handed back to pending, not run and not left to a lease expiry.
    const held = await engine.enqueue(scope, { kind: 'quick', resourceType: 'x', resourceId: 'c2', payload: { n: 2 } });
    paused = true;
    engine.dispatch(held);
    await engine.idle();
    assert.equal(seen.length, 1, 'a paused node ran it');
    const back = await database.db.selectFrom('tasks').selectAll().where('id', '=', held).executeTakeFirstOrThrow();
    assert.equal(back.state, 'pending');
    assert.equal(back.owner, null);
    assert.equal(Number(back.attempts), 0);
    paused = false;
    engine.dispatch(held);
    await engine.idle();
    assert.equal(seen.length, 2, 'claimed and run once unpaused');

    // Enqueued while paused: inserted pending, as any task.
    paused = true;
    const later = await engine.enqueue(scope, { kind: 'quick', resourceType: 'x', resourceId: 'c3', payload: { n: 3 } });
    assert.equal((await database.db.selectFrom('tasks').select('state').where('id', '=', later).executeTakeFirstOrThrow()).state, 'pending');
    paused = false;
    engine.dispatch(later);
    await engine.idle();
    assert.equal(seen.length, 3);
    await engine.stop();
  });

  test('a claimOnEnqueue task whose node died between its commit and its dispatch is failed at the next start, not run late', async () => {
    const dead = engineOn({ clock: systemClock, logger, leaseSeconds: 30 });
    const handler = (ran: string[], failed: string[]) => ({
      kind: 'quick-crash',
      claimOnEnqueue: true,
      resumeAfterCrash: false,
      run: async (t: TaskRecord) => void ran.push(t.resourceId),
      fail: async (t: TaskRecord) => void failed.push(t.resourceId),
    });
    dead.register(handler([], []));
    const id = await dead.enqueue(asScope(database.db), { kind: 'quick-crash', resourceType: 'x', resourceId: 'k1', payload: {} });
    // No dispatch: the process is gone (a SIGKILL right after the commit).
    const ran: string[] = [];
    const failed: string[] = [];
    const next = engineOn({ clock: systemClock, logger, leaseSeconds: 30 });
    next.register(handler(ran, failed));
    await next.start(true);
    await next.idle();
    assert.deepEqual(ran, [], 'the point in time a create was for is gone: not run later');
    assert.deepEqual(failed, ['k1']);
    assert.equal(await database.db.selectFrom('tasks').select('id').where('id', '=', id).executeTakeFirst(), undefined);
    await next.stop();
  });

  test('isQueued sees a task of that kind for that resource until it is done, and not once it failed', async () => {
    const engine = engineOn({ clock: systemClock, logger, leaseSeconds: 30 });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    engine.register({ kind: 'held', run: () => gate, fail: async () => {} });
    engine.register({ kind: 'fails', run: async () => Promise.reject(new Error('no')), fail: async () => {} });
    const scope = asScope(database.db);
    const id = await engine.enqueue(scope, { kind: 'held', resourceType: 'volume', resourceId: 'q1', payload: {} });
    assert.equal(await engine.isQueued(scope, 'held', 'volume', 'q1'), true);
    assert.equal(await engine.isQueued(scope, 'held', 'volume', 'q2'), false);
    assert.equal(await engine.isQueued(scope, 'other', 'volume', 'q1'), false);
    engine.dispatch(id);
    assert.equal(await engine.isQueued(scope, 'held', 'volume', 'q1'), true);
    release();
    await engine.idle();
    assert.equal(await engine.isQueued(scope, 'held', 'volume', 'q1'), false);
    const failed = await engine.enqueue(scope, { kind: 'fails', resourceType: 'volume', resourceId: 'q3', payload: {} });
    engine.dispatch(failed);
    await engine.idle();
    assert.equal(await engine.isQueued(scope, 'fails', 'volume', 'q3'), false);
    await engine.stop();
  });

  test('a task that throws calls fail() with the error and is kept as failed', async () => {
    const engine = engineOn({ clock: systemClock, logger, leaseSeconds: 30 });
    let failedWith: Error | null = null;
    engine.register({
      kind: 'boom',
      run: async () => {
        throw new Error('disk on fire');
      },
      fail: async (_t, e) => {
        failedWith = e;
      },
    });
    const id = await engine.enqueue(asScope(database.db), { kind: 'boom', resourceType: 'x', resourceId: 'r2', payload: {} });
    engine.dispatch(id);
    await engine.idle();
    assert.equal((failedWith as Error | null)?.message, 'disk on fire');
    const row = await database.db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    assert.equal(row.state, 'failed');
    assert.equal(row.last_error, 'disk on fire');
    await engine.stop();
  });

  test('a running task left by a dead node is failed on the next start, exactly once', async () => {
    const id = await engineOn({ clock: systemClock, logger, leaseSeconds: 30 }).enqueue(asScope(database.db), {
      kind: 'long',
      resourceType: 'snapshot',
      resourceId: 'r3',
      payload: {},
    });
    // Simulate a node that claimed the task and died.
    await database.db.updateTable('tasks').set({ state: 'running', owner: 'dead-node', lease_until: '2999-01-01T00:00:00.000000' }).where('id', '=', id).execute();
    const recovered: string[] = [];
    const make = () => {
      const e = engineOn({ clock: systemClock, logger, leaseSeconds: 30, pollMs: 60_000 });
      e.register({ kind: 'long', run: async () => assert.fail('must not run again'), fail: async (t, cause) => void recovered.push(`${t.resourceId}:${cause.message.slice(0, 11)}`) });
      return e;
    };
    const first = make();
    const second = make();
    // Lease not expired: a multi-node start leaves it alone; the single-node start takes it.
    await second.start(false);
    assert.deepEqual(recovered, []);
    await first.start(true);
    assert.deepEqual(recovered, ['r3:interrupted']);
    assert.equal(await database.db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirst(), undefined);
    await first.stop();
    await second.stop();
  });

  test('a resumable task left running by a dead node runs again at start; after five runs a crash fails it', async () => {
    const enqueue = () =>
      engineOn({ clock: systemClock, logger, leaseSeconds: 30 }).enqueue(asScope(database.db), { kind: 'gone', resourceType: 'volume', resourceId: 'r5', payload: {} });
    const orphan = async (id: string, attempts: number) =>
      database.db.updateTable('tasks').set({ state: 'running', owner: 'dead-node', lease_until: '2999-01-01T00:00:00.000000', attempts }).where('id', '=', id).execute();
    const runs: number[] = [];
    const failed: string[] = [];
    const make = () => {
      const e = engineOn({ clock: systemClock, logger, leaseSeconds: 30, pollMs: 60_000 });
      e.register({ kind: 'gone', resumeAfterCrash: true, run: async (t) => void runs.push(t.attempts), fail: async (t, c) => void failed.push(`${t.resourceId}:${c.message.slice(0, 11)}`) });
      return e;
    };
    const id = await enqueue();
    await orphan(id, 1);
    const e1 = make();
    await e1.start(true);
    await e1.idle();
    assert.deepEqual(runs, [2]);
    assert.deepEqual(failed, []);
    assert.equal(await database.db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirst(), undefined);
    await e1.stop();
    // One that has died with its node five times is not tried a sixth time.
    const again = await enqueue();
    await orphan(again, 4);
    const e2 = make();
    await e2.start(true);
    await e2.idle();
    assert.deepEqual(runs, [2]);
    assert.deepEqual(failed, ['r5:interrupted']);
    await e2.stop();
  });

  test('pending tasks that were never dispatched are picked up at start', async () => {
    const engine = engineOn({ clock: systemClock, logger, leaseSeconds: 30, pollMs: 60_000 });
    let ran = 0;
    engine.register({ kind: 'later', run: async () => void ran++, fail: async () => {} });
    await engine.enqueue(asScope(database.db), { kind: 'later', resourceType: 'x', resourceId: 'r4', payload: {} });
    await engine.start(true);
    await engine.idle();
    assert.equal(ran, 1);
    await engine.stop();
  });
});

describe('task engine on one store, several nodes', () => {
  let dir: string;
  let database: OpenedDatabase;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cinderbox-tasks-'));
    database = await openTestDatabase(dir);
  });
  after(async () => {
    await database.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('nodes polling and dispatching at once run every task exactly once', async () => {
    const ran = new Map<string, number>();
    const nodes = Array.from({ length: 4 }, () => {
      const e = new TaskEngine({ store: taskStore(database), clock: systemClock, logger, leaseSeconds: 30, pollMs: 5, pollBatch: 7 });
      e.register({
        kind: 'count',
        run: async (t) => {
          ran.set(t.resourceId, (ran.get(t.resourceId) ?? 0) + 1);
          await new Promise((r) => setTimeout(r, 1));
        },
        fail: async () => assert.fail('fail() called'),
      });
      return e;
    });
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) ids.push(await nodes[0]!.enqueue(asScope(database.db), { kind: 'count', resourceType: 'x', resourceId: `t${i}`, payload: {} }));
    await Promise.all(nodes.map((n) => n.start(false)));
    // Every node is also told about every task, as if each had enqueued it.
    for (const id of ids) for (const n of nodes) n.dispatch(id);
    const deadline = Date.now() + 20_000;
    while (ran.size < 60 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await Promise.all(nodes.map((n) => n.idle()));
    await Promise.all(nodes.map((n) => n.stop()));
    assert.equal(ran.size, 60);
    assert.deepEqual([...ran.values()].filter((n) => n !== 1), []);
    const left = await database.db.selectFrom('tasks').select('id').where('resource_type', '=', 'x').execute();
    assert.deepEqual(left, []);
  });

  test('a task bound to a node runs only there, whoever dispatches it; a declined kind waits for a node that takes it', async () => {
    const ranOn = new Map<string, string>();
    const make = (node: string, declined: readonly string[] = []) => {
      const e = new TaskEngine({
        store: taskStore(database),
        clock: systemClock,
        logger,
        leaseSeconds: 30,
        pollMs: 10,
        node,
        // The payload names the node, as the real router reads it from the volume's host.
        route: async (_tx, t) => (t.payload as { node: string | null }).node,
        declinedKinds: () => declined,
      });
      for (const kind of ['bound', 'backup.create'])
        e.register({ kind, run: async (t) => void ranOn.set(t.resourceId, node), fail: async () => assert.fail('fail() called') });
      return e;
    };
    const a = make('A', ['backup.create']);
    const b = make('B');
    const scope = asScope(database.db);
    const toB = await a.enqueue(scope, { kind: 'bound', resourceType: 'y', resourceId: 'for-b', payload: { node: 'B' } });
    const backup = await a.enqueue(scope, { kind: 'backup.create', resourceType: 'y', resourceId: 'backup', payload: { node: null } });
    const row = await database.db.selectFrom('tasks').select('node').where('id', '=', toB).executeTakeFirstOrThrow();
    assert.equal(row.node, 'B');
    await a.start(false);
    a.dispatch(toB);
    a.dispatch(backup);
    await new Promise((r) => setTimeout(r, 200));
    await a.idle();
    assert.equal(ranOn.size, 0, 'A runs neither the task bound to B nor the kind it declines');
    await b.start(false);
    const deadline = Date.now() + 10_000;
    while (ranOn.size < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await Promise.all([a.stop(), b.stop()]);
    assert.deepEqual(Object.fromEntries(ranOn), { 'for-b': 'B', backup: 'B' });
  });
});
