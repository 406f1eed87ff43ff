/**
 * The snapshot detail page's statement alone, on a database seeded directly through the repository: what the
 * database spends on one page (SQLite, PostgreSQL with --database-url), with its plan. For the query's share of
 * bench/api/run.ts's figure without HTTP in the way.
 *   [CINDERBOX_TEST_DATABASE_URL=...] node --import tsx bench/api/page-sql.ts [--rows 10000] [--iterations 2000] [--mv 3.65]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openTestDatabase } from '../../packages/server/src/test-support/harness.js';
import { snapshotRow } from '../../packages/server/src/test-support/rows.js';
import { asScope } from '../../packages/server/src/store/metadata-store.js';
import { snapshotsRepository } from '../../packages/server/src/store/repositories/snapshots.js';
import { metadataRepository } from '../../packages/server/src/store/repositories/metadata.js';
import { SNAPSHOTS_LIST, listJsonPage } from '../../packages/server/src/store/list-query.js';
import { snapshotDetailFields } from '../../packages/server/src/api/block-storage/views.js';
import { ApiVersion } from '../../packages/server/src/api/common/api-version.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000' },
    iterations: { type: 'string', default: '2000' },
    mv: { type: 'string', default: '3.0' },
  },
});

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'cinderbox-pagesql-'));
  const onPostgres = Boolean(process.env.CINDERBOX_TEST_DATABASE_URL);
  const database = await openTestDatabase(dir);
  try {
    const scope = asScope(database.db);
    const N = Number(args.rows);
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
      await snapshotsRepository.insert(scope, snapshotRow(id, { project_id: 'p', name: `s${i}`, created_at: `2026-12-07T00:00:${String(i % 60).padStart(2, '0')}.${String(i).padStart(6, '0')}` }));
      if (i % 10 === 0) await metadataRepository.write(scope, 'snapshot', id, { k: `v${i}` }, false);
    }
    const insertMs = performance.now() - t0;
    const fields = snapshotDetailFields(new ApiVersion(...(args.mv.split('.').map(Number) as [number, number])));
    const q = {
      where: { projectId: 'p', filters: [] },
      order: [{ column: 'created_at', dir: 'desc' as const }, { column: 'id', dir: 'desc' as const }],
      limit: 100,
      marker: null,
      withCount: false,
    };
    for (let i = 0; i < 200; i++) await listJsonPage(database.db, SNAPSHOTS_LIST, q as never, fields);
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    const it = Number(args.iterations);
    for (let i = 0; i < it; i++) await listJsonPage(database.db, SNAPSHOTS_LIST, q as never, fields);
    const cpu = process.cpuUsage(c0);
    console.log(
      `${onPostgres ? 'postgres' : 'sqlite'} mv ${args.mv}: ${N} rows inserted in ${(insertMs / 1000).toFixed(1)} s (${((insertMs * 1000) / N).toFixed(0)} µs/row); page: ${((cpu.user + cpu.system) / it).toFixed(1)} CPU µs, ${(((performance.now() - w0) * 1000) / it).toFixed(1)} wall µs (load ${loadavg()[0]!.toFixed(1)})`,
    );
  } finally {
    await database.close();
    await rm(dir, { recursive: true, force: true });
  }
}
await main();
