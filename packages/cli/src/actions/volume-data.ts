import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Connection } from '@cinderbox/sdk';
import { CliError } from '../runtime/errors.js';
import { byteProgress, type Progress } from '../runtime/progress.js';

/*
 * The cinderbox-data extension moves raw bytes (application/octet-stream). The SDK's service client carries them
 * (rawBody in, responseType 'stream' out), so endpoint discovery, the token, logging and typed HTTP errors are
 * the SDK's; only the byte counting for the progress bar happens here.
 */

function dataPath(kind: 'volumes' | 'snapshots', id: string): string {
  return `/${kind}/${encodeURIComponent(id)}/cinderbox-data`;
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
  const source = file === '-' ? process.stdin : createReadStream(file);
  const bar = await byteProgress('upload', size);
  const counter = counting(bar);
  source.on('error', (e: Error) => counter.stream.destroy(e));
  source.pipe(counter.stream);
  try {
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (size !== undefined) headers['content-length'] = String(size);
    const res = await conn.blockStorage.client.request('PUT', dataPath('volumes', volumeId), {
      rawBody: counter.stream,
      headers,
    });
    const body = (res.body ?? {}) as { written?: unknown };
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
  const headers: Record<string, string> = { accept: 'application/octet-stream' };
  if (range.offset !== undefined || range.length !== undefined) {
    const start = range.offset ?? 0;
    headers.range = `bytes=${start}-${range.length !== undefined ? start + range.length - 1 : ''}`;
  }
  const res = await conn.blockStorage.client.request('GET', dataPath(kind, id), {
    responseType: 'stream',
    headers,
  });
  const len = res.headers.get('content-length');
  const bar = await byteProgress('download', len === null ? undefined : Number(len));
  const counter = counting(bar);
  try {
    const src = res.stream ? Readable.fromWeb(res.stream as WebReadableStream<Uint8Array>) : Readable.from([]);
    const dest: Writable = file === '-' ? process.stdout : createWriteStream(file);
    await pipeline(src, counter.stream, dest, { end: file !== '-' });
    return { bytes: counter.count() };
  } finally {
    bar.stop();
  }
}
