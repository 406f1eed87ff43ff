/** The console's repository records on a real store (SQLite, or PostgreSQL with CINDERBOX_TEST_DATABASE_URL). */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { RepoJob } from '../../domain/ports/repo-console-store.js';
import { openTestDatabase } from '../../test-support/harness.js';
import { metadataOver, type OpenedMetadata } from '../../wiring.js';

let dir: string;
let m: OpenedMetadata;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cinderbox-repo-console-'));
  m = metadataOver(await openTestDatabase(dir));
});
after(async () => {
  await m.database.close();
  await rm(dir, { recursive: true, force: true });
});

const at = (s: number) => `2026-12-07T10:00:${String(s).padStart(2, '0')}.000000`;

test('counters add up relatively, never go below zero, and take bytes beyond 32 bits', async () => {
  const root = m.store.root;
  const big = 5 * 2 ** 40;
  await m.repoConsole.addCounters(root, 't1', { logical_bytes: big, stored_bytes: 10, chunk_count: 2, backup_count: 1 }, at(0));
  await Promise.all([1, 2, 3].map(() => m.repoConsole.addCounters(root, 't1', { stored_bytes: 5 }, at(1))));
  const c = await m.repoConsole.addCounters(root, 't1', { chunk_count: -7 }, at(2));
  assert.deepEqual(c, { logical_bytes: big, stored_bytes: 25, chunk_count: 0, backup_count: 1 });
  assert.deepEqual(await m.repoConsole.setCounters(root, 't1', { chunk_count: 4 }, at(3)), { ...c, chunk_count: 4 });
  assert.equal(await m.repoConsole.stats(root, 'other'), undefined);
});

test('samples and backup runs keep only the newest `keep` per target', async () => {
  const root = m.store.root;
  for (let i = 0; i < 5; i++) {
    await m.repoConsole.addSample(root, 't2', { at: at(i), logical_bytes: i, stored_bytes: i, chunk_count: i }, 3);
    await m.repoConsole.addBackupRun(root, 't2', { backup_id: `b${i}`, finished_at: at(i), size_bytes: i, millis: i }, 3);
  }
  assert.deepEqual((await m.repoConsole.samples(root, 't2', null, 100)).map((s) => s.at), [at(2), at(3), at(4)]);
  assert.deepEqual((await m.repoConsole.samples(root, 't2', at(3), 100)).map((s) => s.at), [at(3), at(4)]);
  assert.deepEqual((await m.repoConsole.backupRuns(root, 't2', null, 100)).map((r) => r.backup_id), ['b4', 'b3', 'b2']);
});

test('one running job per kind and target: the lock is taken at insert and freed when the job ends', async () => {
  const root = m.store.root;
  const job = (kind: 'verify' | 'gc', target: string, s: number): RepoJob => ({
    id: randomUUID(),
    kind,
    target,
    status: 'running',
    progress: 0,
    params: {},
    result: null,
    error: null,
    project_id: 'p',
    node: 'n1',
    started_at: at(s),
    finished_at: null,
  });
  const a = job('verify', 't3', 10);
  assert.equal(await m.repoConsole.insertJob(root, a), true);
  assert.equal(await m.repoConsole.insertJob(root, job('verify', 't3', 11)), false, 'a second verify on t3');
  assert.equal(await m.repoConsole.insertJob(root, job('gc', 't3', 12)), true, 'gc is another kind');
  assert.equal(await m.repoConsole.insertJob(root, job('verify', 't4', 13)), true, 't4 is another target');
  const ended = await m.repoConsole.finishJob(root, a.id, { status: 'succeeded', result: { ok: true }, error: null, finished_at: at(20) });
  assert.equal(ended?.status, 'succeeded');
  assert.equal(ended?.progress, 100);
  assert.deepEqual(ended?.result, { ok: true });
  assert.equal(await m.repoConsole.finishJob(root, a.id, { status: 'failed', result: null, error: 'x', finished_at: at(21) }), undefined, 'ends once');
  assert.equal(await m.repoConsole.insertJob(root, job('verify', 't3', 14)), true, 'the lock went with the job');
  assert.deepEqual((await m.repoConsole.runningJobs(root, 'n1')).length, 3);
  assert.deepEqual((await m.repoConsole.runningJobs(root, 'n2')).length, 0);
  const listed = await m.repoConsole.jobs(root, 2);
  assert.deepEqual(listed.map((j) => j.started_at), [at(14), at(13)]);
});
