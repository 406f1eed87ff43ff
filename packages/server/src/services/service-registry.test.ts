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
import { storedTime, systemClock } from '../domain/time.js';
import type { OpenedDatabase } from '../store/database.js';
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

  const registry = (node: string) =>
    new ServiceRegistry({
      store: metadata.store,
      services: metadata.services,
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

  test('on SQLite a node beside another live node is refused (several nodes need PostgreSQL)', async (t) => {
    if (database.kind === 'postgres') return t.skip('the SQLite rule; on PostgreSQL several nodes are the point');
    await beatAs('n3', process.ppid);
    await assert.rejects(registry('n4').checkNodeName(), /node "n3" is live on this SQLite store .* need a shared PostgreSQL database/);
  });
});
