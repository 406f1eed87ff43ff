/**
 * bench/backup's steadiness mode (--runs N): N rounds per volume of cinderbox's full backup and restores, the
 * disk probes and the anchors, interleaved so every tool meets the same load; the tables are steady-tables.ts's.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Compression } from '../../packages/server/src/backup-repo/index.js';
import { FsObjectStore } from '../../packages/server/src/drivers/objects/fs/index.js';
import { sparseIo } from '../../packages/server/src/drivers/volume/sparse-io.js';
import { have, steadyAnchor } from './anchors.js';
import { busyShare, diskBusyMs, diskWriteMiBs, restoreCeiling } from './disk.js';
import { collectGarbage, cpuSecs, GiB, loadAvg, MiB, peakRssMiB, resetPeakRss, secs } from './measure.js';
import { args, COMPRESSION, DIR, DIRECT_MODES, REPO_DIR, SIZE } from './options.js';
import { restoreBreakdown, separateRestore } from './separate-restore.js';
import { sh } from './shell.js';
import { printSteadiness, steadyRows } from './steady-tables.js';
import { openRunRepo } from './targets.js';
import { dropCache } from './volumes.js';

export interface SteadyRun {
  fullMiBs: number;
  cpuPerGiB: number;
  fsyncsPerGiB?: number;
  restoreMiBs?: number;
  diskWriteMiBs?: number;
  /** User+system CPU of the restore (workers incl.) per GiB of volume size, and its peak RSS. */
  restoreCpuPerGiB?: number;
  restoreRssMiB?: number;
  /** Bytes the restore read (stored chunk objects) and wrote (data, holes skipped), for restoreCeiling. */
  storedBytes?: number;
  restoreCeilingMiBs?: number;
  /** --repo-dir: the restore from the repository's copy there, and the disk's write speed just before and after. */
  sep?: { restoreMiBs: number; diskBefore: number; diskAfter: number; cpuPerGiB: number; rssMiB: number; detail: string };
  detail?: string;
  load: string;
}

/** One cinderbox full backup into a fresh repository and its restore; counters from the store and repository. */
async function steadyCinderbox(
  name: string,
  source: string,
  dataBytes: number,
  compression: Compression,
  directWrites: boolean,
): Promise<SteadyRun & { restoreMiBs: number; detail: string; storedBytes: number }> {
  const work = join(DIR, `steady-${name}`);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const vol = join(work, 'vol.raw');
  sh(`cp --sparse=always ${source} ${vol}`);
  const store = new FsObjectStore(join(work, 'repo'), { directWrites });
  const repo = await openRunRepo(store, work, compression);
  try {
    dropCache(vol);
    const load = loadAvg();
    const k0 = { ...store.counters };
    const p0 = { ...repo.profile };
    let t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    const full = await repo.backup({
      id: 'full',
      container: 'bench',
      sourcePath: vol,
      allocatedExtents: await sparseIo().dataExtents(vol),
    });
    const fullS = secs(t0);
    const cpu = cpuSecs(c0);
    const k = store.counters;
    const p = repo.profile;
    const chunks = p.chunksRead - p0.chunksRead || 1;
    const syncs = k.dataSyncs - k0.dataSyncs + (k.dirSyncs - k0.dirSyncs);
    const codecs = full.stats.codecs;
    const detail =
      `read ${((p.readMs - p0.readMs) / chunks).toFixed(0)} / compute ${((p.computeMs - p0.computeMs) / chunks).toFixed(0)} / ` +
      `store ${((p.storeMs - p0.storeMs) / full.stats.newChunks || 0).toFixed(0)} ms per chunk, ` +
      `sync ${((k.syncMs - k0.syncMs) / (k.dataSyncs - k0.dataSyncs || 1)).toFixed(0)} ms, ` +
      `${codecs?.zstd ?? 0} zstd/${codecs?.lz4 ?? 0} lz4/${codecs?.raw ?? 0} raw, ` +
      `${((k.bytesWritten - k0.bytesWritten) / MiB).toFixed(0)} MiB written`;
    const out = join(work, 'restored.raw');
    collectGarbage();
    resetPeakRss();
    const r0 = { ...repo.restoreProfile };
    const rc0 = process.cpuUsage();
    const busy0 = diskBusyMs();
    t0 = process.hrtime.bigint();
    await repo.restore({ locator: full.locator, targetPath: out, targetIsFresh: true });
    const restoreS = secs(t0);
    const restoreBusy = busyShare(busy0, t0);
    const restoreCpu = cpuSecs(rc0);
    const restoreDetail =
      `; restore ms per chunk: ${restoreBreakdown(r0, repo.restoreProfile)}; disk busy during the restore ${restoreBusy}`;
    const sep = REPO_DIR === undefined ? undefined : await separateRestore(name, join(work, 'repo'), full.locator, directWrites);
    return {
      ...(sep ? { sep } : {}),
      restoreCpuPerGiB: restoreCpu / (SIZE / GiB),
      restoreRssMiB: peakRssMiB(),
      storedBytes: full.stats.storedBytes,
      fullMiBs: SIZE / MiB / fullS,
      cpuPerGiB: cpu / (dataBytes / GiB),
      fsyncsPerGiB: syncs / (dataBytes / GiB),
      restoreMiBs: SIZE / MiB / restoreS,
      detail: detail + restoreDetail,
      load,
    };
  } finally {
    await repo.close();
    await rm(work, { recursive: true, force: true });
  }
}

export async function runSteadiness(
  volumes: ReadonlyArray<readonly [string, string]>,
  dataBytes: Record<string, number>,
  n: number,
): Promise<void> {
  const compression = COMPRESSION[0] ?? 'auto';
  const anchors = args['no-anchors'] ? [] : (['restic', 'borg'] as const).filter((t) => have(t));
  if (!args['no-anchors']) {
    for (const t of ['restic', 'borg'] as const) {
      if (!anchors.includes(t)) console.log(`${t} not installed (apt-get install -y ${t === 'borg' ? 'borgbackup' : 'restic'}); skipped`);
    }
  }
  const lines: string[] = [];
  const layoutLines: string[] = [];
  const details: string[] = [];
  for (const [name, path] of volumes) {
    const data = dataBytes[name] ?? SIZE;
    const results = new Map<string, SteadyRun[]>();
    const push = (tool: string, r: SteadyRun) => results.set(tool, [...(results.get(tool) ?? []), r]);
    for (let i = 0; i < n; i++) {
      for (const mode of DIRECT_MODES) {
        const tool = `cinderbox ${compression}${mode === 'off' ? ' buffered' : ''}`;
        const cbx = await steadyCinderbox(name, path, data, compression, mode === 'on');
        cbx.diskWriteMiBs = diskWriteMiBs(SIZE);
        cbx.restoreCeilingMiBs = await restoreCeiling(path, cbx.storedBytes, data);
        push(tool, cbx);
        console.log(
          `${name} run ${i + 1}/${n}: ${tool} full ${cbx.fullMiBs.toFixed(0)} MiB/s, restore ${cbx.restoreMiBs.toFixed(0)} ` +
            `MiB/s (CPU ${(cbx.restoreCpuPerGiB ?? 0).toFixed(2)} s/GiB, peak RSS ${(cbx.restoreRssMiB ?? 0).toFixed(0)} MiB), ` +
            `disk write ${cbx.diskWriteMiBs.toFixed(0)} MiB/s, restore ceiling ${cbx.restoreCeilingMiBs.toFixed(0)} MiB/s ` +
            `(load ${cbx.load}); ${cbx.detail}`,
        );
        details.push(`${name} run ${i + 1} ${tool}: ${cbx.detail}`);
        if (cbx.sep) {
          const line =
            `restore from a separate device (${REPO_DIR}) ${cbx.sep.restoreMiBs.toFixed(0)} MiB/s (CPU ` +
            `${cbx.sep.cpuPerGiB.toFixed(2)} s/GiB, peak RSS ${cbx.sep.rssMiB.toFixed(0)} MiB), disk write before ` +
            `${cbx.sep.diskBefore.toFixed(0)} / after ${cbx.sep.diskAfter.toFixed(0)} MiB/s (load ${loadAvg()}); ` +
            `restore ms per chunk: ${cbx.sep.detail}`;
          console.log(`${name} run ${i + 1}/${n}: ${tool} ${line}`);
          details.push(`${name} run ${i + 1} ${tool}: ${line}`);
        }
      }
      for (const tool of anchors) {
        try {
          const r = await steadyAnchor(tool, name, path, data);
          push(tool, r);
          console.log(`${name} run ${i + 1}/${n}: ${tool} full ${r.fullMiBs.toFixed(0)} MiB/s (load ${r.load})`);
        } catch (e) {
          console.log(`${tool} ${name} failed: ${(e as Error).message.slice(0, 400)}`);
        }
      }
    }
    const t = steadyRows(name, results);
    lines.push(...t.lines);
    layoutLines.push(...t.layoutLines);
  }
  printSteadiness(n, lines, layoutLines, details);
}
