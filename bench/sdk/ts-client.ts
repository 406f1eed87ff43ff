/**
 * @cinderbox/sdk side of bench/sdk: one round of measurements in a fresh process (auth and discovery outside
 * the timings). argv: server URL, admin password, gets, SDK entry (default: this worktree's packages/sdk).
 * Prints one JSON line; `*_ms` is wall time, `*_cpu_ms` this process's CPU time (user + system) over the same
 * span, so the client's own cost is visible whatever the server does.
 */
import { Agent, request } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Pool } from 'undici';
import type * as Sdk from '../../packages/sdk/src/index.js';

const [url, password, n, entryArg, warmArg] = process.argv.slice(2) as [string, string, string, string?, string?];
// Untimed gets before the second, warm timing of the same loop (0: no warm row). run.ts gives Python the same N.
const warmN = Number(warmArg ?? '0');
const here = dirname(fileURLToPath(import.meta.url));
const entry = resolve(entryArg || join(here, '../../packages/sdk/src/index.ts'));
// The SDK under test may be another copy (an older revision, for an A/B in the same run): load it by path.
const sdk = (await import(pathToFileURL(entry).href)) as typeof Sdk;

const conn = new sdk.Connection({
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
const viaFetch = new sdk.Connection({ ...conn.options, fetch: globalThis.fetch }).blockStorage;
await viaFetch.getLimits();

const out: Record<string, number> = {};
async function measure(name: string, f: () => Promise<void>): Promise<void> {
  const cpu = process.cpuUsage();
  const t = performance.now();
  await f();
  out[`${name}_ms`] = performance.now() - t;
  const used = process.cpuUsage(cpu);
  out[`${name}_cpu_ms`] = (used.user + used.system) / 1000;
}

// Listing as a user would write it: the SDK's default paging (the server's page size, following its links).
let ids: string[] = [];
await measure('list', async () => {
  ids = [];
  for await (const s of bs.snapshots()) ids.push(s.id as string);
});
const some = ids.slice(0, Number(n));

// The same sequential loop once untimed, so the JIT has seen the get path before the timed rounds (the Python
// client gets the same treatment).
for (const id of some.slice(0, 100)) await bs.getSnapshot(id);
await measure('get', async () => {
  for (const id of some) await bs.getSnapshot(id);
});
if (warmN > 0) {
  // The same loop again after warmN more untimed gets: what a long-running process (a JIT that has optimised the
  // path) pays per get. The cold row above stays the headline.
  for (let i = 0; i < warmN; i++) await bs.getSnapshot(some[i % some.length]!);
  await measure('get_warm', async () => {
    for (const id of some) await bs.getSnapshot(id);
  });
}
await measure('get_fetch', async () => {
  for (const id of some) await viaFetch.getSnapshot(id);
});
// 8 in flight: what an async API allows (openstacksdk's proxy calls are synchronous).
await measure('get_concurrent', async () => {
  const queue = [...some];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let id = queue.pop(); id !== undefined; id = queue.pop()) await bs.getSnapshot(id);
    }),
  );
});
// Floor: bare node:http on one keep-alive socket, no SDK — about the server's time plus the least a client can do.
const { endpoint } = await bs.client.info();
const { token } = await conn.authorize();
const headers = { 'x-auth-token': token, 'openstack-api-version': 'volume 3.65', accept: 'application/json' };
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
await measure('raw_http_get', async () => {
  for (const id of some) {
    await new Promise<void>((resolve, reject) => {
      request(`${endpoint}/snapshots/${id}`, { agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          JSON.parse(Buffer.concat(chunks).toString('utf8'));
          resolve();
        });
      })
        .on('error', reject)
        .end();
    });
  }
});
agent.destroy();
// Floor through undici (what the SDK's JSON transport is built on): one keep-alive connection, `request()` and
// `body.json()`, no SDK layers.
const origin = new URL(endpoint);
const pool = new Pool(origin.origin, { connections: 1 });
await measure('undici_get', async () => {
  for (const id of some) {
    const res = await pool.request({ path: `${origin.pathname}/snapshots/${id}`, method: 'GET', headers });
    await res.body.json();
  }
});
await pool.close();
console.log(JSON.stringify({ ...out, listed: ids.length, max_rss_kb: process.resourceUsage().maxRSS }));
