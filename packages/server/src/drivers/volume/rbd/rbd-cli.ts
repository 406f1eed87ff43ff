/**
 * The `rbd` tool as the RBD driver's way into librbd: one process per control call (create, snap, clone,
 * resize, info, diff) and the tool's diff streams (`export-diff` / `import-diff`, format "rbd diff v1",
 * ceph doc/dev/rbd-diff.rst) for the byte path, so no librbd binding has to be compiled and the server starts on
 * a machine without Ceph. Errors keep the tool's message and map its errno words to codes (ENOENT, EEXIST, EBUSY).
 */
import { execFile, spawn } from 'node:child_process';
import { codedError } from '../sparse-io.js';

export interface RbdConnection {
  /** Path of ceph.conf; the tool's default (/etc/ceph/ceph.conf, CEPH_CONF) when absent. */
  conf?: string;
  /** Ceph client id (the `admin` of `client.admin`). */
  id?: string;
  keyring?: string;
}

export function connectionArgs(c: RbdConnection): string[] {
  const out: string[] = [];
  if (c.conf) out.push('--conf', c.conf);
  if (c.id) out.push('--id', c.id);
  if (c.keyring) out.push('--keyring', c.keyring);
  return out;
}

/**
 * What a failed call printed, without the admin-socket warnings concurrent clients of one ceph.conf print
 * (they all try to bind the same `$name.asok`, and the first "(17) File exists" is not the call's error).
 */
export function toolMessage(stderr: string): string {
  return stderr
    .split('\n')
    .filter((l) => l.trim() !== '' && !/AdminSocket|asok\(/.test(l))
    .join('\n')
    .trim();
}

/** The errno a failed `rbd` call printed ("(2) No such file or directory"), as a Node-style code. */
function codeOf(stderr: string): string {
  const all = [...toolMessage(stderr).matchAll(/\((\d+)\) /g)];
  const errno = all.length > 0 ? Number(all[all.length - 1]![1]) : 0;
  return { 2: 'ENOENT', 17: 'EEXIST', 16: 'EBUSY', 22: 'EINVAL', 28: 'ENOSPC', 39: 'ENOTEMPTY', 110: 'ETIMEDOUT' }[errno] ?? 'EIO';
}

export class RbdCli {
  /**
   * Awaited before every command: the driver's read-write librbd closes still under way (a snapshot create hands
   * its close off), so the tool never meets this process's own watch or exclusive lock on an image.
   */
  ready: () => Promise<void> = () => Promise.resolve();

  constructor(
    private readonly conn: RbdConnection,
    private readonly tool = 'rbd',
  ) {}

  /** Runs one rbd command; rejects with the tool's stderr and a code. */
  async run(args: string[], opts: { input?: Buffer } = {}): Promise<string> {
    await this.ready();
    return new Promise((resolve, reject) => {
      const child = execFile(
        this.tool,
        [...connectionArgs(this.conn), ...args],
        { maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' },
        (err, stdout, stderr) => {
          if (!err) return resolve(stdout);
          const notFound = (err as NodeJS.ErrnoException).code === 'ENOENT' && typeof (err as { code?: unknown }).code === 'string';
          const msg = notFound ? `${this.tool} is not on PATH (Debian: apt-get install ceph-common)` : toolMessage(stderr) || err.message;
          reject(codedError(notFound ? 'ENOTSUP' : codeOf(stderr), `rbd ${args.join(' ')}: ${msg}`));
        },
      );
      if (opts.input) child.stdin?.end(opts.input);
    });
  }

  async json<T>(args: string[]): Promise<T> {
    return JSON.parse(await this.run([...args, '--format', 'json'])) as T;
  }

  /** `rbd import-diff - <spec>` fed from `stream` (diff v1 records). */
  async importDiff(spec: string, stream: AsyncIterable<Buffer>): Promise<void> {
    await this.ready();
    return new Promise((resolve, reject) => {
      const child = spawn(this.tool, [...connectionArgs(this.conn), 'import-diff', '--no-progress', '-', spec], {
        stdio: ['pipe', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      let feedError: unknown = null;
      const feed = async () => {
        try {
          for await (const b of stream) {
            if (!child.stdin.write(b)) await new Promise<void>((r, j) => { child.stdin.once('drain', r); child.stdin.once('error', j); });
          }
        } catch (e) {
          feedError = e;
          child.kill('SIGKILL');
        } finally {
          child.stdin.end();
        }
      };
      child.stdin.on('error', () => {});
      child.on('error', (e) => reject(e));
      void feed();
      child.on('close', (code) => {
        if (feedError) return reject(feedError);
        if (code === 0) return resolve();
        reject(codedError(codeOf(stderr), `rbd import-diff ${spec}: ${toolMessage(stderr) || `exit ${String(code)}`}`));
      });
    });
  }

  /**
   * The records of `rbd export-diff [--from-snap f [--whole-object]] <spec> -`: data ('w') and zeroed ('z')
   * ranges, in order. `wholeObject` reports each changed object whole (from the object map, with fast-diff).
   * Killing the tool when the consumer stops early.
   */
  async *exportDiff(spec: string, opts: { fromSnap?: string; wholeObject?: boolean } = {}): AsyncGenerator<DiffRecord> {
    const since = opts.fromSnap ? ['--from-snap', opts.fromSnap, ...(opts.wholeObject ? ['--whole-object'] : [])] : [];
    await this.ready();
    const args = [...connectionArgs(this.conn), 'export-diff', '--no-progress', ...since, spec, '-'];
    const child = spawn(this.tool, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    let finished = false;
    try {
      try {
        yield* parseDiff(child.stdout);
      } catch (e) {
        // A stream cut short is the tool failing (a missing image, a lost cluster): its message says why.
        const code = await closed;
        finished = true;
        if (code !== 0) throw codedError(codeOf(stderr), `rbd export-diff ${spec}: ${toolMessage(stderr) || `exit ${String(code)}`}`);
        throw e;
      }
      const code = await closed;
      finished = true;
      if (code !== 0) throw codedError(codeOf(stderr), `rbd export-diff ${spec}: ${toolMessage(stderr) || `exit ${String(code)}`}`);
    } finally {
      // The consumer stopped early: the tool must not keep reading the image.
      if (!finished) {
        child.kill('SIGKILL');
        // Unread output would hold 'close' back for ever.
        child.stdout.destroy();
        if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
      }
    }
  }
}

export type DiffRecord = { kind: 'w'; offset: number; data: Buffer } | { kind: 'z'; offset: number; length: number } | { kind: 's'; size: number };

const HEADER = Buffer.from('rbd diff v1\n');

/** Pulls exact byte counts from a chunked stream. */
class ByteReader {
  private buf: Buffer = Buffer.alloc(0);
  private readonly it: AsyncIterator<Buffer>;
  constructor(source: AsyncIterable<Buffer>) {
    this.it = source[Symbol.asyncIterator]();
  }
  async read(n: number): Promise<Buffer | null> {
    const parts: Buffer[] = [this.buf];
    let have = this.buf.length;
    while (have < n) {
      const r = await this.it.next();
      if (r.done) {
        this.buf = Buffer.concat(parts);
        return null;
      }
      parts.push(r.value);
      have += r.value.length;
    }
    const all = parts.length === 1 ? parts[0]! : Buffer.concat(parts, have);
    this.buf = all.subarray(n);
    return all.subarray(0, n);
  }
}

async function* parseDiff(source: AsyncIterable<Buffer>): AsyncGenerator<DiffRecord> {
  const r = new ByteReader(source);
  const header = await r.read(HEADER.length);
  if (!header?.equals(HEADER)) throw codedError('EIO', 'rbd export-diff: not an "rbd diff v1" stream');
  const need = async (n: number) => {
    const b = await r.read(n);
    if (!b) throw codedError('EIO', 'rbd export-diff: stream ended early');
    return b;
  };
  for (;;) {
    const tag = String.fromCharCode((await need(1))[0]!);
    if (tag === 'e') return;
    if (tag === 'f' || tag === 't') {
      await need((await need(4)).readUInt32LE(0));
    } else if (tag === 's') {
      yield { kind: 's', size: Number((await need(8)).readBigUInt64LE(0)) };
    } else if (tag === 'w' || tag === 'z') {
      const h = await need(16);
      const offset = Number(h.readBigUInt64LE(0));
      const length = Number(h.readBigUInt64LE(8));
      if (tag === 'w') yield { kind: 'w', offset, data: Buffer.from(await need(length)) };
      else yield { kind: 'z', offset, length };
    } else throw codedError('EIO', `rbd export-diff: unknown record ${JSON.stringify(tag)}`);
  }
}

export function diffHeader(): Buffer {
  return Buffer.from(HEADER);
}

export function writeRecord(offset: number, data: Buffer): Buffer[] {
  const h = Buffer.alloc(17);
  h.write('w', 0);
  h.writeBigUInt64LE(BigInt(offset), 1);
  h.writeBigUInt64LE(BigInt(data.length), 9);
  return [h, data];
}

export function zeroRecord(offset: number, length: number): Buffer {
  const h = Buffer.alloc(17);
  h.write('z', 0);
  h.writeBigUInt64LE(BigInt(offset), 1);
  h.writeBigUInt64LE(BigInt(length), 9);
  return h;
}

export const END_RECORD = Buffer.from('e');
