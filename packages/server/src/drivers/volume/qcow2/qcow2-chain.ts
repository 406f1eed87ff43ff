/**
 * Reading a qcow2 volume's chain of layer files: headers, backing references and allocation maps. Only plain
 * names in the backend directory are followed as backing references (a layer file names its backing, and a
 * crafted one must not reach outside), and the maps are read natively, falling back on qemu-img for images the
 * native reader refuses.
 */
import { basename, join } from 'node:path';
import type { Extent } from '../../../domain/ports/volume-driver.js';
import { codedError, isNotFound, isPlainName } from '../backend-directory.js';
import { alignExtents } from '../extent-diff.js';
import { type LayerFormat, readHeader } from './qcow2-format.js';
import { type ChainMap, chainMap, layerAllocation, Unsupported } from './qcow2-map.js';
import { map, topOnly } from './qemu.js';

/** The hidden raw bottom layer of an adopted raw image: `.base-<id>`. */
export const BASE_PREFIX = '.base-';
const CLUSTER = 64 * 1024;

export interface Layer {
  path: string;
  format: LayerFormat;
}

export class Qcow2Chains {
  constructor(private readonly directory: string) {}

  /** The qcow2 header of an active or snapshot layer; ENOENT when missing, EINVAL when not qcow2. */
  async header(path: string) {
    const h = await readHeader(path);
    if (!h) throw codedError('EINVAL', `${basename(path)} is not a qcow2 image`);
    return h;
  }

  /** Resolves a stored backing reference; only plain names in this directory are followed. */
  backingPath(ref: string): string {
    if (!isPlainName(ref) && !ref.startsWith(BASE_PREFIX)) throw codedError('EINVAL', `unsafe backing reference ${ref}`);
    if (/[/\\\0]/.test(ref)) throw codedError('EINVAL', `unsafe backing reference ${ref}`);
    return join(this.directory, ref);
  }

  /** The chain from `top` down to its base: [top, backing, backing's backing, …]. Reads headers only. */
  async chain(top: string): Promise<Layer[]> {
    const out: Layer[] = [{ path: top, format: 'qcow2' }];
    for (let cur = top; ; ) {
      const h = await this.header(cur);
      if (!h.backingFile) return out;
      const format: LayerFormat = h.backingFormat === 'raw' ? 'raw' : 'qcow2';
      const next = this.backingPath(h.backingFile);
      out.push({ path: next, format });
      if (format === 'raw') return out;
      if (out.length > 100_000) throw codedError('ELOOP', `backing chain of ${basename(top)} does not end`);
      cur = next;
    }
  }

  /** The layer of `top`'s chain whose backing is `name`, or null when `name` is not in the chain. */
  async childOf(top: string, name: string): Promise<string | null> {
    for (let cur = top; ; ) {
      const h = await this.header(cur);
      if (!h.backingFile) return null;
      if (h.backingFile === name) return cur;
      if (h.backingFormat === 'raw') return null;
      cur = this.backingPath(h.backingFile);
    }
  }

  /**
   * The chain's map (what `qemu-img map` reports: per extent the layer depth, data/zero and host offset), read
   * natively from the layers' tables; images the native reader refuses (subclusters, encryption, external data,
   * damage) go through qemu-img.
   */
  async map(top: string, keepOpen = false): Promise<ChainMap> {
    try {
      return await chainMap(
        top,
        (ref, format) => ({ path: this.backingPath(ref), format: format === 'raw' ? 'raw' : 'qcow2' }),
        (raw) => map(topOnly(raw, 'raw')),
        { keepOpen },
      );
    } catch (e) {
      if (!(e instanceof Unsupported)) throw e;
      // Host offsets of such images may point into an external data file: readers go through qemu-img instead.
      const entries = (await map(top, 'qcow2')).map(({ offset: _offset, ...rest }) => rest);
      const layers = await this.chain(top);
      return { layers, size: (await this.header(top)).size, entries };
    }
  }

  /**
   * The clusters allocated (data, zero or compressed) in one layer on its own, natively or through qemu-img, and
   * the layer's backing reference.
   */
  private async layerExtents(layer: string): Promise<{ extents: Extent[]; backingFile: string | null; backingFormat: string | null }> {
    try {
      return await layerAllocation(layer);
    } catch (e) {
      if (!(e instanceof Unsupported)) throw e;
      const { backingFile, backingFormat } = await this.header(layer);
      const extents = (await map(topOnly(layer))).filter((m) => m.present).map((m) => ({ offset: m.start, length: m.length }));
      return { extents, backingFile, backingFormat };
    }
  }

  /**
   * The clusters written (data or zeroes) in the layers of `top`'s chain above the layer named `fromName`, each
   * layer's own allocation map read without opening its backing chain, aligned to clusters within `size`; null
   * when `fromName` is not below `top`.
   */
  async changedAbove(top: string, fromName: string, size: number): Promise<Extent[] | null> {
    // A layer below the top can vanish between reading its name and opening it (a snapshot delete renamed the
    // merged layer over the name); the chain is consistent again right after, so walk it again.
    for (let attempt = 1; ; attempt++) {
      const extents: Extent[] = [];
      try {
        for (let cur: string | null = top, depth = 0; basename(cur) !== fromName; depth++) {
          const layer: Awaited<ReturnType<typeof this.layerExtents>> = await this.layerExtents(cur).catch((e: unknown) =>
            depth > 0 && isNotFound(e) ? Promise.reject(Object.assign(new Error('layer moved'), { moved: e })) : Promise.reject(e),
          );
          for (const e of layer.extents) extents.push(e);
          cur = layer.backingFile && layer.backingFormat !== 'raw' ? this.backingPath(layer.backingFile) : null;
          if (cur === null) return null; // `from` is not below `to`
          if (depth > 100_000) throw codedError('ELOOP', `backing chain of ${basename(top)} does not end`);
        }
      } catch (e) {
        const moved = (e as { moved?: unknown }).moved;
        if (moved === undefined) throw e;
        if (attempt >= 5) throw moved;
        continue;
      }
      return alignExtents(extents, CLUSTER, size);
    }
  }
}
