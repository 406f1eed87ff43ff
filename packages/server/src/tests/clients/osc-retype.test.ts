import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { qemuAvailability } from '../../config/volume-backends.js';
import { ADMIN_PASSWORD, startTestServer } from '../../test-support/harness.js';
import { waitResource, waitStatus } from './test-support/api-helpers.js';
import { Cli, cloudEntry, cloudEnv, missingTools, OPENSTACK, writeClouds } from './test-support/support.js';

const qemu = qemuAvailability();

// OSC's retype is `volume set --type [--retype-policy]`; its migration `volume migrate --host`.
test('python-openstackclient: volume set --type retypes in place, and with --retype-policy on-demand moves the data; volume migrate --host', async (t) => {
  const why = await missingTools([OPENSTACK], ['openstackclient']);
  if (why) {
    t.skip(why);
    return;
  }
  if (!qemu.available) {
    t.skip(`two backends need qcow2: ${qemu.detail}`);
    return;
  }
  const ts = await startTestServer({
    backends: [
      { name: 'raw', driver: 'raw', pool: 'raw' },
      { name: 'qcow2', driver: 'qcow2', pool: 'qcow2' },
    ],
  });
  const home = await mkdtemp(join(tmpdir(), 'cinderbox-osc-retype-'));
  try {
    const authUrl = `${ts.url}/identity/v3`;
    const clouds = await writeClouds(home, {
      admin: cloudEntry(authUrl, { username: 'admin', password: ADMIN_PASSWORD, projectName: 'admin' }),
    });
    const admin = new Cli(OPENSTACK, cloudEnv(clouds, 'admin', home));
    const path = (id: string) => `/v3/${ts.adminProjectId}/volumes/${id}`;

    await admin.json(['volume', 'type', 'create', '--property', 'volume_backend_name=raw', 'osc-raw']);
    await admin.json(['volume', 'type', 'create', '--property', 'volume_backend_name=raw', 'osc-raw-2']);
    await admin.json(['volume', 'type', 'create', '--property', 'volume_backend_name=qcow2', 'osc-qcow2']);
    const v = await admin.json(['volume', 'create', '--size', '1', '--type', 'osc-raw', 'rv']);
    await waitStatus(ts, ts.adminToken, path(v.id), 'volume', 'available');

    // Same backend: the type changes at once.
    await admin.ok(['volume', 'set', '--type', 'osc-raw-2', 'rv']);
    assert.equal((await admin.json(['volume', 'show', 'rv'])).type, 'osc-raw-2');
    // Another backend with the default policy 'never': accepted, then given back.
    await admin.ok(['volume', 'set', '--type', 'osc-qcow2', 'rv']);
    await waitResource(ts, ts.adminToken, path(v.id), 'volume', (x) => x.status === 'available' && x.volume_type === 'osc-raw-2', 'given back');
    // on-demand: the data moves to qcow2.
    await admin.ok(['volume', 'set', '--type', 'osc-qcow2', '--retype-policy', 'on-demand', 'rv']);
    const moved = await waitResource(ts, ts.adminToken, path(v.id), 'volume', (x) => x.status === 'available' && x.volume_type === 'osc-qcow2', 'retyped to qcow2');
    assert.equal(moved.migration_status, 'success');
    const host = String(moved['os-vol-host-attr:host']);
    assert.match(host, /@qcow2#qcow2$/);

    // Admin migration back to raw: osc-qcow2 keeps its volumes on qcow2, so it fails as Cinder's scheduler makes
    // it (migration_status error, the volume where it was); under a type naming no backend it moves, type kept.
    await admin.ok(['volume', 'migrate', '--host', host.replace(/@qcow2#qcow2$/, '@raw#raw'), 'rv']);
    await waitResource(ts, ts.adminToken, path(v.id), 'volume', (x) => x.migration_status === 'error' && /@qcow2#qcow2$/.test(x['os-vol-host-attr:host']), 'migration refused by the type');
    await admin.json(['volume', 'type', 'create', 'osc-anywhere']);
    await admin.ok(['volume', 'set', '--type', 'osc-anywhere', 'rv']);
    await admin.ok(['volume', 'migrate', '--host', host.replace(/@qcow2#qcow2$/, '@raw#raw'), 'rv']);
    const back = await waitResource(ts, ts.adminToken, path(v.id), 'volume', (x) => x.status === 'available' && /@raw#raw$/.test(x['os-vol-host-attr:host']), 'migrated to raw');
    assert.equal(back.volume_type, 'osc-anywhere');
    await admin.ok(['volume', 'delete', 'rv']);
  } finally {
    await ts.close();
    await rm(home, { recursive: true, force: true });
  }
});
