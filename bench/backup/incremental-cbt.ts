/**
 * Incremental backups of a qcow2 volume with and without changed-block tracking (CBT), through the same code the
 * server's backup task runs (hidden base snapshots, the BlockSources adapter, the backup repository):
 *
 *   1. full backup: hidden snapshot of the volume, sparse export, backup;
 *   2. 64 KiB overwritten at a random place in 1 % of the volume's chunks;
 *   3. incremental with CBT: new hidden snapshot, changed extents from the layer maps, only those chunks read,
 *      then the previous base merged away (as the task does before it commits);
 *   4. incremental without CBT (the old path): sparse export of the whole volume, every allocated chunk read and
 *      hashed against the parent.
 *
 * Both incrementals must describe the same bytes: their manifests are compared entry by entry.
 *
 *   node --import tsx bench/backup/incremental-cbt.ts [--size-gib 4] [--dir /var/tmp/cbx-bench-cbt] [--workers 2] [--keep]
 *
 * The volume (S = size) is 1/4 hole, 1/2 compressible (a tar of /usr), 1/4 random, converted to qcow2.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { BackupRepository } from '../../packages/server/src/backup-repo/index.js';
import { chunkWorkerAddon } from '../../packages/server/src/backup-repo-open.js';
import { FsObjectStore } from '../../packages/server/src/drivers/objects/fs/index.js';
import { createQcow2VolumeDriver } from '../../packages/server/src/drivers/volume/qcow2/qcow2-driver.js';
import { blockSources } from '../../packages/server/src/drivers/volume/block-source.js';
import { dropHidden, freezeHidden } from '../../packages/server/src/services/block-storage/hidden-snapshots.js';

const openBackupSource = blockSources.open;

const MiB = 1024 * 1024;
const CHUNK = 4 * MiB;

const { values: args } = parseArgs({
  options: {
    'size-gib': { type: 'string', default: '4' },
    dir: { type: 'string', default: '/var/tmp/cbx-bench-cbt' },
    workers: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const SIZE = Math.round(Number(args['size-gib']) * 1024) * MiB;
const DIR = args.dir as string;
const WORKERS = args.workers ? Number(args.workers) : undefined;

const sh = (cmd: string) => execFileSync('bash', ['-c', cmd], { stdio: ['ignore', 'ignore', 'inherit'] });
const secs = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

/** Drops the page cache of every file in `dir`, so each measured step reads from the disk. */
async function dropCaches(dir: string): Promise<void> {
  for (const f of await readdir(dir)) spawnSync('dd', [`if=${join(dir, f)}`, 'iflag=nocache', 'count=0', 'status=none']);
}

async function buildSource(): Promise<string> {
  await mkdir(DIR, { recursive: true });
  const src = join(DIR, `mixed-${SIZE / MiB}M.raw`);
  if (!existsSync(src)) {
    const q = SIZE / 4;
    console.log(`building ${src} (${SIZE / MiB} MiB: 1/4 hole, 1/2 compressible, 1/4 random)`);
    sh(`truncate -s ${q} ${src}.tmp`);
    sh(`(tar cf - /usr/lib /usr/share /usr/bin 2>/dev/null || true) | head -c ${2 * q} >> ${src}.tmp`);
    sh(`head -c ${q} /dev/urandom >> ${src}.tmp && mv ${src}.tmp ${src}`);
  }
  return src;
}

interface Step {
  name: string;
  s: number;
  readMiB: number;
  storedMiB: number;
  note: string;
}

const src = await buildSource();
const work = join(DIR, 'work');
await rm(work, { recursive: true, force: true });
const driver = await createQcow2VolumeDriver({ name: 'qcow2', directory: join(work, 'volumes') });
const repo = await BackupRepository.open({
  store: new FsObjectStore(join(work, 'repo')),
  ...(WORKERS ? { workers: WORKERS } : {}),
  ...chunkWorkerAddon(),
});
await repo.warmUp();
const vol = randomUUID();
console.log(`converting to qcow2 volume ${vol}`);
sh(`qemu-img convert -f raw -O qcow2 ${src} ${driver.path('volume', vol)}`);
const steps: Step[] = [];
try {
  // 1. Full backup from a hidden snapshot.
  const base1 = randomUUID();
  await dropCaches(driver.directory);
  let t0 = process.hrtime.bigint();
  await freezeHidden(driver, vol, base1);
  let source = await openBackupSource(driver, 'snapshot', base1, { chunkSize: repo.chunkSize });
  const full = await repo
    .backup({ id: 'full', container: 'bench', sourcePath: source.path, size: SIZE, allocatedExtents: source.allocatedExtents })
    .finally(() => source.release());
  steps.push({
    name: 'full backup',
    s: secs(t0),
    readMiB: full.stats.readBytes / MiB,
    storedMiB: full.stats.storedBytes / MiB,
    note: `${full.stats.chunks - full.stats.zeroChunks} data chunks`,
  });

  // 2. 1 % of the chunks get 64 KiB of new bytes, as a guest writes them.
  const dataChunks = new Set<number>();
  for (const e of source.allocatedExtents) {
    for (let c = Math.floor(e.offset / CHUNK); c * CHUNK < e.offset + e.length; c++) dataChunks.add(c);
  }
  const all = [...dataChunks];
  const n = Math.max(1, Math.ceil((SIZE / CHUNK) * 0.01));
  const picked = new Set<number>();
  while (picked.size < Math.min(n, all.length)) picked.add(all[randomInt(all.length)] as number);
  for (const c of picked) {
    await driver.writeRaw(vol, Readable.from([randomBytes(65536)]), c * CHUNK + randomInt(CHUNK / 65536) * 65536);
  }

  // 3. Incremental with CBT.
  const base2 = randomUUID();
  await dropCaches(driver.directory);
  t0 = process.hrtime.bigint();
  await freezeHidden(driver, vol, base2);
  const freezeS = secs(t0);
  source = await openBackupSource(driver, 'snapshot', base2, {
    chunkSize: repo.chunkSize,
    changedSince: { volumeId: vol, snapshotId: base1 },
  });
  const sourceS = secs(t0) - freezeS;
  const changed = source.changedExtents;
  if (changed === null) throw new Error('the qcow2 driver did not report changed extents');
  const cbt = await repo
    .backup({
      id: 'inc-cbt',
      container: 'bench',
      sourcePath: source.path,
      size: SIZE,
      allocatedExtents: source.allocatedExtents,
      parent: full.locator,
      changedExtents: changed,
    })
    .finally(() => source.release());
  const cbtBackupS = secs(t0);
  const t1 = process.hrtime.bigint();
  await dropHidden(driver, vol, base1);
  const rotateS = secs(t1);
  steps.push({
    name: 'incremental, CBT',
    s: cbtBackupS + rotateS,
    readMiB: cbt.stats.readBytes / MiB,
    storedMiB: cbt.stats.storedBytes / MiB,
    note:
      `${picked.size} chunks changed; ms: snapshot ${(freezeS * 1000).toFixed(0)}, maps + changed reads ` +
      `${(sourceS * 1000).toFixed(0)}, engine ${((cbtBackupS - freezeS - sourceS) * 1000).toFixed(0)}, ` +
      `old base merged away ${(rotateS * 1000).toFixed(0)}`,
  });

  // 4. Incremental without CBT (the old path): the whole volume exported, every allocated chunk read and hashed.
  await dropCaches(driver.directory);
  t0 = process.hrtime.bigint();
  const exported = await driver.exportRaw('volume', vol);
  const old = await repo
    .backup({
      id: 'inc-old',
      container: 'bench',
      sourcePath: exported.path,
      size: SIZE,
      allocatedExtents: await driver.allocatedExtents('volume', vol),
      parent: full.locator,
    })
    .finally(() => exported.release());
  steps.push({
    name: 'incremental, no CBT',
    s: secs(t0),
    readMiB: old.stats.readBytes / MiB,
    storedMiB: old.stats.storedBytes / MiB,
    note: 'sparse export + read/hash of all data',
  });

  // Both incrementals must describe the same bytes.
  const [a, b] = await Promise.all([repo.readManifest(cbt.locator), repo.readManifest(old.locator)]);
  let differ = 0;
  for (let i = 0; i < a.count; i++) if (a.entryHex(i) !== b.entryHex(i)) differ++;
  const check = differ === 0 && a.count === b.count ? 'manifests equal' : `MISMATCH in ${differ} chunks`;

  const fullS = steps[0]!.s;
  const head = ['step', 'seconds', '% of full', 'MiB/s of volume', 'read MiB', 'stored MiB', 'note'];
  const body = steps.map((s) => [
    s.name,
    s.s.toFixed(2),
    `${((100 * s.s) / fullS).toFixed(1)} %`,
    (SIZE / MiB / s.s).toFixed(0),
    s.readMiB.toFixed(0),
    s.storedMiB.toFixed(1),
    s.note,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const [l1, l5, l15] = loadavg();
  console.log(
    `\nqcow2 volume ${SIZE / MiB} MiB (1/4 hole, 1/2 compressible, 1/4 random), chunk ${repo.chunkSize / MiB} MiB; ` +
      `1 % of chunks changed; page cache dropped before each step; load average ${l1!.toFixed(2)} ${l5!.toFixed(2)} ${l15!.toFixed(2)}`,
  );
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of body) console.log(line(r));
  console.log(`check: ${check}; CBT incremental / no-CBT incremental = ${((100 * steps[1]!.s) / steps[2]!.s).toFixed(1)} %`);
  if (differ !== 0) process.exitCode = 1;
} finally {
  await repo.close();
  if (!args.keep) await rm(work, { recursive: true, force: true });
}
