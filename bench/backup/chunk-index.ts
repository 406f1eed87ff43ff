/**
 * The node-local chunk index (packages/server/src/backup-repo/chunk-index.ts): its memory, file size and speed at
 * 1 M chunks (4 TiB of 4 MiB chunks), and what it saves a backup to the filesystem store whose chunks are all
 * there already (a second container, no parent: the case where only the index or the store can answer).
 *
 *   node --import tsx bench/backup/chunk-index.ts [--chunks 1000000] [--dir /var/tmp/cbx-bench-index] [--volume-mib 512]
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ChunkIndex } from '../../packages/server/src/backup-repo/chunk-index.js';
import { BackupRepository } from '../../packages/server/src/backup-repo/index.js';
import { chunkWorkerAddon } from '../../packages/server/src/backup-repo-open.js';
import type { PutOptions, PutResult } from '../../packages/server/src/domain/ports/object-store.js';
import { FsObjectStore } from '../../packages/server/src/drivers/objects/fs/index.js';

const { values: args } = parseArgs({
  options: {
    chunks: { type: 'string', default: '1000000' },
    dir: { type: 'string', default: '/var/tmp/cbx-bench-index' },
    'volume-mib': { type: 'string', default: '512' },
  },
});
const N = Number(args.chunks);
const DIR = args.dir as string;
const MiB = 1024 * 1024;

const rssMiB = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024;
const hwmMiB = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024;
const secs = (t0: number) => (performance.now() - t0) / 1000;

await rm(DIR, { recursive: true, force: true });
await mkdir(DIR, { recursive: true });

// 1. The index alone at N chunks.
{
  const rss0 = rssMiB();
  const index = ChunkIndex.open(join(DIR, 'index'), 'bench', 'bench-store');
  const ids: Buffer[] = [];
  const sample: Buffer[] = [];
  let t0 = performance.now();
  for (let done = 0; done < N; ) {
    const n = Math.min(4096, N - done);
    ids.length = 0;
    for (let i = 0; i < n; i++) ids.push(randomBytes(32));
    if (sample.length < 100_000) sample.push(...ids.slice(0, 64));
    index.add(ids);
    done += n;
  }
  const fillS = secs(t0);
  index.setEpoch('bench');
  t0 = performance.now();
  let hits = 0;
  for (const id of sample) if (index.has(id)) hits++;
  const hitS = secs(t0);
  t0 = performance.now();
  let misses = 0;
  for (let i = 0; i < sample.length; i++) if (!index.has(randomBytes(32))) misses++;
  const missS = secs(t0);
  // A rebuild from an S3 listing gets the ids in key order (chunks/<2 hex>/<id>): as fast as appends.
  const sorted = ChunkIndex.open(join(DIR, 'index-sorted'), 'bench', 'bench-store');
  let next = Buffer.alloc(32);
  t0 = performance.now();
  for (let done = 0; done < N; ) {
    const n = Math.min(4096, N - done);
    ids.length = 0;
    for (let i = 0; i < n; i++) {
      next = Buffer.from(next);
      for (let b = 31; b >= 0; b--) if (++next[b]! !== 256) break; else next[b] = 0;
      ids.push(next);
    }
    sorted.add(ids);
    done += n;
  }
  const sortedS = secs(t0);
  sorted.close();
  console.log(`index rebuild in key order (as from a listing): ${N} ids in ${sortedS.toFixed(1)} s`);
  const rss = rssMiB();
  const file = statSync(index.path).size + (statSync(`${index.path}-wal`, { throwIfNoEntry: false })?.size ?? 0);
  index.close();
  console.log(
    `index at ${N} chunks: filled in ${fillS.toFixed(1)} s (${(N / fillS / 1000).toFixed(0)} k random ids/s, as backups add them)` +
      `, ${(hits / hitS / 1000).toFixed(0)} k hits/s, ${(misses / missS / 1000).toFixed(0)} k misses/s, ` +
      `file ${(file / MiB).toFixed(0)} MiB, process RSS ${rss0.toFixed(0)} -> ${rss.toFixed(0)} MiB (peak ${hwmMiB().toFixed(0)})`,
  );
}

// 2. A backup whose chunks the filesystem store already holds, with and without the index.
class CountingStore extends FsObjectStore {
  puts = 0;
  override async put(key: string, data: Uint8Array, opts?: PutOptions): Promise<PutResult> {
    if (key.startsWith('chunks/')) this.puts++;
    return super.put(key, data, opts);
  }
}
const vol = join(DIR, 'vol.raw');
await writeFile(vol, randomBytes(Number(args['volume-mib']) * MiB));
for (const withIndex of [false, true, false, true]) {
  const store = new CountingStore(join(DIR, `repo-${withIndex}`));
  const repo = await BackupRepository.open({
    store,
    ...chunkWorkerAddon(),
    compression: 'none',
    ...(withIndex ? { indexDir: join(DIR, `index-${withIndex}`) } : {}),
  });
  try {
    await repo.warmUp();
    const id = `b${Date.now()}`;
    await repo.backup({ id, container: 'first', sourcePath: vol, directIo: false });
    store.puts = 0;
    const t0 = performance.now();
    const r = await repo.backup({ id, container: 'second', sourcePath: vol, directIo: false });
    const s = secs(t0);
    console.log(
      `fs, ${args['volume-mib']} MiB all stored already, index ${withIndex ? 'on ' : 'off'}: ${s.toFixed(2)} s, ` +
        `${store.puts} chunk puts (each a stat, and a utimes when found) for ${r.stats.reusedChunks} reused chunks`,
    );
  } finally {
    await repo.close();
    await rm(join(DIR, `repo-${withIndex}`), { recursive: true, force: true });
    await rm(join(DIR, `index-${withIndex}`), { recursive: true, force: true });
  }
}
await rm(DIR, { recursive: true, force: true });
