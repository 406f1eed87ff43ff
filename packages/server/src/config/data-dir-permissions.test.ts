import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startTestServer, type TestServer, waitFor } from '../test-support/harness.js';

/** Every entry under `dir` (the directory included) whose mode gives group or others any access. */
async function openToOthers(dir: string): Promise<string[]> {
  const out: string[] = [];
  const check = async (path: string) => {
    const st = await lstat(path);
    if (!st.isSymbolicLink() && (st.mode & 0o077) !== 0) out.push(`${path} ${(st.mode & 0o7777).toString(8)}`);
  };
  await check(dir);
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) await check(join(e.parentPath, e.name));
  return out;
}

async function until(t: TestServer, path: string, key: string, want: string): Promise<void> {
  await waitFor(async () => {
    const r = await t.request('GET', path, { token: t.adminToken });
    if (r.body?.[key]?.status === 'error') throw new Error(`${path} went to error`);
    return r.body?.[key]?.status === want;
  }, `${path} ${want}`, 60_000);
}

test('everything the server writes in a fresh data directory is its own user\'s only (files 0600-ish, dirs 0700)', async () => {
  const t = await startTestServer();
  try {
    const p = t.adminProjectId;
    const v = await t.request('POST', `/v3/${p}/volumes`, { token: t.adminToken, body: { volume: { size: 1 } } });
    assert.equal(v.status, 202, v.text);
    const vol = v.body.volume.id as string;
    await until(t, `/v3/${p}/volumes/${vol}`, 'volume', 'available');
    const up = await t.request('PUT', `/v3/${p}/volumes/${vol}/cinderbox-data`, {
      token: t.adminToken,
      rawBody: randomBytes(3 * 1024 * 1024),
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    assert.ok(up.status < 300, up.text);
    await until(t, `/v3/${p}/volumes/${vol}`, 'volume', 'available');
    const s = await t.request('POST', `/v3/${p}/snapshots`, { token: t.adminToken, body: { snapshot: { volume_id: vol } } });
    assert.equal(s.status, 202, s.text);
    await until(t, `/v3/${p}/snapshots/${s.body.snapshot.id}`, 'snapshot', 'available');
    const b = await t.request('POST', `/v3/${p}/backups`, { token: t.adminToken, body: { backup: { volume_id: vol } } });
    assert.equal(b.status, 202, b.text);
    await until(t, `/v3/${p}/backups/${b.body.backup.id}`, 'backup', 'available');
    // While running: the metadata store's -wal/-shm files and the lock exist now.
    const names = await readdir(t.dataDir, { recursive: true });
    assert.ok(names.some((n) => n.startsWith('volumes')), names.join(' '));
    assert.ok(names.some((n) => n.includes('chunks')), names.join(' '));
    assert.deepEqual(await openToOthers(t.dataDir), []);
  } finally {
    await t.close();
  }
});

test('an existing data directory open to others is tightened at start, with the server\'s own top-level entries', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cinderbox-perms-'));
  try {
    await chmod(dir, 0o755);
    await mkdir(join(dir, 'volumes'), { mode: 0o755 });
    await chmod(join(dir, 'volumes'), 0o755);
    await writeFile(join(dir, 'stray.txt'), 'x');
    await chmod(join(dir, 'stray.txt'), 0o644);
    const t = await startTestServer({}, dir);
    try {
      assert.equal((await stat(dir)).mode & 0o777, 0o700);
      assert.equal((await stat(join(dir, 'volumes'))).mode & 0o777, 0o700);
      // Not the server's: left alone (the directory's 0700 keeps others out of it all the same).
      assert.equal((await stat(join(dir, 'stray.txt'))).mode & 0o777, 0o644);
    } finally {
      await t.close({ keepData: true });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
