import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, open, readdir, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BackupApi, MiB, type Who } from '../../../server/src/api/block-storage/test-support/backup-api.js';
import { openOfflineRepository } from '../../../server/src/backup-repo-open.js';
import { loadConfig } from '../../../server/src/config/config.js';
import { startTestServer, type TestServer } from '../../../server/src/test-support/harness.js';
import { adminEnv, Cli, runCli } from '../test-support/cli.js';

// An encrypted repository, so the offline commands are shown to take the server's key settings too.
const KEY = randomBytes(32).toString('hex');
const SERVE_ENV = { CINDERBOX_VOLUME_DRIVER: 'raw', CINDERBOX_BACKUP_KEY: KEY, CINDERBOX_ADMIN_PASSWORD: '' };

let dir: string;
let ts: TestServer | undefined;
let cli: Cli;
let api: BackupApi;
let admin: Who;
let kept = '';
let dropped = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cinderbox-cli-repo-'));
  ts = await startTestServer({ backends: [{ name: 'raw', driver: 'raw', pool: 'raw' }], backupKey: Buffer.from(KEY, 'hex') }, dir);
  cli = new Cli(adminEnv(dir));
  api = new BackupApi(ts);
  admin = { token: ts.adminToken, projectId: ts.adminProjectId };
  // Two chunks each (4 MiB chunks): data at 0 and at 8 MiB.
  for (const name of ['kept', 'dropped']) {
    const vol = await api.volume(admin);
    await api.write(admin, vol, [
      [0, randomBytes(MiB)],
      [8 * MiB, randomBytes(MiB)],
    ]);
    const id = await api.backup(admin, { volume_id: vol, name });
    await api.backupStatus(admin, id, 'available');
    if (name === 'kept') kept = id;
    else dropped = id;
  }
});
after(async () => {
  await ts?.close();
  await rm(dir, { recursive: true, force: true });
});

function offline(args: string[], env: Record<string, string> = { CINDERBOX_BACKUP_KEY: KEY }) {
  return runCli(['repo', ...args, '--offline', '--data-dir', dir], env);
}

async function chunkFiles(): Promise<string[]> {
  const root = join(dir, 'repo', 'chunks');
  const out: string[] = [];
  for (const fan of await readdir(root)) for (const f of await readdir(join(root, fan))) out.push(join(root, fan, f));
  return out.sort();
}

function oneLine(stderr: string): string {
  const lines = stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got: ${stderr}`);
  return lines[0]!;
}

describe('cinderbox repo against a running server', () => {
  test('verify and verify --full report a clean repository; gc --dry-run deletes nothing referenced', async () => {
    const v = await cli.json(['repo', 'verify']);
    assert.deepEqual({ ok: v.ok, manifests: v.manifests, chunks: v.chunks, problems: v.problems }, {
      ok: true,
      manifests: 2,
      chunks: 4,
      problems: [],
    });
    assert.ok(v.bytes > 0);
    const full = await cli.run(['repo', 'verify', '--full']);
    assert.equal(full.code, 0, full.stderr);
    assert.match(full.stdout, /\| ok +\| True +\|/);
    assert.match(full.stdout, /\| problems +\| 0 +\|/);
    const dry = await cli.json(['repo', 'gc', '--grace', '0', '--dry-run']);
    assert.deepEqual(dry, { manifests: 2, chunks: 4, deleted: 0, deleted_bytes: 0, kept_in_grace: 0, dry_run: true });
  });

  test('--target names the backup target: the data directory repository is `default`; an unknown one is refused in one line', async () => {
    const v = await cli.json(['repo', 'verify', '--target', 'default']);
    assert.equal(v.manifests, 2);
    for (const cmd of [['verify'], ['gc', '--dry-run']]) {
      const r = await cli.run(['repo', ...cmd, '--target', 'nope']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(oneLine(r.stderr), /Backup target "nope" is not configured \(configured: default\)/);
    }
  });

  test('--data-dir without --offline and a negative grace are usage errors (exit 2)', async () => {
    const r = await runCli(['repo', 'verify', '--data-dir', dir], adminEnv(dir));
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--data-dir is used only with --offline/);
    assert.equal((await cli.run(['repo', 'gc', '--grace', '-1'])).code, 2);
  });

  test('--offline refuses with one line and exit 1 while the server holds the data directory', async () => {
    for (const cmd of ['verify', 'gc']) {
      const r = await offline([cmd]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(oneLine(r.stderr), new RegExp(`in use by process ${process.pid}\\b.*use the command without --offline`));
      assert.equal(r.stdout, '');
    }
    assert.ok(existsSync(join(dir, 'server.lock')), 'the server still holds its lock');
  });
});

describe('cinderbox repo --offline on a stopped server', () => {
  before(async () => {
    // Deleting a backup leaves its chunks unreferenced until gc.
    assert.equal((await ts!.request('DELETE', `/v3/${admin.projectId}/backups/${dropped}`, { token: admin.token })).status, 202);
    await api.gone(admin, `/backups/${dropped}`);
    await ts!.close({ keepData: true });
    ts = undefined;
  });

  test('gc keeps young unreferenced chunks by default and removes them with --grace 0; verify stays clean', async () => {
    const before = await chunkFiles();
    assert.equal(before.length, 4);
    const keep = await offline(['gc', '-f', 'json']);
    assert.equal(keep.code, 0, keep.stderr);
    assert.deepEqual(JSON.parse(keep.stdout), {
      manifests: 1,
      chunks: 4,
      deleted: 0,
      deleted_bytes: 0,
      kept_in_grace: 2,
      dry_run: false,
    });
    const gc = await offline(['gc', '--grace', '0', '-f', 'json']);
    assert.equal(gc.code, 0, gc.stderr);
    const r = JSON.parse(gc.stdout);
    assert.equal(r.deleted, 2);
    assert.ok(r.deleted_bytes > 2 * MiB);
    assert.equal((await chunkFiles()).length, 2);
    const v = await offline(['verify', '--full', '-f', 'json']);
    assert.equal(v.code, 0, v.stderr);
    assert.deepEqual(JSON.parse(v.stdout).problems, []);
    assert.equal(existsSync(join(dir, 'server.lock')), false, 'the offline command released the lock');
  });

  test('--offline --target takes the targets from CINDERBOX_BACKUP_TARGETS and refuses one that is not there', async () => {
    const r = await offline(['verify', '--target', 'offsite']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(oneLine(r.stderr), /backup target "offsite" is not configured \(CINDERBOX_BACKUP_TARGETS; configured: default\)/);
    const d = await offline(['verify', '--target', 'default']);
    assert.equal(d.code, 0, d.stderr);
  });

  test('without the backup key the offline open refuses in one line', async () => {
    const r = await offline(['verify'], {});
    assert.equal(r.code, 1);
    assert.match(oneLine(r.stderr), /^Error: cannot open the backup repository: .* is encrypted and no key is configured/);
  });

  test('verify finds a corrupted chunk and a missing one, names them, and exits 4 (damage, not an error to ask)', async () => {
    const [corrupt, missing] = await chunkFiles();
    assert.ok(corrupt && missing);
    const fh = await open(corrupt, 'r+');
    try {
      const size = (await fh.stat()).size;
      const b = Buffer.alloc(1);
      await fh.read(b, 0, 1, Math.floor(size / 2));
      b[0] = b[0]! ^ 0xff;
      await fh.write(b, 0, 1, Math.floor(size / 2));
    } finally {
      await fh.close();
    }
    await unlink(missing);
    const basename = (p: string) => p.slice(p.lastIndexOf('/') + 1);
    const r = await offline(['verify', '--full', '-f', 'json']);
    assert.equal(r.code, 4, r.stderr);
    const v = JSON.parse(r.stdout);
    assert.equal(v.ok, false);
    const problems = (v.problems as { kind: string; chunk_id: string; locator: string }[])
      .map((p) => `${p.kind} ${p.chunk_id} ${p.locator.endsWith(kept)}`)
      .sort();
    assert.deepEqual(problems, [`corrupt ${basename(corrupt)} true`, `missing ${basename(missing)} true`]);
    assert.match(r.stderr, /the backup repository has 2 problems/);
    // The quick scan (CRC of the stored bytes, no decryption) finds both too; the table lists them.
    const table = await offline(['verify']);
    assert.equal(table.code, 4);
    assert.match(table.stdout, /\| ok +\| False +\|/);
    assert.match(table.stdout, /\| problems +\| 2 +\|/);
    assert.match(table.stdout, new RegExp(`\\| corrupt +\\| \\S+/${kept} +\\| ${basename(corrupt)} +\\|`));
    assert.match(table.stdout, new RegExp(`\\| missing +\\| \\S+/${kept} +\\| ${basename(missing)} +\\|`));
  });

  test('serve refuses while an offline command holds the data directory, in one line', async () => {
    const held = await openOfflineRepository(loadConfig({ dataDir: dir }, { CINDERBOX_BACKUP_KEY: KEY }));
    try {
      const r = await runCli(['serve', '--port', '0', '--data-dir', dir], SERVE_ENV);
      assert.equal(r.code, 1, r.stdout);
      assert.match(oneLine(r.stderr), new RegExp(`^cinderbox: data directory .* is in use by process ${process.pid}\\b`));
      assert.doesNotMatch(r.stdout, /listening/);
    } finally {
      await held.close();
    }
  });

  test('serve with a different or malformed key refuses at startup in one line', async () => {
    const wrong = await runCli(['serve', '--port', '0', '--data-dir', dir], {
      ...SERVE_ENV,
      CINDERBOX_BACKUP_KEY: randomBytes(32).toString('base64'),
    });
    assert.equal(wrong.code, 1, wrong.stdout);
    assert.match(
      oneLine(wrong.stderr),
      /^cinderbox: cannot open the backup repository: the configured key does not match the key of backup repository/,
    );
    const malformed = await runCli(['serve', '--port', '0', '--data-dir', dir], { ...SERVE_ENV, CINDERBOX_BACKUP_KEY: 'hunter2' });
    assert.equal(malformed.code, 1);
    assert.match(oneLine(malformed.stderr), /^cinderbox: CINDERBOX_BACKUP_KEY must hold a backup repository key of 32 bytes/);
    assert.equal(existsSync(join(dir, 'server.lock')), false, 'a refused start leaves no lock behind');
  });
});
