/**
 * The cluster's write barrier against a real PostgreSQL and its change feed: a node closes its gates for a
 * barrier another node raised, acks once its writes drained, and reopens them when the barrier is lifted or,
 * raised by a node that died, when it lapses; a raiser whose live nodes do not all ack gets a 400 naming them,
 * and leaves no barrier behind. Two barrier instances ("nodes") over one database, each with its own feed.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import type { ChangeFeed } from '../domain/ports/change-feed.js';
import { storedTime, systemClock } from '../domain/time.js';
import { postgresChangeFeed } from '../store/change-feed-postgres.js';
import { openDatabase, type OpenedDatabase } from '../store/database.js';
import { createTestDatabase, dropTestDatabase } from '../test-support/harness.js';
import { metadataOver, type OpenedMetadata } from '../wiring.js';
import { WriteGates } from './block-storage/write-gates.js';
import { ClusterWriteBarrier } from './cluster-barrier.js';

const pgAdmin = process.env.CINDERBOX_TEST_DATABASE_URL;

async function until(ok: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 30_000;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('cluster write barrier (PostgreSQL)', { skip: pgAdmin ? false : 'needs PostgreSQL (CINDERBOX_TEST_DATABASE_URL)' }, () => {
  let url = '';
  let dir = '';
  let database: OpenedDatabase;
  let metadata: OpenedMetadata;
  const feeds: ChangeFeed[] = [];
  const barriers: ClusterWriteBarrier[] = [];

  const node = async (name: string, live: () => string[], opts: { ackSeconds?: number; ttlSeconds?: number } = {}) => {
    const feed = await postgresChangeFeed(url);
    feeds.push(feed);
    const gates = new WriteGates();
    const b = new ClusterWriteBarrier({
      store: metadata.store,
      services: metadata.services,
      feed,
      gates,
      node: name,
      liveNodes: async () => live(),
      clock: systemClock,
      logger: pino({ level: 'silent' }),
      ...opts,
    });
    b.start();
    barriers.push(b);
    return { gates, barrier: b };
  };

  before(async () => {
    url = await createTestDatabase(pgAdmin!);
    dir = await mkdtemp(join(tmpdir(), 'cinderbox-barrier-'));
    database = await openDatabase({ dataDir: dir, database: { kind: 'postgres', url } });
    metadata = metadataOver(database);
  });
  after(async () => {
    for (const b of barriers) await b.stop();
    for (const f of feeds) await f.close();
    await database?.close();
    if (url) await dropTestDatabase(pgAdmin!, url).catch(() => {});
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('another node’s barrier: a write already in flight finishes before the ack, a new one waits until the lift', async () => {
    const live = () => ['r1', 'w1'];
    const raiser = await node('r1', live);
    const writer = await node('w1', live);
    let release!: () => void;
    const inFlight = writer.gates.pass('v1', () => new Promise<void>((r) => (release = r)));
    let snapshotRan = false;
    let lateWrote = false;
    let late: Promise<void> | null = null;
    const held = raiser.barrier.hold(['v1', 'v2'], async () => {
      snapshotRan = true;
      // Every live node acked: the writer's gate is closed, its write in flight finished.
      assert.equal(writer.gates.isClosed('v1'), true);
      assert.equal(writer.gates.writing('v1'), 0);
      late = writer.gates.pass('v1', async () => {
        lateWrote = true;
      });
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(lateWrote, false, 'a write arriving under the barrier waits');
    });
    await until(() => writer.gates.isClosed('v1'), 'the writer node closes its gate');
    assert.equal(snapshotRan, false, 'no snapshot while a write is in flight on another node');
    release();
    await inFlight;
    await held;
    assert.equal(snapshotRan, true);
    await until(() => !writer.gates.isClosed('v1'), 'the lift reopens the writer node’s gate');
    await late;
    assert.equal(lateWrote, true);
    assert.deepEqual(await metadata.services.activeBarriers(metadata.store.root, storedTime(new Date())), []);
  });

  test('a live node that does not ack: 400 naming it, the barrier removed, the other nodes’ gates open again', async () => {
    const live = () => ['r2', 'w2', 'ghost'];
    const raiser = await node('r2', live, { ackSeconds: 1 });
    const writer = await node('w2', live);
    let ran = false;
    await assert.rejects(
      raiser.barrier.hold(['v3'], async () => {
        ran = true;
      }),
      (e: Error & { status?: number }) => {
        assert.equal(e.status, 400);
        assert.match(e.message, /^Invalid input received: writes through node ghost could not be held for a consistent point in time/);
        return true;
      },
    );
    assert.equal(ran, false);
    assert.deepEqual(await metadata.services.activeBarriers(metadata.store.root, storedTime(new Date())), []);
    await until(() => !writer.gates.isClosed('v3') && !raiser.gates.isClosed('v3'), 'gates reopened');
  });

  test('a barrier whose raiser died (never lifted) stops holding writes at its expiry', async () => {
    const writer = await node('w3', () => ['w3']);
    const expires = storedTime(new Date(Date.now() + 1500));
    await metadata.services.openBarrier(metadata.store.root, { id: 'dead-raiser', node: 'gone', volumeIds: ['v4'], expiresAt: expires });
    feeds[feeds.length - 1]!.send(JSON.stringify({ writeBarrier: 'dead-raiser' }));
    await until(() => writer.gates.isClosed('v4'), 'closed for the dead raiser’s barrier');
    await until(async () => (await metadata.services.barrierAcks(metadata.store.root, 'dead-raiser')).includes('w3'), 'acked');
    let wrote = false;
    const w = writer.gates.pass('v4', async () => {
      wrote = true;
    });
    await until(() => !writer.gates.isClosed('v4'), 'reopened at the expiry');
    await w;
    assert.equal(wrote, true);
    assert.ok(storedTime(new Date()) >= expires, 'not reopened before the expiry');
    // The next lift sweeps it away with its acks.
    await metadata.services.liftBarrier(metadata.store.root, 'other', storedTime(new Date()));
    assert.deepEqual(await metadata.services.barrierAcks(metadata.store.root, 'dead-raiser'), []);
  });
});
