import { type Readable, Transform, pipeline as pipe } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AuthContext } from '../../domain/auth-context.js';
import { badRequest, DomainError, notFound, spaceFailure } from '../../domain/errors.js';
import { ensureAllowed, refusal } from '../../domain/lifecycle.js';
import { snapshotLifecycle } from '../../domain/snapshot.js';
import { backEndByteRates, type ByteRates } from '../../domain/qos-specs.js';
import { type Volume, volumeLifecycle } from '../../domain/volume.js';
import { type Core, GiB } from './core.js';
import { recordMessageQuietly } from './message-service.js';
import { QosThrottle } from './qos-throttle.js';

const SECTOR = 512;

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

async function* led(head: Buffer | null, source: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  if (head && head.length > 0) yield head;
  yield* source;
}

/** A Content-Range on an upload: bytes [start, end] inclusive of a volume of `total` bytes (null: `*`). */
export interface UploadRange {
  start: number;
  end: number;
  total: number | null;
}

export interface ByteSource {
  size: number;
  /** A stream of bytes [start, end] inclusive. */
  open(start: number, end: number): Readable;
}

/** The cinderbox-data extension: a volume's or snapshot's bytes over HTTP. */
export class VolumeData {
  constructor(
    private readonly core: Core,
    /** Back-end QoS byte limits of the volume's type, applied to these transfers (see qos-throttle.ts). */
    private readonly throttle = new QosThrottle(),
  ) {}

  private async rates(v: Volume | undefined): Promise<ByteRates | null> {
    if (!v) return null;
    return backEndByteRates(await this.core.repos.qosSpecs.ofType(this.core.store.root, v.volume_type_id), v.size);
  }

  /** `raw`, paced to the volume's read limits when it has any. */
  private paced(volumeId: string, rates: ByteRates | null, raw: Readable): Readable {
    const t = this.throttle.stream(volumeId, rates, 'read');
    return t ? pipe(raw, t, () => {}) : raw;
  }

  async volumeSource(ctx: AuthContext, id: string): Promise<ByteSource> {
    const v = await this.core.visibleVolume(ctx, id);
    ensureAllowed(volumeLifecycle, 'downloadData', v);
    this.core.assertBytesHere(v);
    const driver = this.core.driver(v.driver);
    const st = await driver.stat('volume', v.id);
    if (!st) throw notFound(`Volume ${id} could not be found.`);
    const rates = await this.rates(v);
    return { size: st.size, open: (start, end) => this.paced(v.id, rates, driver.readRaw('volume', v.id, start, end)) };
  }

  async snapshotSource(ctx: AuthContext, id: string): Promise<ByteSource> {
    const s = await this.core.visibleSnapshot(ctx, id);
    ensureAllowed(snapshotLifecycle, 'downloadData', s);
    const v = await this.core.volumeRow(this.core.store.root, s.volume_id);
    if (v) this.core.assertBytesHere(v);
    const driver = this.core.driver(v?.driver ?? this.core.backend().name);
    const st = await driver.stat('snapshot', s.id);
    if (!st) throw notFound(`Snapshot ${id} could not be found.`);
    // A snapshot is read under its volume's limits (Cinder's QoS belongs to the type).
    const rates = await this.rates(v);
    const key = v?.id ?? s.id;
    return { size: st.size, open: (start, end) => this.paced(key, rates, driver.readRaw('snapshot', s.id, start, end)) };
  }

  /**
   * Volumes a dead server left `uploading` go to `error`: an upload is no task, so nothing else would ever move
   * them, and the bytes are part old, part new. Only for a server that alone owns the store (see main.ts).
   */
  async recoverInterruptedUploads(): Promise<string[]> {
    const root = this.core.store.root;
    const out: string[] = [];
    for (const id of await this.core.repos.volumes.idsWithStatus(root, 'uploading')) {
      if ((await this.core.moveVolume(root, id, 'uploadInterrupted')).ok) out.push(id);
    }
    return out;
  }

  /**
   * Writes `body` into an available volume: from its start, or at `range.start` when the client sent a
   * Content-Range (then `declaredLength` must be the range's length and the range must lie inside the volume).
   * The volume is `uploading` meanwhile (a guarded transition, so no other operation starts), and goes back to
   * `available` whatever happens, an interrupted body included. At most the volume's size (or the range's
   * length) is written; a longer body is a 400.
   */
  async upload(
    ctx: AuthContext,
    id: string,
    body: Readable,
    declaredLength: number | null,
    range: UploadRange | null = null,
  ): Promise<{ written: number }> {
    const core = this.core;
    const v = await core.visibleVolume(ctx, id);
    const size = v.size * GiB;
    const refuse = (e: Error) => {
      body.resume();
      return e;
    };
    try {
      core.assertBytesHere(v);
    } catch (e) {
      throw refuse(e as Error);
    }
    if (range) {
      if ((range.total !== null && range.total !== size) || range.end >= size)
        throw refuse(
          new DomainError(
            'rangeNotSatisfiable',
            `Content-Range bytes ${range.start}-${range.end}/${range.total ?? '*'} does not fit volume ${id} (${size} bytes).`,
          ),
        );
      if (declaredLength !== range.end - range.start + 1)
        throw refuse(
          badRequest(
            `Invalid input received: Content-Range bytes ${range.start}-${range.end} needs a Content-Length of ${range.end - range.start + 1}.`,
          ),
        );
    } else if (declaredLength !== null && declaredLength > size) {
      throw refuse(
        badRequest(`Invalid input received: The data (${declaredLength} bytes) is larger than volume ${id} (${size} bytes).`),
      );
    }
    const offset = range?.start ?? 0;
    const room = range ? range.end - range.start + 1 : size;
    // Past the volume's write gate for the whole write: a group snapshot or checkpoint closing it waits for this
    // write to finish, and a write arriving while it is closed waits here, before touching status or bytes.
    return core.writeGates.pass(v.id, () => this.write(v, body, offset, room, refuse));
  }

  private async write(v: Volume, body: Readable, offset: number, room: number, refuse: (e: Error) => Error): Promise<{ written: number }> {
    const core = this.core;
    const id = v.id;
    const size = v.size * GiB;
    const root = core.store.root;
    const moved = await core.moveVolume(root, id, 'uploadData', { previous_status: 'available' });
    if (!moved.ok) throw refuse(refusal(volumeLifecycle, 'uploadData', v));
    let written = 0;
    let tooLong = false;
    try {
      // Bytes past the end are read and dropped (not an error mid-stream), so the client still gets its 400.
      const limit = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          const left = room - written;
          if (chunk.length > left) {
            tooLong = true;
            written += Math.max(left, 0);
            cb(null, left > 0 ? chunk.subarray(0, left) : undefined);
            return;
          }
          written += chunk.length;
          cb(null, chunk);
        },
      });
      // Through the driver: a qcow2 volume's file is not its bytes.
      const driver = core.driver(v.driver);
      // Drivers that write whole sectors (qcow2) take a 512-aligned offset: the range is led by the volume's own bytes.
      const aligned = offset - (offset % SECTOR);
      const head = aligned < offset ? await collect(driver.readRaw('volume', v.id, aligned, offset - 1)) : null;
      const write = (source: AsyncIterable<Buffer>) => driver.writeRaw(v.id, led(head, source), aligned);
      const paced = this.throttle.stream(v.id, await this.rates(v), 'write');
      if (paced) await pipeline(body, limit, paced, write);
      else await pipeline(body, limit, write);
    } catch (err) {
      // The client went away mid-body: what arrived is written, the rest of the volume is as it was.
      // Judged by the error, not by body.errored: a driver failure (a full disk) also leaves the body errored.
      const code = (err as { code?: string }).code;
      if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE')
        throw badRequest(
          `Invalid input received: The upload to volume ${id} was interrupted after ${written} bytes arrived; the volume may hold part of them.`,
          { cause: err },
        );
      // The server's failure, not the client's: the project's users can read what went wrong later, as after a
      // failed asynchronous operation (an upload is Cinder's copy of image data into a volume).
      await recordMessageQuietly(core, {
        projectId: v.project_id,
        resourceType: 'VOLUME',
        resourceUuid: v.id,
        action: 'COPY_IMAGE_TO_VOLUME',
        detail: spaceFailure(err) !== null ? 'NOT_ENOUGH_SPACE_FOR_IMAGE' : 'UNKNOWN_ERROR',
      });
      throw err;
    } finally {
      await core.moveVolume(root, id, 'uploaded', { previous_status: null });
    }
    if (tooLong)
      throw badRequest(
        `Invalid input received: The data is larger than volume ${id} (${size} bytes); only the first ${size} bytes were written.`,
      );
    return { written };
  }
}
