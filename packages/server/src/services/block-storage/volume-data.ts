import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AuthContext } from '../../domain/auth-context.js';
import { badRequest, notFound } from '../../domain/errors.js';
import { type Core, GiB } from './core.js';

export interface ByteSource {
  size: number;
  /** A stream of bytes [start, end] inclusive. */
  open(start: number, end: number): Readable;
}

/** The cinderbox-data extension: a volume's or snapshot's bytes over HTTP. */
export class VolumeData {
  constructor(private readonly core: Core) {}

  async volumeSource(ctx: AuthContext, id: string): Promise<ByteSource> {
    const v = await this.core.visibleVolume(ctx, id);
    if (['creating', 'deleting', 'error', 'error_deleting', 'downloading'].includes(v.status)) {
      throw badRequest(`Invalid volume: Volume ${id} status must not be ${v.status} to read its data.`);
    }
    const driver = this.core.driver(v.driver);
    const st = await driver.stat('volume', v.id);
    if (!st) throw notFound(`Volume ${id} could not be found.`);
    return { size: st.size, open: (start, end) => driver.readRaw('volume', v.id, start, end) };
  }

  async snapshotSource(ctx: AuthContext, id: string): Promise<ByteSource> {
    const s = await this.core.visibleSnapshot(ctx, id);
    if (s.status !== 'available')
      throw badRequest(`Invalid snapshot: Snapshot ${id} status must be available to read its data.`);
    const v = await this.core.volumeRow(this.core.db, s.volume_id);
    const driver = this.core.driver(v?.driver ?? this.core.backend().name);
    const st = await driver.stat('snapshot', s.id);
    if (!st) throw notFound(`Snapshot ${id} could not be found.`);
    return { size: st.size, open: (start, end) => driver.readRaw('snapshot', s.id, start, end) };
  }

  /**
   * Writes `body` over the start of an available volume. The volume is `uploading` meanwhile (a guarded
   * transition, so no other operation starts), and goes back to `available` whatever happens. At most the
   * volume's size is written; a longer body is a 400.
   */
  async upload(
    ctx: AuthContext,
    id: string,
    body: Readable,
    declaredLength: number | null,
  ): Promise<{ written: number }> {
    const core = this.core;
    const v = await core.visibleVolume(ctx, id);
    const size = v.size * GiB;
    if (declaredLength !== null && declaredLength > size) {
      body.resume();
      throw badRequest(
        `Invalid input received: The data (${declaredLength} bytes) is larger than volume ${id} (${size} bytes).`,
      );
    }
    const res = await core.db
      .updateTable('volumes')
      .set({ status: 'uploading', previous_status: 'available', updated_at: core.now() })
      .where('id', '=', id)
      .where('status', '=', 'available')
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) {
      body.resume();
      throw badRequest(
        `Invalid volume: Volume ${id} status must be available to upload data, but the status is ${v.status}.`,
      );
    }
    let written = 0;
    let tooLong = false;
    try {
      // Bytes past the end are read and dropped (not an error mid-stream), so the client still gets its 400.
      const limit = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          const room = size - written;
          if (chunk.length > room) {
            tooLong = true;
            written += Math.max(room, 0);
            cb(null, room > 0 ? chunk.subarray(0, room) : undefined);
            return;
          }
          written += chunk.length;
          cb(null, chunk);
        },
      });
      // Through the driver: a qcow2 volume's file is not its bytes.
      const driver = core.driver(v.driver);
      await pipeline(body, limit, (source: AsyncIterable<Buffer>) => driver.writeRaw(v.id, source));
    } finally {
      await core.db
        .updateTable('volumes')
        .set({ status: 'available', previous_status: null, updated_at: core.now() })
        .where('id', '=', id)
        .where('status', '=', 'uploading')
        .execute();
    }
    if (tooLong)
      throw badRequest(
        `Invalid input received: The data is larger than volume ${id} (${size} bytes); only the first ${size} bytes were written.`,
      );
    return { written };
  }
}
