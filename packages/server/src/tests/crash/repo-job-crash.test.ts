/**
 * SIGKILL while a background repository job runs: the next start of the node ends the job `failed` as
 * interrupted (nothing else would: the process that ran it is gone), and frees its lock so a new one may start.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { dropTestDatabase } from '../../test-support/harness.js';
import { CrashApi, kill, startChild, stopChild } from './crash-support.js';

const MiB = 1024 * 1024;

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await files(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

test('a verify job killed with its server is failed as interrupted at the next start, and its lock is free', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cinderbox-repo-job-crash-'));
  let child = await startChild(dir, 'raw');
  const api = new CrashApi(child);
  let chunk: string | undefined;
  let bytes: Buffer | undefined;
  try {
    await api.login();
    const v = await api.call('POST', '/volumes', { volume: { size: 1 } });
    assert.equal(v.status, 202);
    await api.until('volumes', v.body.volume.id, 'available');
    const conn = await api.call('POST', `/volumes/${v.body.volume.id}/action`, { 'os-initialize_connection': { connector: {} } });
    const fh = await open(conn.body.connection_info.data.device_path, 'r+');
    await fh.write(randomBytes(MiB), 0, MiB, 0);
    await fh.close();
    const b = await api.call('POST', '/backups', { backup: { volume_id: v.body.volume.id } });
    assert.equal(b.status, 202);
    await api.until('backups', b.body.backup.id, 'available');

    // The job's verify blocks opening this FIFO (no writer ever comes), so it is surely running at the kill.
    chunk = (await files(join(dir, 'repo', 'chunks')))[0]!;
    bytes = await readFile(chunk);
    await unlink(chunk);
    execFileSync('mkfifo', [chunk]);
    const job = await api.call('POST', '/cinderbox-repo/jobs', { job: { kind: 'verify' } });
    assert.equal(job.status, 202);
    await kill(child);

    child = await startChild(dir, 'raw');
    api.c = child;
    await api.login();
    const shown = await api.call('GET', `/cinderbox-repo/jobs/${job.body.job.id}`);
    assert.equal(shown.body.job.status, 'failed', JSON.stringify(shown.body));
    assert.match(shown.body.job.error, /Interrupted/);
    assert.notEqual(shown.body.job.finished_at, null);

    await writeFile(`${chunk}.real`, bytes);
    await rename(`${chunk}.real`, chunk);
    chunk = undefined;
    const again = await api.call('POST', '/cinderbox-repo/jobs', { job: { kind: 'verify' } });
    assert.equal(again.status, 202, JSON.stringify(again.body));
    const done = await api.poll(async () => {
      const j = (await api.call('GET', `/cinderbox-repo/jobs/${again.body.job.id}`)).body.job;
      return j.status !== 'running' && j;
    }, 'the new verify');
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.equal(done.result.ok, true);
  } finally {
    await stopChild(child);
    if (chunk && bytes) {
      await writeFile(`${chunk}.real`, bytes);
      await rename(`${chunk}.real`, chunk);
    }
    if (child.databaseUrl) await dropTestDatabase(process.env.CINDERBOX_TEST_DATABASE_URL!, child.databaseUrl).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
});
