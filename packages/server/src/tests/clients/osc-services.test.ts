import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ADMIN_PASSWORD, startTestServer } from '../../test-support/harness.js';
import { CINDER, Cli, cinderEnv, cloudEntry, cloudEnv, missingTools, OPENSTACK, writeClouds } from './test-support/support.js';

// An operator takes a backend out of service and back, freezes it, reads its capabilities and sets the default
// quota class, with python-openstackclient and python-cinderclient.
test('python-openstackclient and cinderclient: volume service list/set, volume host set, service-*, freeze/thaw, get-capabilities, quota classes, log levels', async (t) => {
  const why = await missingTools([OPENSTACK, CINDER], ['openstackclient', 'cinderclient']);
  if (why) {
    t.skip(why);
    return;
  }
  const ts = await startTestServer({ backends: [{ name: 'raw', driver: 'raw', pool: 'raw' }] });
  const home = await mkdtemp(join(tmpdir(), 'cinderbox-osc-services-'));
  try {
    const authUrl = `${ts.url}/identity/v3`;
    const user = { username: 'admin', password: ADMIN_PASSWORD, projectName: 'admin' };
    const clouds = await writeClouds(home, { admin: cloudEntry(authUrl, user) });
    const osc = new Cli(OPENSTACK, cloudEnv(clouds, 'admin', home));
    const cinder = new Cli(CINDER, cinderEnv(authUrl, user, home, '3.32'));

    const services = await osc.json<any[]>(['volume', 'service', 'list']);
    assert.deepEqual(
      services.map((s) => `${s.Binary} ${s.Host} ${s.Status} ${s.State}`),
      ['cinder-scheduler cinderbox enabled up', 'cinder-volume cinderbox@raw enabled up', 'cinder-backup cinderbox enabled up'],
    );
    await osc.ok(['volume', 'service', 'set', '--disable', '--disable-reason', 'disk swap', 'cinderbox@raw', 'cinder-volume']);
    const long = await osc.json<any[]>(['volume', 'service', 'list', '--service', 'cinder-volume', '--long']);
    assert.deepEqual([long[0].Status, long[0]['Disabled Reason']], ['disabled', 'disk swap']);
    await osc.ok(['volume', 'service', 'set', '--enable', 'cinderbox@raw', 'cinder-volume']);

    // OSC 6.0 registers `volume backend capability show` for the v2 API only, which its cinderclient refuses:
    // capabilities are read through cinderclient's get-capabilities below. `volume host set` is freeze/thaw.
    await osc.ok(['volume', 'host', 'set', '--disable', 'cinderbox@raw']);
    const frozen = await osc.json<any[]>(['volume', 'service', 'list', '--service', 'cinder-volume', '--long']);
    assert.deepEqual([frozen[0].Status, frozen[0]['Disabled Reason']], ['disabled', 'frozen']);
    await osc.ok(['volume', 'host', 'set', '--enable', 'cinderbox@raw']);

    // OSC's `quota set/show --class` opens a compute client first (no compute here): cinderclient's quota-class-*.
    await cinder.ok(['quota-class-update', '--volumes', '17', 'default']);
    await cinder.ok(['quota-class-update', '--volume-type', '__DEFAULT__', '--gigabytes', '70', 'default']);
    const cls = await cinder.ok(['quota-class-show', 'default']);
    assert.match(cls, /\|\s*volumes\s*\|\s*17\s*\|/);
    assert.match(cls, /\|\s*gigabytes___DEFAULT__\s*\|\s*70\s*\|/);
    assert.match(await cinder.ok(['quota-defaults', ts.adminProjectId]), /\|\s*volumes\s*\|\s*17\s*\|/);
    await cinder.ok(['quota-class-update', '--volumes', '-1', 'default']);

    // cinderclient: service-list / service-disable / service-enable, freeze/thaw, get-capabilities, log levels.
    const listed = await cinder.ok(['service-list', '--binary', 'cinder-backup']);
    assert.match(listed, /cinder-backup\s*\|\s*cinderbox\s*\|\s*nova\s*\|\s*enabled\s*\|\s*up/);
    const off = await cinder.ok(['service-disable', '--reason', 'upgrade', 'cinderbox', 'cinder-backup']);
    assert.match(off, /disabled/);
    assert.match(await cinder.ok(['service-list', '--binary', 'cinder-backup', '--withreplication']), /upgrade/);
    await cinder.ok(['service-enable', 'cinderbox', 'cinder-backup']);
    await cinder.ok(['freeze-host', 'cinderbox@raw']);
    assert.match(await cinder.ok(['service-list', '--binary', 'cinder-volume']), /disabled/);
    await cinder.ok(['thaw-host', 'cinderbox@raw']);
    const got = await cinder.ok(['get-capabilities', 'cinderbox@raw']);
    assert.match(got, /storage_protocol\s*\|\s*local/);
    assert.match(got, /vendor_name\s*\|\s*Open Source/);
    await cinder.ok(['service-set-log', '--binary', 'cinder-volume', '--prefix', 'cinder.volume', 'DEBUG']);
    assert.match(await cinder.ok(['service-get-log', '--binary', 'cinder-volume', '--prefix', 'cinder.volume']), /cinder\.volume\s*\|\s*DEBUG/);
  } finally {
    await ts.close();
    await rm(home, { recursive: true, force: true });
  }
});
