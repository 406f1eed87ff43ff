/**
 * Running qemu-img and qemu-io: one place for the environment, error mapping and `qemu-img map` parsing.
 * Nothing here touches the shell; arguments are passed as an array.
 */
import { execFile, execFileSync } from 'node:child_process';

export interface MapEntry {
  start: number;
  length: number;
  depth: number;
  /** Allocated in some layer of the opened chain (data or zero clusters). */
  present: boolean;
  zero: boolean;
  data: boolean;
  /** Host offset in the file at `depth`, when the cluster is plain (uncompressed, unencrypted) data. */
  offset?: number;
}

export class QemuError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly stderr: string,
  ) {
    super(message);
  }
}

function codeFor(stderr: string): string {
  if (/No such file|Could not open.*No such/i.test(stderr)) return 'ENOENT';
  if (/No space/i.test(stderr)) return 'ENOSPC';
  if (/lock/i.test(stderr)) return 'EBUSY';
  return 'EIO';
}

export function run(cmd: string, args: string[], signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { maxBuffer: 1024 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C' }, ...(signal ? { signal } : {}) },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        if ((err as { name?: string }).name === 'AbortError') return reject(signal?.reason ?? err);
        const spawnCode = (err as NodeJS.ErrnoException).code;
        if (typeof spawnCode === 'string') {
          return reject(new QemuError(`${cmd} unavailable: ${err.message}`, spawnCode === 'ENOENT' ? 'ENOSYS' : spawnCode, ''));
        }
        const text = (stderr || stdout).trim();
        reject(new QemuError(`${cmd} ${args[0] ?? ''} failed: ${text}`, codeFor(text), text));
      },
    );
  });
}

export const qemuImg = (args: string[], signal?: AbortSignal) => run('qemu-img', args, signal);
export const qemuIo = (args: string[], signal?: AbortSignal) => run('qemu-io', args, signal);

/** The options string of a qcow2 image opened on its own (its backing chain not opened). */
export function topOnly(path: string, format: 'qcow2' | 'raw' = 'qcow2'): string {
  const spec =
    format === 'raw'
      ? { driver: 'raw', file: { driver: 'file', filename: path } }
      : { driver: 'qcow2', file: { driver: 'file', filename: path }, backing: null };
  return `json:${JSON.stringify(spec)}`;
}

/** An image whose backing is `backing` (itself opened alone): bounds what commit opens to two files. */
export function withBackingOnly(path: string, backing: string): string {
  return `json:${JSON.stringify({
    driver: 'qcow2',
    file: { driver: 'file', filename: path },
    backing: { driver: 'qcow2', file: { driver: 'file', filename: backing }, backing: null },
  })}`;
}

export function parseMap(json: string): MapEntry[] {
  const raw = JSON.parse(json) as Array<Record<string, unknown>>;
  return raw.map((e) => {
    const entry: MapEntry = {
      start: Number(e.start),
      length: Number(e.length),
      depth: Number(e.depth ?? 0),
      present: e.present === undefined ? e.data === true || e.zero !== true : e.present === true,
      zero: e.zero === true,
      data: e.data === true,
    };
    if (typeof e.offset === 'number') entry.offset = e.offset;
    return entry;
  });
}

/** `qemu-img map` of an image spec (a path opened with its chain, or a json: spec); shared, read-only. */
export async function map(spec: string, format?: 'qcow2' | 'raw', signal?: AbortSignal): Promise<MapEntry[]> {
  const args = ['map', '--output=json', '-U'];
  if (format && !spec.startsWith('json:')) args.push('-f', format);
  args.push(spec);
  return parseMap(await qemuImg(args, signal));
}

/** Whether qemu-img can be run, and its version line (for the startup log). */
export function probeQemuImg(): { available: boolean; detail: string } {
  try {
    const out = execFileSync('qemu-img', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const ioOk = (() => {
      try {
        execFileSync('qemu-io', ['--version'], { stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    })();
    if (!ioOk) return { available: false, detail: 'qemu-io not found (install qemu-utils)' };
    return { available: true, detail: out.split('\n')[0] ?? 'qemu-img' };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { available: false, detail: code === 'ENOENT' ? 'qemu-img not found on PATH (install qemu-utils)' : `qemu-img failed: ${(e as Error).message}` };
  }
}
