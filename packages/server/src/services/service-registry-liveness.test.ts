/**
 * Liveness of other nodes' processes (issue #17): a process of this machine whose pid is gone, or whose pid now
 * names a process started at another time, is known dead; a stopped (SIGSTOP) one, one of another machine or of
 * another boot/pid namespace is not. Rows of a dead process read down at once and are recorded stopped, guarded by
 * its instance; a clean stop records its rows stopped; a restart under the name brings them up again. Real child
 * processes; real store (SQLite, or PostgreSQL with CINDERBOX_TEST_DATABASE_URL).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { storedTime, systemClock } from '../domain/time.js';
import type { OpenedDatabase } from '../store/database.js';
import { openTestDatabase } from '../test-support/harness.js';
import { signalAndWait } from '../test-support/processes.js';
import { metadataOver, type OpenedMetadata } from '../wiring.js';
import { instanceKnownDead, processStartTime } from './process-liveness.js';
import { ServiceRegistry } from './service-registry.js';

const linux = process.platform === 'linux';

describe('liveness of other nodes’ processes', () => {
  let dir: string;
  let database: OpenedDatabase;
  let metadata: OpenedMetadata;
  const children: ChildProcess[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cinderbox-liveness-'));
    database = await openTestDatabase(dir);
    metadata = metadataOver(database);
  });
  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) await signalAndWait(c, 'SIGKILL');
    await database?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const registry = (node: string, instance?: string) =>
    new ServiceRegistry({
      store: metadata.store,
      services: metadata.services,
      ...(instance ? { instance } : {}),
      clock: systemClock,
      config: {
        serviceHost: node,
        availabilityZone: 'nova',
        backends: [{ name: 'local', driver: 'raw' }] as never,
        database: database.kind === 'postgres' ? { kind: 'postgres', url: 'x' } : { kind: 'sqlite' },
      },
      logger: pino({ level: 'silent' }),
    });

  /** A child that sleeps until killed, and the instance string it would write (this machine's identity). */
  const child = (): { proc: ChildProcess; instance: string } => {
    const proc = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    children.push(proc);
    const [, , host, identity] = registry('probe').instance.split(' ');
    return { proc, instance: `child-${proc.pid} ${proc.pid} ${host} ${identity} ${processStartTime(proc.pid!)}` };
  };

  test('alive, stopped, reused pid, another host or boot, gone', async (t) => {
    if (!linux) return t.skip('pids and start times are read from /proc');
    const { proc, instance } = child();
    const [uuid, pid, host, identity, started] = instance.split(' ');
    assert.ok(started && started !== 'null' && /^\d+$/.test(started), `start time read: ${instance}`);
    assert.ok(identity && identity !== '-', `host identity read: ${instance}`);
    assert.equal(instanceKnownDead(instance), false, 'alive');
    proc.kill('SIGSTOP');
    try {
      assert.equal(instanceKnownDead(instance), false, 'a stopped process is not dead');
    } finally {
      proc.kill('SIGCONT');
    }
    assert.equal(instanceKnownDead(`${uuid} ${pid} ${host} ${identity} ${Number(started) + 1}`), true, 'its pid now names a later process');
    assert.equal(instanceKnownDead(`${uuid} ${pid} another-${host} ${identity} ${Number(started) + 1}`), false, 'another machine cannot be checked');
    assert.equal(instanceKnownDead(`${uuid} ${pid} ${host} 00000000-0000-0000-0000-000000000000/1 ${Number(started) + 1}`), false, 'another boot or pid namespace cannot be checked');
    assert.equal(instanceKnownDead(registry('self').instance), false, 'this process');
    await signalAndWait(proc, 'SIGKILL');
    assert.equal(instanceKnownDead(instance), true, 'SIGKILLed');
    assert.equal(instanceKnownDead(`${uuid} ${pid} ${host}`), true, 'SIGKILLed, in the older three-field form');
  });

  test('a killed process its parent has not reaped (a zombie) is dead', async (t) => {
    if (!linux) return t.skip('pids and start times are read from /proc');
    // The shell becomes `sleep`, which never reaps the background child it inherited.
    const parent = spawn('sh', ['-c', 'sleep 1000 & echo $!; exec sleep 1000'], { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(parent);
    const pid = Number(await new Promise<string>((resolve) => parent.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()))));
    const [, , host, identity] = registry('probe').instance.split(' ');
    const instance = `zombie ${pid} ${host} ${identity} ${processStartTime(pid)}`;
    assert.equal(instanceKnownDead(instance), false, 'alive');
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 100 && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); i++) await new Promise((r) => setTimeout(r, 20));
    assert.match(readFileSync(`/proc/${pid}/stat`, 'utf8'), /\) Z /, 'a zombie now');
    assert.equal(instanceKnownDead(instance), true, 'a zombie runs no more');
  });

  test('rows of a dead process read down at once and are recorded stopped, only while they still name it', async (t) => {
    if (!linux) return t.skip('pids and start times are read from /proc');
    const dead = child();
    const alive = child();
    const now = storedTime(new Date());
    const s = metadata.services;
    const root = metadata.store.root;
    for (const [node, inst] of [['d1', dead.instance], ['a1', alive.instance]] as const) {
      await s.heartbeat(root, node, 'cinder-scheduler', 'nova', now, inst);
      await s.heartbeat(root, `${node}@local`, 'cinder-volume', 'nova', now, inst);
    }
    // A row the dead process once wrote that a newer process of node d2 holds now.
    await s.heartbeat(root, 'd2', 'cinder-scheduler', 'nova', now, alive.instance);
    await signalAndWait(dead.proc, 'SIGKILL');
    const state = async () => Object.fromEntries((await registry('observer').entries()).map((e) => [`${e.binary} ${e.host}`, e.state]));
    assert.deepEqual(await state(), {
      'cinder-scheduler a1': 'up',
      'cinder-volume a1@local': 'up',
      'cinder-scheduler d1': 'down',
      'cinder-volume d1@local': 'down',
      'cinder-scheduler d2': 'up',
    });
    const d1 = await s.get(root, 'd1', 'cinder-scheduler');
    assert.equal(d1?.instance, null, 'the name is free');
    assert.ok(d1?.stoppedAt, 'recorded stopped');
    assert.equal(d1?.updatedAt, now, 'its last heartbeat is kept');
    // The guard: a release naming the dead process touches nothing once its rows name others.
    assert.equal(await s.releaseInstance(root, dead.instance, storedTime(new Date())), 0);
    assert.equal((await s.get(root, 'a1', 'cinder-scheduler'))?.stoppedAt, null);
    // Inside a transaction the rows of a process dead meanwhile only read down (no write there).
    await signalAndWait(alive.proc, 'SIGKILL');
    const inTx = await metadata.store.transaction(async (tx) => (await registry('observer').entries(tx)).find((e) => e.host === 'a1')?.state);
    assert.equal(inTx, 'down');
    assert.equal((await s.get(root, 'a1', 'cinder-scheduler'))?.instance, alive.instance, 'not recorded from inside the transaction');
    assert.equal((await state())['cinder-scheduler a1'], 'down');
    assert.equal((await s.get(root, 'a1', 'cinder-scheduler'))?.instance, null, 'recorded by the next read');
  });

  test('a clean stop reads down at once; the next start under the name is up again', async () => {
    const first = registry('c1', `first ${process.pid} host-of-a-test`);
    await first.start();
    const states = async () => (await first.entries()).filter((e) => e.host.startsWith('c1')).map((e) => `${e.binary}=${e.state}`).sort();
    assert.deepEqual(await states(), ['cinder-backup=up', 'cinder-scheduler=up', 'cinder-volume=up']);
    await first.stop();
    assert.deepEqual(await states(), ['cinder-backup=down', 'cinder-scheduler=down', 'cinder-volume=down']);
    const second = registry('c1', `second ${process.pid} host-of-a-test`);
    await second.start();
    try {
      assert.deepEqual(await states(), ['cinder-backup=up', 'cinder-scheduler=up', 'cinder-volume=up']);
      assert.equal((await metadata.services.get(metadata.store.root, 'c1', 'cinder-scheduler'))?.stoppedAt, null);
    } finally {
      await second.stop();
    }
  });
});
