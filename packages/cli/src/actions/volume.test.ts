import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from '../../../server/src/test-support/harness.js';
import { adminEnv, Cli } from '../test-support/cli.js';

let ts: TestServer;
let cli: Cli;
let dir: string;

before(async () => {
  ts = await startTestServer();
  cli = new Cli(adminEnv(ts.dataDir));
  dir = await mkdtemp(join(tmpdir(), 'cinderbox-cli-vol-'));
});
after(async () => {
  await ts?.close();
  await rm(dir, { recursive: true, force: true });
});

test('volume create --wait, list, show -c, set, unset and delete work through the API with -f json', async () => {
  const v = await cli.json([
    'volume',
    'create',
    '--size',
    '1',
    '--property',
    'app=db',
    '--description',
    'd1',
    'data',
    '--wait',
  ]);
  assert.equal(v.status, 'available');
  assert.equal(v.size, 1);
  assert.deepEqual(v.properties, { app: 'db' });
  assert.equal(v.type, '__DEFAULT__');
  assert.equal('metadata' in v || 'links' in v, false);

  const rows = await cli.json(['volume', 'list', '--long']);
  assert.deepEqual(rows, [
    {
      ID: v.id,
      Name: 'data',
      Status: 'available',
      Size: 1,
      Type: '__DEFAULT__',
      Bootable: false,
      'Attached to': '',
      Properties: { app: 'db' },
    },
  ]);
  assert.equal(await cli.ok(['volume', 'list', '-f', 'value', '-c', 'Name', '-c', 'Size']), 'data 1\n');

  assert.equal(
    (await cli.run(['volume', 'set', 'data', '--name', 'data2', '--property', 'tier=gold', '--size', '2'])).code,
    0,
  );
  assert.equal((await cli.run(['volume', 'unset', 'data2', '--property', 'app'])).code, 0);
  const shown = await cli.json([
    'volume',
    'show',
    v.id,
    '-c',
    'name',
    '-c',
    'size',
    '-c',
    'properties',
    '-c',
    'description',
  ]);
  assert.deepEqual(shown, {
    description: 'd1',
    name: 'data2',
    properties: { tier: 'gold' },
    size: 2,
  });
  const res = await ts.request('GET', `/v3/${ts.adminProjectId}/volumes/${v.id}`, { token: ts.adminToken });
  assert.equal(res.body.volume.size, 2, 'the server saw the extend');

  const del = await cli.run(['volume', 'delete', 'data2', '--wait']);
  assert.equal(del.code, 0, del.stderr);
  assert.deepEqual(await cli.json(['volume', 'list']), []);
});

test('exit codes: 1 for a missing volume or an API refusal (message and request id on stderr), 2 for usage errors', async () => {
  const missing = await cli.run(['volume', 'show', 'no-such-volume']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /No volume with a name or ID of 'no-such-volume' exists\./);

  const tooBig = await cli.run(['volume', 'create', '--size', '100000', 'huge']);
  assert.equal(tooBig.code, 1);
  assert.match(tooBig.stderr, /\(HTTP 413\) \(Request-ID: req-[0-9a-f-]+\)/);

  const noSize = await cli.run(['volume', 'create', 'x']);
  assert.equal(noSize.code, 2);
  assert.match(noSize.stderr, /--size is required/);
  const badProp = await cli.run(['volume', 'create', '--size', '1', '--property', 'novalue']);
  assert.equal(badProp.code, 2);
  const badOpt = await cli.run(['volume', 'list', '--bogus']);
  assert.equal(badOpt.code, 2);
  const badCol = await cli.run(['volume', 'list', '-c', 'Nope']);
  assert.equal(badCol.code, 2);
  assert.match(badCol.stderr, /unknown column 'Nope'; available: ID, Name, Status, Size, Attached to/);
  const badFmt = await cli.run(['volume', 'list', '-f', 'csv']);
  assert.equal(badFmt.code, 2);
  const help = await cli.run(['volume', 'create', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--wait-timeout <seconds>/);
  assert.deepEqual(await cli.json(['volume', 'list']), [], 'nothing was created by the failed commands');
});

test('volume upload then download returns the same bytes, --offset/--length read a range, a non-terminal gets no progress, an oversized file is refused', async () => {
  const v = await cli.json(['volume', 'create', '--size', '1', 'blob', '--wait']);
  const data = randomBytes(3 * 1024 * 1024 + 17);
  const src = join(dir, 'in.bin');
  await writeFile(src, data);
  const up = await cli.run(['volume', 'upload', 'blob', src]);
  assert.equal(up.code, 0, up.stderr);
  assert.equal(up.stdout, '', 'nothing on a non-terminal stdout');
  assert.equal(up.stderr, '', 'no progress bar on a non-terminal');

  const out = join(dir, 'out.bin');
  const down = await cli.run(['volume', 'download', v.id, out, '--length', String(data.length)]);
  assert.equal(down.code, 0, down.stderr);
  assert.ok((await readFile(out)).equals(data));

  const part = await cli.run(['volume', 'download', 'blob', '-', '--offset', '1000', '--length', '64']);
  assert.equal(part.code, 0, part.stderr);
  assert.ok(part.stdoutBytes.equals(data.subarray(1000, 1064)));

  const big = join(dir, 'big.bin');
  await writeFile(big, Buffer.alloc(0));
  await truncate(big, 1024 ** 3 + 1); // sparse: the declared length alone is refused
  const refused = await cli.run(['volume', 'upload', 'blob', big]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /big\.bin \(1073741825 bytes\) is larger than volume [0-9a-f-]+ \(1073741824 bytes\)/);

  // The server's own refusal (here: a volume that is not available) arrives with its message and request id.
  await ts.request('POST', `/v3/${ts.adminProjectId}/volumes/${v.id}/action`, {
    token: ts.adminToken,
    body: { 'os-reset_status': { status: 'error' } },
  });
  const small = join(dir, 'small.bin');
  await writeFile(small, 'tiny'); // small enough to be sent whole before the server answers
  const notAvailable = await cli.run(['volume', 'upload', 'blob', small]);
  assert.equal(notAvailable.code, 1);
  assert.match(notAvailable.stderr, /status must be available .*\(HTTP 400\) \(Request-ID: req-/);
});
