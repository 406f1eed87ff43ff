import type { ChildProcess } from 'node:child_process';

/** Sends `signal` to a child server and waits for it to exit; a child that already ended is left as it is. */
export async function signalAndWait(proc: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill(signal);
  await exited;
}

/**
 * The URL a child server prints as `LISTENING <url>` once it serves; a `REFUSED <why>` line (a refusal at start) or
 * an early exit rejects. The pipe is still drained afterwards (a full pipe would block the child's logging), but no
 * longer kept.
 */
export function listeningUrl(proc: ChildProcess, exited: (code: number | null) => string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      const refused = /REFUSED (.*)/.exec(buf);
      if (refused) return reject(new Error(refused[1]));
      const m = /LISTENING (\S+)/.exec(buf);
      if (!m) return;
      proc.stdout!.off('data', onData);
      proc.stdout!.resume();
      resolve(m[1]!);
    };
    proc.stdout!.on('data', onData);
    proc.on('exit', (code) => reject(new Error(exited(code))));
  });
}
