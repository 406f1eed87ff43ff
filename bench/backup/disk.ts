/**
 * bench/backup's disk probes: what the device under --dir can do right now (O_DIRECT dd writes, and reads and
 * writes at once as a backup or restore on one disk must) and its request statistics from /sys/dev/block, so a
 * figure can be read against the disk it was measured on.
 */
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CHUNK, MiB, secs } from './measure.js';
import { DIR, SIZE } from './options.js';
import { sh } from './shell.js';

/**
 * The disk's ceiling for one full backup: read the whole source (O_DIRECT) while writing as many bytes as the
 * backup stored (O_DIRECT, fdatasync), at the same time, as the backup must. Both share one device, so a volume
 * whose data does not compress is bounded here, not by the CPU. Returns MiB/s of volume size.
 */
export async function diskCeiling(source: string, storedBytes: number): Promise<number> {
  const out = join(DIR, 'ceiling-probe.bin');
  const dd = (argv: string[]) =>
    new Promise<void>((resolve, reject) =>
      execFile('dd', argv, (err) => (err ? reject(err) : resolve())),
    );
  const t0 = process.hrtime.bigint();
  await Promise.all([
    dd([`if=${source}`, 'of=/dev/null', 'bs=4M', 'iflag=direct', 'status=none']),
    dd(['if=/dev/zero', `of=${out}`, 'bs=4M', `count=${Math.ceil(storedBytes / CHUNK)}`, 'oflag=direct', 'conv=fdatasync', 'status=none']),
  ]);
  const s = secs(t0);
  await rm(out, { force: true });
  return SIZE / MiB / s;
}

/**
 * Milliseconds the device under DIR has had I/O in flight (io_ticks of /sys/dev/block/M:m/stat), so a phase's
 * busy share shows whether it kept the disk fed or left it idle (a share well under 100 % while a restore waits
 * on the disk means gaps in the pipeline; dd's share shows what one write at a time leaves). NaN where unknown.
 */
export function diskBusyMs(): number {
  try {
    const dev = statSync(DIR).dev;
    const major = (dev >> 8) & 0xfff;
    const minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
    return Number(readFileSync(`/sys/dev/block/${major}:${minor}/stat`, 'utf8').trim().split(/\s+/)[9]);
  } catch {
    return Number.NaN;
  }
}
/**
 * Write requests of the device under DIR (fields of /sys/dev/block/M:m/stat): completed writes, sectors written,
 * and ms spent in queue summed over requests (its ratio to wall time is the mean number in flight).
 */
export function diskWrites(): { writes: number; sectors: number; queueMs: number } | undefined {
  try {
    const dev = statSync(DIR).dev;
    const major = (dev >> 8) & 0xfff;
    const minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
    const f = readFileSync(`/sys/dev/block/${major}:${minor}/stat`, 'utf8').trim().split(/\s+/).map(Number);
    return { writes: f[4] ?? 0, sectors: f[6] ?? 0, queueMs: f[10] ?? 0 };
  } catch {
    return undefined;
  }
}
export function writePattern(from: ReturnType<typeof diskWrites>, ms: number): string {
  const to = diskWrites();
  if (!from || !to) return '?';
  const writes = to.writes - from.writes;
  const kib = (to.sectors - from.sectors) / 2 / Math.max(1, writes);
  return `${writes} writes of ${kib.toFixed(0)} KiB, ${((to.queueMs - from.queueMs) / ms).toFixed(1)} in flight`;
}
export const busyShare = (busy0: number, t0: bigint) => `${((100 * (diskBusyMs() - busy0)) / (secs(t0) * 1000)).toFixed(0)} %`;
/** Disk busy share of the last diskWriteMiBs probe. */
export let lastProbeBusy = '?';

/** The disk's sequential write speed right now: `bytes` written O_DIRECT in 4 MiB blocks, then fdatasync. */
export function diskWriteMiBs(bytes: number): number {
  const out = join(DIR, 'write-probe.bin');
  const busy0 = diskBusyMs();
  const t0 = process.hrtime.bigint();
  sh(`dd if=/dev/zero of=${out} bs=4M count=${Math.ceil(bytes / CHUNK)} oflag=direct conv=fdatasync status=none`);
  const s = secs(t0);
  lastProbeBusy = busyShare(busy0, t0);
  sh(`rm -f ${out}`);
  return Math.ceil(bytes / CHUNK) * 4 / s;
}

/**
 * What the disk allows for one restore: read the bytes the repository stores (O_DIRECT) while writing the
 * volume's data (O_DIRECT, fdatasync), at the same time, as a restore from a repository on the same disk must.
 * The write-only probe above leaves the reads out, so for a volume whose stored bytes are close to its size it
 * is an anchor no restore can reach; this one is printed beside it, not instead. `source` stands in for the
 * chunk objects (same device, sequential reads of the same size). Returns MiB/s of volume size.
 */
export async function restoreCeiling(source: string, storedBytes: number, writtenBytes: number): Promise<number> {
  const out = join(DIR, 'restore-probe.bin');
  const dd = (argv: string[]) =>
    new Promise<void>((resolve, reject) => execFile('dd', argv, (err) => (err ? reject(err) : resolve())));
  const t0 = process.hrtime.bigint();
  await Promise.all([
    dd([`if=${source}`, 'of=/dev/null', 'bs=4M', `count=${Math.ceil(storedBytes / CHUNK)}`, 'iflag=direct', 'status=none']),
    dd(['if=/dev/zero', `of=${out}`, 'bs=4M', `count=${Math.ceil(writtenBytes / CHUNK)}`, 'oflag=direct', 'conv=fdatasync', 'status=none']),
  ]);
  const s = secs(t0);
  await rm(out, { force: true });
  return SIZE / MiB / s;
}
