/**
 * The SDK's retype and migration against the live cinderbox server over a real socket: a same-backend retype,
 * and (with qcow2 available) a retype and a migration that move the data between the raw and qcow2 backends.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import type { Connection } from '../connection.js';
import { BadRequestError, ForbiddenError, NotFoundError } from '../errors.js';
import { adminConnection, memberConnection, startTestServer, type TestServer } from '../test-support/live.js';

const hasQemu = (() => {
  try {
    execFileSync('qemu-img', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

let t: TestServer;
let admin: Connection;
let alice: Connection;
const fast = { minDelayMs: 5, maxDelayMs: 50, waitTimeoutMs: 30_000 };

before(async () => {
  t = await startTestServer({
    backends: hasQemu
      ? [
          { name: 'raw', driver: 'raw', pool: 'raw' },
          { name: 'qcow2', driver: 'qcow2', pool: 'qcow2' },
        ]
      : [{ name: 'raw', driver: 'raw', pool: 'raw' }],
  });
  admin = adminConnection(t.url);
  await t.createMember('sdk-retype-alice');
  alice = memberConnection(t.url, 'sdk-retype-alice');
});
after(async () => t.close());

async function until(conn: Connection, id: string, ok: (v: { status?: string; volumeType?: string; migrationStatus?: string; host?: string }) => boolean) {
  const end = Date.now() + 30_000;
  for (;;) {
    const v = await conn.blockStorage.getVolume(id);
    if (ok(v as never)) return v;
    if (Date.now() > end) throw new Error(`volume ${id} never got there: ${v.status} ${v.volumeType}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('retype and migrate', () => {
  test('retypeVolume between types of one backend; refusals are typed errors', async () => {
    const bs = admin.blockStorage;
    await bs.createVolumeType({ name: 'sdk-a' });
    await bs.createVolumeType({ name: 'sdk-b' });
    const v = await bs.createVolume({ size: 1, volumeType: 'sdk-a' });
    assert.equal((await bs.waitForStatus(v, fast)).state, 'success');
    await bs.retypeVolume(v, 'sdk-b');
    assert.equal((await bs.getVolume(v.id as string)).volumeType, 'sdk-b');
    await assert.rejects(bs.retypeVolume(v, 'sdk-b'), BadRequestError);
    await assert.rejects(bs.retypeVolume(v, 'sdk-none'), NotFoundError);
    await assert.rejects(alice.blockStorage.migrateVolume(v.id as string, { host: 'x@y#z' }), (e: unknown) => e instanceof ForbiddenError || e instanceof NotFoundError);
    await assert.rejects(bs.migrateVolume(v, { host: 'nowhere@none#none' }), NotFoundError);
    await bs.deleteVolume(v);
  });

  test('on-demand retype and migrateVolume move the data between backends', { skip: hasQemu ? false : 'qemu-img is not installed: one backend only' }, async () => {
    const bs = admin.blockStorage;
    await bs.createVolumeType({ name: 'sdk-raw', extraSpecs: { volume_backend_name: 'raw' } });
    await bs.createVolumeType({ name: 'sdk-qcow2', extraSpecs: { volume_backend_name: 'qcow2' } });
    const v = await bs.createVolume({ size: 1, volumeType: 'sdk-raw' });
    assert.equal((await bs.waitForStatus(v, fast)).state, 'success');
    await bs.retypeVolume(v, 'sdk-qcow2', 'on-demand');
    const moved = await until(admin, v.id as string, (x) => x.status === 'available' && x.volumeType === 'sdk-qcow2');
    assert.equal(moved.migrationStatus, 'success');
    const host = moved.host as string;
    assert.match(host, /@qcow2#qcow2$/);
    // A type that names a backend keeps its volumes there: migrating one elsewhere fails as Cinder's scheduler
    // makes it (accepted, migration_status error, the volume where it was). A type without one lets it go.
    await bs.migrateVolume(v, { host: host.replace(/@qcow2#qcow2$/, '@raw#raw') });
    const refused = await until(admin, v.id as string, (x) => x.migrationStatus === 'error');
    assert.match(refused.host as string, /@qcow2#qcow2$/);
    await bs.createVolumeType({ name: 'sdk-anywhere' });
    await bs.retypeVolume(v, 'sdk-anywhere');
    await bs.migrateVolume(v, { host: host.replace(/@qcow2#qcow2$/, '@raw#raw') });
    const back = await until(admin, v.id as string, (x) => x.status === 'available' && /@raw#raw$/.test(x.host ?? ''));
    assert.equal(back.volumeType, 'sdk-anywhere');
    assert.equal(back.migrationStatus, 'success');
    await bs.deleteVolume(v);
  });
});
