/**
 * @cinderbox/sdk side of bench/sdk: list every snapshot in pages, then fetch `n` of them by id.
 * argv: server URL, admin password, n. Prints one JSON line: list_ms, get_ms, listed, max_rss_kb.
 */
import { Connection } from '../../packages/sdk/src/index.js';

const [url, password, n] = process.argv.slice(2) as [string, string, string];
const conn = new Connection({
  auth: {
    authUrl: `${url}/identity/v3`,
    username: 'admin',
    password,
    projectName: 'admin',
    userDomainName: 'Default',
    projectDomainName: 'Default',
  },
});
const bs = conn.blockStorage;
await bs.getLimits(); // authenticate and discover outside the timings

const t0 = performance.now();
const ids: string[] = [];
for await (const s of bs.snapshots({}, { limit: 1000 })) ids.push(s.id as string);
const t1 = performance.now();
for (const id of ids.slice(0, Number(n))) await bs.getSnapshot(id);
const t2 = performance.now();
// The same gets with 8 in flight: what an async SDK allows (openstacksdk's proxy calls are synchronous).
const queue = ids.slice(0, Number(n));
await Promise.all(
  Array.from({ length: 8 }, async () => {
    for (let id = queue.pop(); id !== undefined; id = queue.pop()) await bs.getSnapshot(id);
  }),
);
const t3 = performance.now();
// Lower bound: bare fetch of the same URLs with the same token, no SDK.
const { endpoint } = await bs.client.info();
const { token } = await conn.authorize();
for (const id of ids.slice(0, Number(n))) {
  const r = await fetch(`${endpoint}/snapshots/${id}`, { headers: { 'x-auth-token': token, 'openstack-api-version': 'volume 3.65' } });
  await r.text();
}
const t4 = performance.now();
console.log(
  JSON.stringify({
    list_ms: t1 - t0,
    get_ms: t2 - t1,
    get_concurrent_ms: t3 - t2,
    raw_fetch_get_ms: t4 - t3,
    listed: ids.length,
    max_rss_kb: process.resourceUsage().maxRSS,
  }),
);
