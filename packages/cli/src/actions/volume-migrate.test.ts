import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from '../../../server/src/test-support/harness.js';
import { adminEnv, Cli } from '../test-support/cli.js';

const hasQemu = (() => {
  try {
    execFileSync('qemu-img', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

let ts: TestServer;
let cli: Cli;

before(async () => {
  ts = await startTestServer({
    backends: hasQemu
      ? [
          { name: 'raw', driver: 'raw', pool: 'raw' },
          { name: 'qcow2', driver: 'qcow2', pool: 'qcow2' },
        ]
      : [{ name: 'raw', driver: 'raw', pool: 'raw' }],
  });
  cli = new Cli(adminEnv(ts.dataDir));
});
after(async () => {
  await ts?.close();
});

async function until(name: string, ok: (v: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  const end = Date.now() + 30_000;
  for (;;) {
    const v = (await cli.json(['volume', 'show', name])) as Record<string, unknown>;
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`volume ${name} never got there: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('volume set --type retypes; --retype-policy without --type or with a bad value is a usage error', async () => {
  for (const n of ['cli-a', 'cli-b']) assert.equal((await cli.run(['volume', 'type', 'create', n])).code, 0);
  await cli.json(['volume', 'create', '--size', '1', '--type', 'cli-a', 'rt', '--wait']);
  assert.equal((await cli.run(['volume', 'set', 'rt', '--type', 'cli-b'])).code, 0);
  assert.equal(((await cli.json(['volume', 'show', 'rt'])) as { type: string }).type, 'cli-b');
  assert.notEqual((await cli.run(['volume', 'set', 'rt', '--retype-policy', 'never'])).code, 0);
  assert.notEqual((await cli.run(['volume', 'set', 'rt', '--type', 'cli-a', '--retype-policy', 'always'])).code, 0);
  const same = await cli.run(['volume', 'set', 'rt', '--type', 'cli-b']);
  assert.notEqual(same.code, 0);
  assert.match(same.stderr, /Retype needs volume/);
  assert.equal((await cli.run(['volume', 'delete', 'rt', '--wait'])).code, 0);
});

test('volume set --type --retype-policy on-demand and volume migrate --host move the data between backends', { skip: hasQemu ? false : 'qemu-img is not installed: one backend only' }, async () => {
  assert.equal((await cli.run(['volume', 'type', 'create', 'cli-raw', '--property', 'volume_backend_name=raw'])).code, 0);
  assert.equal((await cli.run(['volume', 'type', 'create', 'cli-qcow2', '--property', 'volume_backend_name=qcow2'])).code, 0);
  await cli.json(['volume', 'create', '--size', '1', '--type', 'cli-raw', 'mv', '--wait']);
  assert.equal((await cli.run(['volume', 'set', 'mv', '--type', 'cli-qcow2', '--retype-policy', 'on-demand'])).code, 0);
  const moved = await until('mv', (v) => v.status === 'available' && v.type === 'cli-qcow2');
  const host = String(moved['os-vol-host-attr:host']);
  assert.match(host, /@qcow2#qcow2$/);
  // cli-qcow2 keeps its volumes on qcow2 (a migration elsewhere fails as in Cinder): a type naming no backend first.
  assert.equal((await cli.run(['volume', 'type', 'create', 'cli-anywhere'])).code, 0);
  assert.equal((await cli.run(['volume', 'set', 'mv', '--type', 'cli-anywhere'])).code, 0);
  const m = await cli.run(['volume', 'migrate', 'mv', '--host', host.replace(/@qcow2#qcow2$/, '@raw#raw')]);
  assert.equal(m.code, 0, m.stderr);
  await until('mv', (v) => v.status === 'available' && /@raw#raw$/.test(String(v['os-vol-host-attr:host'])));
  assert.notEqual((await cli.run(['volume', 'migrate', 'mv', '--host', 'nowhere@x#y'])).code, 0);
  assert.equal((await cli.run(['volume', 'delete', 'mv', '--wait'])).code, 0);
});
