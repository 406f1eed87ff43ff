/**
 * bench/sdk — our SDK against openstacksdk (Debian's 0.101, /usr/bin/python3) on the same live server:
 * listing N snapshots in pages of 1,000 and fetching M snapshots by id, one request at a time on both sides.
 * Each client runs in its own process (auth and discovery outside the timings); prints wall time and the
 * client process's peak RSS side by side. The server is warmed up before either client runs. The headline
 * get-by-id numbers are sequential on both sides; "8 in flight" and the bare-transport floors are extra rows.
 * The server's time per GET bounds the ratio: the bare node:http row is (almost) all server time.
 *
 *   node --import tsx bench/sdk/run.ts                        # N=10000, M=1000
 *   node --import tsx bench/sdk/run.ts --snapshots 2000 --gets 200 --rounds 1
 *
 * Each client repeats its measurements `--rounds` times (default 3) and reports its best round: on a shared
 * machine the best round is the one least disturbed by other load, for both clients alike.
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { ADMIN_PASSWORD, startTestServer } from '../../packages/server/src/test-support/harness.js';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    snapshots: { type: 'string', default: '10000' },
    gets: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '3' },
  },
});
const N = Number(args.snapshots);
const M = Number(args.gets);
const R = String(Math.max(1, Number(args.rounds)));

interface Result {
  list_ms: number;
  get_ms: number;
  get_fetch_ms?: number;
  get_concurrent_ms?: number;
  raw_fetch_get_ms?: number;
  raw_http_get_ms?: number;
  listed: number;
  max_rss_kb: number;
}

async function client(cmd: string, argv: string[]): Promise<Result> {
  const { stdout } = await run(cmd, argv, { maxBuffer: 1 << 20, timeout: 30 * 60_000 });
  const line = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as Result;
}

const ts = await startTestServer();
try {
  const token = ts.adminToken;
  const p = ts.adminProjectId;
  const q = await ts.request('PUT', `/v3/${p}/os-quota-sets/${p}`, {
    token,
    body: { quota_set: { snapshots: -1, gigabytes: -1, volumes: -1 } },
  });
  if (q.status !== 200) throw new Error(`quota update: ${q.status} ${q.text}`);
  const v = await ts.request('POST', `/v3/${p}/volumes`, { token, body: { volume: { size: 1, name: 'bench-seed' } } });
  const volId = v.body.volume.id as string;
  for (;;) {
    const r = await ts.request('GET', `/v3/${p}/volumes/${volId}`, { token });
    if (r.body.volume.status === 'available') break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const t0 = Date.now();
  let made = 0;
  const worker = async () => {
    while (made < N) {
      made++;
      const r = await ts.request('POST', `/v3/${p}/snapshots`, {
        token,
        body: { snapshot: { volume_id: volId, name: `s${made}` } },
      });
      if (r.status !== 202) throw new Error(`snapshot create: ${r.status} ${r.text}`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  // Creation is asynchronous (202): the driver work goes on after the last 202. Measuring before it ends would
  // time whichever client runs first against a busy server.
  for (;;) {
    const r = await ts.request('GET', `/v3/${p}/snapshots?status=creating&limit=1`, { token });
    if ((r.body.snapshots as unknown[]).length === 0) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  process.stderr.write(`seeded ${N} snapshots (all available) in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  // Warm the server's show-snapshot path (JIT, statement cache) before either client, so whichever client runs
  // first does not pay for it: the server does the same work for both.
  const warm = await ts.request('GET', `/v3/${p}/snapshots?limit=${Math.min(M, 1000)}`, { token });
  for (const s of warm.body.snapshots as Array<{ id: string }>) await ts.request('GET', `/v3/${p}/snapshots/${s.id}`, { token });

  const ours = await client(process.execPath, ['--import', 'tsx', join(here, 'ts-client.ts'), ts.url, ADMIN_PASSWORD, String(M), R]);
  const theirs = await client('/usr/bin/python3', [join(here, 'py_client.py'), ts.url, ADMIN_PASSWORD, String(M), R]);
  if (ours.listed !== N || theirs.listed !== N) throw new Error(`listed ${ours.listed} / ${theirs.listed}, expected ${N}`);

  process.stderr.write(`best of ${R} rounds per client\n`);
  const ms = (x: number) => `${x.toFixed(0)} ms`;
  const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MiB`;
  const rows = [
    ['', '@cinderbox/sdk', 'openstacksdk 0.101', 'speed-up (target >= 3x)'],
    [`list ${N} (pages of 1000)`, ms(ours.list_ms), ms(theirs.list_ms), `${(theirs.list_ms / ours.list_ms).toFixed(1)}x`],
    [`get ${M} by id`, ms(ours.get_ms), ms(theirs.get_ms), `${(theirs.get_ms / ours.get_ms).toFixed(1)}x`],
    [`get ${M} by id, SDK over global fetch`, ms(ours.get_fetch_ms ?? 0), '', `${(theirs.get_ms / (ours.get_fetch_ms ?? 1)).toFixed(1)}x`],
    [`get ${M} by id, 8 in flight`, ms(ours.get_concurrent_ms ?? 0), '(sync API)', `${(theirs.get_ms / (ours.get_concurrent_ms ?? 1)).toFixed(1)}x`],
    [`bare fetch, ${M} gets (no SDK)`, ms(ours.raw_fetch_get_ms ?? 0), '', ''],
    [`bare node:http, ${M} gets (no SDK)`, ms(ours.raw_http_get_ms ?? 0), '', ''],
    ['peak RSS (client process)', mb(ours.max_rss_kb), mb(theirs.max_rss_kb), ''],
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
  const [l1, l5] = (await import('node:os')).loadavg();
  console.log(`load average ${l1!.toFixed(2)} ${l5!.toFixed(2)} (2 cores shared: numbers are lower bounds)`);
} finally {
  await ts.close();
}
