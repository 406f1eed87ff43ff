/** `cinderbox repo stats|history|jobs|job|start` against a live server. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from '../../../server/src/test-support/harness.js';
import { adminEnv, Cli } from '../test-support/cli.js';

let dir: string;
let ts: TestServer;
let cli: Cli;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cinderbox-cli-repo-console-'));
  ts = await startTestServer({}, dir);
  cli = new Cli(adminEnv(dir));
});
after(async () => {
  await ts.close();
  await rm(dir, { recursive: true, force: true });
});

test('start --wait runs a job to its end; stats, jobs, job and history show what the server keeps', async () => {
  const job = await cli.json(['repo', 'start', 'verify', '--full', '--wait']);
  assert.equal(job.status, 'succeeded', JSON.stringify(job));
  assert.equal(job.kind, 'verify');
  assert.equal(job.result.ok, true);

  const stats = await cli.json(['repo', 'stats']);
  assert.equal(stats.target, 'default');
  assert.equal(stats.last_verify.ok, true);
  assert.equal(stats.last_verify.full, true);

  const jobs = await cli.json(['repo', 'jobs']);
  assert.equal(jobs[0].ID, job.id);
  assert.equal(jobs[0].Status, 'succeeded');
  assert.equal((await cli.json(['repo', 'job', job.id])).status, 'succeeded');
  assert.ok(Array.isArray(await cli.json(['repo', 'history', '--since', '2000-01-01T00:00:00Z'])));
});

test('options of the other kind and unknown targets are refused', async () => {
  assert.equal((await cli.run(['repo', 'start', 'gc', '--full'])).code, 2);
  assert.equal((await cli.run(['repo', 'start', 'scrub'])).code, 2);
  const r = await cli.run(['repo', 'stats', '--target', 'nope']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /nope/);
});
