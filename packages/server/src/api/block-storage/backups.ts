import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { badRequest, notFound } from '../../domain/errors.js';
import type { BackupRecord } from '../../services/block-storage/index.js';
import { parseBoolean, schemaFor, validateBody } from '../common/validation.js';
import { authOf, mvOf, nextLinks, parseAction, parseListRequest, selfLinks } from './common.js';
import type { BlockStorageDeps } from './index.js';
import { backupCreateBodies, backupImport, backupResetStatus, backupRestore, backupUpdateBodies, repoGc, repoVerify } from '@cinderbox/api-schema';
import { backupDetailView, backupSummaryView } from './backups-views.js';

type Body = Record<string, unknown>;

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const ACTIONS = ['os-reset_status', 'os-force_delete'];
const DEFAULT_GC_GRACE_SECONDS = 3600;

function backupId(req: FastifyRequest): string {
  const raw = (req.params as Record<string, string | undefined>).id ?? '';
  if (!UUID_RE.test(raw)) throw notFound(`Backup ${raw} could not be found.`);
  return raw.toLowerCase();
}

function trimmed(v: unknown): string | null {
  return typeof v === 'string' ? v.trim() : null;
}

/** Routes that exist only from a microversion on are 404 below it, and on /v2. */
function requireVersion(req: FastifyRequest, v: string): void {
  if (req.cb.apiVersion === null || !mvOf(req).atLeast(v)) throw notFound('The resource could not be found.');
}

/** Cinder's backup API (spec §8) plus the cinderbox extensions: progress and repository verify/gc. */
export function registerBackupRoutes(scope: FastifyInstance, deps: BlockStorageDeps): void {
  const { backups } = deps;
  const summary = (req: FastifyRequest, rec: BackupRecord) =>
    backupSummaryView(rec, selfLinks(req, 'backups', rec.backup.id));
  const detail = (req: FastifyRequest, rec: BackupRecord) =>
    backupDetailView(rec, { mv: mvOf(req), isAdmin: authOf(req).isAdmin, links: selfLinks(req, 'backups', rec.backup.id) });

  scope.post('/backups', async (req, reply) => {
    const mv = mvOf(req);
    const b = validateBody<{ backup: Body }>(
      schemaFor(mv, backupCreateBodies),
      req.body,
    ).backup;
    const rec = await backups.create(authOf(req), {
      volumeId: (b.volume_id as string).toLowerCase(),
      snapshotId: typeof b.snapshot_id === 'string' ? b.snapshot_id.toLowerCase() : null,
      name: trimmed(b.name),
      description: trimmed(b.description),
      container: trimmed(b.container) || null,
      incremental: b.incremental === undefined ? false : parseBoolean(b.incremental, 'incremental'),
      force: b.force === undefined ? false : parseBoolean(b.force, 'force'),
      metadata: (b.metadata ?? {}) as Record<string, string>,
      availabilityZone: typeof b.availability_zone === 'string' ? b.availability_zone : null,
    });
    reply.code(202);
    return { backup: summary(req, rec) };
  });

  const list = (isDetail: boolean) => async (req: FastifyRequest) => {
    const res = await backups.list(authOf(req), mvOf(req), parseListRequest(req));
    const out: Record<string, unknown> = {
      backups: res.items.map((r) => (isDetail ? detail(req, r) : summary(req, r))),
    };
    const links = nextLinks(
      req,
      'backups',
      isDetail,
      res.items.map((r) => r.backup.id),
      res.limit,
    );
    if (links) out.backups_links = links;
    if (res.count !== null) out.count = res.count;
    return out;
  };
  scope.get('/backups', list(false));
  scope.get('/backups/detail', list(true));

  scope.get('/backups/:id', async (req) => ({ backup: detail(req, await backups.get(authOf(req), backupId(req))) }));

  scope.put('/backups/:id', async (req) => {
    requireVersion(req, '3.9');
    const id = backupId(req);
    const ctx = authOf(req);
    await backups.get(ctx, id);
    const mv = mvOf(req);
    const b = validateBody<{ backup: Body }>(
      schemaFor(mv, backupUpdateBodies),
      req.body,
    ).backup;
    const input: { name?: string | null; description?: string | null; metadata?: Record<string, string> } = {};
    if ('name' in b) input.name = trimmed(b.name);
    if ('description' in b) input.description = trimmed(b.description);
    if (b.metadata !== undefined && b.metadata !== null) input.metadata = b.metadata as Record<string, string>;
    return { backup: summary(req, await backups.update(ctx, id, input)) };
  });

  scope.delete('/backups/:id', async (req, reply) => {
    await backups.delete(authOf(req), backupId(req));
    reply.code(202).send();
  });

  scope.post('/backups/:id/restore', async (req, reply) => {
    const id = backupId(req);
    const ctx = authOf(req);
    await backups.get(ctx, id);
    const r = validateBody<{ restore: Body | null }>(backupRestore, req.body).restore ?? {};
    const restore = await backups.restore(ctx, id, {
      volumeId: typeof r.volume_id === 'string' ? r.volume_id.toLowerCase() : null,
      name: trimmed(r.name),
    });
    reply.code(202);
    return { restore };
  });

  scope.post('/backups/:id/action', async (req, reply) => {
    const id = backupId(req);
    const ctx = authOf(req);
    await backups.get(ctx, id);
    const { name, value } = parseAction(req.body, ACTIONS);
    switch (name) {
      case 'os-reset_status': {
        const b = validateBody<Body>(backupResetStatus, value);
        await backups.resetStatus(ctx, id, b.status as string);
        break;
      }
      case 'os-force_delete':
        await backups.delete(ctx, id, true);
        break;
      default:
        throw badRequest(`There is no such action: ${name}`);
    }
    reply.code(202).send();
  });

  scope.get('/backups/:id/export_record', async (req) => ({
    'backup-record': await backups.exportRecord(authOf(req), backupId(req)),
  }));

  const importRecord = async (req: FastifyRequest, reply: FastifyReply) => {
    const ctx = authOf(req);
    backups.checkImportPolicy(ctx);
    const r = validateBody<{ 'backup-record': Body }>(backupImport, req.body)['backup-record'];
    const rec = await backups.importRecord(ctx, r.backup_service as string, r.backup_url as string);
    reply.code(201);
    return { backup: summary(req, rec) };
  };
  scope.post('/backups/import_record', importRecord);
  // openstacksdk's Backup.import_record posts here (spec §11); nothing else uses POST on this path.
  scope.post('/backups/export_record', importRecord);

  // cinderbox extensions: Cinder's bodies have no room for progress or repository maintenance.
  scope.get('/backups/:id/cinderbox-progress', async (req) => ({
    progress: await backups.progress(authOf(req), backupId(req)),
  }));

  scope.post('/cinderbox-repo/verify', async (req) => {
    const b = validateBody<{ full?: boolean; target?: string } | null>(repoVerify, req.body ?? null);
    return { verify: await backups.verifyRepository(authOf(req), b?.full === true, b?.target) };
  });

  scope.post('/cinderbox-repo/gc', async (req) => {
    const b = validateBody<{ grace_seconds?: number; dry_run?: boolean; target?: string } | null>(repoGc, req.body ?? null);
    return {
      gc: await backups.gcRepository(authOf(req), {
        graceSeconds: b?.grace_seconds ?? DEFAULT_GC_GRACE_SECONDS,
        dryRun: b?.dry_run === true,
        ...(b?.target !== undefined ? { target: b.target } : {}),
      }),
    };
  });
}
