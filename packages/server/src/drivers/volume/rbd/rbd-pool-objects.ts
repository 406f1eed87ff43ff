/**
 * Where an RBD backend's objects are in its pool: volume `<id>` is image `volume-<id>` and snapshot `<id>` is
 * RBD snapshot `snapshot-<id>` of its volume's image (Cinder's names), and what the cluster says of them (size,
 * parent). Snapshots are asked for by id alone in several driver calls, so the image each one was last found on
 * is remembered: a look-up then costs one question instead of a listing of the pool.
 */
import { codedError } from '../backend-directory.js';
import type { LibrbdAccess } from './librbd-access.js';
import type { RbdCli } from './rbd-cli.js';

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

function checkId(id: string): void {
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) throw codedError('EINVAL', `invalid object id ${JSON.stringify(id)}`);
}

export const isCode = (e: unknown, ...codes: string[]) => codes.includes((e as { code?: string } | null)?.code ?? '');

export interface ImageInfo {
  size: number;
  parent?: { pool: string; image: string; snapshot: string };
}

export interface LsRow {
  image: string;
  size: number;
  snapshot?: string;
  protected?: string;
}

/** An image, or a snapshot of one, and its size. */
export interface Located {
  image: string;
  snap?: string;
  size: number;
}

export class RbdPoolObjects {
  /** Which image holds a snapshot (snapshots are looked up by id alone in some calls). */
  private readonly snapshotImages = new Map<string, string>();

  constructor(
    private readonly pool: string,
    private readonly cli: RbdCli,
    private readonly librbd: LibrbdAccess,
  ) {}

  /** Records where a snapshot was just made or moved to. */
  remember(snapshotId: string, image: string): void {
    this.snapshotImages.set(snapshotId, image);
  }

  forget(snapshotId: string): void {
    this.snapshotImages.delete(snapshotId);
  }

  spec(image: string, snap?: string): string {
    return `${this.pool}/${image}${snap === undefined ? '' : `@${snap}`}`;
  }

  volumeImage(id: string): string {
    checkId(id);
    return `volume-${id}`;
  }

  snapName(id: string): string {
    checkId(id);
    return `snapshot-${id}`;
  }

  async info(image: string, snap?: string): Promise<ImageInfo | null> {
    try {
      return await this.cli.json<ImageInfo>(['info', this.spec(image, snap)]);
    } catch (e) {
      if (isCode(e, 'ENOENT')) return null;
      throw e;
    }
  }

  /** Size of the image or snapshot, or null when absent: librbd when connected (no process), else `rbd info`. */
  async sizeOf(image: string, snap?: string): Promise<number | null> {
    const lib = await this.librbd.get();
    if (lib) return this.librbd.oneAtATime(this.spec(image, snap), () => lib.size(image, snap));
    return (await this.info(image, snap))?.size ?? null;
  }

  async mustSize(image: string, snap?: string): Promise<number> {
    const size = await this.sizeOf(image, snap);
    if (size === null) throw codedError('ENOENT', `${this.spec(image, snap)} does not exist`);
    return size;
  }

  async mustInfo(image: string, snap?: string): Promise<ImageInfo> {
    const i = await this.info(image, snap);
    if (!i) throw codedError('ENOENT', `${this.spec(image, snap)} does not exist`);
    return i;
  }

  async ls(): Promise<LsRow[]> {
    return this.cli.json<LsRow[]>(['ls', '-l', this.pool]);
  }

  /** The image holding snapshot `snapshot-<id>`, or null. */
  async imageOfSnapshot(id: string): Promise<string | null> {
    return (await this.findSnapshot(id))?.image ?? null;
  }

  /**
   * The image holding snapshot `snapshot-<id>` and the snapshot's size, or null. The size comes with the look-up
   * (the cached image is confirmed by asking for it), so a reader does not ask again: on the tool path each
   * question is a process.
   */
  async findSnapshot(id: string): Promise<{ image: string; size: number } | null> {
    const name = this.snapName(id);
    const cached = this.snapshotImages.get(id);
    if (cached) {
      const size = await this.sizeOf(cached, name);
      if (size !== null) return { image: cached, size };
    }
    this.snapshotImages.delete(id);
    const row = (await this.ls()).find((r) => r.snapshot === name);
    if (!row) return null;
    this.snapshotImages.set(id, row.image);
    return { image: row.image, size: row.size };
  }

  /** Where the object is and its size, or null when it does not exist. */
  async locate(kind: 'volume' | 'snapshot', id: string): Promise<Located | null> {
    if (kind === 'volume') {
      const image = this.volumeImage(id);
      const size = await this.sizeOf(image);
      return size === null ? null : { image, size };
    }
    const found = await this.findSnapshot(id);
    return found === null ? null : { image: found.image, snap: this.snapName(id), size: found.size };
  }

  async mustLocate(kind: 'volume' | 'snapshot', id: string): Promise<Located> {
    const at = await this.locate(kind, id);
    if (!at) throw codedError('ENOENT', `${kind} ${id} does not exist in pool ${this.pool}`);
    return at;
  }
}
