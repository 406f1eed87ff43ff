import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ADMIN_PASSWORD, startTestServer } from '../../test-support/harness.js';
import { cloudEntry, cloudEnv, describe, missingTools, PYTHON, run, writeClouds } from './test-support/support.js';

const script = join(dirname(fileURLToPath(import.meta.url)), 'sdk_types.py');

// openstacksdk 0.101 (Debian bookworm): an admin manages volume types through the block_storage v3 proxy.
test('openstacksdk block_storage manages volume types, extra specs, access and encryption', async (t) => {
  const why = await missingTools([], ['openstack']);
  if (why) {
    t.skip(why);
    return;
  }
  const ts = await startTestServer();
  const home = await mkdtemp(join(tmpdir(), 'cinderbox-sdk-types-'));
  try {
    const authUrl = `${ts.url}/identity/v3`;
    const member = await ts.createMember('sdk-types-member');
    const clouds = await writeClouds(home, {
      admin: cloudEntry(authUrl, { username: 'admin', password: ADMIN_PASSWORD, projectName: 'admin' }),
    });
    const args = [script, '--cloud', 'admin', '--project-id', member.projectId];
    const r = await run(PYTHON, args, { env: cloudEnv(clouds, 'admin', home), timeoutMs: 120_000 });
    assert.equal(r.code, 0, describe(PYTHON, args, r));
    assert.match(r.stdout, /all steps passed/);
  } finally {
    await ts.close();
    await rm(home, { recursive: true, force: true });
  }
});
