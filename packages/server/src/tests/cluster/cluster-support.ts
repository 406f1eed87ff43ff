/**
 * A cinderbox cluster for the cluster suite: nodes as child processes (so they can be SIGKILLed) sharing one
 * PostgreSQL database and one backup target, each with its own data directory and loopback port. Times are
 * shrunk (heartbeat 1 s, down after 4 s, task lease 2 s, poll 200 ms) so failures show in seconds.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requestAt } from '../../test-support/http.js';
import { listeningUrl, signalAndWait } from '../../test-support/processes.js';

const ENTRY = join(dirname(fileURLToPath(import.meta.url)), 'node-entry.ts');
export const ADMIN_PASSWORD = 'cluster-test-admin';
export const DOWN_SECONDS = 4;

export interface ClusterEnv {
  databaseUrl: string;
  /** CINDERBOX_VOLUME_BACKENDS of every node (backends are named alike on all nodes). */
  backends: string;
  /** CINDERBOX_BACKUP_TARGETS (one shared target named `shared`), and the AWS credentials an S3 one needs. */
  backupTargets: string;
  extraEnv?: Record<string, string>;
}

export interface ClusterNode {
  name: string;
  dataDir: string;
  proc: ChildProcess;
  url: string;
  /** stderr of the child, for failure messages. */
  log(): string;
  /** The tail of the child's stdout (its pino log lines, after `LISTENING`). */
  out(): string;
}

/** Starts node `name`; resolves with its URL, or rejects with the refusal the node printed. */
export async function startNode(name: string, dataDir: string, env: ClusterEnv): Promise<ClusterNode> {
  const proc = spawn(process.execPath, ['--import', 'tsx', ENTRY, dataDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      CINDERBOX_NODE_NAME: name,
      CINDERBOX_DATABASE_URL: env.databaseUrl,
      CINDERBOX_VOLUME_BACKENDS: env.backends,
      CINDERBOX_BACKUP_TARGETS: env.backupTargets,
      CINDERBOX_DEFAULT_BACKUP_TARGET: 'shared',
      CINDERBOX_ADMIN_PASSWORD: ADMIN_PASSWORD,
      CINDERBOX_SERVICE_REPORT_SECONDS: '1',
      CINDERBOX_SERVICE_DOWN_SECONDS: String(DOWN_SECONDS),
      CINDERBOX_TASK_LEASE: '2',
      CINDERBOX_TASK_POLL_MS: '200',
      CINDERBOX_LOG_LEVEL: 'warn',
      CINDERBOX_DATABASE_POOL_SIZE: '4',
      ...env.extraEnv,
    },
  });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-20_000);
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
  });
  const url = await listeningUrl(proc, (code) => `node ${name} exited early with ${code}: ${err.slice(-2000)}`);
  return { name, dataDir, proc, url, log: () => err, out: () => out };
}

export async function killNode(n: ClusterNode): Promise<void> {
  await signalAndWait(n.proc, 'SIGKILL');
}

export async function stopNode(n: ClusterNode): Promise<void> {
  await signalAndWait(n.proc, 'SIGTERM');
}

/** The admin's client, pointed at one node or another per call (tokens live in the shared database). */
export class ClusterApi {
  token = '';
  projectId = '';

  async login(node: ClusterNode): Promise<void> {
    const r = await requestAt(node.url, 'POST', '/identity/v3/auth/tokens', {
      body: {
        auth: {
          identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: ADMIN_PASSWORD } } },
          scope: { project: { name: 'admin', domain: { id: 'default' } } },
        },
      },
    });
    assert.equal(r.status, 201, r.text);
    this.token = r.headers.get('x-subject-token')!;
    this.projectId = (r.body as { token: { project: { id: string } } }).token.project.id;
  }

  async call(node: ClusterNode, method: string, path: string, body?: unknown): Promise<{ status: number; body: any; text: string }> {
    const r = await requestAt(node.url, method, `/v3/${this.projectId}${path}`, {
      token: this.token,
      ...(body === undefined ? {} : { body }),
      headers: { 'OpenStack-API-Version': 'volume 3.64' },
    });
    return { status: r.status, body: r.body, text: r.text };
  }

  /** A CBR call (`/cbr/v3/{project}…`) through `node`. */
  async cbr(node: ClusterNode, method: string, path: string, body?: unknown): Promise<{ status: number; body: any; text: string }> {
    const r = await requestAt(node.url, method, `/cbr/v3/${this.projectId}${path}`, { token: this.token, ...(body === undefined ? {} : { body }) });
    return { status: r.status, body: r.body, text: r.text };
  }

  async ok(node: ClusterNode, method: string, path: string, body?: unknown): Promise<any> {
    const r = await this.call(node, method, path, body);
    assert.ok(r.status >= 200 && r.status < 300, `${method} ${path} through ${node.name}: ${r.status} ${r.text}`);
    return r.body;
  }

  /** Writes `data` at offset 0 of a volume through `node` (the data API). */
  async upload(node: ClusterNode, volumeId: string, data: Buffer): Promise<void> {
    const r = await fetch(`${node.url}/v3/${this.projectId}/volumes/${volumeId}/cinderbox-data`, {
      method: 'PUT',
      headers: { 'X-Auth-Token': this.token, 'Content-Type': 'application/octet-stream', 'Content-Range': `bytes 0-${data.length - 1}/*` },
      body: data,
    });
    assert.ok(r.ok, `upload through ${node.name}: ${r.status} ${await r.text()}`);
  }

  /**
   * SHA-256 of a volume's first `bytes` (a range read: the scenarios write no further), read through `node`.
   */
  async digest(node: ClusterNode, volumeId: string, bytes = 16 * 1024 * 1024): Promise<string> {
    const r = await fetch(`${node.url}/v3/${this.projectId}/volumes/${volumeId}/cinderbox-data`, {
      headers: { 'X-Auth-Token': this.token, Range: `bytes=0-${bytes - 1}` },
    });
    assert.ok(r.status === 206 && r.body, `download through ${node.name}: ${r.status}`);
    const h = createHash('sha256');
    for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) h.update(chunk);
    return h.digest('hex');
  }

  async poll<T>(fn: () => Promise<T | null | undefined | false>, what: string, ms = 60_000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = await fn();
      if (v) return v;
      if (Date.now() > end) throw new Error(`timed out: ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Waits through `node` until the resource reaches `status`; `error` (when not awaited) fails at once. */
  async until(node: ClusterNode, kind: 'volumes' | 'snapshots' | 'backups', id: string, status: string, ms = 60_000): Promise<any> {
    const key = kind.slice(0, -1);
    return this.poll(async () => {
      const r = (await this.ok(node, 'GET', `/${kind}/${id}`))[key];
      if (r.status === 'error' && status !== 'error') throw new Error(`${key} ${id} went error: ${r.fail_reason ?? ''}`);
      return r.status === status ? r : null;
    }, `${key} ${id} ${status} (through ${node.name})`, ms);
  }

  /** Sets a service's switch through `node` (`os-services` disable/enable). */
  async setService(node: ClusterNode, host: string, binary: string, enabled: boolean, reason?: string): Promise<void> {
    const body = enabled || reason === undefined ? { host, binary } : { host, binary, disabled_reason: reason };
    await this.ok(node, 'PUT', `/os-services/${enabled ? 'enable' : reason === undefined ? 'disable' : 'disable-log-reason'}`, body);
  }

  async services(node: ClusterNode): Promise<{ binary: string; host: string; status: string; state: string; disabled_reason: string | null }[]> {
    return (await this.ok(node, 'GET', '/os-services')).services;
  }
}

/** `node@backend#pool` → node. */
export const nodeOf = (host: string): string => host.split('@')[0]!;
