/**
 * The console's server side over a real socket: repository statistics and history, background verify/gc jobs,
 * and the event stream (issue #20).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdtemp, open, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer, waitFor } from '../../test-support/harness.js';
import { backupsOf, cbr, checkpoint, createVault } from '../cbr/test-support/cbr.js';
import { assertFault, BackupApi, MiB, type Who } from './test-support/backup-api.js';

let t: TestServer;
let api: BackupApi;
let admin: Who;
let alice: Who;
let bob: Who;

before(async () => {
  // Raw volumes: the tests write known bytes through the device path.
  t = await startTestServer({ backends: [{ name: 'raw', driver: 'raw', pool: 'raw' }] });
  api = new BackupApi(t);
  admin = { token: t.adminToken, projectId: t.adminProjectId };
  alice = await t.createMember('alice');
  bob = await t.createMember('bob');
});
after(async () => t.close());

const base = (who: Who) => `/v3/${who.projectId}`;

interface Change {
  type: string;
  id: string;
  status: string;
  progress: number | null;
  project_id: string;
  at: string;
}

/** An EventSource-like reader of the change stream: collects every `change` event until closed. */
function stream(who: Who, opts: { query?: string; header?: boolean } = {}) {
  return streamAt(t, who, opts);
}

async function streamAt(server: TestServer, who: Who, opts: { query?: string; header?: boolean } = {}) {
  const abort = new AbortController();
  const res = await fetch(`${server.url}${base(who)}/cinderbox-events${opts.query ?? ''}`, {
    headers: opts.header === false ? {} : { 'X-Auth-Token': who.token },
    signal: abort.signal,
  });
  const events: Change[] = [];
  let raw = '';
  if (res.status === 200) {
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    void (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          raw += decoder.decode(value, { stream: true });
          let end: number;
          while ((end = raw.indexOf('\n\n')) >= 0) {
            const block = raw.slice(0, end);
            raw = raw.slice(end + 2);
            const lines = block.split('\n');
            if (!lines.includes('event: change')) continue;
            const data = lines.find((l) => l.startsWith('data: '));
            if (data) events.push(JSON.parse(data.slice(6)) as Change);
          }
        }
      } catch {
        // aborted
      }
    })();
  }
  return { res, events, close: () => abort.abort() };
}

async function backupOf(who: Who, dataMiB: number): Promise<{ volume: string; backup: string }> {
  const volume = await api.volume(who, { size: 1 });
  await api.write(who, volume, [[0, randomBytes(dataMiB * MiB)]]);
  const backup = await api.backup(who, { volume_id: volume });
  await api.backupStatus(who, backup, 'available');
  return { volume, backup };
}

async function chunkFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await chunkFiles(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/**
 * Makes one chunk file a FIFO: a verify blocks opening it until `release()` opens the other end, which keeps a
 * job running for as long as a test needs without any hook in the server. `release()` puts the real chunk back
 * first; the read it unblocks fails (a FIFO cannot be read at an offset), so that verify ends failed.
 */
async function holdChunk(dataDir: string) {
  const chunks = await chunkFiles(join(dataDir, 'repo', 'chunks'));
  assert.ok(chunks.length > 0);
  const chunk = chunks[0]!;
  const bytes = await readFile(chunk);
  await unlink(chunk);
  execFileSync('mkfifo', [chunk]);
  let restored = false;
  const restore = async () => {
    if (restored) return;
    restored = true;
    await writeFile(`${chunk}.real`, bytes);
    await rename(`${chunk}.real`, chunk);
  };
  return {
    restore,
    /** Waits for a reader to block on the FIFO, puts the chunk back and lets the reader go. */
    async release() {
      const writer = await waitFor(() => open(chunk, constants.O_WRONLY | constants.O_NONBLOCK).catch(() => null), 'a verify reading the chunk');
      await restore();
      await writer.close();
    },
  };
}

describe('repository statistics and history', () => {
  test('stats are admin-only, name the default target, and refuse an unknown or repeated target with a Cinder 400', async () => {
    const member = await t.request('GET', `${base(alice)}/cinderbox-repo/stats`, { token: alice.token });
    assertFault(member, 403, /cinderbox:repo_stats/);
    const r = await t.request('GET', `${base(admin)}/cinderbox-repo/stats`, { token: admin.token });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.repository.target, 'default');
    assert.equal(r.body.repository.driver, 'file');
    for (const k of ['logical_bytes', 'stored_bytes', 'chunk_count', 'backup_count']) assert.equal(typeof r.body.repository[k], 'number');
    assertFault(await t.request('GET', `${base(admin)}/cinderbox-repo/stats?target=nope`, { token: admin.token }), 400, /nope/);
    assertFault(await t.request('GET', `${base(admin)}/cinderbox-repo/stats?target=a&target=b`, { token: admin.token }), 400);
    assertFault(await t.request('GET', `${base(admin)}/cinderbox-repo/history?target=nope`, { token: admin.token }), 400);
    assertFault(await t.request('GET', `${base(admin)}/cinderbox-repo/history?since=yesterday`, { token: admin.token }), 400, /since/);
    assertFault(await t.request('GET', `${base(alice)}/cinderbox-repo/history`, { token: alice.token }), 403);
  });

  test('a backup moves the counters, adds a sample and a throughput row; deleting it takes its bytes off; gc records itself', async () => {
    const stats = async () => (await t.request('GET', `${base(admin)}/cinderbox-repo/stats`, { token: admin.token })).body.repository;
    const before = await stats();
    const { backup } = await backupOf(alice, 8);
    const after = await stats();
    assert.equal(after.backup_count, before.backup_count + 1);
    assert.equal(after.logical_bytes - before.logical_bytes, 8 * MiB);
    assert.ok(after.stored_bytes > before.stored_bytes, 'random data is stored');
    assert.ok(after.chunk_count >= before.chunk_count + 2, '8 MiB of random data is at least two 4 MiB chunks');

    const h = await t.request('GET', `${base(admin)}/cinderbox-repo/history`, { token: admin.token });
    assert.equal(h.status, 200, h.text);
    assert.ok(h.body.samples.length >= 1);
    const last = h.body.samples.at(-1);
    assert.match(last.at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+Z$/);
    assert.equal(last.stored_bytes, after.stored_bytes);
    const run = h.body.backups.find((b: { id: string }) => b.id === backup);
    assert.ok(run, h.text);
    assert.equal(run.size_bytes, 1024 * MiB);
    assert.ok(run.seconds >= 0 && run.bytes_per_second > 0);
    const future = await t.request('GET', `${base(admin)}/cinderbox-repo/history?since=2999-01-01T00:00:00Z`, { token: admin.token });
    assert.deepEqual(future.body, { samples: [], backups: [] });

    const del = await t.request('DELETE', `${base(alice)}/backups/${backup}`, { token: alice.token });
    assert.equal(del.status, 202, del.text);
    await api.gone(alice, `/backups/${backup}`);
    const afterDelete = await stats();
    assert.equal(afterDelete.backup_count, before.backup_count);
    assert.equal(afterDelete.logical_bytes, before.logical_bytes);

    const gc = await t.request('POST', `${base(admin)}/cinderbox-repo/gc`, { token: admin.token, body: { grace_seconds: 0 } });
    assert.equal(gc.status, 200, gc.text);
    const afterGc = await stats();
    assert.ok(afterGc.last_gc, JSON.stringify(afterGc));
    assert.equal(afterGc.last_gc.removed_chunks, gc.body.gc.deleted);
    assert.equal(afterGc.last_gc.freed_bytes, gc.body.gc.deleted_bytes);
    assert.equal(afterGc.chunk_count, gc.body.gc.chunks - gc.body.gc.deleted);
    assert.equal(afterGc.backup_count, gc.body.gc.manifests);
  });
});

describe('background verify and gc jobs', () => {
  test('bad bodies are Cinder 400s, members are refused, an unknown job is a 404', async () => {
    const post = (who: Who, body: unknown) => t.request('POST', `${base(who)}/cinderbox-repo/jobs`, { token: who.token, body });
    assertFault(await post(admin, {}), 400);
    assertFault(await post(admin, { job: { kind: 'scrub' } }), 400);
    assertFault(await post(admin, { job: { kind: 'verify', full: 'yes' } }), 400);
    assertFault(await post(admin, { job: { kind: 'verify', dry_run: true } }), 400, /dry_run/);
    assertFault(await post(admin, { job: { kind: 'gc', grace_seconds: -1 } }), 400);
    assertFault(await post(admin, { job: { kind: 'gc', target: 'nope' } }), 400, /nope/);
    assertFault(await post(alice, { job: { kind: 'verify' } }), 403);
    assertFault(await t.request('GET', `${base(alice)}/cinderbox-repo/jobs`, { token: alice.token }), 403);
    assertFault(await t.request('GET', `${base(admin)}/cinderbox-repo/jobs/${'0'.repeat(8)}-0000-4000-8000-000000000000`, { token: admin.token }), 404);
    assertFault(await t.request('GET', `${base(admin)}/cinderbox-repo/jobs/not-a-uuid`, { token: admin.token }), 404);
  });

  test('a verify job runs in the background, a second one on the target is a 409 meanwhile, and its result is kept', async () => {
    await backupOf(bob, 4);
    const held = await holdChunk(t.dataDir);
    try {
      const r = await t.request('POST', `${base(admin)}/cinderbox-repo/jobs`, { token: admin.token, body: { job: { kind: 'verify' } } });
      assert.equal(r.status, 202, r.text);
      const job = r.body.job;
      assert.deepEqual(
        Object.keys(job).sort(),
        ['error', 'finished_at', 'id', 'kind', 'progress', 'result', 'started_at', 'status', 'target'],
      );
      assert.equal(job.status, 'running');
      assert.equal(job.kind, 'verify');
      assert.equal(job.target, 'default');
      assert.equal(job.finished_at, null);
      // The job cannot end before this test opens the FIFO's other end, so it is running now.
      const second = await t.request('POST', `${base(admin)}/cinderbox-repo/jobs`, { token: admin.token, body: { job: { kind: 'verify', full: true } } });
      assertFault(second, 409, /already running/);
      // Another kind on the same target is not held back.
      const gc = await t.request('POST', `${base(admin)}/cinderbox-repo/jobs`, { token: admin.token, body: { job: { kind: 'gc', dry_run: true } } });
      assert.equal(gc.status, 202, gc.text);
      const shown = await t.request('GET', `${base(admin)}/cinderbox-repo/jobs/${job.id}`, { token: admin.token });
      assert.equal(shown.body.job.status, 'running');
      await held.release();
      const ended = await waitFor(async () => {
        const j = (await t.request('GET', `${base(admin)}/cinderbox-repo/jobs/${job.id}`, { token: admin.token })).body.job;
        return j.status !== 'running' && j;
      }, 'the job to end');
      assert.ok(['failed', 'succeeded'].includes(ended.status));
      if (ended.status === 'failed') assert.equal(typeof ended.error, 'string');
      else assert.notEqual(ended.result, null);
      assert.notEqual(ended.finished_at, null);
      const gcDone = await waitFor(async () => {
        const j = (await t.request('GET', `${base(admin)}/cinderbox-repo/jobs/${gc.body.job.id}`, { token: admin.token })).body.job;
        return j.status !== 'running' && j;
      }, 'the gc job to end');
      assert.equal(gcDone.status, 'succeeded', JSON.stringify(gcDone));
      assert.equal(gcDone.result.dry_run, true);
    } finally {
      await held.restore();
    }

    // With the lock freed, a new verify runs to the end with the synchronous route's body as its result.
    const again = await t.request('POST', `${base(admin)}/cinderbox-repo/jobs`, { token: admin.token, body: { job: { kind: 'verify', full: true } } });
    assert.equal(again.status, 202, again.text);
    const done = await waitFor(async () => {
      const j = (await t.request('GET', `${base(admin)}/cinderbox-repo/jobs/${again.body.job.id}`, { token: admin.token })).body.job;
      return j.status !== 'running' && j;
    }, 'the second verify');
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.equal(done.progress, 100);
    const sync = await t.request('POST', `${base(admin)}/cinderbox-repo/verify`, { token: admin.token, body: { full: true } });
    assert.deepEqual(Object.keys(done.result).sort(), Object.keys(sync.body.verify).sort());
    assert.equal(done.result.ok, true);

    const list = await t.request('GET', `${base(admin)}/cinderbox-repo/jobs`, { token: admin.token });
    assert.equal(list.status, 200, list.text);
    assert.equal(list.body.jobs[0].id, again.body.job.id, 'newest first');
    const stats = (await t.request('GET', `${base(admin)}/cinderbox-repo/stats`, { token: admin.token })).body.repository;
    assert.equal(stats.last_verify.ok, true);
    assert.equal(stats.last_verify.full, true);
    assert.equal(stats.last_verify.errors, 0);
    assert.equal(stats.last_verify.message, null);
  });
});

describe('a job running when its server stops', () => {
  test('ends failed as interrupted even while its read hangs, and its lock is free after the restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cinderbox-repo-jobs-'));
    const raw = { backends: [{ name: 'raw', driver: 'raw' as const, pool: 'raw' }] };
    const first = await startTestServer(raw, dir);
    const who = { token: first.adminToken, projectId: first.adminProjectId };
    const firstApi = new BackupApi(first);
    const vol = await firstApi.volume(who);
    await firstApi.write(who, vol, [[0, randomBytes(MiB)]]);
    await firstApi.backupStatus(who, await firstApi.backup(who, { volume_id: vol }), 'available');
    const held = await holdChunk(dir);
    let second: TestServer | undefined;
    try {
      const r = await first.request('POST', `${base(who)}/cinderbox-repo/jobs`, { token: who.token, body: { job: { kind: 'verify' } } });
      assert.equal(r.status, 202, r.text);
      const database = first.server.config.database;
      // The verify stops at its next chunk without waiting for the hung read (a kill is tests/crash/repo-job-crash).
      await first.close({ keepData: true });
      second = await startTestServer({ ...raw, database }, dir);
      const j = (await second.request('GET', `${base(who)}/cinderbox-repo/jobs/${r.body.job.id}`, { token: second.adminToken })).body.job;
      assert.equal(j.status, 'failed', JSON.stringify(j));
      assert.match(j.error, /Interrupted/);
      assert.notEqual(j.finished_at, null);
      // Its lock went with it: a new verify may start.
      const again = await second.request('POST', `${base(who)}/cinderbox-repo/jobs`, { token: second.adminToken, body: { job: { kind: 'verify' } } });
      assert.equal(again.status, 202, again.text);
    } finally {
      await held.release().catch(() => held.restore());
      await second?.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the event stream', () => {
  test('a member sees its backup go creating → available with progress, and nothing of another project', async () => {
    const own = await stream(alice);
    const other = await stream(bob);
    const all = await stream(admin, { query: '?all_tenants=1' });
    const adminOwn = await stream(admin);
    try {
      assert.equal(own.res.status, 200);
      assert.match(own.res.headers.get('content-type') ?? '', /^text\/event-stream/);
      assert.ok(own.res.headers.get('x-openstack-request-id'));
      const { volume, backup } = await backupOf(alice, 12);
      const mine = (type: string, id: string) => own.events.filter((e) => e.type === type && e.id === id);
      await waitFor(async () => mine('backup', backup).some((e) => e.status === 'available'), 'available on the stream');
      const seen = mine('backup', backup);
      assert.equal(seen[0]!.status, 'creating', JSON.stringify(seen));
      const done = seen.find((e) => e.status === 'available')!;
      assert.equal(done.progress, 100);
      assert.ok(seen.some((e) => e.status === 'creating' && typeof e.progress === 'number'), 'progress while creating');
      const progress = seen.filter((e) => e.progress !== null).map((e) => e.progress!);
      assert.deepEqual([...progress].sort((a, b) => a - b), progress, 'progress never goes back');
      for (const e of seen) {
        assert.equal(e.project_id, alice.projectId);
        assert.ok(!Number.isNaN(Date.parse(e.at)));
      }
      assert.ok(mine('volume', volume).some((e) => e.status === 'available'));
      await waitFor(async () => all.events.some((e) => e.id === backup && e.status === 'available'), 'the admin with all_tenants sees it');
      assert.equal(other.events.filter((e) => e.project_id !== bob.projectId).length, 0);
      assert.equal(other.events.some((e) => e.id === backup), false);
      assert.equal(adminOwn.events.some((e) => e.id === backup), false, 'an admin without all_tenants sees its own project');
    } finally {
      own.close();
      other.close();
      all.close();
      adminOwn.close();
    }
  });

  test('CBR checkpoints and restores are on the stream of their project', async () => {
    const own = await stream(alice);
    try {
      const vol = await api.volume(alice, { size: 1 });
      const vault = await createVault(t, alice, 'sse-vault', [vol]);
      const { created, done } = await checkpoint(t, alice, vault.id);
      assert.equal(done.status, 'available');
      await waitFor(async () => own.events.some((e) => e.type === 'checkpoint' && e.id === created.id && e.status === 'available'), 'checkpoint on the stream');
      const [backup] = await backupsOf(t, alice, `checkpoint_id=${created.id}`);
      const r = await cbr(t, alice, 'POST', `/backups/${backup.id}/restore`, { restore: {} });
      assert.equal(r.status, 202, r.text);
      const restored = await waitFor(async () => own.events.find((e) => e.type === 'restore' && e.status === 'success'), 'restore on the stream');
      const steps = own.events.filter((e) => e.type === 'restore' && e.id === restored.id).map((e) => e.status);
      assert.deepEqual(steps, ['waiting', 'running', 'success']);
      assert.ok(own.events.every((e) => e.project_id === alice.projectId));
    } finally {
      own.close();
    }
  });

  test('the token may come as ?token= on the stream only; no token is a 401', async () => {
    const q = await stream(alice, { query: `?token=${encodeURIComponent(alice.token)}`, header: false });
    try {
      assert.equal(q.res.status, 200);
    } finally {
      q.close();
    }
    const none = await fetch(`${t.url}${base(alice)}/cinderbox-events`);
    assert.equal(none.status, 401);
    const elsewhere = await fetch(`${t.url}${base(alice)}/volumes?token=${encodeURIComponent(alice.token)}`);
    assert.equal(elsewhere.status, 401);
    const bad = await stream(alice, { query: '?all_tenants=maybe' });
    assert.equal(bad.res.status, 200, 'all_tenants is ignored for a member');
    bad.close();
    const badAdmin = await t.request('GET', `${base(admin)}/cinderbox-events?all_tenants=maybe`, { token: admin.token });
    assertFault(badAdmin, 400);
  });
});

describe('two nodes on one PostgreSQL store', () => {
  const pg = process.env.CINDERBOX_TEST_DATABASE_URL;
  test(
    "a node's stream shows the changes another node makes (LISTEN/NOTIFY), still by project",
    { skip: pg ? false : 'needs PostgreSQL: set CINDERBOX_TEST_DATABASE_URL (the PostgreSQL pass does)' },
    async () => {
      const raw = [{ name: 'raw', driver: 'raw' as const, pool: 'raw' }];
      const a = await startTestServer({ backends: raw, serviceHost: 'node-a' });
      let b: TestServer | undefined;
      try {
        b = await startTestServer({ backends: raw, serviceHost: 'node-b', database: a.server.config.database });
        const carol = await a.createMember('carol');
        const dave = await a.createMember('dave');
        const seenByCarol = await streamAt(b, carol);
        const seenByDave = await streamAt(b, dave);
        try {
          const r = await a.request('POST', `${base(carol)}/volumes`, { token: carol.token, body: { volume: { size: 1 } } });
          assert.equal(r.status, 202, r.text);
          const id = r.body.volume.id as string;
          await waitFor(async () => seenByCarol.events.some((e) => e.id === id && e.status === 'available'), "node b's stream shows node a's volume");
          assert.equal(seenByDave.events.some((e) => e.id === id), false);
        } finally {
          seenByCarol.close();
          seenByDave.close();
        }
      } finally {
        await b?.close();
        await a.close();
      }
    },
  );
});

