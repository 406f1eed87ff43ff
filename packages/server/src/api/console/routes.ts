import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { notFound } from '../../domain/errors.js';

/**
 * The web console: the static files packages/console builds, served under /console/. The page holds no data of
 * its own and every byte of it is public, so the routes take no token; what it shows comes from the APIs, with
 * the signed-in user's token and policies.
 *
 * The build is a handful of files, read and gzipped once at start and answered from memory. Hashed assets are
 * immutable; index.html is revalidated by ETag so a new build shows at the next load. The CSP lets the page load
 * and call nothing but this origin (no fonts, CDNs or inline script).
 */

/** Where the console's build lands beside this package in the repository (the same depth from src/ and dist/). */
export function defaultConsoleDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'console', 'dist');
}

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.map': 'application/json',
};

interface StaticFile {
  body: Buffer;
  gzip: Buffer | null;
  type: string;
  etag: string;
  cache: string;
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

/** The built files by their path under /console/ ('' is index.html); empty when the console was not built. */
export function loadConsoleFiles(dir: string): Map<string, StaticFile> {
  try {
    return readConsoleFiles(dir);
  } catch {
    // A build being rewritten as the server starts (npm run build beside a running dev server) must not stop the
    // API from starting: the console answers as not built until the next start.
    return new Map();
  }
}

function readConsoleFiles(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  if (!existsSync(join(dir, 'index.html'))) return files;
  for (const path of walk(dir)) {
    const rel = relative(dir, path).split(sep).join('/');
    const body = readFileSync(path);
    const type = TYPES[extname(path)] ?? 'application/octet-stream';
    // Images are compressed already; text shrinks to a third or less.
    const gzip = type.startsWith('text/') || type.includes('json') || type.includes('svg') ? gzipSync(body, { level: 9 }) : null;
    const isIndex = rel === 'index.html';
    files.set(rel, {
      body,
      gzip,
      type,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
      cache: isIndex ? 'no-cache' : rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'public, max-age=300',
    });
    if (isIndex) files.set('', files.get(rel)!);
  }
  return files;
}

export function registerConsoleRoutes(app: FastifyInstance, opts: { dir?: string } = {}): void {
  const files = loadConsoleFiles(opts.dir ?? defaultConsoleDir());

  // Relative asset paths in index.html resolve against /console/, so the bare path moves there.
  app.get('/console', { config: { public: true } }, async (_req, reply) => {
    reply.code(308).header('Location', '/console/').send();
  });

  app.get('/console/*', { config: { public: true } }, async (req: FastifyRequest, reply: FastifyReply) => {
    const rel = (req.params as { '*': string })['*'];
    const file = files.get(rel);
    if (!file) {
      throw notFound(files.size === 0 ? 'The console is not built here: run npm run setup (or npm run build) first.' : 'The resource could not be found.');
    }
    reply
      .header('Content-Security-Policy', CONSOLE_CSP)
      .header('X-Content-Type-Options', 'nosniff')
      .header('Referrer-Policy', 'no-referrer')
      .header('X-Frame-Options', 'DENY')
      .header('Cross-Origin-Opener-Policy', 'same-origin')
      .header('Cache-Control', file.cache)
      .header('ETag', file.etag)
      .header('Vary', 'Accept-Encoding')
      .type(file.type);
    if (req.headers['if-none-match'] === file.etag) return reply.code(304).send();
    const accepts = String(req.headers['accept-encoding'] ?? '');
    if (file.gzip && /\bgzip\b/.test(accepts)) return reply.header('Content-Encoding', 'gzip').send(file.gzip);
    return reply.send(file.body);
  });
}
