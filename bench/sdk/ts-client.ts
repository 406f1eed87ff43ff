/**
 * @cinderbox/sdk side of bench/sdk: list every snapshot in pages, then fetch `n` of them by id, `rounds` times
 * each (the best round counts: the machine is shared). argv: server URL, admin password, n, rounds.
 * Prints one JSON line: list_ms, get_ms, get_fetch_ms, get_concurrent_ms, raw_fetch_get_ms, raw_http_get_ms, listed, max_rss_kb.
 */
import { Agent, request } from 'node:http';
import { Connection } from '../../packages/sdk/src/index.js';

const [url, password, n, rounds = '3'] = process.argv.slice(2) as [string, string, string, string?];
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
// The same SDK with every request through global fetch (undici): the transport before node:http.
const viaFetch = new Connection({ ...conn.options, fetch: globalThis.fetch }).blockStorage;
await viaFetch.getLimits();

async function timed(f: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await f();
  return performance.now() - t;
}
const best = { list_ms: Infinity, get_ms: Infinity, get_fetch_ms: Infinity, get_concurrent_ms: Infinity, raw_fetch_get_ms: Infinity, raw_http_get_ms: Infinity };
const keep = (k: keyof typeof best, ms: number) => {
  best[k] = Math.min(best[k], ms);
};

let ids: string[] = [];
const { endpoint } = await bs.client.info();
const { token } = await conn.authorize();
const headers = { 'x-auth-token': token, 'openstack-api-version': 'volume 3.65', accept: 'application/json' };
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
for (let r = 0; r < Number(rounds); r++) {
  keep(
    'list_ms',
    await timed(async () => {
      ids = [];
      for await (const s of bs.snapshots({}, { limit: 1000 })) ids.push(s.id as string);
    }),
  );
  const some = ids.slice(0, Number(n));
  keep(
    'get_ms',
    await timed(async () => {
      for (const id of some) await bs.getSnapshot(id);
    }),
  );
  keep(
    'get_fetch_ms',
    await timed(async () => {
      for (const id of some) await viaFetch.getSnapshot(id);
    }),
  );
  // The same gets with 8 in flight: what an async SDK allows (openstacksdk's proxy calls are synchronous).
  keep(
    'get_concurrent_ms',
    await timed(async () => {
      const queue = [...some];
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          for (let id = queue.pop(); id !== undefined; id = queue.pop()) await bs.getSnapshot(id);
        }),
      );
    }),
  );
  // Floor 1: bare global fetch (undici) of the same URLs with the same token, no SDK.
  keep(
    'raw_fetch_get_ms',
    await timed(async () => {
      for (const id of some) await (await fetch(`${endpoint}/snapshots/${id}`, { headers })).text();
    }),
  );
  // Floor 2: bare node:http on one keep-alive socket (the SDK's default transport), no SDK: about the server's time.
  keep(
    'raw_http_get_ms',
    await timed(async () => {
      for (const id of some) {
        await new Promise<void>((resolve, reject) => {
          request(`${endpoint}/snapshots/${id}`, { agent, headers }, (res) => {
            res.on('data', () => {});
            res.on('end', resolve);
          })
            .on('error', reject)
            .end();
        });
      }
    }),
  );
}
agent.destroy();
console.log(JSON.stringify({ ...best, listed: ids.length, max_rss_kb: process.resourceUsage().maxRSS }));
