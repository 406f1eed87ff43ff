/**
 * Backup engine benchmark: builds three test volumes, then for each one runs a full backup, an incremental
 * backup after changing 1 % of the chunks (changed extents given), and a restore into a fresh file, and prints
 * MiB/s, stored bytes and peak RSS. When Debian's `restic` and `borgbackup` are installed, runs them on the same
 * files with their fastest comparable settings and prints them side by side, then the ratios.
 * Anchor settings: restic repository v2 with `--compression auto` (its only compressing mode short of max);
 * borg unencrypted, fixed 4 MiB chunks like ours, `--sparse`, zstd,1 (lz4 measured no faster: borg is one
 * thread, and its time goes to hashing and Python, not compression).
 *
 *   node --import tsx bench/backup/run.ts [--size-gib 4] [--dir /var/tmp/cbx-bench-backup] [--workers 2] [--no-anchors]
 *     [--volumes mixed,dense,compressible] [--compression auto,zstd,lz4,none] [--warm-cache] [--target fs,s3]
 *     [--no-index] [--runs N [--direct-writes on,off] [--repo-dir /dev/shm/cbx-repo]]
 *
 * --target s3 runs every volume against the filesystem and an S3 server (radosgw) in the same run and prints them
 * side by side: MiB/s, objects written and requests per GiB of volume for the full backup, the 1 % incremental and
 * the restore (S3: HTTP requests counted by a middleware in the client, retries included; fs: object-store calls),
 * and the peak RSS. The S3 server comes from CINDERBOX_TEST_S3_ENDPOINT / _ACCESS_KEY / _SECRET_KEY / _REGION (as
 * scripts/start-ceph.sh prints them); each row uses a fresh bucket prefix and empties it afterwards. Every row has
 * its own node-local chunk index (--no-index: none, every chunk offered to the store as before).
 *
 * Volumes (S = size): "mixed" = S/4 hole, S/2 compressible (a tar of /usr), S/4 random;
 * "dense" = no holes, compressible and random data alternating every 256 MiB;
 * "compressible" = no holes, all compressible (a tar of /usr): the case the ≥ 450 MiB/s target names.
 *
 * --runs N (steadiness, issue #21 item 3) replaces the rows above: per volume, N rounds of {cinderbox full backup
 * + restore, the disk's O_DIRECT write speed, restic full, borg full}, interleaved so every tool meets the same
 * load; then a table of MiB/s per run, median and spread (target: every run within ±15 % of the median), CPU
 * s/GiB, fsyncs/GiB (fs store counters: chunk data syncs + directory syncs), where the chunks' time went (read
 * wait / compute / store, ms per chunk) and restore as a share of the disk's write speed (target ≥ 90 %).
 *
 * --repo-dir (steadiness mode) adds a second restore per run from a copy of the same repository in that
 * directory, standing in for a repository on another device (production: another disk or S3), so the restore is
 * a pure write workload on the disk. Use a tmpfs (/dev/shm) or another device; the volume and every restore
 * target stay in --dir. The disk's write speed is probed just before and just after that restore and the
 * restore is compared with their mean (the disk's speed drifts between probes under a shared load). The
 * same-disk columns keep measuring what they did. --restore-samples K repeats that restore K times per run (each
 * between its own probes) and keeps the sample with the median ratio, and prints every sample with the disk's
 * write requests (count, mean size, mean number in flight) during the restore and the probe before it: the
 * probes of a disk other work shares vary by a third from one to the next, more than most changes to compare.
 *
 * This file only orders the work; each part lives in the module named for it: options.ts (command line),
 * volumes.ts (test data), throughput.ts + targets.ts (cinderbox rows on fs/S3), anchors.ts (restic, borg),
 * steadiness.ts + separate-restore.ts (--runs, --repo-dir), disk.ts (dd probes, /sys block statistics),
 * tables.ts + steady-tables.ts (printing), measure.ts + shell.ts (shared helpers).
 */
import { have, runAnchor } from './anchors.js';
import { args, COMPRESSION, ONLY, SIZE, TARGETS } from './options.js';
import { runSteadiness } from './steadiness.js';
import { printRatios, printTable, printTargets, type Row } from './tables.js';
import { deleteRunBucket } from './targets.js';
import { runCinderbox } from './throughput.js';
import { buildVolumes } from './volumes.js';

const rows: Row[] = [];
const { mixed, dense, compressible, dataBytes } = await buildVolumes();
const volumes = (
  [
    ['mixed', mixed],
    ['dense', dense],
    ['compressible', compressible],
  ] as const
).filter(([name]) => !ONLY || ONLY.includes(name));
if (args.runs !== undefined) {
  const n = Number(args.runs);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--runs: ${args.runs} is not a positive integer`);
  await runSteadiness(volumes, dataBytes, n);
  process.exit(0);
}
for (const [name, path] of volumes) {
  for (const compression of COMPRESSION) {
    for (const target of TARGETS) rows.push(await runCinderbox(name, path, dataBytes[name] ?? SIZE, compression, target));
  }
}
if (!args['no-anchors']) {
  for (const tool of ['restic', 'borg'] as const) {
    if (!have(tool)) {
      console.log(`${tool} not installed (apt-get install -y ${tool === 'borg' ? 'borgbackup' : 'restic'}); skipped`);
      continue;
    }
    for (const [name, path] of volumes) {
      try {
        rows.push(await runAnchor(tool, name, path, dataBytes[name] ?? SIZE));
      } catch (e) {
        console.log(`${tool} ${name} failed: ${(e as Error).message.slice(0, 400)}`);
      }
    }
  }
}
printTable(rows);
printRatios(rows);
printTargets(rows);
await deleteRunBucket();
