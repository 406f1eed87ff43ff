import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Connection, errorFromResponse } from '@cinderbox/sdk';
import { CliError } from '../runtime/errors.js';
import { byteProgress, type Progress } from '../runtime/progress.js';

/*
 * The cinderbox-data extension moves raw bytes (application/octet-stream), which the SDK's JSON pipeline does
 * not carry. These calls use the SDK's public pieces instead: the block-storage endpoint (catalog + version
 * discovery) and the current token, then stream with fetch. Errors become the SDK's typed HTTP errors.
 */

async function target(
  conn: Connection,
  kind: 'volumes' | 'snapshots',
  id: string,
): Promise<{ url: string; token: string }> {
  const [info, access] = await Promise.all([conn.blockStorage.client.info(), conn.authorize()]);
  return {
    url: `${info.endpoint}/${kind}/${encodeURIComponent(id)}/cinderbox-data`,
    token: access.token,
  };
}

async function failure(method: string, url: string, res: Response): Promise<Error> {
  const text = await res.text().catch(() => '');
  let body: unknown = text;
  try {
    body = text ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return errorFromResponse({
    status: res.status,
    method,
    url,
    requestId: res.headers.get('x-openstack-request-id') ?? undefined,
    body,
  });
}

function counting(bar: Progress): { stream: Transform; count: () => number } {
  let n = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      n += chunk.length;
      bar.update(n);
      cb(null, chunk);
    },
  });
  return { stream, count: () => n };
}

/** Streams `file` ("-" = stdin) over the start of the volume. Returns the bytes the server wrote. */
export async function uploadVolumeData(
  conn: Connection,
  volume: { id: string; sizeGiB: number | undefined },
  file: string,
): Promise<{ written: number }> {
  const volumeId = volume.id;
  const size = file === '-' ? undefined : (await stat(file)).size;
  // The server refuses an oversized body before reading it, then may close the connection while we are still
  // sending, which fetch reports only as "fetch failed": say it here instead of sending a doomed request.
  const capacity = volume.sizeGiB === undefined ? undefined : volume.sizeGiB * 1024 ** 3;
  if (size !== undefined && capacity !== undefined && size > capacity) {
    throw new CliError(`${file} (${size} bytes) is larger than volume ${volumeId} (${capacity} bytes).`);
  }
  const { url, token } = await target(conn, 'volumes', volumeId);
  const source = file === '-' ? process.stdin : createReadStream(file);
  const bar = await byteProgress('upload', size);
  const counter = counting(bar);
  source.on('error', (e: Error) => counter.stream.destroy(e));
  source.pipe(counter.stream);
  try {
    const headers: Record<string, string> = {
      'X-Auth-Token': token,
      'Content-Type': 'application/octet-stream',
    };
    if (size !== undefined) headers['Content-Length'] = String(size);
    const res = await fetch(url, {
      method: 'PUT',
      headers,
      body: Readable.toWeb(counter.stream) as ReadableStream<Uint8Array>,
      duplex: 'half',
    } as RequestInit);
    if (!res.ok) throw await failure('PUT', url, res);
    const body = (await res.json().catch(() => ({}))) as { written?: unknown };
    return {
      written: typeof body.written === 'number' ? body.written : counter.count(),
    };
  } finally {
    bar.stop();
    source.destroy();
  }
}

/** Streams a volume's or snapshot's bytes (optionally a range) into `file` ("-" = stdout). Returns the bytes written. */
export async function downloadData(
  conn: Connection,
  kind: 'volumes' | 'snapshots',
  id: string,
  file: string,
  range: { offset?: number | undefined; length?: number | undefined } = {},
): Promise<{ bytes: number }> {
  const { url, token } = await target(conn, kind, id);
  const headers: Record<string, string> = {
    'X-Auth-Token': token,
    Accept: 'application/octet-stream',
  };
  if (range.offset !== undefined || range.length !== undefined) {
    const start = range.offset ?? 0;
    headers.Range = `bytes=${start}-${range.length !== undefined ? start + range.length - 1 : ''}`;
  }
  const res = await fetch(url, { headers });
  if (!res.ok) throw await failure('GET', url, res);
  const len = res.headers.get('content-length');
  const bar = await byteProgress('download', len === null ? undefined : Number(len));
  const counter = counting(bar);
  try {
    const src = res.body ? Readable.fromWeb(res.body as import('node:stream/web').ReadableStream) : Readable.from([]);
    const dest: Writable = file === '-' ? process.stdout : createWriteStream(file);
    await pipeline(src, counter.stream, dest, { end: file !== '-' });
    return { bytes: counter.count() };
  } finally {
    bar.stop();
  }
}
