/**
 * A backend removed from the configuration stays open while volumes still use it: the composition root reads
 * the backends existing volumes name and adds them after the configured ones, so new volumes still go to the
 * configured default.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startTestServer, waitFor } from '../../test-support/harness.js';

test('volumes on a backend no longer configured keep working after a restart; new volumes go to the configured one', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cinderbox-backends-'));
  try {
    const first = await startTestServer({ backends: [{ name: 'raw', driver: 'raw', pool: 'raw' }] }, dir);
    const p = `/v3/${first.adminProjectId}`;
    const created = await first.request('POST', `${p}/volumes`, { token: first.adminToken, body: { volume: { size: 1 } } });
    assert.equal(created.status, 202, created.text);
    const id = created.body.volume.id as string;
    await waitFor(async () => (await first.request('GET', `${p}/volumes/${id}`, { token: first.adminToken })).body.volume.status === 'available', 'volume available');
    const database = first.server.config.database;
    await first.close({ keepData: true });

    // Same store (on PostgreSQL the same database), only a renamed backend configured.
    const second = await startTestServer({ backends: [{ name: 'other', driver: 'raw', pool: 'other' }], database }, dir);
    try {
      assert.deepEqual(
        second.server.config.backends.map((b) => b.name),
        ['other', 'raw'],
      );
      const hosts = (await second.request('GET', `${p}/os-services?binary=cinder-volume`, { token: second.adminToken })).body.services.map((s: { host: string }) => s.host);
      assert.equal(hosts.length, 2, JSON.stringify(hosts));
      const fresh = await second.request('POST', `${p}/volumes`, { token: second.adminToken, body: { volume: { size: 1 } } });
      assert.equal(fresh.status, 202, fresh.text);
      const freshId = fresh.body.volume.id as string;
      const shown = await waitFor(async () => {
        const v = (await second.request('GET', `${p}/volumes/${freshId}`, { token: second.adminToken })).body.volume;
        return v.status === 'available' ? v : null;
      }, 'new volume available');
      assert.match(shown['os-vol-host-attr:host'], /@other#/);
      // Deleting the old volume needs its driver: it ends gone, not in error_deleting.
      const del = await second.request('DELETE', `${p}/volumes/${id}`, { token: second.adminToken });
      assert.equal(del.status, 202, del.text);
      await waitFor(async () => (await second.request('GET', `${p}/volumes/${id}`, { token: second.adminToken })).status === 404, 'old volume deleted');
    } finally {
      await second.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
