/**
 * bench/console/repo-stats — what the console's repository view costs per request: `GET …/cinderbox-repo/stats`
 * (counters the server keeps) and `GET …/history` against what answering from the repository would cost, a
 * `POST …/cinderbox-repo/verify` (the cheapest whole-repository read there is: list manifests, read them, check
 * each chunk's presence and CRC). Over HTTP on a local server with `--backups` backups of `--mib` MiB of random
 * data each; median milliseconds per request.
 *
 *   node --import tsx bench/console/repo-stats.ts [--backups 8] [--mib 16] [--calls 200]
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { BackupApi, MiB } from '../../packages/server/src/api/block-storage/test-support/backup-api.js';
import { startTestServer } from '../../packages/server/src/test-support/harness.js';

const { values: args } = parseArgs({
  options: {
    backups: { type: 'string', default: '8' },
    mib: { type: 'string', default: '16' },
    calls: { type: 'string', default: '200' },
  },
});
const BACKUPS = Number(args.backups);
const DATA = Number(args.mib) * MiB;
const CALLS = Number(args.calls);

const t = await startTestServer({ backends: [{ name: 'raw', driver: 'raw', pool: 'raw' }], logLevel: 'warn' });
try {
  const api = new BackupApi(t);
  const admin = { token: t.adminToken, projectId: t.adminProjectId };
  for (let i = 0; i < BACKUPS; i++) {
    const vol = await api.volume(admin, { size: 1 });
    await api.write(admin, vol, [[0, randomBytes(DATA)]]);
    await api.backupStatus(admin, await api.backup(admin, { volume_id: vol }), 'available');
  }
  const base = `/v3/${admin.projectId}`;
  const median = async (n: number, call: () => Promise<{ status: number }>) => {
    for (let i = 0; i < Math.min(20, n); i++) await call(); // warm-up
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = process.hrtime.bigint();
      const r = await call();
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (r.status >= 300) throw new Error(`status ${r.status}`);
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)]!;
  };
  const stats = await median(CALLS, () => t.request('GET', `${base}/cinderbox-repo/stats`, { token: admin.token }));
  const history = await median(CALLS, () => t.request('GET', `${base}/cinderbox-repo/history`, { token: admin.token }));
  const verify = await median(Math.max(3, Math.floor(CALLS / 40)), () =>
    t.request('POST', `${base}/cinderbox-repo/verify`, { token: admin.token, body: {} }),
  );
  const s = (await t.request('GET', `${base}/cinderbox-repo/stats`, { token: admin.token })).body.repository;
  console.log(`repository: ${s.backup_count} backups, ${s.chunk_count} chunks, ${(s.stored_bytes / MiB).toFixed(1)} MiB stored (${t.server.config.database?.kind ?? 'sqlite'})`);
  console.log('| request | median ms |');
  console.log('|---|---|');
  console.log(`| GET cinderbox-repo/stats (counters) | ${stats.toFixed(2)} |`);
  console.log(`| GET cinderbox-repo/history | ${history.toFixed(2)} |`);
  console.log(`| POST cinderbox-repo/verify (a whole-repository read) | ${verify.toFixed(2)} |`);
  console.log(`stats: ${(verify / stats).toFixed(0)}× faster than the cheapest scan (a primary-key read, whatever the repository holds)`);
} finally {
  await t.close();
}
