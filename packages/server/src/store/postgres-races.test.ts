/**
 * Conflicting requests fired at once: exactly one wins and the state stays consistent. SQLite runs one writer
 * at a time, which hides check-then-write races; PostgreSQL under READ COMMITTED runs these transactions side by
 * side, so this file matters most in the PostgreSQL pass of `npm test` (CINDERBOX_TEST_DATABASE_URL).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { cbr, createVault } from '../api/cbr/test-support/cbr.js';
import { startTestServer, type TestResponse, type TestServer, waitFor } from '../test-support/harness.js';

const N = 50;
type Who = { token: string; projectId: string };

let t: TestServer;
let admin: Who;

function count(responses: TestResponse[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const r of responses) out[r.status] = (out[r.status] ?? 0) + 1;
  return out;
}

async function status(who: Who, kind: 'volumes' | 'snapshots', id: string): Promise<string | null> {
  const r = await t.request('GET', `/v3/${who.projectId}/${kind}/${id}`, { token: who.token });
  return r.status === 404 ? null : (r.body[kind === 'volumes' ? 'volume' : 'snapshot'].status as string);
}

async function until(who: Who, kind: 'volumes' | 'snapshots', id: string, want: string | null): Promise<void> {
  await waitFor(async () => (await status(who, kind, id)) === want, `${kind} ${id} ${want ?? 'gone'}`, 30_000);
}

async function volume(who: Who): Promise<string> {
  const r = await t.request('POST', `/v3/${who.projectId}/volumes`, { token: who.token, body: { volume: { size: 1 } } });
  assert.equal(r.status, 202, r.text);
  await until(who, 'volumes', r.body.volume.id, 'available');
  return r.body.volume.id as string;
}

before(async () => {
  t = await startTestServer({ backends: [{ name: 'raw', driver: 'raw', pool: 'raw' }] });
  admin = { token: t.adminToken, projectId: t.adminProjectId };
  const q = await t.request('PUT', `/v3/${admin.projectId}/os-quota-sets/${admin.projectId}`, {
    token: admin.token,
    body: { quota_set: { volumes: -1, snapshots: -1, gigabytes: -1 } },
  });
  assert.equal(q.status, 200, q.text);
});
after(async () => t?.close());

describe(`${N} conflicting requests at once`, () => {
  test('deleting one snapshot: one delete is accepted, the rest are refused, and the snapshot goes', async () => {
    const vol = await volume(admin);
    const s = await t.request('POST', `/v3/${admin.projectId}/snapshots`, { token: admin.token, body: { snapshot: { volume_id: vol } } });
    assert.equal(s.status, 202, s.text);
    const snap = s.body.snapshot.id as string;
    await until(admin, 'snapshots', snap, 'available');
    const rs = await Promise.all(Array.from({ length: N }, () => t.request('DELETE', `/v3/${admin.projectId}/snapshots/${snap}`, { token: admin.token })));
    const c = count(rs);
    assert.equal(c[202], 1, JSON.stringify(c));
    assert.equal((c[400] ?? 0) + (c[404] ?? 0), N - 1, JSON.stringify(c));
    await until(admin, 'snapshots', snap, null);
  });

  test('snapshot creates racing a volume delete: either the delete wins and no snapshot exists, or it is refused', async () => {
    const vol = await volume(admin);
    const calls: Promise<TestResponse>[] = [];
    for (let i = 0; i < N; i++) {
      if (i === N / 2) calls.push(t.request('DELETE', `/v3/${admin.projectId}/volumes/${vol}`, { token: admin.token }));
      calls.push(t.request('POST', `/v3/${admin.projectId}/snapshots`, { token: admin.token, body: { snapshot: { volume_id: vol, name: `race-${i}` } } }));
    }
    const rs = await Promise.all(calls);
    const del = rs[N / 2]!;
    const creates = rs.filter((_, i) => i !== N / 2);
    const made = creates.filter((r) => r.status === 202).map((r) => r.body.snapshot.id as string);
    assert.ok(creates.every((r) => [202, 400, 404].includes(r.status)), JSON.stringify(count(creates)));
    await t.server.tasks.idle();
    const listed = await t.request('GET', `/v3/${admin.projectId}/snapshots?volume_id=${vol}&all_tenants=1`, { token: admin.token });
    const listedIds = (listed.body.snapshots as { id: string }[]).map((x) => x.id).sort();
    if (del.status === 202) {
      assert.deepEqual(made, [], 'a snapshot was accepted for a volume being deleted');
      await until(admin, 'volumes', vol, null);
      assert.deepEqual(listedIds, []);
    } else {
      assert.equal(del.status, 400, del.text);
      assert.ok(made.length > 0, 'the delete was refused although no snapshot was made');
      assert.deepEqual(listedIds, [...made].sort());
      assert.equal(await status(admin, 'volumes', vol), 'available');
    }
  });

  test('reserving one volume: one os-reserve wins, the rest are refused, and the volume is attaching', async () => {
    const vol = await volume(admin);
    const rs = await Promise.all(
      Array.from({ length: N }, () =>
        t.request('POST', `/v3/${admin.projectId}/volumes/${vol}/action`, { token: admin.token, body: { 'os-reserve': null } }),
      ),
    );
    const c = count(rs);
    assert.equal(c[202], 1, JSON.stringify(c));
    assert.equal(c[400], N - 1, JSON.stringify(c));
    assert.equal(await status(admin, 'volumes', vol), 'attaching');
  });

  test('volume creates against a quota of 5: exactly 5 are accepted and usage says 5', async () => {
    const m = await t.createMember('racer');
    const q = await t.request('PUT', `/v3/${admin.projectId}/os-quota-sets/${m.projectId}`, {
      token: admin.token,
      body: { quota_set: { volumes: 5, gigabytes: 1000 } },
    });
    assert.equal(q.status, 200, q.text);
    const rs = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        t.request('POST', `/v3/${m.projectId}/volumes`, { token: m.token, body: { volume: { size: 1, name: `q${i}` } } }),
      ),
    );
    const c = count(rs);
    assert.equal(c[202], 5, JSON.stringify(c));
    assert.equal(c[413], N - 5, JSON.stringify(c));
    await t.server.tasks.idle();
    const usage = await t.request('GET', `/v3/${m.projectId}/os-quota-sets/${m.projectId}?usage=true`, { token: m.token });
    assert.equal(usage.body.quota_set.volumes.in_use, 5, JSON.stringify(usage.body.quota_set.volumes));
    assert.equal(usage.body.quota_set.gigabytes.in_use, 5, JSON.stringify(usage.body.quota_set.gigabytes));
    const list = await t.request('GET', `/v3/${m.projectId}/volumes`, { token: m.token });
    assert.equal(list.body.volumes.length, 5);
  });

  test('importing one backup record under one id: one import wins, the rest are refused', async () => {
    const vol = await volume(admin);
    const b = await t.request('POST', `/v3/${admin.projectId}/backups`, { token: admin.token, body: { backup: { volume_id: vol } } });
    assert.equal(b.status, 202, b.text);
    await waitFor(
      async () => (await t.request('GET', `/v3/${admin.projectId}/backups/${b.body.backup.id}`, { token: admin.token })).body.backup.status === 'available',
      'backup available',
      30_000,
    );
    const rec = (await t.request('GET', `/v3/${admin.projectId}/backups/${b.body.backup.id}/export_record`, { token: admin.token })).body['backup-record'];
    const body = JSON.parse(Buffer.from(rec.backup_url, 'base64').toString('utf8'));
    const copy = { backup_service: rec.backup_service, backup_url: Buffer.from(JSON.stringify({ ...body, id: randomUUID() })).toString('base64') };
    const rs = await Promise.all(
      Array.from({ length: 20 }, () =>
        t.request('POST', `/v3/${admin.projectId}/backups/import_record`, { token: admin.token, body: { 'backup-record': copy } }),
      ),
    );
    const c = count(rs);
    assert.equal(c[201], 1, JSON.stringify(c));
    assert.equal(c[400], 19, JSON.stringify(c));
  });

  test('adding one disk to 20 CBR vaults at once: one vault gets it, the rest are refused with 6103', async () => {
    const vol = await volume(admin);
    const vaults = await Promise.all(Array.from({ length: 20 }, (_, i) => createVault(t, admin, `race-${i}`, [])));
    const rs = await Promise.all(
      vaults.map((v) => cbr(t, admin, 'POST', `/vaults/${v.id}/addresources`, { resources: [{ id: vol, type: 'OS::Cinder::Volume' }] })),
    );
    const c = count(rs);
    assert.equal(c[200], 1, JSON.stringify(c));
    assert.equal(c[400], 19, JSON.stringify(c));
    assert.ok(rs.filter((r) => r.status === 400).every((r) => r.body.error_code === 'BackupService.6103'), JSON.stringify(rs.map((r) => r.body)));
  });

  test('creating one project name: one create wins, the rest conflict', async () => {
    const rs = await Promise.all(
      Array.from({ length: N }, () =>
        t.request('POST', '/identity/v3/projects', { token: admin.token, body: { project: { name: 'race-project', domain_id: 'default' } } }),
      ),
    );
    const c = count(rs);
    assert.equal(c[201], 1, JSON.stringify(c));
    assert.equal(c[409], N - 1, JSON.stringify(c));
    const list = await t.request('GET', '/identity/v3/projects?name=race-project', { token: admin.token });
    assert.equal(list.body.projects.length, 1);
  });
});
