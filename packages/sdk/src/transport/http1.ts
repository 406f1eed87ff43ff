/**
 * A small HTTP/1.1 client for plain-http JSON exchanges on pooled keep-alive sockets.
 * @packageDocumentation
 */
import { connect, type Socket } from 'node:net';

/** One request as this client sends it: header values come from a `Headers`, which already refused CR/LF. */
export interface Http1Request {
  method: string;
  url: URL;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: string | undefined;
}

/** A complete response: status, raw header pairs (name, value, name, value…), the body bytes. */
export interface Http1Response {
  status: number;
  rawHeaders: string[];
  body: Buffer;
}

/** An exchange in progress; `abort` destroys its socket and rejects with `reason`. */
export interface Http1Exchange {
  response: Promise<Http1Response>;
  abort(reason: Error): void;
}

interface Pooled {
  socket: Socket;
  /** The idle-time listeners, removed when the socket is taken again. */
  onError: () => void;
  onClose: () => void;
  onData: () => void;
  idleSince: number;
  /** From the server's `Keep-Alive: timeout=N`; past it the server may close the socket under us. */
  idleLimitMs: number;
}

const CRLF2 = Buffer.from('\r\n\r\n');
/** Node's own server closes idle connections after 5 s unless told otherwise; stay well inside it. */
const DEFAULT_IDLE_LIMIT_MS = 4_000;
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);
const NO_BODY = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS']);

/**
 * Keep-alive HTTP/1.1 over `node:net`, for `http:` URLs only. node:http's ClientRequest/IncomingMessage streams
 * and agent bookkeeping cost about three times the rest of a small exchange in CPU (see bench/sdk/client-cpu.ts);
 * a JSON API call needs none of it: one write, one framed response (Content-Length, chunked, or until close).
 * A request on a reused socket that the server closed before answering is re-sent once on a fresh socket when
 * it is idempotent (the keep-alive race every pooling client has).
 *
 * @example
 * ```ts
 * const pool = new Http1Pool({ maxFreeSockets: 16 });
 * const { response } = pool.request({ method: 'GET', url: new URL('http://h/v3/x'), headers: {}, body: undefined });
 * ```
 */
export class Http1Pool {
  readonly #free = new Map<string, Pooled[]>();
  readonly #maxFree: number;

  constructor(options: { maxFreeSockets?: number | undefined } = {}) {
    this.#maxFree = options.maxFreeSockets ?? 16;
  }

  /** Sends one request. */
  request(req: Http1Request): Http1Exchange {
    let current: Socket | undefined;
    let aborted: Error | undefined;
    let rejectOuter: (e: Error) => void = () => {};
    const response = new Promise<Http1Response>((resolve, reject) => {
      rejectOuter = reject;
      const attempt = (retryStale: boolean) => {
        if (aborted) return;
        const key = req.url.host;
        const reused = this.#take(key);
        const socket = reused ?? connect({ host: stripBrackets(req.url.hostname), port: Number(req.url.port || 80), noDelay: true });
        current = socket;
        socket.ref();
        exchange(socket, req, (err, res, keepAlive, idleLimitMs, gotBytes) => {
          if (aborted) return;
          if (err) {
            socket.destroy();
            if (reused && !gotBytes && retryStale && IDEMPOTENT.has(req.method)) return attempt(false);
            reject(err);
            return;
          }
          if (keepAlive) this.#release(key, socket, idleLimitMs);
          else socket.destroy();
          resolve(res!);
        });
      };
      attempt(true);
    });
    return {
      response,
      abort: (reason) => {
        if (aborted) return;
        aborted = reason;
        current?.destroy();
        rejectOuter(reason);
      },
    };
  }

  /** Closes every idle socket. */
  close(): void {
    for (const list of this.#free.values()) for (const p of list) p.socket.destroy();
    this.#free.clear();
  }

  #take(key: string): Socket | undefined {
    const list = this.#free.get(key);
    const now = Date.now();
    while (list && list.length > 0) {
      const p = list.pop()!;
      if (p.socket.destroyed || p.socket.readyState !== 'open' || now - p.idleSince >= p.idleLimitMs) {
        p.socket.destroy();
        continue;
      }
      p.socket.off('error', p.onError);
      p.socket.off('close', p.onClose);
      p.socket.off('data', p.onData);
      return p.socket;
    }
    return undefined;
  }

  #release(key: string, socket: Socket, idleLimitMs: number): void {
    let list = this.#free.get(key);
    if (!list) this.#free.set(key, (list = []));
    if (list.length >= this.#maxFree) {
      socket.destroy();
      return;
    }
    const pooled: Pooled = {
      socket,
      idleSince: Date.now(),
      idleLimitMs,
      onError: () => socket.destroy(),
      // Bytes on an idle socket (a server's 408 before it hangs up) would be read as the next request's answer.
      onData: () => socket.destroy(),
      onClose: () => {
        const i = list.indexOf(pooled);
        if (i >= 0) list.splice(i, 1);
      },
    };
    // An idle socket must not keep the process alive, and one the server closes leaves the pool.
    socket.unref();
    socket.on('error', pooled.onError);
    socket.on('close', pooled.onClose);
    socket.on('data', pooled.onData);
    list.push(pooled);
  }
}

type Done = (err: Error | undefined, res: Http1Response | undefined, keepAlive: boolean, idleLimitMs: number, gotBytes: boolean) => void;

/** Writes the request and parses one response on `socket`; calls `done` exactly once. */
function exchange(socket: Socket, req: Http1Request, done: Done): void {
  const target = `${req.url.pathname}${req.url.search}`;
  let head = `${req.method} ${target} HTTP/1.1\r\nhost: ${req.url.host}\r\n`;
  for (const name in req.headers) head += `${name}: ${req.headers[name]}\r\n`;
  if (req.body !== undefined) head += `content-length: ${Buffer.byteLength(req.body)}\r\n`;
  // As node:http does: a bodiless POST/PUT/PATCH still says its length, or the server waits for a body.
  else if (!NO_BODY.has(req.method)) head += 'content-length: 0\r\n';
  head += '\r\n';

  let finished = false;
  let pending: Buffer | undefined;
  let gotBytes = false;
  // After the head: the body framing.
  let status = 0;
  let rawHeaders: string[] = [];
  let keepAlive = true;
  let idleLimitMs = DEFAULT_IDLE_LIMIT_MS;
  let mode: 'head' | 'length' | 'chunked' | 'close' = 'head';
  let remaining = 0;
  const parts: Buffer[] = [];
  let chunkState: 'size' | 'data' | 'crlf' | 'trailer' = 'size';

  const finish = (err?: Error) => {
    if (finished) return;
    finished = true;
    socket.off('data', onData);
    socket.off('error', onError);
    socket.off('close', onClose);
    socket.off('end', onEnd);
    if (err) done(err, undefined, false, 0, gotBytes);
    else done(undefined, { status, rawHeaders, body: parts.length === 1 ? parts[0]! : Buffer.concat(parts) }, keepAlive, idleLimitMs, true);
  };
  const fail = (message: string) => finish(new Error(`${req.method} ${req.url.href}: ${message}`));

  const onData = (chunk: Buffer) => {
    gotBytes = true;
    let buf = pending ? Buffer.concat([pending, chunk]) : chunk;
    pending = undefined;
    try {
      while (!finished) {
        if (mode === 'head') {
          const end = buf.indexOf(CRLF2);
          if (end < 0) {
            if (buf.length > 64 * 1024) return fail('response head too large');
            pending = buf;
            return;
          }
          if (!parseHead(buf.toString('latin1', 0, end))) return fail('malformed response head');
          buf = buf.subarray(end + 4);
          // 1xx: an interim response; the real one follows.
          if (status >= 100 && status < 200) {
            mode = 'head';
            continue;
          }
          // parseHead set the framing (TypeScript cannot see the closure's assignment).
          if ((mode as string) === 'length' && remaining === 0) {
            if (buf.length > 0) keepAlive = false;
            return finish();
          }
          continue;
        }
        if (mode === 'length') {
          if (buf.length === 0) return;
          const take = Math.min(remaining, buf.length);
          parts.push(take === buf.length ? buf : buf.subarray(0, take));
          remaining -= take;
          if (remaining === 0) {
            // Bytes past the body on a request/response socket mean the framing is off: do not reuse it.
            if (take < buf.length) keepAlive = false;
            return finish();
          }
          return;
        }
        if (mode === 'close') {
          if (buf.length > 0) parts.push(buf);
          return;
        }
        // chunked
        if (chunkState === 'size' || chunkState === 'trailer') {
          const eol = buf.indexOf('\r\n');
          if (eol < 0) {
            pending = buf;
            return;
          }
          const line = buf.toString('latin1', 0, eol);
          buf = buf.subarray(eol + 2);
          if (chunkState === 'trailer') {
            if (line === '') return finish();
            continue;
          }
          const size = Number.parseInt(line.split(';', 1)[0]!.trim(), 16);
          if (!Number.isFinite(size) || size < 0) return fail('malformed chunk size');
          if (size === 0) chunkState = 'trailer';
          else {
            remaining = size;
            chunkState = 'data';
          }
          continue;
        }
        if (chunkState === 'data') {
          if (buf.length === 0) return;
          const take = Math.min(remaining, buf.length);
          parts.push(buf.subarray(0, take));
          buf = buf.subarray(take);
          remaining -= take;
          if (remaining === 0) chunkState = 'crlf';
          continue;
        }
        // crlf after a chunk's data
        if (buf.length < 2) {
          pending = buf.length ? buf : undefined;
          return;
        }
        buf = buf.subarray(2);
        chunkState = 'size';
      }
    } catch (e) {
      finish(e instanceof Error ? e : new Error(String(e)));
    }
  };

  const parseHead = (text: string): boolean => {
    const lines = text.split('\r\n');
    const m = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0] ?? '');
    if (!m) return false;
    status = Number(m[2]);
    rawHeaders = [];
    let length: number | undefined;
    let chunked = false;
    let connection = '';
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      if (colon <= 0) return false;
      const name = line.slice(0, colon);
      const value = line.slice(colon + 1).trim();
      rawHeaders.push(name, value);
      const lower = name.toLowerCase();
      if (lower === 'content-length') {
        if (!/^\d+$/.test(value) || (length !== undefined && length !== Number(value))) return false;
        length = Number(value);
      } else if (lower === 'transfer-encoding') chunked = value.toLowerCase().split(',').pop()!.trim() === 'chunked';
      else if (lower === 'connection') connection = value.toLowerCase();
      else if (lower === 'keep-alive') {
        const t = /timeout=(\d+)/i.exec(value);
        if (t) idleLimitMs = Math.max(0, Number(t[1]) * 1000 - 1000);
      }
    }
    if (status >= 100 && status < 200) return true;
    keepAlive = m[1] === '1' ? !connection.includes('close') : connection.includes('keep-alive');
    if (req.method === 'HEAD' || status === 204 || status === 304) {
      mode = 'length';
      remaining = 0;
    } else if (chunked) {
      mode = 'chunked';
    } else if (length !== undefined) {
      mode = 'length';
      remaining = length;
    } else {
      mode = 'close';
      keepAlive = false;
    }
    return true;
  };

  const onError = (e: Error) => finish(e);
  const onEnd = () => {
    if (mode === 'close' && status > 0) finish();
    else fail('connection closed before the response ended');
  };
  const onClose = () => onEnd();
  socket.on('data', onData);
  socket.on('error', onError);
  socket.on('end', onEnd);
  socket.on('close', onClose);
  socket.write(req.body === undefined ? head : head + req.body, 'utf8');
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
