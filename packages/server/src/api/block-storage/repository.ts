/**
 * cinderbox extensions for the console (issue #20): repository statistics and history, background verify/gc
 * jobs (admin only), and the event stream of resource changes (any authenticated user).
 *
 * `GET …/cinderbox-events` is a Server-Sent Events stream (`text/event-stream`): `event: change` with
 * `data: {"type", "id", "status", "progress", "project_id", "at"}` for volumes, snapshots, backups, checkpoints,
 * restores and repository jobs, and a comment line every 15 s so proxies keep it open. A member sees its own
 * project's changes; an admin with `all_tenants=1` sees every project's. Besides the `X-Auth-Token` header, this
 * route alone takes the token as `?token=`, because a browser's EventSource cannot send headers: such a URL
 * carries a credential (it may be logged by proxies), so clients that can send the header should. Nodes on one
 * PostgreSQL store share their status changes (services/events.ts); progress comes from the working node only.
 */
import { repoJobCreate } from '@cinderbox/api-schema';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { badRequest } from '../../domain/errors.js';
import type { ChangeEvent, ChangeEvents } from '../../services/events.js';
import { type RepoJobs, repoJobView } from '../../services/repository/repo-jobs.js';
import { parseSince, type RepoStats } from '../../services/repository/repo-stats.js';
import { parseBoolean, validateBody } from '../common/validation.js';
import { authOf } from './common.js';

export interface RepoConsoleDeps {
  repoStats: RepoStats;
  repoJobs: RepoJobs;
  events: ChangeEvents;
}

/** A stream whose client reads slower than changes come is closed (it reconnects) rather than buffered without end. */
const MAX_BUFFERED = 1024 * 1024;
const KEEPALIVE_MS = 15_000;

/** One query value as a string; a repeated key (`?target=a&target=b`) is a 400, not the first or last one. */
function queryString(req: FastifyRequest, name: string): string | undefined {
  const v = (req.query as Record<string, unknown> | undefined)?.[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '' || v.length > 255) throw badRequest(`Invalid input received: ${name} must be given once, as a non-empty string.`);
  return v;
}

export function registerRepoConsoleRoutes(scope: FastifyInstance, deps: RepoConsoleDeps): void {
  const { repoStats, repoJobs, events } = deps;
  // Open streams would keep the server from closing: they end first.
  const streams = new Set<() => void>();
  scope.addHook('preClose', async () => {
    for (const close of streams) close();
  });

  scope.get('/cinderbox-repo/stats', async (req) => ({
    repository: await repoStats.stats(authOf(req), queryString(req, 'target')),
  }));

  scope.get('/cinderbox-repo/history', async (req) =>
    repoStats.history(authOf(req), queryString(req, 'target'), parseSince(queryString(req, 'since'))),
  );

  scope.post('/cinderbox-repo/jobs', async (req, reply) => {
    const j = validateBody<{ job: { kind: 'verify' | 'gc'; target?: string; full?: boolean; dry_run?: boolean; grace_seconds?: number } }>(
      repoJobCreate,
      req.body,
    ).job;
    const foreign = j.kind === 'verify' ? ['dry_run', 'grace_seconds'] : ['full'];
    for (const k of foreign) if (k in j) throw badRequest(`Invalid input received: ${k} does not apply to a ${j.kind} job.`);
    const job = await repoJobs.create(authOf(req), {
      kind: j.kind,
      ...(j.target !== undefined ? { target: j.target } : {}),
      ...(j.full !== undefined ? { full: j.full } : {}),
      ...(j.dry_run !== undefined ? { dryRun: j.dry_run } : {}),
      ...(j.grace_seconds !== undefined ? { graceSeconds: j.grace_seconds } : {}),
    });
    reply.code(202);
    return { job: repoJobView(job) };
  });

  scope.get('/cinderbox-repo/jobs', async (req) => ({ jobs: (await repoJobs.list(authOf(req))).map(repoJobView) }));

  scope.get('/cinderbox-repo/jobs/:job_id', async (req) => ({
    job: repoJobView(await repoJobs.get(authOf(req), (req.params as { job_id: string }).job_id)),
  }));

  // Request logs (info) would print the URL, and with it a `?token=`: this route logs warnings and errors only.
  scope.get('/cinderbox-events', { config: { queryToken: true }, logLevel: 'warn' }, async (req, reply) => {
    const ctx = authOf(req);
    const allRaw = queryString(req, 'all_tenants');
    // As in Cinder's lists, all_tenants widens an admin's view and is ignored for anyone else.
    const all = ctx.isAdmin && allRaw !== undefined && parseBoolean(allRaw, 'all_tenants');
    const project = ctx.projectId;
    const visible = (e: ChangeEvent) => all || e.project_id === project;

    reply.hijack();
    const res = reply.raw;
    let closed = false;
    let keepalive: NodeJS.Timeout | undefined;
    const close = () => {
      if (closed) return;
      closed = true;
      streams.delete(close);
      unsubscribe();
      clearInterval(keepalive);
      res.end();
    };
    // Subscribed before the headers go out: a client that has the response sees every later change.
    const unsubscribe = events.subscribe((e) => {
      if (closed || !visible(e)) return;
      res.write(`event: change\ndata: ${JSON.stringify(e)}\n\n`);
      if (res.writableLength > MAX_BUFFERED) close();
    });
    streams.add(close);
    res.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      // nginx would otherwise hold the events back in its buffer.
      'X-Accel-Buffering': 'no',
    });
    res.write(': cinderbox events\nretry: 3000\n\n');
    keepalive = setInterval(() => {
      if (!closed) res.write(': keepalive\n\n');
    }, KEEPALIVE_MS);
    keepalive.unref();
    req.raw.on('close', close);
    res.on('close', close);
    res.on('error', close);
  });
}
