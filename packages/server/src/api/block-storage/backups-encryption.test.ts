import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig, type ServerConfig } from '../../config/config.js';
import { startServer } from '../../main.js';
import { createTestDatabase, startTestServer, type TestServer } from '../../test-support/harness.js';
import { BackupApi, MiB, type Who } from './test-support/backup-api.js';

const RAW: Partial<ServerConfig> = { backends: [{ name: 'raw', driver: 'raw', pool: 'raw' }] };
const KEY = randomBytes(32);
const random = randomBytes(2 * MiB);
const text = Buffer.from('cinderbox plaintext marker that compresses well. '.repeat(40_000));
const needles = [random.subarray(MiB, MiB + 64), text.subarray(0, 64)];

const dirs: string[] = [];
async function dataDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'cinderbox-enc-'));
  dirs.push(d);
  return d;
}
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function chunkFiles(dir: string): Promise<Buffer[]> {
  const root = join(dir, 'repo', 'chunks');
  const out: Buffer[] = [];
  for (const fan of await readdir(root)) for (const f of await readdir(join(root, fan))) out.push(await readFile(join(root, fan, f)));
  return out;
}

/** Backs up a volume holding `random` and `text`, restores it to a new volume and checks the bytes. */
async function roundTrip(t: TestServer): Promise<{ backupId: string; sha: string }> {
  const api = new BackupApi(t);
  const admin: Who = { token: t.adminToken, projectId: t.adminProjectId };
  const vol = await api.volume(admin);
  await api.write(admin, vol, [
    [0, random],
    [8 * MiB, text],
  ]);
  const sha = await api.sha(admin, vol);
  const backupId = await api.backup(admin, { volume_id: vol });
  await api.backupStatus(admin, backupId, 'available');
  const restored = await api.restore(admin, backupId);
  assert.equal(await api.sha(admin, restored), sha, 'the restored volume is byte-exact');
  return { backupId, sha };
}

function startWith(dir: string, backupKey: Buffer | null) {
  return startServer({ ...loadConfig({ dataDir: dir, port: 0, host: '127.0.0.1' }, {}), ...RAW, backupKey });
}

describe('backup repository encryption at rest', () => {
  let encDir: string;
  let enc: TestServer;
  let backupId = '';
  let sha = '';
  // A restart must find the same metadata: SQLite's lives in the data directory, a PostgreSQL database is named.
  let sameDatabase: Partial<ServerConfig> = {};

  before(async () => {
    encDir = await dataDir();
    const pg = process.env.CINDERBOX_TEST_DATABASE_URL;
    if (pg) sameDatabase = { database: { kind: 'postgres', url: await createTestDatabase(pg) } };
    enc = await startTestServer({ ...RAW, backupKey: KEY, ...sameDatabase }, encDir);
    ({ backupId, sha } = await roundTrip(enc));
    await enc.close();
  });

  test('with a key, chunk objects on disk hold none of the plaintext (a plain repository does)', async () => {
    const config = JSON.parse(await readFile(join(encDir, 'repo', 'config'), 'utf8'));
    assert.equal(config.encryption?.algorithm, 'aes-256-gcm');
    assert.equal(config.idAlgorithm, 'blake3-keyed');
    const chunks = await chunkFiles(encDir);
    assert.ok(chunks.length >= 2, `chunks: ${chunks.length}`);
    for (const n of needles) assert.ok(!chunks.some((c) => c.includes(n)), 'plaintext found in an encrypted chunk');

    // Control: the same data in a plain repository is findable by this scan (random data is stored raw).
    const plainDir = await dataDir();
    const plain = await startTestServer(RAW, plainDir);
    try {
      await roundTrip(plain);
    } finally {
      await plain.close();
    }
    assert.ok((await chunkFiles(plainDir)).some((c) => c.includes(needles[0]!)), 'a plain chunk holds the plaintext');
  });

  test('a restart with the same key restores the earlier backup byte-exact', async () => {
    const t = await startTestServer({ ...RAW, backupKey: KEY, ...sameDatabase }, encDir);
    try {
      const api = new BackupApi(t);
      const admin: Who = { token: t.adminToken, projectId: t.adminProjectId };
      const restored = await api.restore(admin, backupId);
      assert.equal(await api.sha(admin, restored), sha);
    } finally {
      await t.close();
    }
  });

  test('a restart with a different key, or without one, refuses with a one-line message and releases the lock', async () => {
    await assert.rejects(startWith(encDir, randomBytes(32)), (e: Error) => {
      assert.match(e.message, /^cannot open the backup repository: the configured key does not match the key of backup repository/);
      assert.match(e.message, /CINDERBOX_BACKUP_KEY \/ CINDERBOX_BACKUP_KEY_FILE/);
      assert.ok(!e.message.includes('\n'));
      return true;
    });
    await assert.rejects(startWith(encDir, null), /is encrypted and no key is configured/);
    // The refusals left nothing behind: the right key still starts.
    const ok = await startWith(encDir, KEY);
    await ok.close();
  });

  test('a keyed start on a plain repository refuses instead of mixing', async () => {
    const dir = await dataDir();
    const plain = await startWith(dir, null);
    await plain.close();
    await assert.rejects(startWith(dir, KEY), /is not encrypted but a key is configured; refusing to mix/);
  });
});
