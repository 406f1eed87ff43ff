/**
 * What the crash suites share: a server in a child process (so it can be SIGKILLed) on a given data directory
 * and volume driver, and a small admin API client for it.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ENTRY = join(dirname(fileURLToPath(import.meta.url)), 'serve-entry.ts');

export interface Child {
  proc: ChildProcess;
  url: string;
}

/** Starts `serve-entry.ts` on `dataDir`; the driver is pinned because each suite's kill point watches its files. */
export async function startChild(dataDir: string, driver: 'raw' | 'qcow2'): Promise<Child> {
  const proc = spawn(process.execPath, ['--import', 'tsx', ENTRY, dataDir], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, CINDERBOX_VOLUME_DRIVER: driver },
  });
  const url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /LISTENING (\S+)/.exec(buf);
      if (m) resolve(m[1]!);
    });
    proc.on('exit', (code) => reject(new Error(`server exited early with ${code}`)));
  });
  return { proc, url };
}

export async function kill(c: Child): Promise<void> {
  const exited = new Promise((r) => c.proc.once('exit', r));
  c.proc.kill('SIGKILL');
  await exited;
}

/** The bootstrap admin of `serve-entry.ts`, scoped to its project; block storage paths are relative to it. */
export class CrashApi {
  token = '';
  base = '';
  constructor(public c: Child) {}

  async call(
    method: string,
    path: string,
    body?: unknown,
    raw?: Buffer,
  ): Promise<{ status: number; body: any; headers: Headers }> {
    const headers: Record<string, string> = {};
    if (this.token) headers['X-Auth-Token'] = this.token;
    if (raw) headers['Content-Type'] = 'application/octet-stream';
    else if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(`${this.c.url}${path.startsWith('/identity') ? path : `${this.base}${path}`}`, {
      method,
      headers,
      ...(raw ? { body: raw } : body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let parsed: any = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = text;
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }

  async login(): Promise<void> {
    this.token = '';
    const r = await this.call('POST', '/identity/v3/auth/tokens', {
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: 'admin', domain: { id: 'default' }, password: 'crash-test-admin' } },
        },
        scope: { project: { name: 'admin', domain: { id: 'default' } } },
      },
    });
    assert.equal(r.status, 201);
    this.token = r.headers.get('x-subject-token')!;
    this.base = `/v3/${r.body.token.project.id}`;
  }

  async poll<T>(fn: () => Promise<T | null | undefined | false>, what: string, ms = 120_000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = await fn();
      if (v) return v;
      if (Date.now() > end) throw new Error(`timed out: ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async status(kind: 'volumes' | 'backups', id: string): Promise<any> {
    return (await this.call('GET', `/${kind}/${id}`)).body[kind === 'volumes' ? 'volume' : 'backup'];
  }

  /** Waits for `status`; a resource that goes to `error` instead fails at once with its reason. */
  async until(kind: 'volumes' | 'backups', id: string, status: string): Promise<any> {
    return this.poll(async () => {
      const s = await this.status(kind, id);
      if (s.status === 'error' && status !== 'error') throw new Error(`${kind} ${id} went error: ${s.fail_reason}`);
      return s.status === status ? s : null;
    }, `${kind} ${id} ${status}`);
  }
}
