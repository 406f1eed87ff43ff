import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { badRequest, DomainError } from '../../domain/errors.js';
import type { ByteSource, UploadRange } from '../../services/block-storage/index.js';
import { authOf, pathId } from './common.js';
import type { BlockStorageDeps } from './index.js';

/** Parses `Range: bytes=a-b` (one range; suffix and open ranges allowed). null = whole; 'bad' = unsatisfiable. */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | 'bad' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'bad';
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || end < start) return 'bad';
  return { start, end };
}

/**
 * Parses an upload's `Content-Range: bytes a-b/total` (total may be `*`); null when absent. A header that does
 * not parse is a 400 rather than being ignored: ignoring it would write the bytes at the wrong place.
 */
function parseContentRange(header: string | undefined): UploadRange | null {
  if (header === undefined) return null;
  const m = /^bytes\s+(\d{1,16})-(\d{1,16})\/(\d{1,16}|\*)$/.exec(header.trim());
  if (!m) throw badRequest(`Invalid input received: Content-Range '${header}' is not 'bytes first-last/total'.`);
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end < start) throw badRequest(`Invalid input received: Content-Range '${header}' ends before it starts.`);
  return { start, end, total: m[3] === '*' ? null : Number(m[3]) };
}

function sendBytes(req: FastifyRequest, reply: FastifyReply, src: ByteSource) {
  const range = parseRange(req.headers.range, src.size);
  reply.header('Accept-Ranges', 'bytes');
  reply.type('application/octet-stream');
  if (range === 'bad') {
    reply.header('Content-Range', `bytes */${src.size}`);
    throw new DomainError('rangeNotSatisfiable', 'Requested range not satisfiable');
  }
  if (range === null) {
    reply.header('Content-Length', String(src.size));
    if (src.size === 0) return reply.code(200).send(Buffer.alloc(0));
    return reply.code(200).send(src.open(0, src.size - 1));
  }
  reply.header('Content-Range', `bytes ${range.start}-${range.end}/${src.size}`);
  reply.header('Content-Length', String(range.end - range.start + 1));
  return reply.code(206).send(src.open(range.start, range.end));
}

/**
 * The cinderbox-data extension (not part of Cinder's API): stream a volume's bytes in, and a volume's or
 * snapshot's bytes out. The raw body parser lives only in this plugin, without a size limit: the service
 * streams it to the file with bounded memory and stops at the volume's size.
 */
export function registerVolumeDataRoutes(scope: FastifyInstance, deps: BlockStorageDeps): void {
  scope.register(async (data) => {
    data.addContentTypeParser(
      'application/octet-stream',
      { bodyLimit: Number.MAX_SAFE_INTEGER },
      (_req, payload, done) => done(null, payload),
    );
    data.put('/volumes/:id/cinderbox-data', { bodyLimit: Number.MAX_SAFE_INTEGER }, async (req, reply) => {
      const body = req.body as IncomingMessage | undefined;
      const id = (() => {
        try {
          return pathId(req, 'Volume');
        } catch (e) {
          reply.header('Connection', 'close');
          reply.raw.once('finish', () => body?.destroy?.());
          body?.resume?.();
          throw e;
        }
      })();
      if (!body || typeof (body as { pipe?: unknown }).pipe !== 'function') {
        throw new DomainError('badMediaType', 'Unsupported Content-Type: send the bytes as application/octet-stream');
      }
      const len = req.headers['content-length'];
      // The service drains the body on every refusal it makes; a lookup failure drains here.
      const res = await Promise.resolve()
        .then(() => deps.volumeData.upload(authOf(req), id, body, len === undefined ? null : Number(len), parseContentRange(req.headers['content-range'])))
        .catch((e: unknown) => {
          // Nobody is left to read the answer of an interrupted upload: the log is where its outcome is noted.
          if (body.destroyed && !(body as IncomingMessage).complete)
            req.log.warn({ requestId: req.cb.requestId, volumeId: id, reason: (e as Error).message }, 'volume upload interrupted');
          // A refused upload leaves its body unread: answer, then close the connection rather than read gigabytes.
          if (!body.readableEnded) {
            reply.header('Connection', 'close');
            reply.raw.once('finish', () => body.destroy());
            body.resume();
          }
          throw e;
        });
      return reply.code(200).send({ written: res.written });
    });
    data.get('/volumes/:id/cinderbox-data', async (req, reply) => {
      const src = await deps.volumeData.volumeSource(authOf(req), pathId(req, 'Volume'));
      return sendBytes(req, reply, src);
    });
    data.get('/snapshots/:id/cinderbox-data', async (req, reply) => {
      const src = await deps.volumeData.snapshotSource(authOf(req), pathId(req, 'Snapshot'));
      return sendBytes(req, reply, src);
    });
  });
}
