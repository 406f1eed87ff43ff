/**
 * bench/sdk/get-profile — where a fresh client process spends its time in a user's loop of sequential
 * `getSnapshot` calls against the live server: a server is seeded with `--snapshots`, then a child process (the
 * SDK, or `--before` another copy) authenticates and runs `--gets` sequential gets, printing the CPU and wall time
 * of each block of 100 (the JIT warm-up curve: how many calls run before the hot path is optimised) and, with
 * `--cpu-prof DIR`, a V8 profile of the gets alone (the profile starts after auth and discovery).
 *
 *   node --import tsx bench/sdk/get-profile.ts --gets 1000
 *   node --import tsx bench/sdk/get-profile.ts --gets 5000 --cpu-prof /tmp/prof
 *   node --import tsx bench/sdk/get-profile.ts --before node_modules/.sdk-before/packages/sdk/src/index.ts
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import type * as Sdk from '../../packages/sdk/src/index.js';
import { seedSnapshots, warmShowPath } from './seed.js';

const self = fileURLToPath(import.meta.url);

if (process.argv[2] === '--child') {
  const [, , , url, password, n, entry, profDir] = process.argv as string[];
  const sdk = (await import(pathToFileURL(entry!).href)) as typeof Sdk;
  const conn = new sdk.Connection({
    auth: { authUrl: `${url}/identity/v3`, username: 'admin', password: password!, projectName: 'admin', userDomainName: 'Default', projectDomainName: 'Default' },
  });
  const bs = conn.blockStorage;
  const ids: string[] = [];
  for await (const s of bs.snapshots({}, { limit: Number(n) })) {
    ids.push(s.id as string);
    if (ids.length >= Number(n)) break;
  }
  const session = profDir ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
  }
  const blocks: Array<{ cpu_us: number; wall_us: number }> = [];
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < ids.length; i += 100) {
    const c = process.cpuUsage();
    const t = performance.now();
    for (const id of ids.slice(i, i + 100)) await bs.getSnapshot(id);
    const used = process.cpuUsage(c);
    const k = Math.min(100, ids.length - i);
    blocks.push({ cpu_us: (used.user + used.system) / k, wall_us: ((performance.now() - t) * 1000) / k });
  }
  const used = process.cpuUsage(c0);
  const total = { wall_ms: performance.now() - t0, cpu_ms: (used.user + used.system) / 1000 };
  if (session && profDir) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(join(profDir, `gets-${process.pid}.cpuprofile`), JSON.stringify(profile));
  }
  console.log(JSON.stringify({ blocks, ...total, gets: ids.length }));
  process.exit(0);
}

const { values: args } = parseArgs({
  options: {
    gets: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '1' },
    before: { type: 'string' },
    'cpu-prof': { type: 'string' },
  },
});
const { ADMIN_PASSWORD, startTestServer } = await import('../../packages/server/src/test-support/harness.js');
const M = Number(args.gets);
const ts = await startTestServer();
try {
  await seedSnapshots(ts, M, 16, 'prof-seed');
  await warmShowPath(ts, Math.min(M, 1000));
  const entries: Array<[string, string]> = [['ours', resolve(join(self, '../../../packages/sdk/src/index.ts'))]];
  if (args.before) entries.push(['before', resolve(args.before)]);
  const run = promisify(execFile);
  // e.g. BENCH_TS_NODE_ARGS='--trace-deopt' (the child's stdout ends with the JSON line; the rest is V8's trace).
  const nodeArgs = (process.env.BENCH_TS_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const trace = process.env.BENCH_TRACE_OUT;
  for (let r = 0; r < Number(args.rounds); r++) {
    for (let i = 0; i < entries.length; i++) {
      const [name, entry] = entries[(i + r) % entries.length]!;
      const argv = [...nodeArgs, '--import', 'tsx', self, '--child', ts.url, ADMIN_PASSWORD, String(M), entry, ...(args['cpu-prof'] ? [args['cpu-prof']] : [])];
      const { stdout } = await run(process.execPath, argv, { maxBuffer: 1 << 28 });
      if (trace) writeFileSync(`${trace}.${name}.${r + 1}`, stdout);
      // With --trace-deopt V8's lines may follow the result: take the result's own line.
      const res = JSON.parse(stdout.split('\n').filter((l) => l.startsWith('{"blocks"')).pop()!) as { blocks: Array<{ cpu_us: number; wall_us: number }>; wall_ms: number; cpu_ms: number; gets: number };
      console.log(`${name} round ${r + 1}: ${res.gets} gets, wall ${res.wall_ms.toFixed(0)} ms, CPU ${((res.cpu_ms * 1000) / res.gets).toFixed(0)} us/get, load ${loadavg()[0]!.toFixed(2)}`);
      console.log(`  per block of 100, CPU us/get: ${res.blocks.map((b) => b.cpu_us.toFixed(0)).join(' ')}`);
      console.log(`  per block of 100, wall us/get: ${res.blocks.map((b) => b.wall_us.toFixed(0)).join(' ')}`);
    }
  }
} finally {
  await ts.close();
}
