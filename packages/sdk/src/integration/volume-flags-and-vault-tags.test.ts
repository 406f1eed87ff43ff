/**
 * Volume bootable/read-only actions, resource filters, CBR vault tags and resource migration through the SDK
 * against the live server.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
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

test('setVolumeBootable and setVolumeReadonly change what the volume shows', async () => {
  const bs = admin.blockStorage;
  const v = await bs.createVolume({ size: 1 });
  assert.equal((await bs.waitForStatus(v, fast)).state, 'success');
  await bs.setVolumeBootable(v, true);
  await bs.setVolumeReadonly(v, true);
  let shown = await bs.getVolume(v.id as string);
  assert.equal(shown.isBootable, true);
  assert.equal(shown.metadata?.readonly, 'True');
  await bs.setVolumeBootable(v, false);
  await bs.setVolumeReadonly(v, false);
  shown = await bs.getVolume(v.id as string);
  assert.equal(shown.isBootable, false);
  assert.equal(shown.metadata?.readonly, 'False');
  await bs.deleteVolume(v);
});

test('resourceFilters lists every resource, or one, or none for an unknown one', async () => {
  const bs = admin.blockStorage;
  const all = await bs.resourceFilters();
  assert.ok(all.some((f) => f.resource === 'volume' && f.filters.includes('bootable')));
  assert.deepEqual(await bs.resourceFilters('backup'), [{ resource: 'backup', filters: ['name', 'status', 'volume_id'] }]);
  assert.deepEqual(await bs.resourceFilters('nothing'), []);
});

test('vault tags are added, listed per vault and per project, removed; migrateResources moves a volume', async () => {
  const cbr = admin.cbr;
  const bs = admin.blockStorage;
  const vol = await bs.createVolume({ size: 1 });
  assert.equal((await bs.waitForStatus(vol, fast)).state, 'success');
  const billing = { consistentLevel: 'crash_consistent', objectType: 'disk', protectType: 'backup', size: 10 };
  const a = await cbr.createVault({ name: 'tags-a', billing, resources: [{ id: vol.id as string, type: 'OS::Cinder::Volume' }] });
  const b = await cbr.createVault({ name: 'tags-b', billing });

  await cbr.addVaultTags(a, [
    { key: 'env', value: 'prod' },
    { key: 'team', value: 'db' },
  ]);
  await cbr.addVaultTags(b, [{ key: 'env', value: 'test' }]);
  const tags = await cbr.vaultTags(a);
  assert.deepEqual(
    tags.sort((x, y) => x.key.localeCompare(y.key)),
    [
      { key: 'env', value: 'prod' },
      { key: 'team', value: 'db' },
    ],
  );
  const env = (await cbr.projectVaultTags()).find((tag) => tag.key === 'env');
  assert.deepEqual(env?.values.sort(), ['prod', 'test']);
  await cbr.removeVaultTags(a, [{ key: 'team' }]);
  assert.deepEqual(await cbr.vaultTags(a), [{ key: 'env', value: 'prod' }]);

  assert.deepEqual(await cbr.migrateResources(a, [vol.id as string], b), [vol.id]);
  assert.deepEqual((await cbr.getVault(b)).resources?.map((r) => r.id), [vol.id]);
  assert.deepEqual((await cbr.getVault(a)).resources, []);
});
