/**
 * bench/api — loads a cinderbox server over loopback with wrk and prints a comparison table.
 *
 *   npm run bench:api                       # starts its own server on a temp data dir
 *   npm run bench:api -- --snapshots 2000 --duration 10
 *
 * Measures: GET /v3/{p}/snapshots/{id}; GET /v3/{p}/snapshots/detail?limit=100 with N snapshots in the
 * project; snapshot create → available on a 1 GiB volume (median of 20, with 256 MiB written).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { startTestServer } from '../../packages/server/src/test-support/harness.js';

const run = promisify(execFile);
const { values: args } = parseArgs({
  options: {
    snapshots: { type: 'string', default: '10000' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    samples: { type: 'string', default: '20' },
  },
});
const N = Number(args.snapshots);
const DURATION = Number(args.duration);
const CONNS = Number(args.connections);
const SAMPLES = Number(args.samples);

interface WrkResult {
  rps: number;
  p50: string;
  p99: string;
}

async function wrk(url: string, token: string): Promise<WrkResult> {
  const { stdout } = await run('wrk', ['-t1', `-c${CONNS}`, `-d${DURATION}s`, '--latency', '-H', `X-Auth-Token: ${token}`, url], {
    maxBuffer: 1 << 20,
  });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? 'NaN');
  const p50 = /\s50%\s+(\S+)/.exec(stdout)?.[1] ?? '?';
  const p99 = /\s99%\s+(\S+)/.exec(stdout)?.[1] ?? '?';
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout);
  if (non2xx) throw new Error(`wrk saw ${non2xx[1]} error responses for ${url}`);
  return { rps, p50, p99 };
}

async function main() {
  try {
    await run('wrk', ['--version']).catch((e) => {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw e;
    });
  } catch {
    console.error('bench/api needs wrk (Debian package wrk)');
    process.exit(2);
  }
  const dir = await mkdtemp(join(tmpdir(), 'cinderbox-bench-'));
  const ts = await startTestServer({ logLevel: 'error' }, dir);
  try {
    const token = ts.adminToken;
    const p = ts.adminProjectId;
    const q = await ts.request('PUT', `/v3/${p}/os-quota-sets/${p}`, { token, body: { quota_set: { snapshots: -1, gigabytes: -1, volumes: -1 } } });
    if (q.status !== 200) throw new Error(`quota update: ${q.status} ${q.text}`);

    const waitStatus = async (kind: 'volumes' | 'snapshots', id: string, want: string) => {
      for (;;) {
        const r = await ts.request('GET', `/v3/${p}/${kind}/${id}`, { token });
        const s = r.body?.[kind === 'volumes' ? 'volume' : 'snapshot']?.status;
        if (s === want) return;
        if (s === 'error') throw new Error(`${kind} ${id} went to error`);
        await new Promise((r) => setTimeout(r, 2));
      }
    };

    // Seed volume: 1 GiB, empty; N snapshots of it.
    const v = await ts.request('POST', `/v3/${p}/volumes`, { token, body: { volume: { size: 1, name: 'bench-seed' } } });
    const volId = v.body.volume.id as string;
    await waitStatus('volumes', volId, 'available');
    const t0 = Date.now();
    let made = 0;
    let firstSnap = '';
    const worker = async () => {
      while (made < N) {
        made++;
        const r = await ts.request('POST', `/v3/${p}/snapshots`, { token, body: { snapshot: { volume_id: volId, name: `s${made}` } } });
        if (r.status !== 202) throw new Error(`snapshot create: ${r.status} ${r.text}`);
        firstSnap ||= r.body.snapshot.id;
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    await ts.server.tasks.idle();
    process.stderr.write(`seeded ${N} snapshots in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);

    const single = await wrk(`${ts.url}/v3/${p}/snapshots/${firstSnap}`, token);
    const page = await wrk(`${ts.url}/v3/${p}/snapshots/detail?limit=100`, token);

    // Snapshot create → available on a 1 GiB volume with 256 MiB of data.
    const v2 = await ts.request('POST', `/v3/${p}/volumes`, { token, body: { volume: { size: 1, name: 'bench-data' } } });
    const dataVol = v2.body.volume.id as string;
    await waitStatus('volumes', dataVol, 'available');
    // Through the upload extension, so the bytes land as guest data whatever the driver's file format.
    const data = Buffer.alloc(256 << 20, 0xab);
    const up = await fetch(`${ts.url}/v3/${p}/volumes/${dataVol}/cinderbox-data`, {
      method: 'PUT',
      headers: { 'X-Auth-Token': token, 'Content-Type': 'application/octet-stream' },
      body: data,
    });
    if (!up.ok) throw new Error(`upload: ${up.status} ${await up.text()}`);
    await waitStatus('volumes', dataVol, 'available');
    const times: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const start = performance.now();
      const r = await ts.request('POST', `/v3/${p}/snapshots`, { token, body: { snapshot: { volume_id: dataVol, name: `t${i}` } } });
      await waitStatus('snapshots', r.body.snapshot.id, 'available');
      times.push(performance.now() - start);
      await ts.request('DELETE', `/v3/${p}/snapshots/${r.body.snapshot.id}`, { token });
      await ts.server.tasks.idle();
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)]!;
    const driver = [...ts.server.services.drivers.values()][0]!;

    const rows = [
      ['measure', 'cinderbox', 'target', 'Cinder 21 (same machine kind)'],
      ['GET snapshot req/s', single.rps.toFixed(0), '>= 4000', '200-330'],
      ['GET snapshot p50 / p99', `${single.p50} / ${single.p99}`, '', ''],
      [`GET detail?limit=100 req/s (${N} snaps)`, page.rps.toFixed(0), '>= 800', '50-98'],
      ['GET detail p50 / p99', `${page.p50} / ${page.p99}`, '', ''],
      [`snapshot create->available median (${driver.capabilities.snapshotMethod})`, `${median.toFixed(1)} ms`, '<= 50 ms (reflink)', '340 ms'],
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
    console.log(`\nwrk -t1 -c${CONNS} -d${DURATION}s on loopback, server and load generator on the same ${(await import('node:os')).cpus().length} cores`);
  } finally {
    await ts.close();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
