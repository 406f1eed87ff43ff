import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const bin = join(here, '..', 'bin', 'cinderbox.js');
const built = existsSync(join(here, '..', 'dist', 'main.js')) && existsSync(join(here, '..', '..', 'server', 'dist', 'main.js'));

test('cinderbox serve starts on a fresh data dir, prints the exports, writes clouds.yaml and stops cleanly on SIGTERM', async (t) => {
  if (!built) {
    t.skip('the CLI and server are not built (npm run build); this test runs the compiled launcher');
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'cinderbox-serve-'));
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--data-dir', dir], {
    env: { ...process.env, CINDERBOX_ADMIN_PASSWORD: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  try {
    const deadline = Date.now() + 30_000;
    while (!out.includes('OS_CLOUD=cinderbox')) {
      if (Date.now() > deadline || child.exitCode !== null) assert.fail(`serve did not start: ${out}\n${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
    assert.ok(url, out);
    assert.match(out, /admin password \(shown once\): \S{16,}/);
    assert.ok(out.includes(`export OS_CLIENT_CONFIG_FILE=${join(dir, 'clouds.yaml')} OS_CLOUD=cinderbox`));
    const mode = (await stat(join(dir, 'clouds.yaml'))).mode & 0o777;
    assert.equal(mode, 0o600);
    const yaml = await readFile(join(dir, 'clouds.yaml'), 'utf8');
    assert.match(yaml, /auth_url: http:\/\/127\.0\.0\.1:\d+\/identity\/v3/);
    assert.match(yaml, /has_image: false/);
    const res = await fetch(`${url}/`);
    assert.equal(res.status, 300);
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    assert.equal(code, 0, err);
    assert.equal(existsSync(join(dir, 'server.lock')), false, 'the data-dir lock is released');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});

test('cinderbox serve --backup-target: a file target is listed; an unreachable S3 target or a malformed one stops the start, named', async (t) => {
  if (!built) {
    t.skip('the CLI and server are not built (npm run build); this test runs the compiled launcher');
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'cinderbox-serve-targets-'));
  const serve = async (args: string[]) => {
    const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--data-dir', dir, ...args], {
      env: { ...process.env, CINDERBOX_ADMIN_PASSWORD: '', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const deadline = Date.now() + 60_000;
    while (!out.includes('OS_CLOUD=cinderbox') && child.exitCode === null) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        assert.fail(`serve neither started nor stopped: ${out}\n${err}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (child.exitCode === null) child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.on('exit', (c) => r(c))));
    return { code, out, err };
  };
  try {
    const ok = await serve(['--backup-target', `nas=file://${join(dir, 'nas')}`, '--default-backup-target', 'nas']);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, new RegExp(`backups: +default \\(.*\\), nas \\(file://${dir}/nas\\); default target nas`));
    assert.ok(existsSync(join(dir, 'nas', 'config')), 'the file target holds a repository');

    const down = await serve(['--backup-target', 'offsite=s3://cbx-nowhere/p?endpoint=http://127.0.0.1:9&region=x']);
    assert.notEqual(down.code, 0);
    assert.match(down.err, /backup target "offsite".*unavailable/);
    const bad = await serve(['--backup-target', 'offsite=ftp://x']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /backup target "offsite=ftp:\/\/x": only s3:\/\/ and file:\/\/ targets are supported/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('cinderbox serve without --port/--data-dir takes CINDERBOX_PORT and CINDERBOX_DATA_DIR from the environment', async (t) => {
  if (!built) {
    t.skip('the CLI and server are not built (npm run build); this test runs the compiled launcher');
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'cinderbox-serve-env-'));
  // A free port: listen on 0, read it, close, hand it over (a race with another process is possible but harmless:
  // the start then fails and the test says so).
  const { createServer } = await import('node:net');
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const child = spawn(process.execPath, [bin, 'serve'], {
    env: { ...process.env, CINDERBOX_ADMIN_PASSWORD: '', CINDERBOX_PORT: String(port), CINDERBOX_DATA_DIR: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  try {
    const deadline = Date.now() + 30_000;
    while (!out.includes('OS_CLOUD=cinderbox')) {
      if (Date.now() > deadline || child.exitCode !== null) assert.fail(`serve did not start: ${out}\n${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(out, new RegExp(`listening on http://127\\.0\\.0\\.1:${port}\\b`));
    assert.ok(out.includes(`data dir:  ${dir}`), out);
    assert.ok(existsSync(join(dir, 'clouds.yaml')), 'the data dir from the environment is used');
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    assert.equal(code, 0, err);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});
