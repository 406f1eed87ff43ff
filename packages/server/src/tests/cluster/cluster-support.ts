/**
 * A cinderbox cluster for the cluster suite: nodes as child processes (so they can be SIGKILLed) sharing one
 * PostgreSQL database and one backup target, each with its own data directory and loopback port. Times are
 * shrunk (heartbeat 1 s, down after 4 s, task lease 2 s, poll 200 ms) so failures show in seconds.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { makeTestPool, type TestPool } from '../../drivers/volume/rbd/test-support.js';
import { createTestDatabase, dropTestDatabase } from '../../test-support/harness.js';
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

  /** Writes `data` at `offset` of a volume through `node` (the data API). */
  async upload(node: ClusterNode, volumeId: string, data: Buffer, offset = 0): Promise<void> {
    const r = await fetch(`${node.url}/v3/${this.projectId}/volumes/${volumeId}/cinderbox-data`, {
      method: 'PUT',
      headers: {
        'X-Auth-Token': this.token,
        'Content-Type': 'application/octet-stream',
        'Content-Range': `bytes ${offset}-${offset + data.length - 1}/*`,
      },
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

  /** Raises the project's quotas through `node`: the scenarios make more than the defaults allow one project. */
  async raiseQuotas(node: ClusterNode, limits: Record<string, number> = { volumes: 100, snapshots: 100, gigabytes: 1000 }): Promise<void> {
    await this.ok(node, 'PUT', `/os-quota-sets/${this.projectId}`, { quota_set: limits });
  }

  /**
   * Through `node`: a volume type `ceph` on the RBD backend, `members` 1 GiB volumes of it (available), and a group
   * of group type `groupType` holding them all (what a write-barrier scenario snapshots).
   */
  async rbdGroup(node: ClusterNode, groupType: string, members = 2): Promise<{ typeId: string; volumes: string[]; groupId: string }> {
    const type = (await this.ok(node, 'POST', '/types', { volume_type: { name: 'ceph', extra_specs: { volume_backend_name: 'ceph' } } })).volume_type;
    const volumes: string[] = [];
    for (let i = 0; i < members; i++) volumes.push((await this.ok(node, 'POST', '/volumes', { volume: { size: 1, volume_type: type.id } })).volume.id);
    for (const id of volumes) await this.until(node, 'volumes', id, 'available');
    const gtype = (await this.ok(node, 'POST', '/group_types', { group_type: { name: groupType } })).group_type;
    const group = (await this.ok(node, 'POST', '/groups', { group: { group_type: gtype.id, volume_types: [type.id] } })).group;
    await this.poll(async () => (await this.ok(node, 'GET', `/groups/${group.id}`)).group.status === 'available', 'group available');
    await this.ok(node, 'PUT', `/groups/${group.id}`, { group: { add_volumes: volumes.join(',') } });
    return { typeId: type.id, volumes, groupId: group.id };
  }

  /** Waits through `node` until group snapshot `id` is available; `error` fails at once. */
  async groupSnapshotAvailable(node: ClusterNode, id: string): Promise<void> {
    await this.poll(async () => {
      const s = (await this.ok(node, 'GET', `/group_snapshots/${id}`)).group_snapshot.status;
      if (s === 'error') throw new Error('group snapshot went error');
      return s === 'available';
    }, 'group snapshot available');
  }

  /** Takes a group snapshot of `groupId` through `node`; resolves with its id once it is available. */
  async groupSnapshot(node: ClusterNode, groupId: string): Promise<string> {
    const gs = (await this.ok(node, 'POST', '/group_snapshots', { group_snapshot: { group_id: groupId } })).group_snapshot;
    await this.groupSnapshotAvailable(node, gs.id);
    return gs.id as string;
  }

  async services(node: ClusterNode): Promise<{ binary: string; host: string; status: string; state: string; disabled_reason: string | null }[]> {
    return (await this.ok(node, 'GET', '/os-services')).services;
  }
}

/** `node@backend#pool` → node. */
export const nodeOf = (host: string): string => host.split('@')[0]!;

/**
 * Runs `fn` while `node` is SIGSTOPped (alive but deaf: a paused VM, a long GC), and lets it run again after, whatever
 * `fn` did.
 */
export async function whileStopped<T>(node: ClusterNode, fn: () => Promise<T>): Promise<T> {
  node.proc.kill('SIGSTOP');
  try {
    return await fn();
  } finally {
    node.proc.kill('SIGCONT');
  }
}

/** The variables a cluster suite may find its PostgreSQL server by. */
export type PostgresVar = 'CINDERBOX_TEST_POSTGRES_URL' | 'CINDERBOX_TEST_DATABASE_URL';

/**
 * Declares the suite `body` with the admin URL of the first of `vars` that is set; with none set, a test named `title`
 * that skips, or fails under CINDERBOX_TEST_PG=require. Each file names its variables itself: scripts/test.sh picks
 * the files of its PostgreSQL pass by grepping them for CINDERBOX_TEST_DATABASE_URL.
 */
export function withPostgres(title: string, vars: readonly PostgresVar[], body: (pgAdmin: string) => void): void {
  const pgAdmin = vars.map((v) => process.env[v]).find((u) => u);
  if (pgAdmin) return body(pgAdmin);
  const names = vars.join(' / ');
  test(title, (t) => {
    if (process.env.CINDERBOX_TEST_PG === 'require') assert.fail(`CINDERBOX_TEST_PG=require, but ${names} is not set`);
    t.skip(`no PostgreSQL: ${names} is not set (scripts/test.sh starts one with scripts/start-postgres.sh)`);
  });
}

export interface ClusterOptions {
  /** Names the temporary directories (`cinderbox-<label>-<key>-…`) and the RBD pool. */
  label: string;
  /** Node-local backends as CINDERBOX_VOLUME_BACKENDS, named alike on every node. */
  backends: string;
  /**
   * Adds a shared RBD backend `ceph` on a throwaway pool of the test Ceph. Without Ceph, `skip` says why, and setUp()
   * stops there (`true`) or goes on without the backend (`'optional'`: the scenarios that need it look at `pool`).
   */
  rbd?: boolean | 'optional';
  extraEnv?: Record<string, string>;
}

/**
 * One scenario's cluster: its own database on the shared PostgreSQL server, a shared backup target directory
 * (`shared`), an RBD pool when asked for, a data directory per node, and every node process it started, all undone by
 * tearDown().
 */
export class TestCluster {
  readonly api = new ClusterApi();
  /** The node last started under each name. */
  readonly nodes: Record<string, ClusterNode> = {};
  env!: ClusterEnv;
  pool: TestPool | null = null;
  /** Why there is no RBD backend when one was asked for ('' otherwise); setUp() made nothing else then. */
  skip = '';
  private databaseUrl = '';
  private readonly dirs = new Map<string, string>();
  private readonly started: ClusterNode[] = [];

  constructor(
    private readonly pgAdmin: string,
    private readonly opts: ClusterOptions,
  ) {}

  /** `backupTargets` replaces the shared target directory (an S3 bucket, say; its credentials go in `extraEnv`). */
  async setUp(target: { backupTargets?: string; extraEnv?: Record<string, string> } = {}): Promise<void> {
    let backends = this.opts.backends;
    if (this.opts.rbd) {
      const made = makeTestPool(this.opts.label);
      if ('skip' in made) {
        this.skip = made.skip;
        if (this.opts.rbd !== 'optional') return;
      } else {
        this.pool = made;
        backends += `,ceph:rbd:${made.pool}?conf=${made.conf}`;
      }
    }
    this.databaseUrl = await createTestDatabase(this.pgAdmin);
    const extraEnv = { ...this.opts.extraEnv, ...target.extraEnv };
    this.env = {
      databaseUrl: this.databaseUrl,
      backends,
      backupTargets: target.backupTargets ?? `shared=file://${this.dir('target')}`,
      ...(Object.keys(extraEnv).length > 0 ? { extraEnv } : {}),
    };
  }

  /** A temporary directory of this cluster's, made on first use: a node's data directory is dir(<its name>). */
  dir(key: string): string {
    let d = this.dirs.get(key);
    if (!d) {
      d = mkdtempSync(join(tmpdir(), `cinderbox-${this.opts.label}-${key}-`));
      this.dirs.set(key, d);
    }
    return d;
  }

  /** Starts node `name` on `dataDir` (by default its own, so a restart finds its files again). */
  async start(name: string, dataDir = this.dir(name)): Promise<ClusterNode> {
    const n = await startNode(name, dataDir, this.env);
    this.started.push(n);
    this.nodes[name] = n;
    return n;
  }

  /** Starts `names` one after the other (the first migrates the database) and logs the admin in through the first. */
  async boot(...names: string[]): Promise<void> {
    for (const name of names) await this.start(name);
    await this.api.login(this.node(names[0]!));
  }

  node(name: string): ClusterNode {
    const n = this.nodes[name];
    if (!n) throw new Error(`no node ${name} was started`);
    return n;
  }

  async tearDown(): Promise<void> {
    for (const n of this.started) await killNode(n);
    if (this.databaseUrl) await dropTestDatabase(this.pgAdmin, this.databaseUrl).catch(() => {});
    this.pool?.remove();
    for (const d of this.dirs.values()) await rm(d, { recursive: true, force: true });
  }
}
