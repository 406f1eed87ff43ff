/**
 * bench/sdk/client-cpu — the SDK's own CPU per `getSnapshot`, apart from any server: a stub server in another
 * process answers every GET with the same canned Cinder snapshot (headers as the real server sends them), and
 * this process measures its CPU time (user + system) per call for the SDK, optionally another copy of the SDK
 * (`--before`, an A/B in the same run), and bare node:http on one keep-alive socket (the least any client does).
 * Variants run interleaved, `--rounds` times; the table shows medians.
 *
 *   node --import tsx bench/sdk/client-cpu.ts                      # 3000 gets x 7 rounds
 *   node --import tsx bench/sdk/client-cpu.ts --before node_modules/.sdk-before/packages/sdk/src/index.ts
 */
import { fork } from 'node:child_process';
import { Agent, createServer, request } from 'node:http';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type * as Sdk from '../../packages/sdk/src/index.js';

const PROJECT = '7fb5eec5d02d4f459637a57f7b8258eb';
const STUB_ID = '946c1780-ef71-4c37-9091-e8a250164f97';

if (process.argv.includes('--stub')) {
  const snapshot = JSON.stringify({
    snapshot: {
      id: STUB_ID,
      created_at: '2026-12-07T11:43:46.782000',
      updated_at: '2026-12-07T11:43:49.604000',
      name: 's500',
      description: null,
      volume_id: '23a54d9d-3a36-4fa2-9e60-f62b29635408',
      status: 'available',
      size: 1,
      metadata: {},
      group_snapshot_id: null,
      user_id: '9e01763931e8445b99a4fbaaf669b45b',
      consumes_quota: true,
      'os-extended-snapshot-attributes:progress': '100%',
      'os-extended-snapshot-attributes:project_id': PROJECT,
    },
  });
  const server = createServer((req, res) => {
    const port = (server.address() as { port: number }).port;
    const body = req.url === '/' || req.url === '/v3/'
      ? JSON.stringify({ versions: [{ id: 'v3.0', status: 'CURRENT', version: '3.70', min_version: '3.0', links: [{ rel: 'self', href: `http://127.0.0.1:${port}/v3/` }] }] })
      : snapshot;
    res.writeHead(200, {
      'x-openstack-request-id': 'req-99382c7c-0c50-4779-8cd2-6cb3c9ed7257',
      'x-compute-request-id': 'req-99382c7c-0c50-4779-8cd2-6cb3c9ed7257',
      vary: 'OpenStack-API-Version',
      'openstack-api-version': 'volume 3.65',
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send?.((server.address() as { port: number }).port));
} else {
  const here = dirname(fileURLToPath(import.meta.url));
  const { values: args } = parseArgs({
    options: {
      gets: { type: 'string', default: '3000' },
      rounds: { type: 'string', default: '7' },
      before: { type: 'string' },
      // A live server instead of the stub: its block-storage endpoint, a token, a snapshot id.
      endpoint: { type: 'string' },
      token: { type: 'string' },
      id: { type: 'string' },
    },
  });
  const M = Number(args.gets);
  const stub = args.endpoint ? undefined : fork(fileURLToPath(import.meta.url), ['--stub'], { execArgv: ['--import', 'tsx'] });
  const port = stub ? await new Promise<number>((r) => stub.once('message', (m) => r(Number(m)))) : 0;
  const endpoint = args.endpoint ?? `http://127.0.0.1:${port}/v3/${PROJECT}`;
  const token = args.token ?? 'tok';
  const ID = args.id ?? STUB_ID;
  try {
    const load = async (entry: string) => {
      const sdk = (await import(pathToFileURL(resolve(entry)).href)) as typeof Sdk;
      const conn = new sdk.Connection({ auth: { token, endpoint }, blockStorage: { endpointOverride: endpoint } });
      await conn.blockStorage.getSnapshot(ID);
      return conn.blockStorage;
    };
    const ours = await load(join(here, '../../packages/sdk/src/index.ts'));
    const before = args.before ? await load(args.before) : undefined;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const headers = { 'x-auth-token': token, 'openstack-api-version': 'volume 3.65', accept: 'application/json' };
    const bare = () =>
      new Promise<void>((res, rej) => {
        request(`${endpoint}/snapshots/${ID}`, { agent, headers }, (r) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('end', () => {
            JSON.parse(Buffer.concat(chunks).toString('utf8'));
            res();
          });
        })
          .on('error', rej)
          .end();
      });
    const variants: Array<[string, () => Promise<unknown>]> = [
      ['@cinderbox/sdk getSnapshot', () => ours.getSnapshot(ID)],
      ...(before ? ([['sdk before, getSnapshot', () => before.getSnapshot(ID)]] as Array<[string, () => Promise<unknown>]>) : []),
      ['bare node:http + JSON.parse', bare],
    ];
    const cpu = new Map<string, number[]>(variants.map(([k]) => [k, []]));
    const wall = new Map<string, number[]>(variants.map(([k]) => [k, []]));
    const loads: number[] = [];
    for (const [, f] of variants) for (let i = 0; i < 500; i++) await f(); // JIT warm-up
    for (let r = 0; r < Number(args.rounds); r++) {
      for (let i = 0; i < variants.length; i++) {
        const [name, f] = variants[(i + r) % variants.length]!;
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        for (let j = 0; j < M; j++) await f();
        const t = performance.now() - t0;
        const c = process.cpuUsage(c0);
        cpu.get(name)!.push((c.user + c.system) / M);
        wall.get(name)!.push((t * 1000) / M);
      }
      loads.push(loadavg()[0]!);
    }
    agent.destroy();
    const median = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      const m = s.length >> 1;
      return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
    };
    const floor = median(cpu.get('bare node:http + JSON.parse')!);
    const rows = [['', 'client CPU / get', 'above bare', `wall / get (${stub ? 'stub' : 'live'} server)`]];
    for (const [name] of variants) {
      const c = median(cpu.get(name)!);
      rows.push([name, `${c.toFixed(0)} us`, `${(c - floor).toFixed(0)} us`, `${median(wall.get(name)!).toFixed(0)} us`]);
    }
    console.log(`medians of ${args.rounds} interleaved rounds of ${M} sequential gets`);
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
    console.log(`1-min load average: min ${Math.min(...loads).toFixed(2)}, max ${Math.max(...loads).toFixed(2)} (2 cores, shared)`);
  } finally {
    stub?.kill();
  }
}
