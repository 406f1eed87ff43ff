/**
 * Whether a node's process is still there, told from what its heartbeat rows record about it (`instance`): a
 * process of this machine that is gone reads down at once instead of after the heartbeat down time, while one of
 * another machine, or one only stopped or slow, is never taken for dead here.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { processAlive } from '../config/process-alive.js';

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

/** A process's state letter and start time (`/proc/PID/stat` fields 3 and 22); null off Linux or once it is gone. */
function processStat(pid: number): { state: string; started: string } | null {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === null) return null;
  // Field 2 (the command name) is in parentheses and may itself hold spaces and ')': count from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[3 - 3];
  const started = fields[22 - 3];
  return state && started ? { state, started } : null;
}

/**
 * A process's start time in clock ticks since boot: with the pid it names one process of a boot, so a later
 * process that got the same pid is not mistaken for it. Null off Linux or once it is gone.
 */
export function processStartTime(pid: number): string | null {
  return processStat(pid)?.started ?? null;
}

/**
 * Which machine and pid namespace this process runs in: the hostname, the boot id (a machine renamed or another one
 * given the same hostname does not match it) and the pid namespace (containers on one kernel share the boot id but
 * not their pids). Only a process whose recorded identity equals this one can be checked by its pid.
 */
const HOST_NAME = hostname();
const HOST_IDENTITY = (() => {
  const boot = readText('/proc/sys/kernel/random/boot_id');
  let pidns: string | null = null;
  try {
    pidns = /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? null;
  } catch {
    pidns = null;
  }
  return boot && pidns ? `${boot}/${pidns}` : '-';
})();
const OWN_START_TIME = processStartTime(process.pid) ?? '-';

/**
 * Whether the process that wrote `instance` is known to be gone: it ran on this machine, in this pid namespace and
 * this boot, and its pid is gone or now belongs to a process started at another time (a kill -9, a crash, an OOM
 * kill). A process of another machine cannot be checked and is never known dead here (its heartbeat ages instead);
 * neither is one that is only stopped (SIGSTOP) or slow: its pid still names it.
 */
export function instanceKnownDead(instance: string): boolean {
  const [, pidText, host, identity, started] = instance.split(' ');
  if (host !== HOST_NAME) return false;
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (identity === undefined) {
    // Written before the host identity was recorded: the pid is all there is (this process's own is alive).
    return pid !== process.pid && !processAlive(pid);
  }
  if (identity !== HOST_IDENTITY) return false;
  // No /proc here (both sides wrote '-'): the pid alone, as for the older form.
  if (started === undefined || started === '-') return pid !== process.pid && !processAlive(pid);
  if (pid === process.pid) return started !== OWN_START_TIME;
  if (!processAlive(pid)) return true;
  const now = processStat(pid);
  // Unreadable while kill(0) found it: it exited in between (or /proc hides it); ask once more.
  if (now === null) return !processAlive(pid);
  // A zombie (killed, not yet reaped by its parent) still answers kill(0) but runs no more.
  return now.started !== started || now.state === 'Z' || now.state === 'X';
}

/**
 * This process, as written in the rows it heartbeats (`<uuid> <pid> <hostname> <boot id/pid namespace> <start>`).
 * One per process, so the early check in `main.ts` and the registry that then heartbeats are the same claimant of
 * the node name.
 */
export const PROCESS_INSTANCE = `${randomUUID()} ${process.pid} ${HOST_NAME} ${HOST_IDENTITY} ${OWN_START_TIME}`;
