/**
 * Whether a process with this pid exists on this host. EPERM means it exists under another user, so it counts as
 * alive: the callers use this to decide whether a lock or record's owner is gone, and a wrong "gone" loses data.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
