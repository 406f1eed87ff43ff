import type { TestServer } from '../../packages/server/src/test-support/harness.js';

/**
 * Seeds `count` snapshots of one fresh volume in the admin project (quotas lifted first), `clients` POSTs at a time,
 * and waits until none is still creating: the get benches need many snapshot ids on a server in a steady state.
 */
export async function seedSnapshots(ts: TestServer, count: number, clients: number, volumeName: string): Promise<void> {
  const token = ts.adminToken;
  const p = ts.adminProjectId;
  await ts.request('PUT', `/v3/${p}/os-quota-sets/${p}`, { token, body: { quota_set: { snapshots: -1, gigabytes: -1, volumes: -1 } } });
  const v = await ts.request('POST', `/v3/${p}/volumes`, { token, body: { volume: { size: 1, name: volumeName } } });
  const volId = v.body.volume.id as string;
  while ((await ts.request('GET', `/v3/${p}/volumes/${volId}`, { token })).body.volume.status !== 'available') {
    await new Promise((r) => setTimeout(r, 10));
  }
  let made = 0;
  const client = async () => {
    while (made < count) {
      made++;
      const r = await ts.request('POST', `/v3/${p}/snapshots`, { token, body: { snapshot: { volume_id: volId, name: `s${made}` } } });
      if (r.status !== 202) throw new Error(`snapshot create: ${r.status} ${r.text}`);
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  while (((await ts.request('GET', `/v3/${p}/snapshots?status=creating&limit=1`, { token })).body.snapshots as unknown[]).length > 0) {
    await new Promise((r) => setTimeout(r, 200));
  }
}
