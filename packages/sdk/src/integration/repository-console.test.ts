/** The console's repository routes and change stream through the SDK against the live server. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ChangeEvent } from '../block-storage/repository.js';
import type { Connection } from '../connection.js';
import { isHttpError } from '../errors.js';
import { adminConnection, memberConnection, startTestServer, type TestServer } from '../test-support/live.js';

let t: TestServer;
let admin: Connection;
let member: Connection;

before(async () => {
  t = await startTestServer();
  admin = adminConnection(t.url);
  await t.createMember('console-member');
  member = memberConnection(t.url, 'console-member');
});
after(async () => {
  await t.close();
});

test('stats, history and a verify job map the extension bodies; members get 403 and a bad target 400', async () => {
  const repo = admin.blockStorage.repository;
  const s = await repo.stats();
  assert.equal(s.target, 'default');
  assert.equal(s.driver, 'file');
  assert.equal(s.lastVerify, null);
  const job = await repo.startJob({ kind: 'verify', full: true });
  assert.equal(job.kind, 'verify');
  const done = await repo.waitForJob(job.id, { intervalMs: 20 });
  assert.equal(done.status, 'succeeded', JSON.stringify(done));
  assert.equal(done.result?.ok, true);
  assert.equal((await repo.jobs())[0]?.id, job.id);
  const after = await repo.stats();
  assert.equal(after.lastVerify?.ok, true);
  assert.equal(after.lastVerify?.full, true);
  const h = await repo.history({ since: new Date(0) });
  assert.ok(Array.isArray(h.samples) && Array.isArray(h.backups));
  await assert.rejects(member.blockStorage.repository.stats(), (e: unknown) => isHttpError(e) && e.status === 403);
  await assert.rejects(repo.stats({ target: 'nope' }), (e: unknown) => isHttpError(e) && e.status === 400);
});

test('events() yields the caller’s own changes until aborted', async () => {
  const ac = new AbortController();
  const seen: ChangeEvent[] = [];
  let finished = false;
  const reading = (async () => {
    for await (const e of member.blockStorage.repository.events({}, { signal: ac.signal })) {
      seen.push(e);
      if (e.type === 'volume' && e.status === 'available') break;
    }
    finished = true;
  })();
  // The generator opens the stream on its own schedule: volumes are made until one is seen arriving.
  const made: string[] = [];
  while (!finished && made.length < 20) {
    made.push((await member.blockStorage.createVolume({ size: 1, name: `watched-${made.length}` })).id!);
    await Promise.race([reading, new Promise((r) => setTimeout(r, 250))]);
  }
  await reading;
  ac.abort();
  const last = seen.at(-1)!;
  assert.ok(made.includes(last.id), JSON.stringify(seen));
  assert.equal(last.status, 'available');
  assert.ok(seen.every((e) => typeof e.at === 'string' && e.projectId === seen[0]!.projectId));
});
