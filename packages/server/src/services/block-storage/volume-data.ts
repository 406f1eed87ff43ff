import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AuthContext } from '../../domain/auth-context.js';
import { badRequest, notFound } from '../../domain/errors.js';
import { ensureAllowed, refusal } from '../../domain/lifecycle.js';
import { snapshotLifecycle } from '../../domain/snapshot.js';
import { volumeLifecycle } from '../../domain/volume.js';
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
    ensureAllowed(volumeLifecycle, 'downloadData', v);
    const driver = this.core.driver(v.driver);
    const st = await driver.stat('volume', v.id);
    if (!st) throw notFound(`Volume ${id} could not be found.`);
    return { size: st.size, open: (start, end) => driver.readRaw('volume', v.id, start, end) };
  }

  async snapshotSource(ctx: AuthContext, id: string): Promise<ByteSource> {
    const s = await this.core.visibleSnapshot(ctx, id);
    ensureAllowed(snapshotLifecycle, 'downloadData', s);
    const v = await this.core.volumeRow(this.core.store.root, s.volume_id);
    const driver = this.core.driver(v?.driver ?? this.core.backend().name);
    const st = await driver.stat('snapshot', s.id);
    if (!st) throw notFound(`Snapshot ${id} could not be found.`);
    return { size: st.size, open: (start, end) => driver.readRaw('snapshot', s.id, start, end) };
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
    const root = core.store.root;
    const moved = await core.moveVolume(root, id, 'uploadData', { previous_status: 'available' });
    if (!moved.ok) {
      body.resume();
      throw refusal(volumeLifecycle, 'uploadData', v);
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
      await core.moveVolume(root, id, 'uploaded', { previous_status: null });
    }
    if (tooLong)
      throw badRequest(
        `Invalid input received: The data is larger than volume ${id} (${size} bytes); only the first ${size} bytes were written.`,
      );
    return { written };
  }
}
