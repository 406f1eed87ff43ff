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
