import type { ChildProcess } from 'node:child_process';

/** Sends `signal` to a child server and waits for it to exit; a child that already ended is left as it is. */
export async function signalAndWait(proc: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill(signal);
  await exited;
}
