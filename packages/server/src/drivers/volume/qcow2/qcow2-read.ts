/**
 * Reading a qcow2 volume's bytes without qemu in the path: the chain's allocation map says which layer file holds
 * each cluster and where, so data clusters are pread straight from the layer files and the rest is zeros. Only
 * clusters without a plain host offset (compressed, encrypted) send a read through a qemu-img export.
 */
import { open, rm } from 'node:fs/promises';
import type { ProgressOptions } from '../../../domain/ports/volume-driver.js';
import type { BackendDirectory } from '../backend-directory.js';
import type { Qcow2Chains } from './qcow2-chain.js';
import { copyMapped, exportable, layerReader, type Reader } from './qcow2-export.js';
import type { ChainMap } from './qcow2-map.js';
import { qemuImg } from './qemu.js';

const READ_CHUNK = 1024 * 1024;

export class ChainReader {
  constructor(
    private readonly layers: Qcow2Chains,
    private readonly files: BackendDirectory,
  ) {}

  /**
   * Reads the chain's bytes through its allocation map: data clusters by pread at their host offset in the layer
   * file that holds them, zeros for the rest. Clusters without a plain host offset (compressed) are read through
   * a temporary raw export instead.
   */
  async *chunks(path: string, start: number, end: number): AsyncGenerator<Buffer> {
    const m = await this.layers.map(path, true);
    try {
      yield* this.mappedChunks(path, m, start, end);
    } finally {
      m.close?.();
    }
  }

  async *mappedChunks(path: string, m: ChainMap, start: number, end: number): AsyncGenerator<Buffer> {
    const last = Math.min(end, m.size - 1);
    if (last < start) return;
    if (m.entries.some((e) => e.data && e.offset === undefined && e.start <= last && e.start + e.length > start)) {
      const exported = await this.exportFile(path, {}, true);
      try {
        const fh = await open(exported, 'r');
        try {
          yield* preadChunks(async (b, o, l, p) => (await fh.read(b, o, l, p)).bytesRead, last + 1 - start, start);
        } finally {
          await fh.close();
        }
      } finally {
        await rm(exported, { force: true });
      }
      return;
    }
    const readers = new Map<number, Awaited<ReturnType<typeof layerReader>>>();
    try {
      for (const e of m.entries) {
        const from = Math.max(start, e.start);
        const to = Math.min(last + 1, e.start + e.length);
        if (to <= from) continue;
        if (!e.data || e.offset === undefined) {
          for (let pos = from; pos < to; pos += READ_CHUNK) yield Buffer.alloc(Math.min(READ_CHUNK, to - pos));
          continue;
        }
        let r = readers.get(e.depth);
        if (!r) {
          r = await layerReader(m, e.depth);
          readers.set(e.depth, r);
        }
        yield* preadChunks(r.read, to - from, e.offset + (from - e.start));
      }
    } finally {
      for (const r of readers.values()) await r.done();
    }
  }

  /**
   * A sparse raw temporary holding the chain's bytes: copied natively from the layer files at their mapped host
   * offsets, or converted by qemu-img when some cluster has no plain host offset (compressed, encrypted).
   */
  async exportFile(source: string, opts: ProgressOptions = {}, viaQemu = false): Promise<string> {
    const temp = this.files.temporaryFor(source);
    try {
      const m = viaQemu ? null : await this.layers.map(source, true);
      try {
        if (m && exportable(m)) await copyMapped(m, temp, opts);
        else await qemuImg(['convert', '-U', '-f', 'qcow2', '-O', 'raw', source, temp], opts.signal);
      } finally {
        m?.close?.();
      }
    } catch (e) {
      await rm(temp, { force: true });
      throw e;
    }
    return temp;
  }
}

async function* preadChunks(read: Reader, length: number, position: number): AsyncGenerator<Buffer> {
  for (let done = 0; done < length; ) {
    const want = Math.min(READ_CHUNK, length - done);
    const buf = Buffer.alloc(want);
    let got = 0;
    while (got < want) {
      const bytesRead = await read(buf, got, want - got, position + done + got);
      if (bytesRead === 0) break; // past the end of a raw base: zeros
      got += bytesRead;
    }
    yield buf;
    done += want;
  }
}
