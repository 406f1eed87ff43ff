import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ADMIN_PASSWORD, startTestServer } from '../../test-support/harness.js';
import { cloudEntry, cloudEnv, describe, missingTools, PYTHON, run, writeClouds } from './test-support/support.js';

const script = join(dirname(fileURLToPath(import.meta.url)), 'sdk_snapshots.py');

// openstacksdk 0.101 (Debian bookworm) through the block_storage proxy, v3 and v2, as a project member.
test('openstacksdk block_storage drives the snapshot lifecycle', async (t) => {
  const why = await missingTools([], ['openstack']);
  if (why) {
    t.skip(why);
    return;
  }
  const ts = await startTestServer();
  const home = await mkdtemp(join(tmpdir(), 'cinderbox-sdk-home-'));
  try {
    const authUrl = `${ts.url}/identity/v3`;
    await ts.createMember('sdk-v3');
    await ts.createMember('sdk-v2');
    const clouds = await writeClouds(home, {
      v3: cloudEntry(authUrl, { username: 'sdk-v3', password: 'sdk-v3-pw', projectName: 'sdk-v3' }),
      v2: cloudEntry(authUrl, { username: 'sdk-v2', password: 'sdk-v2-pw', projectName: 'sdk-v2' }, { volumeApiVersion: 2 }),
      admin: cloudEntry(authUrl, { username: 'admin', password: ADMIN_PASSWORD, projectName: 'admin' }),
    });

    for (const [version, extra] of [
      ['3', ['--admin-cloud', 'admin']],
      ['2', []],
    ] as const) {
      await t.test(`block_storage v${version}`, async () => {
        const args = [script, '--cloud', `v${version}`, '--api-version', version, ...extra];
        const r = await run(PYTHON, args, { env: cloudEnv(clouds, `v${version}`, home), timeoutMs: 120_000 });
        assert.equal(r.code, 0, describe(PYTHON, args, r));
        assert.match(r.stdout, /all steps passed/);
      });
    }
  } finally {
    await ts.close();
    await rm(home, { recursive: true, force: true });
  }
});
