import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const entry = join(here, 'entry.ts');
// Under tsx the SDK is resolved to its sources through this tsconfig's `paths`, so tests never run a stale dist.
const tsconfig = join(here, '..', '..', 'tsconfig.tsx.json');

export interface CliResult {
  code: number | null;
  stdout: string;
  stdoutBytes: Buffer;
  stderr: string;
}

/**
 * Runs `cinderbox ARGS` from source in a child process with a clean environment (no inherited OS_*), plus `env`.
 * Asynchronous: the server under test runs in the calling process and must keep answering.
 */
export function runCli(args: string[], env: Record<string, string> = {}, input?: Buffer): Promise<CliResult> {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('OS_')) clean[k] = v;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
      env: { ...clean, TSX_TSCONFIG_PATH: tsconfig, NO_COLOR: '1', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const bytes = Buffer.concat(out);
      resolve({
        code,
        stdout: bytes.toString('utf8'),
        stdoutBytes: bytes,
        stderr,
      });
    });
    child.stdin.end(input);
  });
}

/** A CLI bound to one cloud (clouds.yaml written by the test server). */
export class Cli {
  constructor(private readonly env: Record<string, string>) {}

  run(args: string[], input?: Buffer): Promise<CliResult> {
    return runCli(args, this.env, input);
  }

  /** Runs with `-f json` and parses stdout; fails with stderr when the exit code is not 0. */
  async json<T = any>(args: string[]): Promise<T> {
    const r = await this.run([...args, '-f', 'json']);
    if (r.code !== 0) throw new Error(`cinderbox ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  }

  /** Runs and fails unless the exit code is 0; returns stdout. */
  async ok(args: string[]): Promise<string> {
    const r = await this.run(args);
    if (r.code !== 0) throw new Error(`cinderbox ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  }
}

/** Environment selecting the server's admin cloud from its clouds.yaml. */
export function adminEnv(dataDir: string): Record<string, string> {
  return {
    OS_CLIENT_CONFIG_FILE: join(dataDir, 'clouds.yaml'),
    OS_CLOUD: 'cinderbox',
  };
}
