import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { startTestServer } from '../../test-support/harness.js';
import { waitStatus } from './test-support/api-helpers.js';
import { CINDER, Cli, cinderEnv, cloudEnv, missingTools, OPENSTACK } from './test-support/support.js';

// The README's quick start, verbatim, with the clouds.yaml the server wrote. python-cinderclient does not read
// clouds.yaml, so `cinder` gets the same credentials as OS_* variables.
test('the README quick start works with the real clients', async (t) => {
  const why = await missingTools([OPENSTACK, CINDER], ['openstackclient', 'cinderclient']);
  if (why) {
    t.skip(why);
    return;
  }
  const ts = await startTestServer();
  const home = await mkdtemp(join(tmpdir(), 'cinderbox-readme-home-'));
  try {
    const cloudsPath = join(ts.dataDir, 'clouds.yaml');
    const osc = new Cli(OPENSTACK, cloudEnv(cloudsPath, 'cinderbox', home));
    const auth = (parse(await readFile(cloudsPath, 'utf8')) as any).clouds.cinderbox.auth;
    const cinder = new Cli(CINDER, cinderEnv(auth.auth_url, { username: auth.username, password: auth.password, projectName: auth.project_name }, home));

    // openstack volume create --size 1 v1
    const v = await osc.json(['volume', 'create', '--size', '1', 'v1']);
    assert.equal(v.name, 'v1');
    assert.equal(v.size, 1);
    await waitStatus(ts, ts.adminToken, `/v3/${ts.adminProjectId}/volumes/${v.id}`, 'volume', 'available');

    // openstack volume snapshot create --volume v1 s1
    const s = await osc.json(['volume', 'snapshot', 'create', '--volume', 'v1', 's1']);
    assert.equal(s.name, 's1');
    assert.equal(s.volume_id, v.id);
    await waitStatus(ts, ts.adminToken, `/v3/${ts.adminProjectId}/snapshots/${s.id}`, 'snapshot', 'available');

    // openstack volume snapshot list --long
    const long = await osc.json<any[]>(['volume', 'snapshot', 'list', '--long']);
    assert.equal(long.length, 1);
    assert.equal(long[0].ID, s.id);
    assert.equal(long[0].Name, 's1');
    assert.equal(long[0].Status, 'available');
    assert.equal(long[0].Size, 1);
    assert.equal(long[0].Volume, v.id);
    // The table form, as a person sees it: OSC resolves the volume id to its name.
    const table = await osc.ok(['volume', 'snapshot', 'list', '--long']);
    assert.match(table, /\| ID\s+\| Name\s+\| Description\s+\| Status\s+\| Size\s+\| Created At\s+\| Volume\s+\| Properties\s+\|/);
    assert.match(table, new RegExp(`\\| ${s.id} \\| s1\\s+\\| None\\s+\\| available \\|\\s+1 \\| \\S+\\s+\\| v1\\s+\\|`));

    // cinder snapshot-show s1
    const shown = await cinder.ok(['snapshot-show', 's1']);
    const fields = Object.fromEntries(
      [...shown.matchAll(/^\|\s*(\S+)\s*\|\s*(.*?)\s*\|$/gm)].map((mm) => [mm[1], mm[2]]),
    );
    assert.equal(fields.id, s.id, shown);
    assert.equal(fields.name, 's1');
    assert.equal(fields.status, 'available');
    assert.equal(fields.size, '1');
    assert.equal(fields.volume_id, v.id);
    assert.equal(fields['os-extended-snapshot-attributes:progress'], '100%');
    assert.equal(fields['os-extended-snapshot-attributes:project_id'], ts.adminProjectId);
  } finally {
    await ts.close();
    await rm(home, { recursive: true, force: true });
  }
});
