/**
 * The soak: a real server in a child process on a data directory that survives restarts, several projects' users
 * doing mixed block-storage and CBR work against it at once, a killer that SIGKILLs and restarts the server at
 * random intervals, and at the end a checker that compares what the server holds with what the clients believe
 * (their ledger) and with what is on disk. Shared by the long run (`bench/soak/run.ts`) and the CI test
 * (`packages/server/src/tests/crash/soak.test.ts`).
 */
import { createCipheriv, createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig } from '../../packages/server/src/config/config.js';
import { openDatabase } from '../../packages/server/src/store/database.js';
import { type Child, kill, startChild, stopChild } from '../../packages/server/src/tests/crash/crash-support.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const ADMIN_PASSWORD = 'crash-test-admin';

export interface SoakOptions {
  dataDir: string;
  driver: 'raw' | 'qcow2';
  /** How long the clients make load (with a finite `maxKills`, at least until the last kill's restart). */
  durationMs: number;
  /** A kill comes a random time in [min, max] after the previous restart. */
  killEveryMs: [number, number];
  /** At most this many kills (the CI test stops at 3). */
  maxKills: number;
  projects: number;
  usersPerProject: number;
  /** Bytes each upload writes at offset 0 (a pattern from a seed). */
  uploadBytes: number;
  /** Compare restored and stored volumes over their whole size; otherwise the written head and zero probes. */
  fullCompare: boolean;
  /** Longest a client waits for one operation to finish before it calls it stuck and moves on. */
  opTimeoutMs: number;
  /** Longest the end waits for every resource to leave its transitional status. */
  settleTimeoutMs: number;
  seed: number;
  log: (line: string) => void;
}

export const DEFAULTS: Omit<SoakOptions, 'dataDir' | 'log'> = {
  driver: 'raw',
  durationMs: 30 * 60_000,
  killEveryMs: [60_000, 180_000],
  maxKills: Infinity,
  projects: 3,
  usersPerProject: 2,
  uploadBytes: 5 * MiB,
  fullCompare: true,
  opTimeoutMs: 180_000,
  settleTimeoutMs: 300_000,
  seed: Date.now() % 2 ** 31,
};

export interface CheckResult {
  name: string;
  ok: boolean;
  /** What was checked (counts) and, when it failed, what was wrong. */
  detail: string[];
}

export interface SoakReport {
  ops: Map<string, Map<string, number>>;
  kills: number;
  restarts: number;
  checks: CheckResult[];
  ok: boolean;
  text: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Server handle: the child process, killed and restarted on the same data directory.

class Server {
  child: Child | null = null;
  /** Empty while the server is down: requests wait for the next one instead of hammering a dead port. */
  url = '';
  kills = 0;
  restarts = 0;
  /** The PostgreSQL database of the data directory, when the children use one. */
  databaseUrl: string | undefined;
  constructor(private readonly opts: SoakOptions) {}

  async start(): Promise<void> {
    this.child = await startChild(this.opts.dataDir, this.opts.driver);
    this.url = this.child.url;
    this.databaseUrl = this.child.databaseUrl;
  }

  async kill(): Promise<void> {
    const c = this.child!;
    this.child = null;
    this.url = '';
    await kill(c);
    this.kills++;
  }

  async stop(): Promise<void> {
    const c = this.child!;
    this.child = null;
    this.url = '';
    await stopChild(c);
  }

  async restart(): Promise<void> {
    await this.start();
    this.restarts++;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP with the retries a client of a crashing server needs.

interface Res {
  status: number;
  body: any;
  text: string;
}

/** A request whose connection died after it was sent: it may or may not have taken effect. */
const LOST = 'lost' as const;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether a fetch error means the request never reached a server (safe to send again). */
function neverSent(err: unknown): boolean {
  const code = (err as { cause?: { code?: string } }).cause?.code;
  return code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EADDRNOTAVAIL';
}

class Http {
  constructor(
    private readonly server: Server,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Sends once the server is up. Refused connections and 503s are retried (nothing happened); a connection that
   * dies mid-request is retried when `idempotent`, and answers LOST otherwise.
   */
  async send(
    method: string,
    path: string,
    o: { token?: string; body?: unknown; raw?: Buffer; headers?: Record<string, string>; idempotent?: boolean } = {},
  ): Promise<Res | typeof LOST> {
    const end = Date.now() + this.timeoutMs;
    for (;;) {
      if (Date.now() > end) throw new Error(`${method} ${path}: no answer for ${this.timeoutMs} ms`);
      const url = this.server.url;
      if (!url) {
        await sleep(100);
        continue;
      }
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      if (o.token) headers['X-Auth-Token'] = o.token;
      let body: string | Buffer | undefined;
      if (o.raw) {
        body = o.raw;
        headers['Content-Type'] = 'application/octet-stream';
      } else if (o.body !== undefined) {
        body = JSON.stringify(o.body);
        headers['Content-Type'] = 'application/json';
      }
      let res: Response;
      let text: string;
      try {
        res = await fetch(`${url}${path}`, { method, headers, body });
        text = await res.text();
      } catch (err) {
        if (neverSent(err) || o.idempotent || method === 'GET') {
          await sleep(100);
          continue;
        }
        return LOST;
      }
      if (res.status === 503) {
        await sleep(200);
        continue;
      }
      let parsed: unknown = null;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        parsed = null;
      }
      return { status: res.status, body: parsed, text };
    }
  }

  /** Bytes [start, end] of a data URL; retried until the server answers. */
  async range(path: string, token: string, start: number, end: number): Promise<{ status: number; bytes: Buffer }> {
    const r = await this.rawGet(path, token, { Range: `bytes=${start}-${end}` });
    return r;
  }

  async rawGet(path: string, token: string, headers: Record<string, string> = {}): Promise<{ status: number; bytes: Buffer }> {
    const end = Date.now() + this.timeoutMs;
    for (;;) {
      if (Date.now() > end) throw new Error(`GET ${path}: no answer for ${this.timeoutMs} ms`);
      const url = this.server.url;
      if (!url) {
        await sleep(100);
        continue;
      }
      try {
        const res = await fetch(`${url}${path}`, { headers: { 'X-Auth-Token': token, ...headers } });
        const bytes = Buffer.from(await res.arrayBuffer());
        if (res.status === 503) {
          await sleep(200);
          continue;
        }
        return { status: res.status, bytes };
      } catch {
        await sleep(100);
      }
    }
  }

  /** Streams a data URL through `each`; retried from the start if the server goes away mid-stream. */
  async stream(path: string, token: string, each: (part: Uint8Array) => void, reset: () => void): Promise<number> {
    const end = Date.now() + this.timeoutMs;
    for (;;) {
      if (Date.now() > end) throw new Error(`GET ${path}: no answer for ${this.timeoutMs} ms`);
      const url = this.server.url;
      if (!url) {
        await sleep(100);
        continue;
      }
      reset();
      try {
        const res = await fetch(`${url}${path}`, { headers: { 'X-Auth-Token': token } });
        if (res.status === 503) {
          await res.arrayBuffer();
          await sleep(200);
          continue;
        }
        if (res.status !== 200) {
          await res.arrayBuffer();
          return res.status;
        }
        for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) each(part);
        return 200;
      } catch {
        await sleep(100);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Content: what a volume's bytes should be. Uploads write `uploadBytes` of a seeded pattern at offset 0 of a
// zeroed volume, so a seed (or zero, or unknown after an interrupted upload) says everything.

export type Content = { seed: number } | 'zero' | 'unknown';

const patternCache = new Map<string, Buffer>();

export function pattern(seed: number, length: number): Buffer {
  const key = `${seed}/${length}`;
  let p = patternCache.get(key);
  if (!p) {
    // AES-CTR over zeros: fast, deterministic, incompressible.
    const k = createHash('sha256').update(`soak-${seed}`).digest();
    p = createCipheriv('aes-128-ctr', k.subarray(0, 16), k.subarray(16, 32)).update(Buffer.alloc(length));
    if (patternCache.size > 64) patternCache.clear();
    patternCache.set(key, p);
  }
  return p;
}

function describe(c: Content): string {
  return typeof c === 'string' ? c : `pattern ${c.seed}`;
}

// ---------------------------------------------------------------------------------------------------------------
// The ledger: what each client believes exists.

type Belief = 'live' | 'deleting' | 'gone';

interface VolumeEntry {
  id: string;
  name: string;
  size: number;
  content: Content;
  belief: Belief;
  /** An operation on it timed out: left alone from then on, the end reports its status. */
  stuck?: boolean;
  vault?: string;
}
interface SnapshotEntry {
  id: string;
  name: string;
  volumeId: string;
  size: number;
  content: Content;
  belief: Belief;
  stuck?: boolean;
}
interface BackupEntry {
  id: string;
  name: string;
  volumeId: string;
  size: number;
  content: Content;
  belief: Belief;
  stuck?: boolean;
  status?: string;
}
interface VaultEntry {
  id: string;
  name: string;
  belief: Belief;
  resources: Set<string>;
  policy?: string;
}
interface PolicyEntry {
  id: string;
  name: string;
  belief: Belief;
}
interface CbrBackupEntry {
  id: string;
  vaultId: string;
  volumeId: string;
  size: number;
  content: Content;
  belief: Belief;
  stuck?: boolean;
  status?: string;
}

class Ledger {
  volumes = new Map<string, VolumeEntry>();
  snapshots = new Map<string, SnapshotEntry>();
  backups = new Map<string, BackupEntry>();
  vaults = new Map<string, VaultEntry>();
  policies = new Map<string, PolicyEntry>();
  cbrBackups = new Map<string, CbrBackupEntry>();
  checkpoints = new Set<string>();
}

// ---------------------------------------------------------------------------------------------------------------

/** mulberry32: a small seeded generator, so a run's choices follow its --seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Stats {
  ops = new Map<string, Map<string, number>>();
  /** One answer per refusal kind (status and body), so a report says why operations were refused. */
  examples = new Map<string, Set<string>>();
  example(outcome: string, text: string): void {
    let set = this.examples.get(outcome);
    if (!set) this.examples.set(outcome, (set = new Set()));
    // Ids stripped, so the same refusal of different resources is one example.
    if (set.size < 6) set.add(text.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<id>').slice(0, 200));
  }
  add(kind: string, outcome: string): void {
    let m = this.ops.get(kind);
    if (!m) this.ops.set(kind, (m = new Map()));
    m.set(outcome, (m.get(outcome) ?? 0) + 1);
  }
  total(): number {
    let n = 0;
    for (const m of this.ops.values()) for (const v of m.values()) n += v;
    return n;
  }
}

const TRANSITIONAL = {
  volume: new Set([
    'creating', 'deleting', 'attaching', 'detaching', 'backing-up', 'restoring-backup', 'uploading', 'downloading',
    'extending', 'maintenance', 'reserved', 'managing', 'unmanaging', 'reverting', 'retyping', 'awaiting-transfer',
  ]),
  snapshot: new Set(['creating', 'deleting', 'updating', 'unmanaging', 'backing-up', 'restoring']),
  backup: new Set(['creating', 'deleting', 'restoring']),
  vault: new Set(['deleting']),
  checkpoint: new Set(['protecting']),
  cbrBackup: new Set(['protecting', 'deleting', 'restoring', 'waiting_protect', 'waiting_delete', 'waiting_restore']),
  protect: new Set(['protecting', 'restoring', 'removing']),
};

/** A vault's status is inside its billing. */
const vaultStatus = (v: any): string => v.billing.status;

/** Outcome of waiting for a resource: its status, or that it is gone, or that the wait ran out. */
type Waited = { status: string; body: any } | 'gone' | 'timeout';

class Client {
  token = '';
  readonly L = new Ledger();
  /** The operation under way, for the report's refusal examples. */
  private kind = '';
  private n = 0;
  private readonly rand: () => number;

  constructor(
    private readonly soak: Soak,
    readonly name: string,
    readonly projectId: string,
    readonly userName: string,
    private readonly password: string,
    seed: number,
  ) {
    this.rand = rng(seed);
  }

  private get http(): Http {
    return this.soak.http;
  }

  private nextName(kind: string): string {
    return `soak-${this.name}-${kind}-${++this.n}`;
  }

  private pick<T>(xs: T[]): T | undefined {
    return xs.length ? xs[Math.floor(this.rand() * xs.length)] : undefined;
  }

  /** A token for this user in its project (the token is in a header, which `Http.send` does not keep). */
  async login(): Promise<string> {
    for (;;) {
      const url = this.soak.server.url;
      if (!url) {
        await sleep(100);
        continue;
      }
      try {
        const res = await fetch(`${url}/identity/v3/auth/tokens`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({
            auth: {
              identity: { methods: ['password'], password: { user: { name: this.userName, domain: { id: 'default' }, password: this.password } } },
              scope: { project: { id: this.projectId } },
            },
          }),
        });
        await res.text();
        if (res.status === 201) return res.headers.get('x-subject-token')!;
        if (res.status !== 503) throw new Error(`login of ${this.userName}: ${res.status}`);
      } catch (err) {
        if ((err as Error).message.startsWith('login of')) throw err;
      }
      await sleep(100);
    }
  }

  /** A block-storage or CBR request as this user; a 401 (token lost with a database restore) logs in again. */
  async req(method: string, path: string, o: { body?: unknown; raw?: Buffer; idempotent?: boolean } = {}): Promise<Res | typeof LOST> {
    for (let i = 0; ; i++) {
      const r = await this.http.send(method, path, { ...o, token: this.token });
      if (r !== LOST && r.status === 401 && i === 0) {
        this.token = await this.login();
        continue;
      }
      return r;
    }
  }

  bs(path: string): string {
    return `/v3/${this.projectId}${path}`;
  }
  cbr(path: string): string {
    return `/cbr/v3/${this.projectId}${path}`;
  }

  async get(path: string): Promise<Res> {
    return (await this.req('GET', path)) as Res;
  }

  /** Polls `path` until `done(status)` or it is gone (404) or the operation timeout. */
  async wait(path: string, key: string, done: (status: string) => boolean, statusOf?: (body: any) => string): Promise<Waited> {
    const end = Date.now() + this.soak.opts.opTimeoutMs;
    for (;;) {
      const r = await this.get(path);
      if (r.status === 404) return 'gone';
      if (r.status === 200) {
        const b = r.body[key];
        const st = statusOf ? statusOf(b) : (b.status as string);
        if (done(st)) return { status: st, body: b };
      }
      if (Date.now() > end || this.soak.aborting) return 'timeout';
      await sleep(100);
    }
  }

  /** Waits for a resource to leave its transitional statuses. */
  settle(path: string, key: string, transitional: Set<string>): Promise<Waited> {
    return this.wait(path, key, (s) => !transitional.has(s));
  }

  /** The id of this project's record called `name` in a list, after a create whose answer was lost. */
  async findByName(path: string, key: string, name: string): Promise<any | undefined> {
    const r = await this.get(path);
    if (r.status !== 200) return undefined;
    return (r.body[key] as any[]).find((x) => x.name === name);
  }

  /**
   * What a create answered: the new record's id, or, when the answer was lost to a kill, the id of the record
   * called `name` in the listing (`lost` says which); a refusal or a lost create that left nothing is the
   * outcome string to report.
   */
  private async created(
    r: Res | typeof LOST,
    ok: number,
    id: (body: any) => string,
    listing: [path: string, key: string],
    name: string,
  ): Promise<{ id: string; lost: boolean } | string> {
    if (r === LOST) {
      const found = await this.findByName(listing[0], listing[1], name);
      return found ? { id: found.id as string, lost: true } : 'interrupted-none';
    }
    if (r.status !== ok) return this.refused(r);
    return { id: id(r.body), lost: false };
  }

  /** `refused-<status>`, keeping the first answer of each kind as an example for the report. */
  private refused(r: Res): string {
    const out = `refused-${r.status}`;
    this.soak.stats.example(`${this.kind} ${out}`, r.text);
    return out;
  }

  private outcome(w: Waited, ok: string): string {
    if (w === 'timeout') return 'stuck';
    if (w === 'gone') return 'gone';
    return w.status === ok ? 'ok' : w.status;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Operations. Each returns its outcome: ok, refused-<status>, interrupted-…, stuck, or the status it ended in.

  private liveVolumes(status?: (v: VolumeEntry) => boolean): VolumeEntry[] {
    return [...this.L.volumes.values()].filter((v) => v.belief === 'live' && !v.stuck && (!status || status(v)));
  }

  private async volumeStatus(id: string): Promise<string | null> {
    const r = await this.get(this.bs(`/volumes/${id}`));
    return r.status === 200 ? (r.body.volume.status as string) : null;
  }

  /** Adds a volume made by a create, a from-snapshot create or a restore, and waits for it. */
  private async adoptVolume(id: string, name: string, size: number, content: Content, lost: boolean): Promise<string> {
    const v: VolumeEntry = { id, name, size, content, belief: 'live' };
    this.L.volumes.set(id, v);
    const w = await this.settle(this.bs(`/volumes/${id}`), 'volume', TRANSITIONAL.volume);
    if (w === 'timeout') v.stuck = true;
    if (w === 'gone') v.belief = 'gone';
    if (w !== 'timeout' && w !== 'gone' && w.status !== 'available') v.content = 'unknown';
    return (lost ? 'interrupted-' : '') + this.outcome(w, 'available');
  }

  async createVolume(): Promise<string> {
    const name = this.nextName('vol');
    const size = this.rand() < 0.8 ? 1 : 2;
    const r = await this.req('POST', this.bs('/volumes'), { body: { volume: { size, name } } });
    const c = await this.created(r, 202, (b) => b.volume.id, [this.bs('/volumes/detail'), 'volumes'], name);
    return typeof c === 'string' ? c : this.adoptVolume(c.id, name, size, 'zero', c.lost);
  }

  async upload(): Promise<string | null> {
    const v = this.pick(this.liveVolumes());
    if (!v || (await this.volumeStatus(v.id)) !== 'available') return null;
    const seed = Math.floor(this.rand() * 2 ** 31);
    const r = await this.req('PUT', this.bs(`/volumes/${v.id}/cinderbox-data`), { raw: pattern(seed, this.soak.opts.uploadBytes) });
    let lost = false;
    if (r === LOST) {
      v.content = 'unknown';
      lost = true;
    } else if (r.status >= 300) {
      return this.refused(r);
    } else v.content = { seed };
    const w = await this.settle(this.bs(`/volumes/${v.id}`), 'volume', TRANSITIONAL.volume);
    if (w === 'timeout') v.stuck = true;
    return (lost ? 'interrupted-' : '') + this.outcome(w, 'available');
  }

  async snapshot(): Promise<string | null> {
    const v = this.pick(this.liveVolumes());
    if (!v || (await this.volumeStatus(v.id)) !== 'available') return null;
    const name = this.nextName('snap');
    const r = await this.req('POST', this.bs('/snapshots'), { body: { snapshot: { volume_id: v.id, name } } });
    const c = await this.created(r, 202, (b) => b.snapshot.id, [this.bs('/snapshots/detail'), 'snapshots'], name);
    if (typeof c === 'string') return c;
    const { id, lost } = c;
    const s: SnapshotEntry = { id, name, volumeId: v.id, size: v.size, content: v.content, belief: 'live' };
    this.L.snapshots.set(id, s);
    const w = await this.settle(this.bs(`/snapshots/${id}`), 'snapshot', TRANSITIONAL.snapshot);
    if (w === 'timeout') s.stuck = true;
    if (w === 'gone') s.belief = 'gone';
    await this.settle(this.bs(`/volumes/${v.id}`), 'volume', TRANSITIONAL.volume);
    return (lost ? 'interrupted-' : '') + this.outcome(w, 'available');
  }

  async volumeFromSnapshot(): Promise<string | null> {
    const s = this.pick([...this.L.snapshots.values()].filter((x) => x.belief === 'live' && !x.stuck));
    if (!s) return null;
    const cur = await this.get(this.bs(`/snapshots/${s.id}`));
    if (cur.status !== 200 || cur.body.snapshot.status !== 'available') return null;
    const name = this.nextName('vol');
    const r = await this.req('POST', this.bs('/volumes'), { body: { volume: { size: s.size, name, snapshot_id: s.id } } });
    const c = await this.created(r, 202, (b) => b.volume.id, [this.bs('/volumes/detail'), 'volumes'], name);
    return typeof c === 'string' ? c : this.adoptVolume(c.id, name, s.size, s.content, c.lost);
  }

  async backup(incremental: boolean): Promise<string | null> {
    const withBackup = new Set(
      [...this.L.backups.values()].filter((b) => b.belief === 'live' && b.status === 'available').map((b) => b.volumeId),
    );
    const v = this.pick(this.liveVolumes((x) => !incremental || withBackup.has(x.id)));
    if (!v || (await this.volumeStatus(v.id)) !== 'available') return null;
    const name = this.nextName(incremental ? 'incr' : 'full');
    const r = await this.req('POST', this.bs('/backups'), { body: { backup: { volume_id: v.id, name, incremental } } });
    const c = await this.created(r, 202, (b) => b.backup.id, [this.bs('/backups/detail'), 'backups'], name);
    if (typeof c === 'string') {
      if (c === 'interrupted-none') await this.settle(this.bs(`/volumes/${v.id}`), 'volume', TRANSITIONAL.volume);
      return c;
    }
    const { id, lost } = c;
    const b: BackupEntry = { id, name, volumeId: v.id, size: v.size, content: v.content, belief: 'live' };
    this.L.backups.set(id, b);
    const w = await this.settle(this.bs(`/backups/${id}`), 'backup', TRANSITIONAL.backup);
    if (w === 'timeout') b.stuck = true;
    else if (w === 'gone') b.belief = 'gone';
    else b.status = w.status;
    const wv = await this.settle(this.bs(`/volumes/${v.id}`), 'volume', TRANSITIONAL.volume);
    if (wv === 'timeout') v.stuck = true;
    return (lost ? 'interrupted-' : '') + this.outcome(w, 'available');
  }

  async restore(): Promise<string | null> {
    const b = this.pick([...this.L.backups.values()].filter((x) => x.belief === 'live' && !x.stuck && x.status === 'available'));
    if (!b) return null;
    const name = this.nextName('restored');
    const r = await this.req('POST', this.bs(`/backups/${b.id}/restore`), { body: { restore: { name } } });
    const c = await this.created(r, 202, (body) => body.restore.volume_id, [this.bs('/volumes/detail'), 'volumes'], name);
    if (typeof c === 'string' && c !== 'interrupted-none') return c;
    const out = typeof c === 'string' ? c : await this.adoptVolume(c.id, name, b.size, b.content, c.lost);
    const w = await this.settle(this.bs(`/backups/${b.id}`), 'backup', TRANSITIONAL.backup);
    if (w === 'timeout') b.stuck = true;
    else if (w !== 'gone') b.status = w.status;
    return out;
  }

  /** Deletes and waits for the record to go; an answer lost to a kill is followed by the same wait. */
  private async deleteAndWait(
    path: string,
    key: string,
    entry: { belief: Belief; stuck?: boolean },
    accepted: number,
    transitional: Set<string>,
    statusOf?: (body: any) => string,
  ): Promise<string> {
    const r = await this.req('DELETE', path);
    if (r !== LOST && r.status !== accepted) return this.refused(r);
    entry.belief = 'deleting';
    const w = await this.wait(path, key, (s) => !transitional.has(s) && s !== 'deleting', statusOf);
    if (w === 'gone') entry.belief = 'gone';
    // A delete whose request died with the server and whose record is usable afterwards never committed.
    if (r === LOST && typeof w === 'object' && !w.status.startsWith('error')) {
      entry.belief = 'live';
      return `interrupted-not-deleted`;
    }
    if (w === 'timeout') entry.stuck = true;
    // A delete that ends in an error status stays a delete the client asked for: the end expects the record gone.
    return (r === LOST ? 'interrupted-' : '') + (w === 'gone' ? 'ok' : this.outcome(w, ''));
  }

  async deleteSnapshot(): Promise<string | null> {
    const s = this.pick([...this.L.snapshots.values()].filter((x) => x.belief === 'live' && !x.stuck));
    if (!s) return null;
    const out = await this.deleteAndWait(this.bs(`/snapshots/${s.id}`), 'snapshot', s, 202, TRANSITIONAL.snapshot);
    return out;
  }

  async deleteVolume(): Promise<string | null> {
    const hasSnaps = new Set([...this.L.snapshots.values()].filter((s) => s.belief !== 'gone').map((s) => s.volumeId));
    const cascade = this.rand() < 0.3;
    const v = this.pick(this.liveVolumes((x) => cascade || !hasSnaps.has(x.id)));
    if (!v) return null;
    const out = await this.deleteAndWait(
      this.bs(`/volumes/${v.id}${cascade ? '?cascade=true' : ''}`),
      'volume',
      v,
      202,
      TRANSITIONAL.volume,
    );
    if (v.belief !== 'live') {
      for (const s of this.L.snapshots.values()) if (s.volumeId === v.id && s.belief === 'live') s.belief = 'deleting';
      for (const s of this.L.snapshots.values()) if (s.volumeId === v.id && v.belief === 'gone') s.belief = 'gone';
      for (const vault of this.L.vaults.values()) vault.resources.delete(v.id);
    }
    return out;
  }

  async deleteBackup(): Promise<string | null> {
    const b = this.pick([...this.L.backups.values()].filter((x) => x.belief === 'live' && !x.stuck));
    if (!b) return null;
    return this.deleteAndWait(this.bs(`/backups/${b.id}`), 'backup', b, 202, TRANSITIONAL.backup);
  }

  // CBR ------------------------------------------------------------------------------------------------------------

  private vaulted(): Set<string> {
    const s = new Set<string>();
    for (const v of this.L.vaults.values()) if (v.belief !== 'gone') for (const r of v.resources) s.add(r);
    return s;
  }

  async createVault(): Promise<string | null> {
    const inVault = this.vaulted();
    const v = this.pick(this.liveVolumes((x) => !inVault.has(x.id)));
    if (!v) return null;
    const name = this.nextName('vault');
    const r = await this.req('POST', this.cbr('/vaults'), {
      body: {
        vault: {
          name,
          billing: { consistent_level: 'crash_consistent', object_type: 'disk', protect_type: 'backup', size: 100 },
          resources: [{ id: v.id, type: 'OS::Cinder::Volume' }],
        },
      },
    });
    const c = await this.created(r, 200, (b) => b.vault.id, [this.cbr('/vaults?limit=1000'), 'vaults'], name);
    if (typeof c === 'string') return c;
    const { id, lost } = c;
    this.L.vaults.set(id, { id, name, belief: 'live', resources: new Set([v.id]) });
    return lost ? 'interrupted-ok' : 'ok';
  }

  async addResource(): Promise<string | null> {
    const vault = this.pick([...this.L.vaults.values()].filter((x) => x.belief === 'live'));
    const inVault = this.vaulted();
    const v = this.pick(this.liveVolumes((x) => !inVault.has(x.id)));
    if (!vault || !v) return null;
    const r = await this.req('POST', this.cbr(`/vaults/${vault.id}/addresources`), {
      body: { resources: [{ id: v.id, type: 'OS::Cinder::Volume' }] },
      idempotent: true,
    });
    if (r === LOST || r.status !== 200) return `refused-${r === LOST ? r : r.status}`;
    vault.resources.add(v.id);
    return 'ok';
  }

  async createPolicy(): Promise<string | null> {
    const vault = this.pick([...this.L.vaults.values()].filter((x) => x.belief === 'live' && !x.policy));
    if (!vault) return null;
    const name = this.nextName('policy');
    const r = await this.req('POST', this.cbr('/policies'), {
      body: {
        policy: {
          name,
          operation_type: 'backup',
          operation_definition: { max_backups: 5 },
          trigger: { properties: { pattern: ['FREQ=DAILY;INTERVAL=1;BYHOUR=2;BYMINUTE=00'] } },
        },
      },
    });
    const c = await this.created(r, 200, (b) => b.policy.id, [this.cbr('/policies'), 'policies'], name);
    if (typeof c === 'string') return c;
    const { id } = c;
    this.L.policies.set(id, { id, name, belief: 'live' });
    const a = await this.req('POST', this.cbr(`/vaults/${vault.id}/associatepolicy`), { body: { policy_id: id }, idempotent: true });
    if (a === LOST || a.status !== 200) return `associate-refused-${a === LOST ? a : a.status}`;
    vault.policy = id;
    return 'ok';
  }

  async deletePolicy(): Promise<string | null> {
    const p = this.pick([...this.L.policies.values()].filter((x) => x.belief === 'live'));
    if (!p) return null;
    const r = await this.req('DELETE', this.cbr(`/policies/${p.id}`));
    if (r !== LOST && r.status !== 204) return this.refused(r);
    const g = await this.get(this.cbr(`/policies/${p.id}`));
    p.belief = g.status === 404 ? 'gone' : 'live';
    if (p.belief === 'gone') for (const v of this.L.vaults.values()) if (v.policy === p.id) delete v.policy;
    return (r === LOST ? 'interrupted-' : '') + (p.belief === 'gone' ? 'ok' : 'still-there');
  }

  /** Records the CBR backups a checkpoint made, with the content their volumes had (nothing else writes them). */
  private async adoptCbrBackups(vault: VaultEntry, filter: string): Promise<number> {
    const r = await this.get(this.cbr(`/backups?${filter}&limit=1000`));
    if (r.status !== 200) return 0;
    let n = 0;
    for (const b of r.body.backups as any[]) {
      if (this.L.cbrBackups.has(b.id)) continue;
      const v = this.L.volumes.get(b.resource_id);
      const e: CbrBackupEntry = {
        id: b.id,
        vaultId: vault.id,
        volumeId: b.resource_id,
        size: v?.size ?? Math.ceil((b.resource_size ?? 1) as number),
        content: v?.content ?? 'unknown',
        belief: 'live',
      };
      this.L.cbrBackups.set(b.id, e);
      n++;
    }
    return n;
  }

  async checkpoint(): Promise<string | null> {
    const vault = this.pick([...this.L.vaults.values()].filter((x) => x.belief === 'live' && x.resources.size > 0));
    if (!vault) return null;
    for (const id of vault.resources) {
      const st = await this.volumeStatus(id);
      if (st !== null && TRANSITIONAL.volume.has(st)) return null;
    }
    const r = await this.req('POST', this.cbr('/checkpoints'), { body: { checkpoint: { vault_id: vault.id, parameters: {} } } });
    let out: string;
    if (r === LOST) {
      await this.adoptCbrBackups(vault, `vault_id=${vault.id}`);
      out = 'interrupted';
    } else if (r.status !== 200) return this.refused(r);
    else {
      const id = r.body.checkpoint.id as string;
      this.L.checkpoints.add(id);
      const w = await this.wait(this.cbr(`/checkpoints/${id}`), 'checkpoint', (s) => !TRANSITIONAL.checkpoint.has(s));
      await this.adoptCbrBackups(vault, `checkpoint_id=${id}`);
      out = this.outcome(w, 'available');
    }
    for (const b of this.L.cbrBackups.values()) {
      if (b.vaultId !== vault.id || b.status !== undefined) continue;
      const w = await this.settle(this.cbr(`/backups/${b.id}`), 'backup', TRANSITIONAL.cbrBackup);
      if (w === 'timeout') b.stuck = true;
      else if (w === 'gone') b.belief = 'gone';
      else b.status = w.status;
    }
    for (const id of vault.resources) await this.settle(this.bs(`/volumes/${id}`), 'volume', TRANSITIONAL.volume);
    return out;
  }

  async cbrRestore(): Promise<string | null> {
    const b = this.pick([...this.L.cbrBackups.values()].filter((x) => x.belief === 'live' && !x.stuck && x.status === 'available'));
    if (!b) return null;
    const made = await this.createVolumeOf(b.size);
    if (!made) return 'no-target';
    const r = await this.req('POST', this.cbr(`/backups/${b.id}/restore`), { body: { restore: { volume_id: made.id } } });
    if (r !== LOST && r.status !== 202) return this.refused(r);
    const w = await this.settle(this.bs(`/volumes/${made.id}`), 'volume', TRANSITIONAL.volume);
    if (w === 'timeout') made.stuck = true;
    else if (w === 'gone' || w.status !== 'available') made.content = 'unknown';
    else if (r !== LOST || (await this.restoreRan(made.id))) made.content = b.content;
    const wb = await this.settle(this.cbr(`/backups/${b.id}`), 'backup', TRANSITIONAL.cbrBackup);
    if (wb === 'timeout') b.stuck = true;
    else if (wb !== 'gone') b.status = wb.status;
    // A restore cut short leaves bytes nobody can name (the target goes to error_restoring).
    return (r === LOST ? 'interrupted-' : '') + this.outcome(w, 'available');
  }

  /**
   * Whether a CBR restore into `volumeId` was accepted and finished, after its answer was lost to a kill. The
   * target was available before the request too, so its status cannot tell a restore that ran from one the server
   * never accepted (then the target keeps its zeros); the restore's operation log, written in the transaction that
   * accepted it, can.
   */
  private async restoreRan(volumeId: string): Promise<boolean> {
    const r = await this.get(this.cbr(`/operation-logs?operation_type=restore&resource_id=${volumeId}`));
    if (r.status !== 200) throw new Error(`operation logs: ${r.status} ${r.text}`);
    return (r.body.operation_logs as Array<{ status: string }>).some((l) => l.status === 'success');
  }

  /** A fresh volume to restore into; undefined when it could not be made. */
  async createVolumeOf(size: number): Promise<VolumeEntry | undefined> {
    const name = this.nextName('target');
    const r = await this.req('POST', this.bs('/volumes'), { body: { volume: { size, name } } });
    let id: string | undefined;
    if (r === LOST) id = (await this.findByName(this.bs('/volumes/detail'), 'volumes', name))?.id;
    else if (r.status === 202) id = r.body.volume.id;
    if (!id) return undefined;
    await this.adoptVolume(id, name, size, 'zero', r === LOST);
    const v = this.L.volumes.get(id)!;
    return v.belief === 'live' && !v.stuck && (await this.volumeStatus(id)) === 'available' ? v : undefined;
  }

  async deleteCbrBackup(): Promise<string | null> {
    const b = this.pick([...this.L.cbrBackups.values()].filter((x) => x.belief === 'live' && !x.stuck && x.status !== undefined));
    if (!b) return null;
    return this.deleteAndWait(this.cbr(`/backups/${b.id}`), 'backup', b, 204, TRANSITIONAL.cbrBackup);
  }

  async deleteVault(): Promise<string | null> {
    const vault = this.pick([...this.L.vaults.values()].filter((x) => x.belief === 'live'));
    if (!vault) return null;
    const out = await this.deleteAndWait(this.cbr(`/vaults/${vault.id}`), 'vault', vault, 204, TRANSITIONAL.vault, vaultStatus);
    if (vault.belief !== 'live') {
      for (const b of this.L.cbrBackups.values()) if (b.vaultId === vault.id && b.belief === 'live') b.belief = vault.belief;
    }
    return out;
  }

  /** One operation, chosen with weights that keep each client's holdings bounded. */
  async step(): Promise<void> {
    const live = <T extends { belief: Belief }>(m: Map<string, T>) => [...m.values()].filter((x) => x.belief === 'live').length;
    const vols = live(this.L.volumes);
    const snaps = live(this.L.snapshots);
    const backups = live(this.L.backups);
    const cbrBackups = live(this.L.cbrBackups);
    const vaults = live(this.L.vaults);
    const ops: [number, string, () => Promise<string | null>][] = [
      [vols < 4 ? 4 : vols < 7 ? 1 : 0, 'volume.create', () => this.createVolume()],
      [4, 'volume.upload', () => this.upload()],
      [snaps < 5 ? 2 : 0, 'snapshot.create', () => this.snapshot()],
      [vols < 7 ? 1 : 0, 'volume.from-snapshot', () => this.volumeFromSnapshot()],
      [backups < 8 ? 2 : 0, 'backup.full', () => this.backup(false)],
      [backups < 8 ? 2 : 0, 'backup.incremental', () => this.backup(true)],
      [vols < 7 ? 1 : 0, 'backup.restore', () => this.restore()],
      [snaps > 2 ? 2 : 1, 'snapshot.delete', () => this.deleteSnapshot()],
      [vols > 4 ? 3 : 1, 'volume.delete', () => this.deleteVolume()],
      [backups > 5 ? 3 : 1, 'backup.delete', () => this.deleteBackup()],
      [vaults < 2 ? 1 : 0, 'cbr.vault.create', () => this.createVault()],
      [0.5, 'cbr.vault.add-resource', () => this.addResource()],
      [0.5, 'cbr.policy.create', () => this.createPolicy()],
      [0.2, 'cbr.policy.delete', () => this.deletePolicy()],
      [cbrBackups < 8 ? 2 : 0, 'cbr.checkpoint', () => this.checkpoint()],
      [vols < 7 ? 1 : 0, 'cbr.restore', () => this.cbrRestore()],
      [cbrBackups > 5 ? 2 : 0.5, 'cbr.backup.delete', () => this.deleteCbrBackup()],
      [0.2, 'cbr.vault.delete', () => this.deleteVault()],
    ];
    const total = ops.reduce((s, o) => s + o[0], 0);
    let x = this.rand() * total;
    for (const [w, kind, run] of ops) {
      x -= w;
      if (x > 0) continue;
      this.kind = kind;
      const out = await run();
      if (out !== null) this.soak.stats.add(kind, out);
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------

export class Soak {
  readonly server: Server;
  readonly http: Http;
  readonly stats = new Stats();
  clients: Client[] = [];
  adminToken = '';
  adminProject = '';
  /** Set when the load phase ends: waits give up at once. */
  aborting = false;
  private loadEnds = 0;

  constructor(readonly opts: SoakOptions) {
    this.server = new Server(opts);
    this.http = new Http(this.server, Math.max(opts.opTimeoutMs, 120_000));
  }

  private log(line: string): void {
    this.opts.log(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}`);
  }

  private async adminLogin(): Promise<void> {
    const body = {
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: ADMIN_PASSWORD } } },
        scope: { project: { name: 'admin', domain: { id: 'default' } } },
      },
    };
    const res = await fetch(`${this.server.url}/identity/v3/auth/tokens`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    const j = (await res.json()) as any;
    if (res.status !== 201) throw new Error(`admin login: ${JSON.stringify(j)}`);
    this.adminToken = res.headers.get('x-subject-token')!;
    this.adminProject = j.token.project.id;
  }

  async admin(method: string, path: string, body?: unknown): Promise<Res> {
    const r = await this.http.send(method, path, { token: this.adminToken, body, idempotent: true });
    if (r === LOST) throw new Error('unreachable');
    return r;
  }

  /** The admin makes the projects, users (role member) and generous quotas through the APIs. */
  private async provision(): Promise<void> {
    await this.adminLogin();
    const roles = await this.admin('GET', '/identity/v3/roles?name=member');
    const member = (roles.body.roles as any[]).find((r) => r.name === 'member')!.id as string;
    let seed = this.opts.seed;
    for (let p = 0; p < this.opts.projects; p++) {
      const pr = await this.admin('POST', '/identity/v3/projects', { project: { name: `soak-p${p}`, domain_id: 'default' } });
      if (pr.status !== 201) throw new Error(`project create: ${pr.text}`);
      const projectId = pr.body.project.id as string;
      const q = await this.admin('PUT', `/v3/${this.adminProject}/os-quota-sets/${projectId}`, {
        quota_set: { volumes: 1000, snapshots: 1000, gigabytes: 100000, backups: 1000, backup_gigabytes: 100000 },
      });
      if (q.status !== 200) throw new Error(`quota update: ${q.text}`);
      for (let u = 0; u < this.opts.usersPerProject; u++) {
        const name = `soak-p${p}-u${u}`;
        const password = `pw-${name}`;
        const ur = await this.admin('POST', '/identity/v3/users', {
          user: { name, password, domain_id: 'default', default_project_id: projectId },
        });
        if (ur.status !== 201) throw new Error(`user create: ${ur.text}`);
        const g = await this.admin('PUT', `/identity/v3/projects/${projectId}/users/${ur.body.user.id}/roles/${member}`);
        if (g.status !== 204) throw new Error(`role grant: ${g.text}`);
        const c = new Client(this, `p${p}u${u}`, projectId, name, password, ++seed);
        c.token = await c.login();
        this.clients.push(c);
      }
    }
  }

  /** The load lasts `durationMs`, and with a kill limit until the last kill's restart too (a slow machine restarts slowly). */
  private loadOver(): boolean {
    if (Date.now() < this.loadEnds) return false;
    return !Number.isFinite(this.opts.maxKills) || (this.server.kills >= this.opts.maxKills && this.server.url !== '');
  }

  private async clientLoop(c: Client): Promise<void> {
    while (!this.loadOver()) {
      try {
        await c.step();
      } catch (err) {
        this.stats.add('client-error', (err as Error).message.slice(0, 80));
        await sleep(500);
      }
    }
  }

  private async killer(rand: () => number): Promise<void> {
    const [lo, hi] = this.opts.killEveryMs;
    while (this.server.kills < this.opts.maxKills) {
      const wait = lo + rand() * (hi - lo);
      const until = Date.now() + wait;
      while (Date.now() < until && !this.loadOver()) await sleep(Math.min(250, until - Date.now()));
      if (this.loadOver()) return;
      const before = this.stats.total();
      await this.server.kill();
      this.log(`kill ${this.server.kills} (SIGKILL after ${(wait / 1000).toFixed(1)} s; ${before} operations so far)`);
      await this.server.restart();
      this.log(`restarted on ${this.server.url}`);
    }
  }

  async run(): Promise<SoakReport> {
    const o = this.opts;
    this.log(
      `data dir ${o.dataDir}, driver ${o.driver}, ${o.projects} projects × ${o.usersPerProject} users, ` +
        `load ${(o.durationMs / 1000).toFixed(0)} s, kills every ${o.killEveryMs[0] / 1000}–${o.killEveryMs[1] / 1000} s` +
        `${Number.isFinite(o.maxKills) ? ` (at most ${o.maxKills})` : ''}, seed ${o.seed}`,
    );
    await this.server.start();
    await this.provision();
    this.loadEnds = Date.now() + o.durationMs;
    const progress = setInterval(() => this.log(`${this.stats.total()} operations, ${this.server.kills} kills`), 30_000);
    try {
      await Promise.all([...this.clients.map((c) => this.clientLoop(c)), this.killer(rng(o.seed ^ 0x5eed))]);
    } finally {
      clearInterval(progress);
    }
    this.log(`load done: ${this.stats.total()} operations, ${this.server.kills} kills; clean restart`);
    await this.server.stop();
    await this.server.restart();
    await this.adminLogin();
    const checks = await new Checker(this).run();
    const ok = checks.every((c) => c.ok);
    const text = this.render(checks, ok);
    return { ops: this.stats.ops, kills: this.server.kills, restarts: this.server.restarts, checks, ok, text };
  }

  /** Stops the server if one runs (after a failure). */
  async shutdown(): Promise<void> {
    if (this.server.child) await this.server.stop().catch(() => {});
  }

  private render(checks: CheckResult[], ok: boolean): string {
    const lines: string[] = [];
    lines.push('operations (kind: outcome count …):');
    for (const [kind, m] of [...this.stats.ops].sort((a, b) => a[0].localeCompare(b[0]))) {
      const parts = [...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`);
      lines.push(`  ${kind.padEnd(24)} ${parts.join(', ')}`);
    }
    for (const [outcome, texts] of this.stats.examples) for (const t of texts) lines.push(`  e.g. ${outcome}: ${t}`);
    lines.push(`operations: ${this.stats.total()}; kills: ${this.server.kills}; restarts: ${this.server.restarts} (the last one clean)`);
    lines.push('checks:');
    for (const c of checks) {
      lines.push(`  ${c.ok ? 'PASS' : 'FAIL'} ${c.name}`);
      for (const d of c.detail.slice(0, 40)) lines.push(`       ${d}`);
      if (c.detail.length > 40) lines.push(`       … ${c.detail.length - 40} more`);
    }
    const passed = checks.filter((c) => c.ok).length;
    lines.push(`checks passed: ${passed}/${checks.length}${ok ? '' : ' — FAILED'}`);
    return lines.join('\n');
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The end: settle, then compare.

interface Records {
  volumes: any[];
  snapshots: any[];
  backups: any[];
  vaults: any[];
  cbrBackups: any[];
  checkpoints: Map<string, string>;
}

class Checker {
  private readonly checks: CheckResult[] = [];
  constructor(private readonly soak: Soak) {}

  private add(name: string, problems: string[], summary: string): void {
    this.checks.push({ name, ok: problems.length === 0, detail: problems.length ? [summary, ...problems] : [summary] });
  }

  private get clients(): Client[] {
    return this.soak.clients;
  }

  /** One client per project reads that project's records (block storage and CBR). */
  private projectClients(): Client[] {
    const seen = new Set<string>();
    return this.clients.filter((c) => !seen.has(c.projectId) && (seen.add(c.projectId), true));
  }

  private async records(): Promise<Records> {
    const out: Records = { volumes: [], snapshots: [], backups: [], vaults: [], cbrBackups: [], checkpoints: new Map() };
    for (const c of this.projectClients()) {
      const tag = (xs: any[]) => xs.map((x) => ({ ...x, _project: c.projectId }));
      out.volumes.push(...tag((await c.get(c.bs('/volumes/detail?limit=1000'))).body.volumes));
      out.snapshots.push(...tag((await c.get(c.bs('/snapshots/detail?limit=1000'))).body.snapshots));
      out.backups.push(...tag((await c.get(c.bs('/backups/detail?limit=1000'))).body.backups));
      out.vaults.push(...tag((await c.get(c.cbr('/vaults?limit=1000'))).body.vaults).map((v) => ({ ...v, status: vaultStatus(v) })));
      out.cbrBackups.push(...tag((await c.get(c.cbr('/backups?limit=1000'))).body.backups));
    }
    for (const c of this.clients) {
      for (const id of c.L.checkpoints) {
        const r = await c.get(c.cbr(`/checkpoints/${id}`));
        if (r.status === 200) out.checkpoints.set(id, r.body.checkpoint.status);
      }
    }
    return out;
  }

  private transitional(r: Records): string[] {
    const stuck: string[] = [];
    for (const v of r.volumes) if (TRANSITIONAL.volume.has(v.status)) stuck.push(`volume ${v.id} (${v.name}) ${v.status}`);
    for (const s of r.snapshots) if (TRANSITIONAL.snapshot.has(s.status)) stuck.push(`snapshot ${s.id} (${s.name}) ${s.status}`);
    for (const b of r.backups) if (TRANSITIONAL.backup.has(b.status)) stuck.push(`backup ${b.id} (${b.name}) ${b.status}`);
    for (const v of r.vaults) {
      if (TRANSITIONAL.vault.has(vaultStatus(v))) stuck.push(`vault ${v.id} (${v.name}) ${vaultStatus(v)}`);
      for (const res of v.resources ?? [])
        if (TRANSITIONAL.protect.has(res.protect_status)) stuck.push(`vault ${v.id} resource ${res.id} protect_status ${res.protect_status}`);
    }
    for (const b of r.cbrBackups) if (TRANSITIONAL.cbrBackup.has(b.status)) stuck.push(`CBR backup ${b.id} ${b.status}`);
    for (const [id, st] of r.checkpoints) if (TRANSITIONAL.checkpoint.has(st)) stuck.push(`checkpoint ${id} ${st}`);
    return stuck;
  }

  private async settle(): Promise<Records> {
    const end = Date.now() + this.soak.opts.settleTimeoutMs;
    const start = Date.now();
    for (;;) {
      const r = await this.records();
      const stuck = this.transitional(r);
      if (stuck.length === 0 || Date.now() > end) {
        this.add(
          'every record ends in a terminal status (nothing creating/deleting/backing-up/restoring/… after settling)',
          stuck.map((s) => `still ${s} after ${((Date.now() - start) / 1000).toFixed(0)} s`),
          `${r.volumes.length} volumes, ${r.snapshots.length} snapshots, ${r.backups.length} backups, ${r.vaults.length} vaults, ` +
            `${r.cbrBackups.length} CBR backups, ${r.checkpoints.size} checkpoints; settled in ${((Date.now() - start) / 1000).toFixed(0)} s`,
        );
        return r;
      }
      await sleep(1000);
    }
  }

  /** What the clients believe against what the server holds. */
  private ledger(r: Records): void {
    const problems: string[] = [];
    const byId = (xs: any[]) => new Map(xs.map((x) => [x.id as string, x]));
    const kinds: [string, any[], (c: Client) => Map<string, { belief: Belief; id: string }>][] = [
      ['volume', r.volumes, (c) => c.L.volumes],
      ['snapshot', r.snapshots, (c) => c.L.snapshots],
      ['backup', r.backups, (c) => c.L.backups],
      ['vault', r.vaults, (c) => c.L.vaults],
      ['CBR backup', r.cbrBackups, (c) => c.L.cbrBackups],
    ];
    let compared = 0;
    for (const [kind, records, ledgerOf] of kinds) {
      const have = byId(records);
      const known = new Set<string>();
      for (const c of this.clients) {
        for (const e of ledgerOf(c).values()) {
          known.add(e.id);
          compared++;
          const rec = have.get(e.id);
          if (e.belief === 'live' && !rec) problems.push(`${kind} ${e.id} of ${c.name} is gone though nothing deleted it`);
          if (e.belief !== 'live' && rec)
            problems.push(`${kind} ${e.id} of ${c.name} was deleted (202/204) but is still there, ${rec.status}`);
        }
      }
      for (const rec of records) if (!known.has(rec.id)) problems.push(`${kind} ${rec.id} (${rec.name ?? ''}, ${rec.status}) is unknown to every client`);
    }
    this.add('records match the clients\' ledger (what was made exists, what was deleted is gone, nothing unknown)', problems, `${compared} ledger entries compared`);
  }

  /** Streams a volume's or snapshot's bytes and compares them with its content. */
  private async compare(c: Client, path: string, sizeGiB: number, content: Content): Promise<string | null> {
    const o = this.soak.opts;
    const size = sizeGiB * GiB;
    const head = content === 'zero' || content === 'unknown' ? Buffer.alloc(0) : pattern(content.seed, o.uploadBytes);
    if (o.fullCompare) {
      let pos = 0;
      let bad: string | null = null;
      const zeros = Buffer.alloc(4 * MiB);
      const status = await this.soak.http.stream(
        path,
        c.token,
        (part) => {
          if (bad) return;
          const buf = Buffer.from(part.buffer, part.byteOffset, part.byteLength);
          let off = 0;
          while (off < buf.length) {
            const n = Math.min(buf.length - off, pos < head.length ? head.length - pos : zeros.length);
            const want = pos < head.length ? head.subarray(pos, pos + n) : zeros.subarray(0, n);
            if (!buf.subarray(off, off + n).equals(want)) {
              bad = `bytes differ in [${pos}, ${pos + n})`;
              return;
            }
            off += n;
            pos += n;
          }
        },
        () => {
          pos = 0;
          bad = null;
        },
      );
      if (status !== 200) return `download answered ${status}`;
      if (bad) return bad;
      if (pos !== size) return `${pos} bytes, expected ${size}`;
      return null;
    }
    // The written head exactly, then zero probes across the rest.
    const probes: [number, number][] = [[0, head.length + 64 * 1024 - 1]];
    for (let i = 1; i <= 6; i++) {
      const at = Math.floor((size / 7) * i);
      probes.push([at, at + 64 * 1024 - 1]);
    }
    probes.push([size - 64 * 1024, size - 1]);
    for (const [a, b] of probes) {
      const r = await this.soak.http.range(path, c.token, a, b);
      if (r.status !== 206 && r.status !== 200) return `download of [${a}, ${b}] answered ${r.status}`;
      const want = Buffer.alloc(b - a + 1);
      if (a < head.length) head.copy(want, 0, a, Math.min(head.length, b + 1));
      if (!r.bytes.equals(want)) return `bytes differ in [${a}, ${b}]`;
    }
    return null;
  }

  private async contents(r: Records): Promise<void> {
    const problems: string[] = [];
    let n = 0;
    let unknown = 0;
    const status = new Map<string, string>([...r.volumes, ...r.snapshots].map((x) => [x.id as string, x.status as string]));
    for (const c of this.clients) {
      const entries = [
        ...[...c.L.volumes.values()].map((e) => ({ e, kind: 'volume', path: 'volumes' })),
        ...[...c.L.snapshots.values()].map((e) => ({ e, kind: 'snapshot', path: 'snapshots' })),
      ];
      for (const { e, kind, path } of entries) {
        if (e.belief !== 'live' || status.get(e.id) !== 'available') continue;
        if (e.content === 'unknown') {
          unknown++;
          continue;
        }
        n++;
        const bad = await this.compare(c, c.bs(`/${path}/${e.id}/cinderbox-data`), e.size, e.content);
        if (bad) problems.push(`${kind} ${e.id} (${e.name}, ${describe(e.content)}): ${bad}`);
      }
    }
    this.add(
      'available volumes and snapshots hold the bytes the ledger says',
      problems,
      `${n} compared${this.soak.opts.fullCompare ? ' over their whole size' : ' (head + zero probes)'}; ${unknown} skipped (an upload was cut by a kill)`,
    );
  }

  private async restores(r: Records): Promise<void> {
    const problems: string[] = [];
    let n = 0;
    let unknown = 0;
    const cinder = new Map(r.backups.map((b) => [b.id as string, b]));
    const cbr = new Map(r.cbrBackups.map((b) => [b.id as string, b]));
    for (const c of this.clients) {
      for (const b of c.L.backups.values()) {
        const rec = cinder.get(b.id);
        if (!rec || rec.status !== 'available') continue;
        if (b.content === 'unknown') {
          unknown++;
          continue;
        }
        n++;
        const name = `soak-check-${b.id}`;
        const res = await c.req('POST', c.bs(`/backups/${b.id}/restore`), { body: { restore: { name } }, idempotent: true });
        if (res === LOST || res.status !== 202) {
          problems.push(`backup ${b.id}: restore answered ${res === LOST ? res : `${res.status} ${res.text}`}`);
          continue;
        }
        const volId = res.body.restore.volume_id as string;
        c.L.volumes.set(volId, { id: volId, name, size: b.size, content: b.content, belief: 'live' });
        const w = await c.settle(c.bs(`/volumes/${volId}`), 'volume', TRANSITIONAL.volume);
        await c.settle(c.bs(`/backups/${b.id}`), 'backup', TRANSITIONAL.backup);
        if (w === 'timeout' || w === 'gone' || w.status !== 'available') {
          problems.push(`backup ${b.id}: its restore ended ${typeof w === 'string' ? w : w.status}`);
          continue;
        }
        const bad = await this.compare(c, c.bs(`/volumes/${volId}/cinderbox-data`), b.size, b.content);
        if (bad) problems.push(`backup ${b.id} (${b.name}, ${describe(b.content)}) restored: ${bad}`);
      }
      for (const b of c.L.cbrBackups.values()) {
        const rec = cbr.get(b.id);
        if (!rec || rec.status !== 'available') continue;
        if (b.content === 'unknown') {
          unknown++;
          continue;
        }
        n++;
        const target = await c.createVolumeOf(b.size);
        if (!target) {
          problems.push(`CBR backup ${b.id}: no target volume could be made`);
          continue;
        }
        const res = await c.req('POST', c.cbr(`/backups/${b.id}/restore`), { body: { restore: { volume_id: target.id } }, idempotent: true });
        if (res === LOST || res.status !== 202) {
          problems.push(`CBR backup ${b.id}: restore answered ${res === LOST ? res : `${res.status} ${res.text}`}`);
          continue;
        }
        target.content = b.content;
        const w = await c.settle(c.bs(`/volumes/${target.id}`), 'volume', TRANSITIONAL.volume);
        await c.settle(c.cbr(`/backups/${b.id}`), 'backup', TRANSITIONAL.cbrBackup);
        if (w === 'timeout' || w === 'gone' || w.status !== 'available') {
          problems.push(`CBR backup ${b.id}: its restore ended ${typeof w === 'string' ? w : w.status}`);
          continue;
        }
        const bad = await this.compare(c, c.bs(`/volumes/${target.id}/cinderbox-data`), b.size, b.content);
        if (bad) problems.push(`CBR backup ${b.id} (${describe(b.content)}) restored: ${bad}`);
      }
    }
    this.add(
      'every available backup (Cinder and CBR) restores byte-exact into a new volume',
      problems,
      `${n} restored and compared${this.soak.opts.fullCompare ? ' over their whole size' : ' (head + zero probes)'}; ${unknown} skipped (content cut by a kill)`,
    );
  }

  /** os-quota-sets usage against what the records add up to, per project. */
  private async quotas(r: Records): Promise<void> {
    const problems: string[] = [];
    for (const c of this.projectClients()) {
      const p = c.projectId;
      const vols = r.volumes.filter((v) => v._project === p);
      const snaps = r.snapshots.filter((s) => s._project === p);
      const backups = r.backups.filter((b) => b._project === p);
      const want: Record<string, number> = {
        volumes: vols.length,
        gigabytes: vols.reduce((s, v) => s + v.size, 0) + snaps.reduce((s, x) => s + x.size, 0),
        snapshots: snaps.length,
        backups: backups.length,
        backup_gigabytes: backups.reduce((s, b) => s + b.size, 0),
      };
      const q = await this.soak.admin('GET', `/v3/${this.soak.adminProject}/os-quota-sets/${p}?usage=true`);
      if (q.status !== 200) {
        problems.push(`project ${p}: quota show answered ${q.status}`);
        continue;
      }
      for (const [k, v] of Object.entries(want)) {
        const got = q.body.quota_set[k];
        if (got.in_use !== v) problems.push(`project ${p}: ${k} in_use ${got.in_use}, the records add up to ${v}`);
        if (got.reserved !== 0) problems.push(`project ${p}: ${k} reserved ${got.reserved} with nothing running`);
      }
    }
    this.add('quota usage (os-quota-sets?usage=true) equals what the records add up to', problems, `${this.projectClients().length} projects × 5 resources`);
  }

  private async repository(): Promise<void> {
    const base = `/v3/${this.soak.adminProject}/cinderbox-repo`;
    const gc = await this.soak.admin('POST', `${base}/gc`, { grace_seconds: 0 });
    const again = await this.soak.admin('POST', `${base}/gc`, { grace_seconds: 0, dry_run: true });
    const verify = await this.soak.admin('POST', `${base}/verify`, { full: true });
    const problems: string[] = [];
    if (gc.status !== 200) problems.push(`gc answered ${gc.status} ${gc.text}`);
    if (again.status !== 200) problems.push(`second gc answered ${again.status} ${again.text}`);
    if (verify.status !== 200) problems.push(`verify answered ${verify.status} ${verify.text}`);
    if (problems.length) {
      this.add('repository: verify --full clean, no chunk beyond what gc reclaims', problems, '');
      return;
    }
    const g = gc.body.gc;
    const v = verify.body.verify;
    if (!v.ok) for (const p of v.problems) problems.push(`verify: ${p.kind} ${p.locator ?? ''} ${p.chunkId ?? ''} ${p.message}`);
    if (again.body.gc.deleted !== 0) problems.push(`a second gc would still reclaim ${again.body.gc.deleted} chunks`);
    const left = g.chunks - g.deleted;
    if (left !== v.chunks) problems.push(`${left} chunks left after gc, but the manifests reference ${v.chunks}`);
    this.add(
      'repository: verify --full clean, no chunk beyond what gc reclaims',
      problems,
      `gc reclaimed ${g.deleted} of ${g.chunks} chunks (${g.manifests} manifests); verify --full: ${v.manifests} manifests, ${v.chunks} chunks, ok=${v.ok}`,
    );
  }

  /** With the server stopped: every file of the backends and every manifest belongs to a record. */
  private async files(): Promise<void> {
    const o = this.soak.opts;
    const config = loadConfig({ dataDir: o.dataDir }, { CINDERBOX_DATABASE_URL: this.soak.server.databaseUrl });
    const opened = await openDatabase(config);
    const problems: string[] = [];
    let files = 0;
    let manifests = 0;
    let hiddenCount = 0;
    try {
      const vols = await opened.db.selectFrom('volumes').select(['id', 'provider_location', 'status']).execute();
      const snaps = await opened.db.selectFrom('snapshots').select(['id', 'provider_location', 'hidden', 'status']).execute();
      const known = new Set<string>();
      for (const v of vols) {
        known.add(`volume-${v.id}`);
        if (v.provider_location) known.add(v.provider_location);
      }
      for (const s of snaps) {
        known.add(`_snapshot-${s.id}`);
        if (s.provider_location) known.add(s.provider_location);
      }
      // Hidden snapshots have no snapshot row: the backup that made one claims it (services/block-storage/hidden-snapshots.ts).
      let hidden = 0;
      for (const b of await opened.db.selectFrom('backups').select(['cbt_base_id as id']).where('cbt_base_id', 'is not', null).execute()) {
        known.add(`_snapshot-${b.id}`);
        hidden++;
      }
      for (const b of await opened.db.selectFrom('cbr_backups').select(['snapshot_id as id']).execute()) {
        known.add(`_snapshot-${b.id}`);
        hidden++;
      }
      hiddenCount = hidden;
      const volRoot = join(o.dataDir, 'volumes');
      for (const backend of await readdir(volRoot).catch(() => [] as string[])) {
        for (const f of await readdir(join(volRoot, backend))) {
          if (f === 'import') continue;
          files++;
          if (!known.has(f)) {
            const st = await stat(join(volRoot, backend, f));
            problems.push(`volumes/${backend}/${f} (${st.size} bytes) belongs to no volume or snapshot record`);
          }
        }
      }
      const locators = new Set<string>();
      for (const b of await opened.db.selectFrom('backups').select(['locator']).execute()) if (b.locator) locators.add(b.locator);
      for (const b of await opened.db.selectFrom('cbr_backups').select(['locator']).execute()) if (b.locator) locators.add(b.locator);
      const backupsDir = join(o.dataDir, 'repo', 'backups');
      for (const container of await readdir(backupsDir).catch(() => [] as string[])) {
        for (const f of await readdir(join(backupsDir, container))) {
          if (!f.endsWith('.manifest')) {
            problems.push(`repo/backups/${container}/${f} is not a manifest`);
            continue;
          }
          manifests++;
          const loc = `${container}/${f.slice(0, -'.manifest'.length)}`;
          if (!locators.has(loc)) problems.push(`manifest ${loc} belongs to no backup record`);
        }
      }
      for (const f of await readdir(join(o.dataDir, 'repo', 'tmp')).catch(() => [] as string[])) problems.push(`repo/tmp/${f} left behind`);
    } finally {
      await opened.close();
    }
    this.add('no orphan files: every volume/snapshot file and every manifest belongs to a record, no temporaries left', problems, `${files} backend files (${hiddenCount} hidden snapshots claimed by backups), ${manifests} manifests`);
  }

  async run(): Promise<CheckResult[]> {
    const r = await this.settle();
    this.ledger(r);
    await this.contents(r);
    await this.restores(r);
    const after = await this.records();
    const stuck = this.transitional(after);
    if (stuck.length) this.add('the check restores left nothing transitional', stuck, '');
    await this.quotas(after);
    await this.repository();
    await this.soak.server.stop();
    await this.files();
    return this.checks;
  }
}
