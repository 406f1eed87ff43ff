import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HEARTBEAT_INTERVAL_SECONDS, SERVICE_DOWN_SECONDS } from '../../../services/service-registry.js';
import { startTestServer, waitFor, type TestServer } from '../../../test-support/harness.js';

/** A clock the test moves by hand, so heartbeat ages are exact. */
class ManualClock {
  ms = Date.parse('2026-01-01T00:00:00Z');
  now(): Date {
    return new Date(this.ms);
  }
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

describe('os-services switches, os-hosts, capabilities and quota classes', () => {
  let t: TestServer;
  const clock = new ManualClock();
  let admin: string;
  let adminProject: string;
  let member: { token: string; projectId: string };

  const call = (method: string, path: string, opts: { token?: string; body?: unknown; mv?: string } = {}) => t.request(method, path, opts);
  const svc = (action: string, body: unknown, mv?: string) =>
    call('PUT', `/v3/${adminProject}/os-services/${action}`, { token: admin, body, ...(mv ? { mv } : {}) });
  const services = async () => (await call('GET', `/v3/${adminProject}/os-services`, { token: admin })).body.services as any[];
  const volumeService = async () => (await services()).find((s) => s.binary === 'cinder-volume');
  const createVolume = async (who: { token: string; projectId: string }, size = 1) => {
    const r = await call('POST', `/v3/${who.projectId}/volumes`, { token: who.token, body: { volume: { size } } });
    assert.equal(r.status, 202, r.text);
    return r.body.volume.id as string;
  };
  const volumeStatus = async (who: { token: string; projectId: string }, id: string) =>
    (await call('GET', `/v3/${who.projectId}/volumes/${id}`, { token: who.token })).body.volume.status as string;
  const settled = (who: { token: string; projectId: string }, id: string) =>
    waitFor(async () => {
      const s = await volumeStatus(who, id);
      return s === 'available' || s === 'error' ? s : null;
    }, `volume ${id} settled`);
  const messagesAbout = async (who: { token: string; projectId: string }, id: string) =>
    (await call('GET', `/v3/${who.projectId}/messages?resource_uuid=${id}`, { token: who.token, mv: '3.5' })).body.messages as any[];

  before(async () => {
    t = await startTestServer({ backends: [{ name: 'raw', driver: 'raw', pool: 'raw' }] }, undefined, { clock });
    admin = t.adminToken;
    adminProject = t.adminProjectId;
    member = await t.createMember('svc-member');
  });
  after(() => t?.close());

  test('a disabled volume service takes no new volumes: they go to error with a "no backend" message until it is enabled', async () => {
    const off = await svc('disable-log-reason', { host: 'cinderbox@raw', binary: 'cinder-volume', disabled_reason: 'maintenance' });
    assert.equal(off.status, 200, off.text);
    assert.deepEqual(off.body, {
      disabled: true,
      disabled_reason: 'maintenance',
      host: 'cinderbox@raw',
      service: '',
      binary: 'cinder-volume',
      status: 'disabled',
    });
    const listed = await volumeService();
    assert.equal(listed.status, 'disabled');
    assert.equal(listed.disabled_reason, 'maintenance');

    const refused = await createVolume(member);
    assert.equal(await settled(member, refused), 'error');
    const [m] = await messagesAbout(member, refused);
    assert.equal(m?.event_id, 'VOLUME_VOLUME_001_003');
    assert.match(m.user_message, /Could not find any available weighted backend/);

    const on = await svc('enable', { host: 'cinderbox@raw', binary: 'cinder-volume' });
    assert.equal(on.status, 200, on.text);
    assert.equal(on.body.status, 'enabled');
    assert.equal(on.body.disabled, false);
    assert.equal((await volumeService()).disabled_reason, null);
    assert.equal(await settled(member, await createVolume(member)), 'available');
  });

  test('a disabled backup service fails new backups as Cinder does: 202, backup in error with a message, volume untouched', async () => {
    const vol = await createVolume(member);
    assert.equal(await settled(member, vol), 'available');
    assert.equal((await svc('disable', { host: 'cinderbox', binary: 'cinder-backup' })).status, 200);
    try {
      const r = await call('POST', `/v3/${member.projectId}/backups`, { token: member.token, body: { backup: { volume_id: vol } } });
      assert.equal(r.status, 202, r.text);
      const b = (await call('GET', `/v3/${member.projectId}/backups/${r.body.backup.id}`, { token: member.token })).body.backup;
      assert.equal(b.status, 'error');
      assert.equal(b.fail_reason, 'Service not found for creating backup.');
      assert.equal(await volumeStatus(member, vol), 'available');
      const [m] = await messagesAbout(member, r.body.backup.id);
      assert.equal(m?.event_id, 'VOLUME_VOLUME_BACKUP_013_024');
    } finally {
      assert.equal((await svc('enable', { host: 'cinderbox', binary: 'cinder-backup' })).status, 200);
    }
  });

  test('restoring a backup into a new volume while no volume service is enabled is refused with 400, nothing created', async () => {
    const vol = await createVolume(member);
    assert.equal(await settled(member, vol), 'available');
    const bk = await call('POST', `/v3/${member.projectId}/backups`, { token: member.token, body: { backup: { volume_id: vol } } });
    assert.equal(bk.status, 202, bk.text);
    await waitFor(
      async () => (await call('GET', `/v3/${member.projectId}/backups/${bk.body.backup.id}`, { token: member.token })).body.backup.status === 'available',
      'backup available',
    );
    const before = (await call('GET', `/v3/${member.projectId}/volumes`, { token: member.token })).body.volumes.length;
    assert.equal((await svc('disable', { host: 'cinderbox@raw', binary: 'cinder-volume' })).status, 200);
    try {
      const r = await call('POST', `/v3/${member.projectId}/backups/${bk.body.backup.id}/restore`, { token: member.token, body: { restore: {} } });
      assert.equal(r.status, 400, r.text);
      assert.match(r.body.badRequest.message, /No valid backend was found\. No volume service is enabled and up\./);
      assert.equal((await call('GET', `/v3/${member.projectId}/volumes`, { token: member.token })).body.volumes.length, before);
    } finally {
      assert.equal((await svc('enable', { host: 'cinderbox@raw', binary: 'cinder-volume' })).status, 200);
    }
  });

  test('freeze refuses management of the backend\'s volumes until thaw; a second freeze is refused', async () => {
    const vol = await createVolume(member);
    assert.equal(await settled(member, vol), 'available');
    const frozen = await svc('freeze', { host: 'cinderbox@raw' });
    assert.equal(frozen.status, 200, frozen.text);
    const listed = await volumeService();
    assert.deepEqual([listed.frozen, listed.status, listed.disabled_reason], [true, 'disabled', 'frozen']);
    const again = await svc('freeze', { host: 'cinderbox@raw' });
    assert.equal(again.status, 400);
    assert.match(again.body.badRequest.message, /already Frozen/);

    const del = await call('DELETE', `/v3/${member.projectId}/volumes/${vol}`, { token: member.token });
    assert.equal(del.status, 400, del.text);
    assert.match(del.body.badRequest.message, /not allowed on frozen storage backends/);
    const snap = await call('POST', `/v3/${member.projectId}/snapshots`, { token: member.token, body: { snapshot: { volume_id: vol } } });
    assert.equal(snap.status, 400, snap.text);
    assert.equal(await volumeStatus(member, vol), 'available');

    const thawed = await svc('thaw', { host: 'cinderbox' });
    assert.equal(thawed.status, 200, thawed.text);
    const back = await volumeService();
    assert.deepEqual([back.frozen, back.status], [false, 'enabled']);
    assert.equal((await svc('thaw', { host: 'cinderbox@raw' })).status, 400);
    assert.equal((await call('DELETE', `/v3/${member.projectId}/volumes/${vol}`, { token: member.token })).status, 202);
  });

  test('os-services updates answer Cinder\'s 400s and 404s and are admin only', async () => {
    const unknown = await svc('reboot', { host: 'cinderbox', binary: 'cinder-backup' });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.badRequest.message, 'Invalid input received: Unknown action');
    assert.equal((await svc('disable', { host: 'cinderbox' })).status, 400);
    assert.equal((await svc('disable', { binary: 'cinder-backup' })).status, 400);
    assert.equal((await svc('disable', { host: 'cinderbox', binary: 'cinder-backup', extra: 1 })).status, 400);
    assert.equal((await svc('disable-log-reason', { host: 'cinderbox', binary: 'cinder-backup', disabled_reason: '   ' })).status, 400);
    assert.equal((await svc('disable-log-reason', { host: 'cinderbox', binary: 'cinder-backup', disabled_reason: 'x'.repeat(256) })).status, 400);
    const missing = await svc('disable', { host: 'nowhere', binary: 'cinder-backup' });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.itemNotFound.message, 'Service cinder-backup on host nowhere could not be found.');
    assert.equal((await svc('freeze', { host: 'nowhere' })).status, 400);
    const m = await call('PUT', `/v3/${member.projectId}/os-services/disable`, { token: member.token, body: { host: 'cinderbox', binary: 'cinder-backup' } });
    assert.equal(m.status, 403);
    assert.equal((await services()).every((s) => s.status === 'enabled'), true);
  });

  test('a service whose heartbeat is older than the down time is listed down, and up again after the next one', async () => {
    assert.ok(HEARTBEAT_INTERVAL_SECONDS < SERVICE_DOWN_SECONDS);
    // The periodic heartbeat would stamp the moved clock at its next tick: this test beats by hand.
    await t.server.serviceRegistry.stop();
    // A clean stop records the services stopped (down at once); a beat by hand brings them back for the clock.
    assert.equal((await volumeService()).state, 'down');
    await t.server.serviceRegistry.heartbeat();
    assert.equal((await volumeService()).state, 'up');
    clock.advance(SERVICE_DOWN_SECONDS + 1);
    assert.deepEqual(
      (await services()).map((s) => s.state),
      ['down', 'down', 'down'],
    );
    const hosts = (await call('GET', `/v3/${adminProject}/os-hosts`, { token: admin })).body.hosts;
    assert.equal(hosts[0]['service-status'], 'unavailable');
    await t.server.serviceRegistry.heartbeat();
    const up = await volumeService();
    assert.equal(up.state, 'up');
    assert.equal(up.updated_at, '2026-01-01T00:01:01.000000');
  });

  test('log levels are set and read back per binary and prefix from 3.32', async () => {
    assert.equal((await svc('get-log', {}, '3.31')).status, 400);
    const set = await svc('set-log', { binary: 'cinder-volume', prefix: 'cinder.volume', level: 'debug' }, '3.32');
    assert.equal(set.status, 202, set.text);
    const got = await svc('get-log', { binary: 'cinder-volume', prefix: 'cinder.vol' }, '3.32');
    assert.equal(got.status, 200, got.text);
    assert.deepEqual(got.body, { log_levels: [{ host: 'cinderbox@raw', binary: 'cinder-volume', levels: { 'cinder.volume': 'DEBUG' } }] });
    // The root prefix is the process logger's level.
    assert.equal((await svc('set-log', { level: 'ERROR' }, '3.32')).status, 202);
    assert.equal(t.server.serviceRegistry['deps'].logger.level, 'error');
    const all = await svc('get-log', { binary: 'cinder-api' }, '3.32');
    assert.deepEqual(all.body.log_levels, [{ host: 'cinderbox', binary: 'cinder-api', levels: { cinder: 'ERROR' } }]);
    assert.equal((await svc('set-log', { level: 'LOUD' }, '3.32')).status, 400);
    assert.equal((await svc('set-log', { binary: 'nova-compute', level: 'INFO' }, '3.32')).status, 400);
    assert.equal((await svc('set-log', { level: 'WARNING' }, '3.32')).status, 202);
  });

  test('os-hosts lists every service and shows a volume host\'s usage as Cinder does', async () => {
    const list = await call('GET', `/v3/${adminProject}/os-hosts`, { token: admin });
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.body.hosts.map((h: any) => `${h.service} ${h.host_name} ${h.zone} ${h['service-state']}`),
      ['cinder-scheduler cinderbox nova enabled', 'cinder-volume cinderbox@raw nova enabled', 'cinder-backup cinderbox nova enabled'],
    );
    assert.deepEqual((await call('GET', `/v3/${adminProject}/os-hosts?zone=elsewhere`, { token: admin })).body.hosts, []);
    const other = await t.createMember('svc-hosts');
    const a = await createVolume(other, 2);
    const b = await createVolume(other, 3);
    await settled(other, a);
    await settled(other, b);
    const show = await call('GET', `/v3/${adminProject}/os-hosts/cinderbox@raw`, { token: admin });
    assert.equal(show.status, 200, show.text);
    const rows = show.body.host.map((r: any) => r.resource);
    assert.equal(rows[0].project, '(total)');
    assert.equal(rows[0].host, 'cinderbox@raw');
    const mine = rows.find((r: any) => r.project === other.projectId);
    assert.deepEqual(mine, { host: 'cinderbox@raw', project: other.projectId, volume_count: '2', total_volume_gb: '5', snapshot_count: '0', total_snapshot_gb: '0' });
    assert.ok(Number(rows[0].volume_count) >= 2);
    assert.equal((await call('GET', `/v3/${adminProject}/os-hosts/cinderbox`, { token: admin })).status, 404);
    assert.equal((await call('GET', `/v3/${member.projectId}/os-hosts`, { token: member.token })).status, 403);
  });

  test('capabilities of a volume host carry protocol, vendor, driver version and properties; pools report the same', async () => {
    const caps = await call('GET', `/v3/${adminProject}/capabilities/cinderbox@raw`, { token: admin });
    assert.equal(caps.status, 200, caps.text);
    assert.equal(caps.body.namespace, 'OS::Storage::Capabilities::cinderbox@raw');
    assert.equal(caps.body.volume_backend_name, 'raw');
    assert.equal(caps.body.storage_protocol, 'local');
    assert.equal(caps.body.vendor_name, 'Open Source');
    assert.equal(caps.body.driver_version, '1.0.0');
    assert.equal(caps.body.properties.thin_provisioning.type, 'boolean');
    const pools = (await call('GET', `/v3/${adminProject}/scheduler-stats/get_pools?detail=true`, { token: admin })).body.pools;
    assert.equal(pools[0].capabilities.storage_protocol, caps.body.storage_protocol);
    assert.equal(pools[0].capabilities.vendor_name, caps.body.vendor_name);
    const missing = await call('GET', `/v3/${adminProject}/capabilities/nowhere`, { token: admin });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.itemNotFound.message, "Can't find service: nowhere");
    assert.equal((await call('GET', `/v3/${member.projectId}/capabilities/cinderbox@raw`, { token: member.token })).status, 403);
  });

  test('the default quota class drives the defaults of projects without their own limits; other classes read over it', async () => {
    const fresh = await t.createMember('svc-quota');
    const upd = await call('PUT', `/v3/${adminProject}/os-quota-class-sets/default`, {
      token: admin,
      body: { quota_class_set: { volumes: 3, gigabytes___DEFAULT__: 7, no_such_key: 5 } },
    });
    assert.equal(upd.status, 200, upd.text);
    assert.equal(upd.body.quota_class_set.volumes, 3);
    assert.equal(upd.body.quota_class_set.no_such_key, undefined);
    assert.equal(upd.body.quota_class_set.gigabytes___DEFAULT__, 7);
    const shown = (await call('GET', `/v3/${adminProject}/os-quota-class-sets/default`, { token: admin })).body.quota_class_set;
    assert.equal(shown.volumes, 3);
    assert.equal(shown.id, 'default');
    const projectQuota = (await call('GET', `/v3/${fresh.projectId}/os-quota-sets/${fresh.projectId}`, { token: fresh.token })).body.quota_set;
    assert.equal(projectQuota.volumes, 3);
    const defaults = (await call('GET', `/v3/${fresh.projectId}/os-quota-sets/${fresh.projectId}/defaults`, { token: fresh.token })).body.quota_set;
    assert.equal(defaults.volumes, 3);
    // Enforced: the fourth volume of a project on the class's defaults is refused.
    for (let i = 0; i < 3; i++) await createVolume(fresh);
    const fourth = await call('POST', `/v3/${fresh.projectId}/volumes`, { token: fresh.token, body: { volume: { size: 1 } } });
    assert.equal(fourth.status, 413, fourth.text);

    const gold = await call('PUT', `/v3/${adminProject}/os-quota-class-sets/gold`, { token: admin, body: { quota_class_set: { snapshots: 50 } } });
    assert.equal(gold.status, 200, gold.text);
    assert.deepEqual([gold.body.quota_class_set.snapshots, gold.body.quota_class_set.volumes], [50, 3]);

    assert.equal((await call('PUT', `/v3/${adminProject}/os-quota-class-sets/default`, { token: admin, body: { quota_class_set: { volumes: -2 } } })).status, 400);
    assert.equal((await call('PUT', `/v3/${adminProject}/os-quota-class-sets/default`, { token: admin, body: { quota_class_set: { volumes: 'many' } } })).status, 400);
    assert.equal((await call('PUT', `/v3/${adminProject}/os-quota-class-sets/default`, { token: admin, body: { other: {} } })).status, 400);
    const m = await call('PUT', `/v3/${member.projectId}/os-quota-class-sets/default`, { token: member.token, body: { quota_class_set: { volumes: 100 } } });
    assert.equal(m.status, 403);
    assert.equal(
      (await call('PUT', `/v3/${adminProject}/os-quota-class-sets/default`, { token: admin, body: { quota_class_set: { volumes: -1 } } })).status,
      200,
    );
  });
});

describe('os-services steering with two backends', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({
      backends: [
        { name: 'raw', driver: 'raw', pool: 'raw' },
        { name: 'qcow2', driver: 'qcow2', pool: 'qcow2' },
      ],
    });
  });
  after(() => t?.close());

  test('new volumes go to the backend whose volume service is still enabled, and back once it is re-enabled', async () => {
    const p = t.adminProjectId;
    const hostOf = async () => {
      const r = await t.request('POST', `/v3/${p}/volumes`, { token: t.adminToken, body: { volume: { size: 1 } } });
      assert.equal(r.status, 202, r.text);
      const id = r.body.volume.id as string;
      const v = await waitFor(async () => {
        const body = (await t.request('GET', `/v3/${p}/volumes/${id}`, { token: t.adminToken })).body.volume;
        return body.status === 'available' ? body : null;
      }, `volume ${id} available`);
      return v['os-vol-host-attr:host'] as string;
    };
    assert.equal(await hostOf(), 'cinderbox@raw#raw');
    const off = await t.request('PUT', `/v3/${p}/os-services/disable`, { token: t.adminToken, body: { host: 'cinderbox@raw', binary: 'cinder-volume' } });
    assert.equal(off.status, 200, off.text);
    assert.equal(await hostOf(), 'cinderbox@qcow2#qcow2');
    assert.equal((await t.request('PUT', `/v3/${p}/os-services/enable`, { token: t.adminToken, body: { host: 'cinderbox@raw', binary: 'cinder-volume' } })).status, 200);
    assert.equal(await hostOf(), 'cinderbox@raw#raw');
  });
});
