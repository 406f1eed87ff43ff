/**
 * Services, hosts, capabilities, quota classes and CBR auto-bind through the SDK against the live server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Connection } from '../connection.js';
import { adminConnection, startTestServer, type TestServer } from '../test-support/live.js';

let t: TestServer;
let admin: Connection;
const fast = { minDelayMs: 5, maxDelayMs: 50, waitTimeoutMs: 30_000 };

before(async () => {
  t = await startTestServer();
  admin = adminConnection(t.url);
});
after(async () => {
  await t.close();
});

describe('block-storage services, hosts and capabilities', () => {
  test('disable with a reason steers volumes away, enable brings them back; freeze and thaw; log levels', async () => {
    const bs = admin.blockStorage;
    const volumeServices = await bs.services({ binary: 'cinder-volume' });
    assert.equal(volumeServices[0]?.state, 'up');
    const host = volumeServices[0]!.host;

    const off = await bs.disableService(host, 'cinder-volume', { reason: 'maintenance' });
    assert.deepEqual([off.status, off.disabled, off.disabledReason], ['disabled', true, 'maintenance']);
    assert.equal((await bs.services({ host, binary: 'cinder-volume' }))[0]?.disabledReason, 'maintenance');
    const refused = await bs.createVolume({ size: 1 });
    assert.equal((await bs.waitForStatus(refused, fast)).state, 'failure');
    const on = await bs.enableService(host, 'cinder-volume');
    assert.equal(on.status, 'enabled');
    const ok = await bs.createVolume({ size: 1 });
    assert.equal((await bs.waitForStatus(ok, fast)).state, 'success');

    await bs.freezeHost(host);
    assert.equal((await bs.services({ host, binary: 'cinder-volume' }))[0]?.frozen, true);
    await bs.thawHost(host);
    assert.equal((await bs.services({ host, binary: 'cinder-volume' }))[0]?.frozen, false);

    await bs.setServiceLogLevel('DEBUG', { binary: 'cinder-backup', prefix: 'cinder.backup' });
    const levels = await bs.getServiceLogLevels({ binary: 'cinder-backup', prefix: 'cinder.backup' });
    assert.deepEqual(levels[0]?.levels, { 'cinder.backup': 'DEBUG' });
  });

  test('hosts, a host\'s usage and a backend\'s capabilities', async () => {
    const bs = admin.blockStorage;
    const hosts = await bs.hosts();
    const volumeHost = hosts.find((h) => h.service === 'cinder-volume');
    assert.equal(volumeHost?.serviceStatus, 'available');
    const usage = await bs.getHost(volumeHost!.hostName);
    assert.equal(usage[0]?.project, '(total)');
    assert.ok(usage[0]!.volumeCount >= 1);
    const caps = await bs.getBackendCapabilities(volumeHost!.hostName);
    assert.equal(caps.storageProtocol, 'local');
    assert.equal(caps.vendorName, 'Open Source');
    assert.ok('thin_provisioning' in caps.properties);
  });

  test('quota classes: the default class sets what projects without their own limits get', async () => {
    const bs = admin.blockStorage;
    const updated = await bs.updateQuotaClassSet('default', { snapshots: 33 });
    assert.equal(updated.limits.snapshots, 33);
    assert.equal((await bs.getQuotaClassSet()).limits.snapshots, 33);
    const member = await t.createMember('sdk-quota-class');
    assert.equal((await bs.getQuotaSet(member.projectId)).snapshots, 33);
    await bs.updateQuotaClassSet('default', { snapshots: -1 });
  });
});

describe('CBR auto-bind', () => {
  test('a new volume whose metadata matches an auto-bind vault\'s rules joins it', async () => {
    const vault = await admin.cbr.createVault({
      name: 'auto',
      autoBind: true,
      bindRules: { tags: [{ key: 'protect', value: 'yes' }] },
      billing: { consistentLevel: 'crash_consistent', objectType: 'disk', protectType: 'backup', size: 10 },
      resources: [],
    });
    assert.equal(vault.autoBind, true);
    const bs = admin.blockStorage;
    const bound = await bs.createVolume({ size: 1, metadata: { protect: 'yes' } });
    const loose = await bs.createVolume({ size: 1 });
    await bs.waitForStatus(bound, fast);
    await bs.waitForStatus(loose, fast);
    const ids = ((await admin.cbr.getVault(vault)).resources ?? []).map((r) => r.id);
    assert.deepEqual(ids, [bound.id]);
    await admin.cbr.updateVault(vault, { autoBind: false });
  });
});
