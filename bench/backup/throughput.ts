/**
 * bench/backup's throughput row for cinderbox: one volume, one compression, one target; full backup, 1 %
 * incremental (with and without changed extents), restore and checksum, in a fresh repository.
 */
import { mkdir, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Compression } from '../../packages/server/src/backup-repo/index.js';
import type { Extent } from '../../packages/server/src/domain/ports/volume-driver.js';
import { sparseIo } from '../../packages/server/src/drivers/volume/sparse-io.js';
import { diskCeiling } from './disk.js';
import { collectGarbage, cpuSecs, GiB, MiB, peakRssMiB, resetPeakRss, secs } from './measure.js';
import { args, DIR, SIZE, type Target, TARGETS, WORKERS } from './options.js';
import { sh, sha256 } from './shell.js';
import type { Row } from './tables.js';
import { openRunRepo, openTarget, s3Ceiling } from './targets.js';
import { change1Percent, dropCache } from './volumes.js';

export async function runCinderbox(
  name: string,
  source: string,
  dataBytes: number,
  compression: Compression,
  target: Target = 'fs',
): Promise<Row> {
  const work = join(DIR, `work-${name}`);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const vol = join(work, 'vol.raw');
  sh(`cp --sparse=always ${source} ${vol}`);
  // A new repository per row: the garbage of earlier rows is collected before this row's peak is measured.
  collectGarbage();
  resetPeakRss();
  const tgt = await openTarget(target, work, `${name}-${compression}`);
  const traffic = () => ({ requests: tgt.http ? tgt.http.total() : tgt.t.calls, objects: tgt.t.written });
  const resetTraffic = () => {
    tgt.http?.reset();
    tgt.t.calls = 0;
    tgt.t.written = 0;
  };
  const repo = await openRunRepo(tgt.store, work, compression);
  try {
    dropCache(vol);
    resetTraffic();
    let t0 = process.hrtime.bigint();
    let c0 = process.cpuUsage();
    const allocatedExtents = await sparseIo().dataExtents(vol);
    const full = await repo.backup({ id: 'full', container: 'bench', sourcePath: vol, allocatedExtents });
    const fullS = secs(t0);
    const fullCpu = cpuSecs(c0);
    const fullTraffic = traffic();
    const changedExtents = await change1Percent(vol, allocatedExtents);
    /** An incremental on the full backup, from a cold cache; `extents` say what it may skip. */
    const incremental = async (id: string, extents: { changedExtents: Extent[] } | { allocatedExtents: Extent[] }) => {
      dropCache(vol);
      const start = process.hrtime.bigint();
      const r = await repo.backup({ id, container: 'bench', sourcePath: vol, parent: full.locator, ...extents });
      return { r, s: secs(start) };
    };
    resetTraffic();
    const { r: inc, s: incrS } = await incremental('inc', { changedExtents });
    const incrTraffic = traffic();
    // The same incremental where the driver cannot tell what changed (raw on a filesystem without reflinks): read
    // every allocated chunk and store what the parent lacks. restic and borg always work this way.
    const { r: scan, s: incrScanS } = await incremental('inc-scan', {
      allocatedExtents: await sparseIo().dataExtents(vol),
    });
    const out = join(work, 'restored.raw');
    resetTraffic();
    t0 = process.hrtime.bigint();
    c0 = process.cpuUsage();
    await repo.restore({ locator: inc.locator, targetPath: out, targetIsFresh: true });
    const restoreS = secs(t0);
    const restoreCpu = cpuSecs(c0);
    const restoreTraffic = traffic();
    const ok = sha256(out) === sha256(vol) ? 'sha256 ok' : 'MISMATCH';
    const ceilingMiBs = target === 'fs' ? await diskCeiling(vol, full.stats.storedBytes) : undefined;
    const ceiling = target === 's3' ? await s3Ceiling((WORKERS ?? availableParallelism()) * 4 + 2) : undefined;
    const row: Row = {
      ...(ceiling ? { s3Ceiling: ceiling } : {}),
      ...(ceilingMiBs === undefined ? {} : { ceilingMiBs }),
      target,
      traffic: { full: fullTraffic, incr: incrTraffic, restore: restoreTraffic },
      tool: `cinderbox ${compression}${TARGETS.length > 1 ? ` ${target}` : ''}`,
      volume: name,
      fullS,
      fullMiBs: SIZE / MiB / fullS,
      dataMiBs: dataBytes / MiB / fullS,
      storedMiB: full.stats.storedBytes / MiB,
      incrS,
      incrScanS,
      incrStoredMiB: inc.stats.storedBytes / MiB,
      restoreS,
      restoreMiBs: SIZE / MiB / restoreS,
      fullCpuPerGiB: fullCpu / (dataBytes / GiB),
      restoreCpuPerGiB: restoreCpu / (SIZE / GiB),
      rssMiB: peakRssMiB(),
      ok,
    };
    const codecs = full.stats.codecs;
    console.log(
      `cinderbox ${compression} ${target} ${name}: full ${fullS.toFixed(2)} s (${full.stats.newChunks} new: ` +
        `${codecs?.zstd ?? 0} zstd, ${codecs?.lz4 ?? 0} lz4, ${codecs?.raw ?? 0} raw; ` +
        `${full.stats.zeroChunks} zero chunks), ` +
        `incr ${incrS.toFixed(2)} s (read ${inc.stats.readBytes / MiB} MiB; ${incrScanS.toFixed(2)} s reading ` +
        `${(scan.stats.readBytes / MiB).toFixed(0)} MiB without changed extents), restore ${restoreS.toFixed(2)} s, ` +
        `CPU full ${fullCpu.toFixed(2)} s restore ${restoreCpu.toFixed(2)} s, ${ok}`,
    );
    return row;
  } finally {
    await repo.close();
    await tgt.close();
    if (!args.keep) await rm(work, { recursive: true, force: true });
  }
}
