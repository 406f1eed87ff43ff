/**
 * bench/backup's restore from a separate device (--repo-dir): the restore between two disk write probes,
 * --restore-samples times, keeping the median sample, with where each chunk's time went.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BackupRepository } from '../../packages/server/src/backup-repo/index.js';
import { chunkWorkerAddon } from '../../packages/server/src/backup-repo-open.js';
import { FsObjectStore } from '../../packages/server/src/drivers/objects/fs/index.js';
import { busyShare, diskBusyMs, diskWriteMiBs, diskWrites, lastProbeBusy, writePattern } from './disk.js';
import { collectGarbage, cpuSecs, GiB, loadAvg, median, MiB, peakRssMiB, resetPeakRss, secs } from './measure.js';
import { DIR, REPO_DIR, RESTORE_SAMPLES, SIZE, WORKERS } from './options.js';
import { sh } from './shell.js';

type RestoreProfile = BackupRepository['restoreProfile'];
export function restoreBreakdown(r0: RestoreProfile, rp: RestoreProfile): string {
  const per = (k: keyof RestoreProfile) => ((rp[k] - r0[k]) / (rp.chunks - r0.chunks || 1)).toFixed(1);
  return (
    `slot ${per('slotMs')} / fetch ${per('fetchMs')} / worker queue ${per('queueMs')} / ` +
    `compute ${per('computeMs')} / write ${per('writeMs')}, final sync ${(rp.syncMs - r0.syncMs).toFixed(0)} ms`
  );
}

/**
 * --repo-dir: copies the repository just written to REPO_DIR and restores from there into a fresh file on the
 * disk, between two write probes. Its own repository object (own workers), as a separate server would have.
 */
export async function separateRestore(name: string, repoPath: string, locator: string, directWrites: boolean) {
  const copy = join(REPO_DIR as string, `cbx-bench-${process.pid}-${name}`);
  await rm(copy, { recursive: true, force: true });
  await mkdir(copy, { recursive: true });
  sh(`cp -r ${repoPath} ${copy}/repo`);
  const repo = await BackupRepository.open({
    store: new FsObjectStore(join(copy, 'repo'), { directWrites }),
    ...(WORKERS ? { workers: WORKERS } : {}),
    ...chunkWorkerAddon(),
  });
  const out = join(DIR, `steady-${name}`, 'restored-sep.raw');
  try {
    await repo.warmUp();
    const samples: Array<{
      restoreMiBs: number;
      diskBefore: number;
      diskAfter: number;
      ratio: number;
      cpuPerGiB: number;
      detail: string;
    }> = [];
    let rssMiB = 0;
    for (let k = 0; k < RESTORE_SAMPLES; k++) {
      collectGarbage();
      const w0 = diskWrites();
      const p0 = process.hrtime.bigint();
      const diskBefore = diskWriteMiBs(SIZE);
      const probePattern = writePattern(w0, secs(p0) * 1000);
      const busyBefore = lastProbeBusy;
      resetPeakRss();
      const r0 = { ...repo.restoreProfile };
      const c0 = process.cpuUsage();
      const busy0 = diskBusyMs();
      const w1 = diskWrites();
      const t0 = process.hrtime.bigint();
      await repo.restore({ locator, targetPath: out, targetIsFresh: true });
      const s = secs(t0);
      const restorePattern = writePattern(w1, s * 1000);
      const busy = busyShare(busy0, t0);
      const cpu = cpuSecs(c0);
      rssMiB = Math.max(rssMiB, peakRssMiB());
      await rm(out, { force: true });
      const diskAfter = diskWriteMiBs(SIZE);
      const restoreMiBs = SIZE / MiB / s;
      const detail =
        `${restoreBreakdown(r0, repo.restoreProfile)}; disk busy: restore ${busy}, ` +
        `probe before ${busyBefore}, after ${lastProbeBusy}; disk writes: restore ${restorePattern}, ` +
        `probe before ${probePattern}`;
      samples.push({
        restoreMiBs,
        diskBefore,
        diskAfter,
        ratio: restoreMiBs / ((diskBefore + diskAfter) / 2),
        cpuPerGiB: cpu / (SIZE / GiB),
        detail,
      });
      if (RESTORE_SAMPLES > 1) {
        console.log(
          `  ${name} separate-device sample ${k + 1}/${RESTORE_SAMPLES}: restore ${restoreMiBs.toFixed(0)} MiB/s, ` +
            `probes ${diskBefore.toFixed(0)}/${diskAfter.toFixed(0)}, ${(100 * samples[k]!.ratio).toFixed(0)} %, ` +
            `CPU ${samples[k]!.cpuPerGiB.toFixed(2)} s/GiB (load ${loadAvg()}); ${detail}`,
        );
      }
    }
    const byRatio = [...samples].sort((a, b) => a.ratio - b.ratio);
    // The lower middle for an even count: a pair of samples does not round a figure up.
    const mid = byRatio[Math.floor((byRatio.length - 1) / 2)]!;
    const cpuPerGiB = median(samples.map((x) => x.cpuPerGiB));
    const detail =
      RESTORE_SAMPLES > 1
        ? `median of ${RESTORE_SAMPLES} samples (ratios ${samples.map((x) => (100 * x.ratio).toFixed(0)).join(' ')} %); ${mid.detail}`
        : mid.detail;
    return { restoreMiBs: mid.restoreMiBs, diskBefore: mid.diskBefore, diskAfter: mid.diskAfter, cpuPerGiB, rssMiB, detail };
  } finally {
    await repo.close();
    await rm(out, { force: true });
    await rm(copy, { recursive: true, force: true });
  }
}
