/** bench/backup's shell steps: a command line whose output does not matter, and a file's checksum. */
import { execFileSync } from 'node:child_process';

export function sh(cmd: string): void {
  execFileSync('bash', ['-c', cmd], { stdio: ['ignore', 'ignore', 'inherit'] });
}

export function sha256(path: string): string {
  return execFileSync('sha256sum', [path], { encoding: 'utf8' }).split(' ')[0] ?? '';
}
