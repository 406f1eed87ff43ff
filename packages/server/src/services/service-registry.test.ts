/**
 * The node-name check at start: a second live process under one name is refused, and so is a node beside another
 * live one on SQLite; dead or cleanly stopped processes free their name. Real store (SQLite, or PostgreSQL with
 * CINDERBOX_TEST_DATABASE_URL), real processes for the dead-pid case.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { sql } from 'kysely';
import type { BackupTargetIdentity } from '../domain/ports/service-store.js';
import { storedTime, systemClock } from '../domain/time.js';
import { openDatabase, type OpenedDatabase } from '../store/database.js';
import { openTestDatabase } from '../test-support/harness.js';
import { metadataOver, type OpenedMetadata } from '../wiring.js';
import { ServiceRegistry } from './service-registry.js';

describe('node names at start', () => {
  let dir: string;
  let database: OpenedDatabase;
  let metadata: OpenedMetadata;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cinderbox-registry-'));
    database = await openTestDatabase(dir);
    metadata = metadataOver(database);
  });
  after(async () => {
    await database?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const registry = (node: string, over: OpenedMetadata = metadata, instance?: string, backupTarget?: BackupTargetIdentity) =>
    new ServiceRegistry({
      store: over.store,
      services: over.services,
      ...(instance ? { instance } : {}),
      ...(backupTarget ? { backupTarget } : {}),
      clock: systemClock,
      config: { serviceHost: node, availabilityZone: 'nova', backends: [], database: database.kind === 'postgres' ? { kind: 'postgres', url: 'x' } : { kind: 'sqlite' } },
      logger: pino({ level: 'silent' }),
    });

  /** Heartbeats under `node` as if written by process `pid` (one of this machine). */
  const beatAs = async (node: string, pid: number) => {
    const now = storedTime(new Date());
    await metadata.services.heartbeat(metadata.store.root, node, 'cinder-scheduler', 'nova', now, `other ${pid} ${hostname()}`);
  };

  test('a second live process under the same name is refused, naming it; a dead one (kill -9) frees the name at once', async () => {
    await beatAs('n1', process.ppid);
    await assert.rejects(registry('n1').checkNodeName(), new RegExp(`node name "n1" is in use by a live node \\(process ${process.ppid} on `));
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    await beatAs('n1', dead);
    await registry('n1').checkNodeName();
  });

  test('a clean stop clears the name', async () => {
    const r = registry('n2');
    await r.start();
    await r.stop();
    await registry('n2').checkNodeName();
  });

  test('a claim takes over a name whose holder stopped heartbeating longer than the down time', async () => {
    const old = storedTime(new Date(Date.now() - 3600_000));
    await metadata.services.heartbeat(metadata.store.root, 'n5', 'cinder-scheduler', 'nova', old, `elsewhere 1 another-machine.example`);
    await registry('n5').checkNodeName();
    const row = await metadata.services.get(metadata.store.root, 'n5', 'cinder-scheduler');
    assert.equal(row?.instance, registry('n5').instance);
  });

  test('on SQLite a node beside another live node is refused (several nodes need PostgreSQL)', async (t) => {
    if (database.kind === 'postgres') return t.skip('the SQLite rule; on PostgreSQL several nodes are the point');
    await beatAs('n3', process.ppid);
    await assert.rejects(registry('n4').checkNodeName(), /node "n3" is live on this SQLite store .* need a shared PostgreSQL database/);
  });

  test('two processes claiming one name at the same instant: exactly one gets it, each round', async (t) => {
    // SQLite takes one writer at a time (and several nodes on it are refused anyway): the race is PostgreSQL's.
    if (database.kind !== 'postgres') return t.skip('the race needs PostgreSQL (CINDERBOX_TEST_DATABASE_URL)');
    // A second handle on the same database, as a second process would have (its own pool of connections).
    const url = database.kind === 'postgres' ? new URL(process.env.CINDERBOX_TEST_DATABASE_URL!) : null;
    if (url) {
      const { rows } = await sql<{ name: string }>`select current_database() as name`.execute(database.db);
      url.pathname = `/${rows[0]!.name}`;
    }
    const second = await openDatabase({ dataDir: dir, database: url ? { kind: 'postgres', url: url.toString() } : { kind: 'sqlite' } });
    try {
      const other = metadataOver(second);
      for (let round = 0; round < 20; round++) {
        const node = `race${round}`;
        // Both read the (missing, then live) row before either writes: only the guarded claim can tell them apart.
        const a = registry(node, metadata, `a-${round} ${process.pid} ${hostname()}`);
        const b = registry(node, other, `b-${round} ${process.pid} ${hostname()}`);
        const results = await Promise.allSettled([a.checkNodeName(), b.checkNodeName()]);
        const won = results.filter((r) => r.status === 'fulfilled').length;
        assert.equal(won, 1, `round ${round}: ${JSON.stringify(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'claimed')))}`);
        const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
        assert.match(String(lost.reason), new RegExp(`node name "${node}" is in use by a live node \\(process ${process.pid} on `));
      }
    } finally {
      await second.close();
    }
  });



  test('a claim that waits out a statement timeout on a row a stalled holder keeps locked is tried again, then succeeds', async (t) => {
    if (database.kind !== 'postgres') return t.skip('row locks held across statements are the PostgreSQL case (CINDERBOX_TEST_DATABASE_URL)');
    const { rows } = await sql<{ name: string }>`select current_database() as name`.execute(database.db);
    const url = new URL(process.env.CINDERBOX_TEST_DATABASE_URL!);
    url.pathname = `/${rows[0]!.name}`;
    // The claimant's statements are cancelled after 300 ms, as a 30 s statement timeout would be by a longer stall.
    const second = await openDatabase({ dataDir: dir, database: { kind: 'postgres', url: url.toString(), statementTimeoutMs: 300 } });
    try {
      // A stale holder (its beat an hour old) frozen in the middle of its heartbeat's transaction: the row stays locked.
      const old = storedTime(new Date(Date.now() - 3600_000));
      await metadata.services.heartbeat(metadata.store.root, 'n7', 'cinder-scheduler', 'nova', old, `frozen 1 elsewhere`);
      let released = 0;
      const holder = database.db.transaction().execute(async (tx) => {
        await sql`select 1 from services where host = 'n7' and "binary" = 'cinder-scheduler' for update`.execute(tx);
        await new Promise((r) => setTimeout(r, 1_000));
        released = performance.now();
      });
      await new Promise((r) => setTimeout(r, 50));
      await registry('n7', metadataOver(second), `fresh7 ${process.pid} ${hostname()}`).checkNodeName();
      await holder;
      assert.ok(released > 0, 'the claim went through only after the holder let the row go');
      const row = await metadata.services.get(metadata.store.root, 'n7', 'cinder-scheduler');
      assert.equal(row?.instance, `fresh7 ${process.pid} ${hostname()}`);
    } finally {
      await second.close();
    }
  });

  test('a holder that stalled past the down time and was replaced: its next heartbeat writes nothing, it stops taking work and says so once', async (t) => {
    // Two live holders of node names on one store is the PostgreSQL case (SQLite refuses a second node outright).
    if (database.kind !== 'postgres') return t.skip('several nodes on one store need PostgreSQL (CINDERBOX_TEST_DATABASE_URL)');
    const lines: string[] = [];
    let lostCalls = 0;
    const stale = new ServiceRegistry({
      store: metadata.store,
      services: metadata.services,
      instance: `stale ${process.pid} ${hostname()}`,
      clock: systemClock,
      config: {
        serviceHost: 'n6',
        availabilityZone: 'nova',
        backends: [{ name: 'b1', driver: 'raw' } as never],
        serviceDownSeconds: 60,
        database: { kind: 'postgres', url: 'x' },
      },
      logger: pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) }),
      onNodeNameLost: () => void lostCalls++,
    });
    await stale.checkNodeName();
    await stale.heartbeat();
    assert.equal(stale.mayTakeWork(), true);
    // Its beats age past the down time (as while SIGSTOPped); a new process then claims the name.
    const old = storedTime(new Date(Date.now() - 3600_000));
    await metadata.services.heartbeat(metadata.store.root, 'n6', 'cinder-scheduler', 'nova', old, stale.instance);
    const fresh = registry('n6', metadata, `fresh ${process.pid} ${hostname()}`);
    await fresh.checkNodeName();
    await fresh.heartbeat();
    const before = await metadata.services.list(metadata.store.root);

    await stale.heartbeat();
    assert.equal(stale.holdsNodeName, false);
    assert.equal(stale.mayTakeWork(), false);
    assert.equal(lostCalls, 1);
    const after = await metadata.services.list(metadata.store.root);
    assert.deepEqual(
      after.filter((r) => r.host.startsWith('n6')),
      before.filter((r) => r.host.startsWith('n6')),
      'the stale heartbeat changed no row of the node',
    );
    assert.equal((await metadata.services.get(metadata.store.root, 'n6', 'cinder-scheduler'))?.instance, fresh.instance);
    assert.equal(lines.length, 1, lines.join(''));
    assert.match(
      (JSON.parse(lines[0]!) as { msg: string }).msg,
      new RegExp(`^node name "n6" was taken over by process ${process.pid} on .* this process stops taking tasks and shuts down$`),
    );
    // Later beats of the stale one stay silent and harmless; the new holder's go on.
    await stale.heartbeat();
    assert.equal(lostCalls, 1);
    await fresh.heartbeat();
    assert.equal(fresh.holdsNodeName, true);
  });

  test('a node whose default backup target is another repository than a live node’s warns at start, naming both', async () => {
    const shared = { name: 'shared', repoId: 'repo-1', location: 'file:///srv/backups' };
    const first = registry('bt1', metadata, undefined, shared);
    await first.heartbeat();
    assert.deepEqual(await first.checkBackupTarget(), []);
    // Same path, another repository: a node-local directory on another machine.
    const stray = registry('bt2', metadata, undefined, { ...shared, repoId: 'repo-2' });
    await stray.heartbeat();
    const warnings = await stray.checkBackupTarget();
    assert.equal(warnings.length, 1, JSON.stringify(warnings));
    assert.match(warnings[0]!, /backup target "shared" of node bt2 \(repository repo-2 at file:\/\/\/srv\/backups\) is not node bt1's default target "shared" \(repository repo-1/);
    assert.match(warnings[0]!, /same path on two machines is two repositories/);
    // A third node on the shared repository warns about the stray one only.
    const third = registry('bt3', metadata, undefined, shared);
    await third.heartbeat();
    const w3 = await third.checkBackupTarget();
    assert.equal(w3.length, 1, JSON.stringify(w3));
    assert.match(w3[0]!, /is not node bt2's default target/);
    assert.deepEqual((await metadata.services.get(metadata.store.root, 'bt3', 'cinder-backup'))?.backupTarget, shared);
  });
});
