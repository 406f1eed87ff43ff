import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestServer } from '../../test-support/harness.js';
import { backupsOf, type Caller, cbr, checkpoint, createVault, createVolume, noise, startCbrServer, waitVolume, writeVolume } from './test-support/cbr.js';

const MiB = 1024 * 1024;

describe('CBR vaults keep their auto_bind and auto_expand promises', () => {
  let ts: TestServer;
  let me: Caller;
  before(async () => {
    // A billing GB of 1 MiB lets a few MiB of test data fill a vault.
    ts = await startCbrServer({}, undefined, { cbr: { gigabyte: MiB } });
    const m = await ts.createMember('cbr-auto');
    me = { token: m.token, projectId: m.projectId };
  });
  after(async () => ts.close());

  const newVault = async (name: string, extra: Record<string, unknown>) => {
    const r = await cbr(ts, me, 'POST', '/vaults', {
      vault: {
        name,
        billing: { consistent_level: 'crash_consistent', object_type: 'disk', protect_type: 'backup', size: 10 },
        resources: [],
        ...extra,
      },
    });
    assert.equal(r.status, 200, r.text);
    return r.body.vault.id as string;
  };
  const volumeWith = async (metadata: Record<string, string>) => {
    const r = await ts.request('POST', `/v3/${me.projectId}/volumes`, { token: me.token, body: { volume: { size: 1, metadata } } });
    assert.equal(r.status, 202, r.text);
    await waitVolume(ts, me, r.body.volume.id, 'available');
    return r.body.volume.id as string;
  };
  const resourcesOf = async (vaultId: string) =>
    ((await cbr(ts, me, 'GET', `/vaults/${vaultId}`)).body.vault.resources as { id: string }[]).map((r) => r.id).sort();

  it('binds a new volume to the oldest auto_bind vault whose tag rules its metadata matches, and leaves others alone', async () => {
    const daily = await newVault('daily', { auto_bind: true, bind_rules: { tags: [{ key: 'backup', value: 'daily' }] } });
    const anyTier = await newVault('tiered', { auto_bind: true, bind_rules: { tags: [{ key: 'tier', value: '' }] } });
    const manual = await newVault('manual', { auto_bind: false, bind_rules: { tags: [{ key: 'backup', value: 'daily' }] } });

    const a = await volumeWith({ backup: 'daily', tier: 'gold' });
    const b = await volumeWith({ tier: 'silver' });
    const c = await volumeWith({ backup: 'weekly' });
    assert.deepEqual(await resourcesOf(daily), [a]);
    assert.deepEqual(await resourcesOf(anyTier), [b]);
    assert.deepEqual(await resourcesOf(manual), []);

    // Turning auto_bind on later applies to volumes created from then on; a vault without rules takes any volume.
    const upd = await cbr(ts, me, 'PUT', `/vaults/${manual}`, { vault: { auto_bind: true, bind_rules: {} } });
    assert.equal(upd.status, 200, upd.text);
    assert.equal(upd.body.vault.auto_bind, true);
    const d = await volumeWith({});
    assert.deepEqual(await resourcesOf(manual), [d]);
    assert.equal((await resourcesOf(daily)).includes(c), false);

    // The bound volume is backed up by a checkpoint of its vault like any added one.
    const { done } = await checkpoint(ts, me, daily);
    assert.equal(done.status, 'available');
    assert.equal((await backupsOf(ts, me, `vault_id=${daily}`))[0].resource_id, a);
    for (const v of [manual, daily, anyTier]) await cbr(ts, me, 'PUT', `/vaults/${v}`, { vault: { auto_bind: false } });
  });

  it('grows a full auto_expand vault to fit the backup instead of failing it with 6114', async () => {
    const vol = await createVolume(ts, me, 'grow');
    await writeVolume(ts, vol, 0, noise(768 * 1024));
    const growing = await createVault(ts, me, 'growing', [vol], 1);
    assert.equal((await cbr(ts, me, 'PUT', `/vaults/${growing.id}`, { vault: { auto_expand: true } })).status, 200);
    const first = await checkpoint(ts, me, growing.id);
    assert.equal(first.done.status, 'available');
    await writeVolume(ts, vol, 8 * MiB, noise(768 * 1024));
    const second = await checkpoint(ts, me, growing.id);
    assert.equal(second.done.status, 'available');
    const v = (await cbr(ts, me, 'GET', `/vaults/${growing.id}`)).body.vault;
    assert.equal(v.auto_expand, true);
    // 1.5 MiB stored in a vault of one (test) GB: the plain vault fails this backup with 6114 (vaults.test.ts).
    assert.equal(v.billing.size, 2);
    assert.ok(v.billing.used > 1024, `used ${v.billing.used} MB`);
    // Each backup that would overflow grows it again, to the whole GB count that holds what is stored.
    await writeVolume(ts, vol, 16 * MiB, noise(900 * 1024));
    const third = await checkpoint(ts, me, growing.id);
    assert.equal(third.done.status, 'available');
    assert.equal((await cbr(ts, me, 'GET', `/vaults/${growing.id}`)).body.vault.billing.size, 3);
  });
});
