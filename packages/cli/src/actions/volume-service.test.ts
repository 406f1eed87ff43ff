import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from '../../../server/src/test-support/harness.js';
import { adminEnv, Cli } from '../test-support/cli.js';

let ts: TestServer;
let admin: Cli;

before(async () => {
  ts = await startTestServer({ backends: [{ name: 'raw', driver: 'raw', pool: 'raw' }] });
  admin = new Cli(adminEnv(ts.dataDir));
});
after(async () => ts?.close());

test('volume service list/set, volume host set (freeze/thaw) and volume backend capability show / pool list', async () => {
  const services = await admin.json(['volume', 'service', 'list']);
  assert.deepEqual(
    services.map((s: any) => `${s.Binary} ${s.Host} ${s.Status} ${s.State}`),
    ['cinder-scheduler cinderbox enabled up', 'cinder-volume cinderbox@raw enabled up', 'cinder-backup cinderbox enabled up'],
  );
  await admin.ok(['volume', 'service', 'set', 'cinderbox@raw', 'cinder-volume', '--disable', '--disable-reason', 'disk swap']);
  const long = await admin.json(['volume', 'service', 'list', '--service', 'cinder-volume', '--long']);
  assert.deepEqual([long[0].Status, long[0]['Disabled Reason']], ['disabled', 'disk swap']);
  const noDisable = await admin.run(['volume', 'service', 'set', 'cinderbox@raw', 'cinder-volume', '--disable-reason', 'x']);
  assert.equal(noDisable.code, 1);
  assert.match(noDisable.stderr, /Cannot specify option --disable-reason without --disable specified/);
  await admin.ok(['volume', 'service', 'set', 'cinderbox@raw', 'cinder-volume', '--enable']);
  assert.equal((await admin.json(['volume', 'service', 'list', '--host', 'cinderbox@raw']))[0].Status, 'enabled');
  const missing = await admin.run(['volume', 'service', 'set', 'nowhere', 'cinder-volume', '--enable']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /could not be found/);

  await admin.ok(['volume', 'host', 'set', 'cinderbox@raw', '--disable']);
  assert.equal((await admin.json(['volume', 'service', 'list', '--service', 'cinder-volume', '--long']))[0]['Disabled Reason'], 'frozen');
  await admin.ok(['volume', 'host', 'set', 'cinderbox@raw', '--enable']);
  assert.equal((await admin.json(['volume', 'service', 'list', '--service', 'cinder-volume']))[0].Status, 'enabled');

  const caps = await admin.json(['volume', 'backend', 'capability', 'show', 'cinderbox@raw']);
  assert.ok(caps.some((c: any) => c.Key === 'thin_provisioning' && c.Title === 'Thin Provisioning' && c.Type === 'boolean'));
  const pools = await admin.json(['volume', 'backend', 'pool', 'list', '--long']);
  assert.deepEqual(
    [pools[0].Name, pools[0].Capabilities.storage_protocol, pools[0].Capabilities.vendor_name],
    ['cinderbox@raw#raw', 'local', 'Open Source'],
  );
  assert.deepEqual(await admin.json(['volume', 'backend', 'pool', 'list']), [{ Name: 'cinderbox@raw#raw' }]);
});

test('quota set/show for a project, a volume type and the default class', async () => {
  await admin.ok(['quota', 'set', '--class', 'default', '--snapshots', '40', '--volume-type', '__DEFAULT__', '--gigabytes', '300']);
  const cls = await admin.json(['quota', 'show', '--class', 'default']);
  assert.equal(cls.gigabytes___DEFAULT__, 300);
  await admin.ok(['quota', 'set', '--class', 'default', '--snapshots', '40']);
  assert.equal((await admin.json(['quota', 'show', '--class', 'default'])).snapshots, 40);
  assert.equal((await admin.json(['quota', 'show', '--default', 'admin'])).snapshots, 40);
  await admin.ok(['quota', 'set', 'admin', '--volumes', '25']);
  const mine = await admin.json(['quota', 'show', 'admin']);
  assert.deepEqual([mine.volumes, mine.snapshots], [25, 40]);
  const usage = await admin.json(['quota', 'show', '--usage']);
  assert.deepEqual(usage.volumes, { limit: 25, in_use: 0, reserved: 0 });
  await admin.ok(['quota', 'set', '--class', 'default', '--snapshots', '-1', '--volume-type', '__DEFAULT__', '--gigabytes', '-1']);
});
