import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ADMIN_PASSWORD, startTestServer, waitFor } from '../../test-support/harness.js';
import { waitStatus } from './test-support/api-helpers.js';
import { CINDER, Cli, cinderEnv, cloudEntry, cloudEnv, missingTools, OPENSTACK, writeClouds } from './test-support/support.js';

/** A field of cinderclient's `| Property | Value |` table. */
function field(table: string, name: string): string {
  const m = new RegExp(`^\\|\\s*${name}\\s*\\|\\s*(.*?)\\s*\\|$`, 'm').exec(table);
  if (!m) throw new Error(`no ${name} in\n${table}`);
  return m[1]!;
}

// Group types, groups and group snapshots with python-openstackclient 6.0 (`volume group …`) and
// python-cinderclient (`group-*`), against one server. OSC 6.0's `volume group show`, `volume group snapshot
// show` and `volume group type show` fail inside the client (they call methods its cinderclient lacks), so
// cinderclient shows instead.
test('python-openstackclient volume group … and cinderclient group-*: types, groups, group snapshots, group from snapshot', async (t) => {
  const why = await missingTools([OPENSTACK, CINDER], ['openstackclient', 'cinderclient']);
  if (why) {
    t.skip(why);
    return;
  }
  const ts = await startTestServer();
  const home = await mkdtemp(join(tmpdir(), 'cinderbox-groups-'));
  try {
    const authUrl = `${ts.url}/identity/v3`;
    const adminUser = { username: 'admin', password: ADMIN_PASSWORD, projectName: 'admin' };
    const clouds = await writeClouds(home, { admin: cloudEntry(authUrl, adminUser) });
    const osc = new Cli(OPENSTACK, cloudEnv(clouds, 'admin', home));
    const cinder = new Cli(CINDER, cinderEnv(authUrl, adminUser, home, '3.20'));
    const mv = ['--os-volume-api-version', '3.20'];
    const pid = ts.adminProjectId;

    // OSC: type, group, member, group snapshot.
    const gt = await osc.json([...mv, 'volume', 'group', 'type', 'create', '--description', 'cg', 'osc-gt']);
    assert.equal(gt.Name, 'osc-gt');
    assert.equal(gt.Description, 'cg');
    await osc.ok([...mv, 'volume', 'group', 'type', 'set', '--property', 'consistent_group_snapshot_enabled=<is> True', 'osc-gt']);
    // OSC 6.0's `volume group type show` fails in the client ('Namespace' object has no attribute 'group'):
    // the list and cinderclient's group-specs-list show the type instead.
    assert.ok((await osc.json<any[]>([...mv, 'volume', 'group', 'type', 'list'])).some((x) => x.Name === 'osc-gt'));
    assert.match(await cinder.ok(['group-specs-list']), /consistent_group_snapshot_enabled/);
    const g = await osc.json([...mv, 'volume', 'group', 'create', '--name', 'osc-group', 'osc-gt', '__DEFAULT__']);
    assert.equal((await ts.request('GET', `/v3/${pid}/groups/${g.ID}`, { token: ts.adminToken, mv: '3.13' })).body.group.status, 'available');
    const groups = await osc.json<any[]>([...mv, 'volume', 'group', 'list']);
    assert.ok(groups.some((x) => x.ID === g.ID));
    // OSC 6.0's `volume group show` fails in the client ('GroupManager' object has no attribute 'show').
    assert.equal(field(await cinder.ok(['group-show', g.ID]), 'name'), 'osc-group');
    // Cinder answers the update 202 without a body, so OSC prints empty fields; the group shows the change.
    await osc.ok([...mv, 'volume', 'group', 'set', '--description', 'osc made', g.ID]);
    assert.equal(field(await cinder.ok(['group-show', g.ID]), 'description'), 'osc made');

    // cinderclient: a volume created into the group, then the group snapshotted.
    const volOut = await cinder.ok(['create', '--group-id', g.ID, '--volume-type', '__DEFAULT__', '--name', 'in-group', '1']);
    const volId = field(volOut, 'id');
    await waitStatus(ts, ts.adminToken, `/v3/${pid}/volumes/${volId}`, 'volume', 'available');
    assert.match(await cinder.ok(['group-show', g.ID]), /osc-group/);
    const gsOut = await cinder.ok(['group-snapshot-create', '--name', 'cli-gs', g.ID]);
    const gsId = field(gsOut, 'id');
    await waitFor(async () => field(await cinder.ok(['group-snapshot-show', gsId]), 'status') === 'available', 'group snapshot available');
    assert.ok((await osc.json<any[]>([...mv, 'volume', 'group', 'snapshot', 'list'])).some((s) => s.ID === gsId));
    assert.equal(field(await cinder.ok(['group-snapshot-show', gsId]), 'group_id'), g.ID);

    const fromOut = await cinder.ok(['group-create-from-src', '--group-snapshot', gsId, '--name', 'copy']);
    const copyId = field(fromOut, 'id');
    await waitFor(async () => field(await cinder.ok(['group-show', copyId]), 'status') === 'available', 'copy available');
    assert.match(await cinder.ok(['group-list']), /copy/);
    assert.match(await cinder.ok(['group-type-list']), /osc-gt/);

    // Clean up through both clients: a group with volumes needs delete-volumes (OSC --force).
    await cinder.ok(['group-delete', '--delete-volumes', copyId]);
    await osc.ok([...mv, 'volume', 'group', 'snapshot', 'delete', gsId]);
    await waitFor(async () => (await ts.request('GET', `/v3/${pid}/group_snapshots/${gsId}`, { token: ts.adminToken, mv: '3.14' })).status === 404, 'gs gone');
    await osc.ok([...mv, 'volume', 'group', 'delete', '--force', g.ID]);
    await waitFor(async () => (await ts.request('GET', `/v3/${pid}/volumes/${volId}`, { token: ts.adminToken })).status === 404, 'member gone');
    await waitFor(async () => !(await cinder.ok(['group-list'])).includes('copy'), 'groups gone');
    await osc.ok([...mv, 'volume', 'group', 'type', 'delete', 'osc-gt']);
  } finally {
    await ts.close();
    await rm(home, { recursive: true, force: true });
  }
});
