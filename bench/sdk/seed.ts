import type { TestServer } from '../../packages/server/src/test-support/harness.js';

/**
 * Seeds `count` snapshots of one fresh volume in the admin project (quotas lifted first), `clients` POSTs at a time,
 * and waits until none is still creating: the get benches need many snapshot ids on a server in a steady state.
 */
export async function seedSnapshots(ts: TestServer, count: number, clients: number, volumeName: string): Promise<void> {
  const token = ts.adminToken;
  const p = ts.adminProjectId;
  const q = await ts.request('PUT', `/v3/${p}/os-quota-sets/${p}`, { token, body: { quota_set: { snapshots: -1, gigabytes: -1, volumes: -1 } } });
  if (q.status !== 200) throw new Error(`quota update: ${q.status} ${q.text}`);
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
  // Creation is asynchronous (202): the driver work goes on after the last 202, and a bench timed before it ends
  // would time whichever client runs first against a busy server.
  while (((await ts.request('GET', `/v3/${p}/snapshots?status=creating&limit=1`, { token })).body.snapshots as unknown[]).length > 0) {
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * GETs each of the first `count` snapshots once and returns their ids: the server's show path (JIT, statement
 * cache) is warm before any timed client, so whichever client runs first does not pay for it.
 */
export async function warmShowPath(ts: TestServer, count: number): Promise<string[]> {
  const token = ts.adminToken;
  const p = ts.adminProjectId;
  const list = await ts.request('GET', `/v3/${p}/snapshots?limit=${count}`, { token });
  const ids = (list.body.snapshots as Array<{ id: string }>).map((s) => s.id);
  for (const id of ids) await ts.request('GET', `/v3/${p}/snapshots/${id}`, { token });
  return ids;
}
