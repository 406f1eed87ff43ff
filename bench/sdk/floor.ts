/**
 * bench/sdk/floor — what one sequential GET costs on this machine, split between client and server: M snapshots
 * are fetched one at a time by
 *   - a bare undici client (`Pool.request()`, and the callback `dispatch()` the SDK's transport uses) from a bare
 *     node:http server that answers every path with the same
 *     body and headers as our GET snapshot (the machine's floor: two processes, one socket, no framework);
 *   - the same bare client from our server (what our server adds to the floor);
 *   - @cinderbox/sdk `getSnapshot` from our server (what the SDK adds on top).
 * Every client runs in a fresh process per round (order rotated); the timing starts after its setup (auth, id
 * list, `--warm` untimed gets). Server CPU per get is the server process's own CPU over exactly the timed span
 * (ours runs in this process, which is otherwise idle then; the bare one reports its own).
 *
 *   node --import tsx bench/sdk/floor.ts --gets 1000 --rounds 3
 *   node --import tsx bench/sdk/floor.ts --warm 2000     # the same after 2,000 untimed gets (a warm JIT)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type * as Sdk from '../../packages/sdk/src/index.js';
import { seedSnapshots, warmShowPath } from './seed.js';

const self = fileURLToPath(import.meta.url);
const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Reads one line from stdin (the parent's go-ahead). */
function nextLine(): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin });
    rl.once('line', (l) => {
      rl.close();
      resolve(l);
    });
  });
}

if (process.argv[2] === '--serve') {
  // The bare server: the recorded body and headers for any request; "cpu" on stdin prints its CPU ms.
  const { body, headers } = JSON.parse(readFileSync(process.argv[3]!, 'utf8')) as { body: string; headers: Record<string, string> };
  const buf = Buffer.from(body);
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { ...headers, 'content-length': String(buf.length) });
    res.end(buf);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    const a = server.address() as { port: number };
    console.log(JSON.stringify({ port: a.port }));
  });
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (l) => {
    if (l === 'cpu') console.log(JSON.stringify({ cpu_ms: cpuNow() }));
    else process.exit(0);
  });
} else if (process.argv[2] === '--client') {
  const [, , , kind, url, idsFile, token, password, warm, entry] = process.argv as string[];
  const ids = JSON.parse(readFileSync(idsFile!, 'utf8')) as string[];
  let get: (id: string) => Promise<unknown>;
  if (kind === 'sdk') {
    const sdk = (await import(pathToFileURL(entry!).href)) as typeof Sdk;
    const conn = new sdk.Connection({
      auth: { authUrl: `${url}/identity/v3`, username: 'admin', password: password!, projectName: 'admin', userDomainName: 'Default', projectDomainName: 'Default' },
    });
    const bs = conn.blockStorage;
    await bs.getLimits();
    get = (id) => bs.getSnapshot(id);
  } else if (kind === 'dispatch') {
    // undici's callback API, as the SDK's transport uses it: no per-call response stream or promise machinery.
    const { Client } = await import('undici');
    const u = new URL(url!);
    const client = new Client(u.origin);
    const headers = { 'x-auth-token': token!, 'openstack-api-version': 'volume 3.65', accept: 'application/json' };
    get = (id) =>
      new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        client.dispatch(
          { path: `${u.pathname}/snapshots/${id}`, method: 'GET', headers },
          {
            onConnect() {},
            onError: reject,
            onHeaders: () => true,
            onData(c: Buffer) {
              chunks.push(c);
              return true;
            },
            onComplete: () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))),
          },
        );
      });
  } else {
    const { Pool } = await import('undici');
    const u = new URL(url!);
    const pool = new Pool(u.origin, { connections: 1 });
    const headers = { 'x-auth-token': token!, 'openstack-api-version': 'volume 3.65', accept: 'application/json' };
    get = async (id) => {
      const res = await pool.request({ path: `${u.pathname}/snapshots/${id}`, method: 'GET', headers });
      return res.body.json();
    };
  }
  for (let i = 0; i < Number(warm); i++) await get(ids[i % ids.length]!);
  console.log('READY');
  await nextLine();
  const c = cpuNow();
  const t = performance.now();
  for (const id of ids) await get(id);
  console.log(JSON.stringify({ wall_ms: performance.now() - t, cpu_ms: cpuNow() - c }));
  process.exit(0);
} else {
  const { values: args } = parseArgs({
    options: {
      gets: { type: 'string', default: '1000' },
      rounds: { type: 'string', default: '3' },
      warm: { type: 'string', default: '100' },
      sdk: { type: 'string' },
    },
  });
  const M = Number(args.gets);
  const R = Number(args.rounds);
  const entry = resolve(args.sdk ?? join(self, '../../../packages/sdk/src/index.ts'));
  const { ADMIN_PASSWORD, startTestServer } = await import('../../packages/server/src/test-support/harness.js');
  const ts = await startTestServer();
  let bare: ChildProcess | undefined;
  try {
    const token = ts.adminToken;
    const p = ts.adminProjectId;
    await seedSnapshots(ts, M, 8, 'floor-seed');
    const ids = await warmShowPath(ts, M);
    const idsFile = join(tmpdir(), `floor-ids-${process.pid}.json`);
    writeFileSync(idsFile, JSON.stringify(ids));
    // The bare server answers with one real GET's body and headers (its size and header count are part of the cost).
    const one = await fetch(`${ts.url}/v3/${p}/snapshots/${ids[0]}`, { headers: { 'x-auth-token': token, 'openstack-api-version': 'volume 3.65' } });
    const recorded: Record<string, string> = {};
    one.headers.forEach((val, k) => {
      if (!['content-length', 'date', 'connection', 'keep-alive'].includes(k)) recorded[k] = val;
    });
    const bodyFile = join(tmpdir(), `floor-body-${process.pid}.json`);
    writeFileSync(bodyFile, JSON.stringify({ body: await one.text(), headers: recorded }));
    bare = spawn(process.execPath, ['--import', 'tsx', self, '--serve', bodyFile], { stdio: ['pipe', 'pipe', 'inherit'] });
    const bareOut = createInterface({ input: bare.stdout! });
    const bareLines: string[] = [];
    let waiter: ((l: string) => void) | undefined;
    bareOut.on('line', (l) => (waiter ? (waiter(l), (waiter = undefined)) : bareLines.push(l)));
    const bareLine = () => (bareLines.length ? Promise.resolve(bareLines.shift()!) : new Promise<string>((r) => (waiter = r)));
    const barePort = (JSON.parse(await bareLine()) as { port: number }).port;
    const bareCpu = async () => {
      bare!.stdin!.write('cpu\n');
      return (JSON.parse(await bareLine()) as { cpu_ms: number }).cpu_ms;
    };
    const ourBase = `${ts.url}/v3/${p}`;
    type Row = { wall_ms: number; cpu_ms: number; server_cpu_ms: number };
    const cases: Array<[string, string, string, () => Promise<number>]> = [
      ['bare undici -> bare node:http server', 'undici', `http://127.0.0.1:${barePort}/v3/${p}`, bareCpu],
      ['bare undici dispatch -> bare node:http server', 'dispatch', `http://127.0.0.1:${barePort}/v3/${p}`, bareCpu],
      ['bare undici -> our server', 'undici', ourBase, async () => cpuNow()],
      ['bare undici dispatch -> our server', 'dispatch', ourBase, async () => cpuNow()],
      ['@cinderbox/sdk -> our server', 'sdk', ts.url, async () => cpuNow()],
    ];
    const results = new Map<string, Row[]>(cases.map(([k]) => [k, []]));
    const loads: number[] = [];
    for (let r = 0; r < R; r++) {
      for (let i = 0; i < cases.length; i++) {
        const [name, kind, url, serverCpu] = cases[(i + r) % cases.length]!;
        const child = spawn(process.execPath, ['--import', 'tsx', self, '--client', kind, url, idsFile, token, ADMIN_PASSWORD, args.warm!, entry], {
          stdio: ['pipe', 'pipe', 'inherit'],
        });
        const out = createInterface({ input: child.stdout! });
        const lines: string[] = [];
        const done = new Promise<void>((res) => out.on('close', res));
        let ready: () => void;
        const isReady = new Promise<void>((res) => (ready = res));
        out.on('line', (l) => (l === 'READY' ? ready() : lines.push(l)));
        await isReady;
        const s0 = await serverCpu();
        child.stdin!.write('go\n');
        await done;
        const s1 = await serverCpu();
        const res = JSON.parse(lines.pop()!) as { wall_ms: number; cpu_ms: number };
        results.get(name)!.push({ ...res, server_cpu_ms: s1 - s0 });
        loads.push(loadavg()[0]!);
      }
      process.stderr.write(`round ${r + 1}/${R} (load ${loadavg()[0]!.toFixed(2)})\n`);
    }
    const median = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      const m = s.length >> 1;
      return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
    };
    console.log(`${M} sequential GETs, medians of ${R} rounds, after ${args.warm} untimed gets per fresh client process`);
    const head = ['', 'wall', 'per get', 'client CPU/get', 'server CPU/get'];
    const rows = [head];
    for (const [name] of cases) {
      const rs = results.get(name)!;
      const w = median(rs.map((x) => x.wall_ms));
      rows.push([name, `${w.toFixed(0)} ms`, `${((w * 1000) / M).toFixed(0)} us`, `${((median(rs.map((x) => x.cpu_ms)) * 1000) / M).toFixed(0)} us`, `${((median(rs.map((x) => x.server_cpu_ms)) * 1000) / M).toFixed(0)} us`]);
    }
    const widths = head.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
    console.log(`1-min load during the rounds: min ${Math.min(...loads).toFixed(2)}, median ${median(loads).toFixed(2)}, max ${Math.max(...loads).toFixed(2)} (2 cores, shared)`);
  } finally {
    bare?.stdin?.end('quit\n');
    await ts.close();
  }
}
