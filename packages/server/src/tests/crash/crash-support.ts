/**
 * What the crash suites share: a server in a child process (so it can be SIGKILLed) on a given data directory
 * and volume driver, and a small admin API client for it.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testDatabaseFor } from '../../test-support/harness.js';
import { requestAt } from '../../test-support/http.js';
import { listeningUrl, signalAndWait } from '../../test-support/processes.js';

const ENTRY = join(dirname(fileURLToPath(import.meta.url)), 'serve-entry.ts');

export interface Child {
  proc: ChildProcess;
  url: string;
  /** The PostgreSQL database the child uses (on the PostgreSQL pass); undefined on SQLite. */
  databaseUrl?: string;
}

/**
 * Starts `serve-entry.ts` on `dataDir`; the driver is pinned because each suite's kill point watches its files.
 * `env` adds to the child's environment (a suite's PATH with a slowed tool, say).
 */
export async function startChild(dataDir: string, driver: 'raw' | 'qcow2', env: NodeJS.ProcessEnv = {}): Promise<Child> {
  // On the PostgreSQL pass the data directory's database is made (and later dropped) by this process: the
  // child is killed, so it could not clean up after itself.
  const pgUrl = process.env.CINDERBOX_TEST_DATABASE_URL;
  const databaseUrl = pgUrl ? await testDatabaseFor(dataDir, pgUrl) : undefined;
  const database = databaseUrl ? { CINDERBOX_DATABASE_URL: databaseUrl } : {};
  const proc = spawn(process.execPath, ['--import', 'tsx', ENTRY, dataDir], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env, CINDERBOX_VOLUME_DRIVER: driver, ...database },
  });
  const url = await listeningUrl(proc, (code) => `server exited early with ${code}`);
  return { proc, url, ...(databaseUrl ? { databaseUrl } : {}) };
}

export async function kill(c: Child): Promise<void> {
  await signalAndWait(c.proc, 'SIGKILL');
}

/** A clean stop: SIGTERM, and the server closes (tasks keep their rows for the next start). */
export async function stopChild(c: Child): Promise<void> {
  await signalAndWait(c.proc, 'SIGTERM');
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
    const url = path.startsWith('/identity') ? this.c.url : `${this.c.url}${this.base}`;
    const r = await requestAt(url, method, path, {
      token: this.token || null,
      ...(raw ? { rawBody: raw, headers: { 'Content-Type': 'application/octet-stream' } } : { body }),
    });
    // Callers read a non-JSON answer as its text.
    return { status: r.status, body: r.body === null && r.text ? r.text : r.body, headers: r.headers };
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
