/**
 * cinderbox extensions of the Block Storage API for a console: backup repository statistics and history,
 * background verify/gc jobs (admin), and the stream of resource changes (any user; its own project).
 * @packageDocumentation
 */

import type { ServiceClient } from '../service/service-client.js';
import type { CallOptions } from '../transport/types.js';

/** The last verification of a repository. */
export interface RepositoryLastVerify {
  /** ISO 8601. */
  at: string;
  ok: boolean;
  /** A full verify (decrypt, decompress, re-hash) rather than presence and CRC. */
  full: boolean;
  /** Distinct chunks checked. */
  checked: number;
  errors: number;
  /** The first problem's message, or null. */
  message: string | null;
}

/** The last garbage collection of a repository. */
export interface RepositoryLastGc {
  /** ISO 8601. */
  at: string;
  removedChunks: number;
  freedBytes: number;
}

/** A backup target's repository in numbers (kept as counters by the server: cheap to ask). */
export interface RepositoryStats {
  target: string;
  driver: 'file' | 's3';
  /** Data bytes of every backup (what the backups would take without deduplication and compression). */
  logicalBytes: number;
  /** Bytes the chunks take in the store. */
  storedBytes: number;
  chunkCount: number;
  backupCount: number;
  lastVerify: RepositoryLastVerify | null;
  lastGc: RepositoryLastGc | null;
}

/** One sample of a repository's counters. */
export interface RepositorySample {
  /** ISO 8601. */
  at: string;
  logicalBytes: number;
  storedBytes: number;
  chunkCount: number;
}

/** One finished backup's data transfer. */
export interface RepositoryBackupRun {
  /** The backup's id (a Cinder or a CBR backup). */
  id: string;
  /** ISO 8601. */
  finishedAt: string;
  sizeBytes: number;
  seconds: number;
  bytesPerSecond: number;
}

export interface RepositoryHistory {
  /** Oldest first. */
  samples: RepositorySample[];
  /** Newest first. */
  backups: RepositoryBackupRun[];
}

export type RepositoryJobKind = 'verify' | 'gc';

/** A background verify or gc. */
export interface RepositoryJob {
  id: string;
  kind: RepositoryJobKind;
  target: string;
  status: 'running' | 'succeeded' | 'failed';
  /** 0..100 */
  progress: number;
  /** ISO 8601. */
  startedAt: string;
  finishedAt: string | null;
  /** The body the synchronous verify/gc give (snake_case, as the server sends it) once succeeded. */
  result: Record<string, unknown> | null;
  error: string | null;
}

/** Options of {@link RepositoryApi.startJob}. */
export interface RepositoryJobInput {
  kind: RepositoryJobKind;
  /** A configured backup target (default: the server's default target). */
  target?: string;
  /** verify: decrypt, decompress and re-hash every chunk. */
  full?: boolean;
  /** gc: only count what would be removed. */
  dryRun?: boolean;
  /** gc: keep unreferenced chunks younger than this (server default 3600). */
  graceSeconds?: number;
}

/** One resource change from {@link RepositoryApi.events}. */
export interface ChangeEvent {
  type: 'volume' | 'snapshot' | 'backup' | 'checkpoint' | 'restore' | 'repo-job';
  id: string;
  status: string;
  progress: number | null;
  projectId: string;
  /** ISO 8601. */
  at: string;
}

type Json = Record<string, unknown>;

function obj(v: unknown, what: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`unexpected response: no "${what}" object`);
  return v as Json;
}
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const strOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null);

function toJob(v: unknown): RepositoryJob {
  const j = obj(v, 'job');
  return {
    id: str(j.id),
    kind: j.kind === 'gc' ? 'gc' : 'verify',
    target: str(j.target),
    status: j.status === 'succeeded' || j.status === 'failed' ? j.status : 'running',
    progress: num(j.progress),
    startedAt: str(j.started_at),
    finishedAt: strOrNull(j.finished_at),
    result: typeof j.result === 'object' && j.result !== null ? (j.result as Json) : null,
    error: strOrNull(j.error),
  };
}

/**
 * The console's repository and event routes of one Block Storage endpoint (cinderbox only). Get it from
 * `conn.blockStorage.repository`.
 *
 * @example
 * ```ts
 * const repo = conn.blockStorage.repository;
 * const s = await repo.stats();
 * console.log(`saved ${(1 - s.storedBytes / s.logicalBytes) * 100} %`);
 * const job = await repo.waitForJob((await repo.startJob({ kind: 'verify' })).id);
 * ```
 */
export class RepositoryApi {
  constructor(private readonly client: ServiceClient) {}

  /** Admin: a target's counters and last verify/gc (`target` default: the server's default target). */
  async stats(opts: { target?: string } = {}, options: CallOptions = {}): Promise<RepositoryStats> {
    const res = await this.client.request('GET', '/cinderbox-repo/stats', {
      ...options,
      query: opts.target !== undefined ? { target: opts.target } : {},
      operation: 'show backup repository statistics',
    });
    const r = obj(obj(res.body, 'body').repository, 'repository');
    const v = r.last_verify === null || r.last_verify === undefined ? null : obj(r.last_verify, 'last_verify');
    const g = r.last_gc === null || r.last_gc === undefined ? null : obj(r.last_gc, 'last_gc');
    return {
      target: str(r.target),
      driver: r.driver === 's3' ? 's3' : 'file',
      logicalBytes: num(r.logical_bytes),
      storedBytes: num(r.stored_bytes),
      chunkCount: num(r.chunk_count),
      backupCount: num(r.backup_count),
      lastVerify: v && {
        at: str(v.at),
        ok: v.ok === true,
        full: v.full === true,
        checked: num(v.checked),
        errors: num(v.errors),
        message: strOrNull(v.message),
      },
      lastGc: g && { at: str(g.at), removedChunks: num(g.removed_chunks), freedBytes: num(g.freed_bytes) },
    };
  }

  /** Admin: samples of the counters and recent backups' throughput, from `since` on (a Date or ISO 8601). */
  async history(opts: { target?: string; since?: Date | string } = {}, options: CallOptions = {}): Promise<RepositoryHistory> {
    const query: Record<string, string> = {};
    if (opts.target !== undefined) query.target = opts.target;
    if (opts.since !== undefined) query.since = typeof opts.since === 'string' ? opts.since : opts.since.toISOString();
    const res = await this.client.request('GET', '/cinderbox-repo/history', { ...options, query, operation: 'show backup repository history' });
    const b = obj(res.body, 'body');
    const samples = Array.isArray(b.samples) ? (b.samples as Json[]) : [];
    const backups = Array.isArray(b.backups) ? (b.backups as Json[]) : [];
    return {
      samples: samples.map((s) => ({ at: str(s.at), logicalBytes: num(s.logical_bytes), storedBytes: num(s.stored_bytes), chunkCount: num(s.chunk_count) })),
      backups: backups.map((r) => ({
        id: str(r.id),
        finishedAt: str(r.finished_at),
        sizeBytes: num(r.size_bytes),
        seconds: num(r.seconds),
        bytesPerSecond: num(r.bytes_per_second),
      })),
    };
  }

  /** Admin: starts a background verify or gc; a 409 (ConflictError) when one of that kind runs on the target. */
  async startJob(input: RepositoryJobInput, options: CallOptions = {}): Promise<RepositoryJob> {
    const job: Json = { kind: input.kind };
    if (input.target !== undefined) job.target = input.target;
    if (input.full !== undefined) job.full = input.full;
    if (input.dryRun !== undefined) job.dry_run = input.dryRun;
    if (input.graceSeconds !== undefined) job.grace_seconds = input.graceSeconds;
    const res = await this.client.request('POST', '/cinderbox-repo/jobs', {
      ...options,
      body: { job },
      // Not idempotent: a retried POST could start a second job.
      retry: false,
      operation: `start repository ${input.kind} job`,
    });
    return toJob(obj(res.body, 'body').job);
  }

  /** Admin: recent jobs, newest first. */
  async jobs(options: CallOptions = {}): Promise<RepositoryJob[]> {
    const res = await this.client.request('GET', '/cinderbox-repo/jobs', { ...options, operation: 'list repository jobs' });
    const list = obj(res.body, 'body').jobs;
    return Array.isArray(list) ? list.map(toJob) : [];
  }

  /** Admin: one job. */
  async job(id: string, options: CallOptions = {}): Promise<RepositoryJob> {
    const res = await this.client.request('GET', `/cinderbox-repo/jobs/${encodeURIComponent(id)}`, { ...options, operation: 'show repository job' });
    return toJob(obj(res.body, 'body').job);
  }

  /** Polls a job until it is no longer running; `onProgress` hears each poll. */
  async waitForJob(
    id: string,
    opts: { intervalMs?: number; onProgress?: (job: RepositoryJob) => void } = {},
    options: CallOptions = {},
  ): Promise<RepositoryJob> {
    for (;;) {
      const j = await this.job(id, options);
      opts.onProgress?.(j);
      if (j.status !== 'running') return j;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, opts.intervalMs ?? 1000);
        options.signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(options.signal!.reason);
        }, { once: true });
      });
    }
  }

  /**
   * The server's stream of resource changes (Server-Sent Events) as an async iterable: the caller's project's,
   * or every project's for an admin with `allProjects`. It ends when `options.signal` aborts (or the server
   * closes it); a node streams the changes it makes itself.
   *
   * @example
   * ```ts
   * const ac = new AbortController();
   * for await (const e of repo.events({}, { signal: ac.signal })) if (e.type === 'backup') console.log(e.status, e.progress);
   * ```
   */
  async *events(opts: { allProjects?: boolean } = {}, options: CallOptions = {}): AsyncGenerator<ChangeEvent> {
    const res = await this.client.request('GET', '/cinderbox-events', {
      ...options,
      query: opts.allProjects ? { all_tenants: '1' } : {},
      responseType: 'stream',
      retry: false,
      operation: 'stream resource changes',
    });
    const stream = res.stream;
    if (!stream) return;
    const reader = stream.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for (;;) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (e) {
          if (options.signal?.aborted) return;
          throw e;
        }
        if (chunk.done) return;
        buf += decoder.decode(chunk.value, { stream: true }).replace(/\r\n?/g, '\n');
        let end: number;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
          }
          if (event !== 'change' || data.length === 0) continue;
          const e = obj(JSON.parse(data.join('\n')), 'data');
          yield {
            type: str(e.type) as ChangeEvent['type'],
            id: str(e.id),
            status: str(e.status),
            progress: typeof e.progress === 'number' ? e.progress : null,
            projectId: str(e.project_id),
            at: str(e.at),
          };
        }
      }
    } finally {
      await reader.cancel().catch(() => {});
    }
  }
}
