import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ADMIN_PASSWORD, startTestServer } from '../../test-support/harness.js';
import { attachVolume, detachVolume, waitGone, waitStatus } from './test-support/api-helpers.js';
import { CINDER, Cli, cinderEnv, cloudEntry, cloudEnv, missingTools, OPENSTACK, writeClouds } from './test-support/support.js';

// A project member drives volumes and snapshots with python-openstackclient (which speaks to the server through
// python-cinderclient at 3.0); the admin-only operations go through the `cinder` shell at its negotiated maximum.
test('python-openstackclient and cinder manage volumes and snapshots as a member', async (t) => {
  const why = await missingTools([OPENSTACK, CINDER], ['openstackclient', 'cinderclient']);
  if (why) {
    t.skip(why);
    return;
  }
  const ts = await startTestServer();
  const home = await mkdtemp(join(tmpdir(), 'cinderbox-osc-home-'));
  try {
    const authUrl = `${ts.url}/identity/v3`;
    const m = await ts.createMember('osc-member');
    const memberUser = { username: 'osc-member', password: 'osc-member-pw', projectName: 'osc-member' };
    const adminUser = { username: 'admin', password: ADMIN_PASSWORD, projectName: 'admin' };
    const clouds = await writeClouds(home, { member: cloudEntry(authUrl, memberUser), admin: cloudEntry(authUrl, adminUser) });
    const osc = new Cli(OPENSTACK, cloudEnv(clouds, 'member', home));
    const cinderAdmin = new Cli(CINDER, cinderEnv(authUrl, adminUser, home));
    const cinderMember = new Cli(CINDER, cinderEnv(authUrl, memberUser, home));
    const vpath = (id: string) => `/v3/${m.projectId}/volumes/${id}`;
    const spath = (id: string) => `/v3/${m.projectId}/snapshots/${id}`;

    let volumeId = '';
    await t.test('volume create, list, show', async () => {
      const v = await osc.json(['volume', 'create', '--size', '1', '--description', 'made by OSC', '--property', 'a=b', 'vol-a']);
      assert.equal(v.name, 'vol-a');
      assert.equal(v.size, 1);
      assert.equal(v.description, 'made by OSC');
      assert.deepEqual(v.properties, { a: 'b' });
      assert.ok(['creating', 'available'].includes(v.status), v.status);
      volumeId = v.id;
      await waitStatus(ts, m.token, vpath(volumeId), 'volume', 'available');
      const [list, shown] = await Promise.all([osc.json<any[]>(['volume', 'list']), osc.json(['volume', 'show', 'vol-a'])]);
      assert.deepEqual(
        list.map((x) => [x.ID, x.Name, x.Status, x.Size]),
        [[volumeId, 'vol-a', 'available', 1]],
      );
      assert.equal(shown.id, volumeId);
      assert.equal(shown.status, 'available');
      assert.equal(shown.bootable, 'false');
      assert.equal(shown['os-vol-tenant-attr:tenant_id'], m.projectId);
      assert.equal(shown['os-vol-host-attr:host'], undefined, 'the host is shown to admins only');
    });

    await t.test('volume set, unset', async () => {
      await osc.ok(['volume', 'set', '--name', 'vol-b', '--description', 'renamed', '--property', 'c=d', 'vol-a']);
      await osc.ok(['volume', 'unset', '--property', 'a', 'vol-b']);
      const shown = await osc.json(['volume', 'show', volumeId]);
      assert.equal(shown.name, 'vol-b');
      assert.equal(shown.description, 'renamed');
      assert.deepEqual(shown.properties, { c: 'd' });
    });

    let snapId = '';
    await t.test('volume snapshot create, list, list --long, show', async () => {
      const s = await osc.json(['volume', 'snapshot', 'create', '--volume', 'vol-b', '--description', 'first', '--property', 'k=v', 'snap-a']);
      assert.equal(s.name, 'snap-a');
      assert.equal(s.volume_id, volumeId);
      assert.equal(s.size, 1);
      assert.deepEqual(s.properties, { k: 'v' });
      assert.ok(['creating', 'available'].includes(s.status), s.status);
      snapId = s.id;
      await waitStatus(ts, m.token, spath(snapId), 'snapshot', 'available');
      const [list, long, table, byVolume, byError, shown] = await Promise.all([
        osc.json<any[]>(['volume', 'snapshot', 'list']),
        osc.json<any[]>(['volume', 'snapshot', 'list', '--long']),
        osc.ok(['volume', 'snapshot', 'list', '--long']),
        osc.json<any[]>(['volume', 'snapshot', 'list', '--volume', 'vol-b', '--status', 'available']),
        osc.json<any[]>(['volume', 'snapshot', 'list', '--status', 'error']),
        osc.json(['volume', 'snapshot', 'show', 'snap-a']),
      ]);
      assert.deepEqual(list, [{ ID: snapId, Name: 'snap-a', Description: 'first', Status: 'available', Size: 1 }]);
      assert.equal(long.length, 1);
      // -f json keeps the volume id; the table resolves it to the name through OSC's own volume list.
      assert.equal(long[0].Volume, volumeId);
      assert.match(table, /\| vol-b\s+\| k='v'\s+\|/);
      assert.deepEqual(long[0].Properties, { k: 'v' });
      assert.match(long[0]['Created At'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
      assert.deepEqual(byVolume.map((x) => x.ID), [snapId]);
      assert.deepEqual(byError, []);
      assert.equal(shown.id, snapId);
      assert.equal(shown.status, 'available');
      assert.equal(shown['os-extended-snapshot-attributes:progress'], '100%');
      assert.equal(shown['os-extended-snapshot-attributes:project_id'], m.projectId);
    });

    await t.test('volume snapshot set --name/--description/--property, unset --property', async () => {
      await osc.ok(['volume', 'snapshot', 'set', '--name', 'snap-b', '--description', 'second', '--property', 'x=y', 'snap-a']);
      let shown = await osc.json(['volume', 'snapshot', 'show', snapId]);
      assert.equal(shown.name, 'snap-b');
      assert.equal(shown.description, 'second');
      assert.deepEqual(shown.properties, { k: 'v', x: 'y' });
      await osc.ok(['volume', 'snapshot', 'unset', '--property', 'k', 'snap-b']);
      shown = await osc.json(['volume', 'snapshot', 'show', 'snap-b']);
      assert.deepEqual(shown.properties, { x: 'y' });
      const denied = await osc.fails(['volume', 'snapshot', 'set', '--state', 'error', 'snap-b']);
      assert.match(denied.stderr, /One or more of the set operations failed/);
      assert.equal((await osc.json(['volume', 'snapshot', 'show', 'snap-b'])).status, 'available', 'a member cannot reset status');
    });

    await t.test('a volume with snapshots cannot be deleted; volume snapshot delete', async () => {
      const refused = await osc.fails(['volume', 'delete', volumeId]);
      assert.match(refused.stderr, /1 of 1 volumes failed to delete/);
      await osc.ok(['volume', 'snapshot', 'delete', 'snap-b']);
      await waitGone(ts, m.token, spath(snapId));
      assert.deepEqual(await osc.json<any[]>(['volume', 'snapshot', 'list']), []);
      const missing = await osc.fails(['volume', 'snapshot', 'show', snapId]);
      assert.match(missing.stderr, /No snapshot with a name or ID/);
    });

    let inUseSnap = '';
    await t.test('snapshot of an in-use volume needs --force', async () => {
      await attachVolume(ts, m.token, m.projectId, volumeId);
      assert.equal((await osc.json(['volume', 'show', volumeId])).status, 'in-use');
      const refused = await osc.fails(['volume', 'snapshot', 'create', '--volume', volumeId, 'snap-no-force']);
      assert.match(refused.stderr, /status must be available, but current status is: in-use/);
      assert.match(refused.stderr, /HTTP 400/);
      assert.deepEqual(await osc.json<any[]>(['volume', 'snapshot', 'list']), []);
      const s = await osc.json(['volume', 'snapshot', 'create', '--volume', volumeId, '--force', 'snap-forced']);
      inUseSnap = s.id;
      await waitStatus(ts, m.token, spath(inUseSnap), 'snapshot', 'available');
      assert.equal((await osc.json(['volume', 'show', volumeId])).status, 'in-use');
    });

    await t.test('cinder snapshot-reset-state and snapshot-delete --force as admin', async () => {
      const shown = await cinderMember.ok(['snapshot-show', inUseSnap]);
      assert.match(shown, /snap-forced/);
      const memberReset = await cinderMember.fails(['snapshot-reset-state', '--state', 'error', inUseSnap]);
      assert.match(memberReset.stderr, /403|[Pp]olicy|not authorized/);
      await cinderAdmin.ok(['snapshot-reset-state', '--state', 'error', inUseSnap]);
      await waitStatus(ts, m.token, spath(inUseSnap), 'snapshot', 'error');
      await cinderAdmin.ok(['snapshot-reset-state', '--state', 'deleting', inUseSnap]);
      await waitStatus(ts, m.token, spath(inUseSnap), 'snapshot', 'deleting');
      // cinder prints each failed item on stdout, then a summary on stderr.
      const refused = await cinderMember.fails(['snapshot-delete', inUseSnap]);
      assert.match(refused.stdout, /Snapshot status must be available or error.*\(HTTP 400\)/);
      const memberForce = await cinderMember.fails(['snapshot-delete', '--force', inUseSnap]);
      assert.match(memberForce.stdout, /\(HTTP 403\)/);
      await cinderAdmin.ok(['snapshot-delete', '--force', inUseSnap]);
      await waitGone(ts, m.token, spath(inUseSnap));
      const list = await cinderAdmin.ok(['snapshot-list', '--all-tenants']);
      assert.doesNotMatch(list, new RegExp(inUseSnap));
    });

    await t.test('volume delete', async () => {
      await detachVolume(ts, m.token, m.projectId, volumeId);
      await osc.ok(['volume', 'delete', 'vol-b']);
      await waitGone(ts, m.token, vpath(volumeId));
      assert.deepEqual(await osc.json<any[]>(['volume', 'list']), []);
    });
  } finally {
    await ts.close();
    await rm(home, { recursive: true, force: true });
  }
});
