/**
 * bench/backup's units and process figures: wall clock, CPU of the whole process (worker threads included), peak
 * RSS per row, the load average and the median every table uses.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export const MiB = 1024 * 1024;
export const CHUNK = 4 * MiB;
export const secs = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
export const GiB = 1024 * MiB;
/** User+system CPU seconds of this process (all threads, so worker threads count) since `c0`. */
export const cpuSecs = (c0: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(c0);
  return (d.user + d.system) / 1e6;
};
/**
 * Peak RSS of this process since the last resetPeakRss() (VmHWM; Linux resets it through clear_refs), so each
 * cinderbox row reports its own peak rather than the maximum of every row before it.
 */
export function peakRssMiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : process.resourceUsage().maxRSS / 1024;
}
/** A full GC without --expose-gc on the command line (the flag can be set at run time for a new context). */
export function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}
export function resetPeakRss(): void {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    // Not Linux: the row shows the process maximum so far.
  }
}
export const loadAvg = () => readFileSync('/proc/loadavg', 'utf8').split(' ')[0] ?? '?';
export const median = (xs: number[]) => {
  const v = [...xs].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? (v[m] as number) : ((v[m - 1] as number) + (v[m] as number)) / 2;
};
