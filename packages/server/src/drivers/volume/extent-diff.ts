/**
 * Changed-block tracking from extent maps: the logical ranges whose backing storage differs between two versions
 * of a file. Used by the raw driver on reflink filesystems (FIEMAP physical extents of two snapshots: shared
 * blocks keep their physical address, rewritten ones move) and by the qcow2 driver to merge layer maps.
 */
import type { Extent } from '../../domain/ports/volume-driver.js';
import { FIEMAP_FLAGS, type PhysicalExtent } from './sparse-io.js';

/** Sorts and merges touching or overlapping ranges. */
export function mergeExtents(extents: Iterable<Extent>): Extent[] {
  const sorted = [...extents].filter((e) => e.length > 0).sort((a, b) => a.offset - b.offset);
  const out: Extent[] = [];
  for (const e of sorted) {
    const last = out.at(-1);
    if (last && e.offset <= last.offset + last.length) {
      last.length = Math.max(last.length, e.offset + e.length - last.offset);
    } else out.push({ offset: e.offset, length: e.length });
  }
  return out;
}

/** Rounds each range out to `granularity` and merges. */
export function alignExtents(extents: Extent[], granularity: number, limit = Number.MAX_SAFE_INTEGER): Extent[] {
  return mergeExtents(
    extents.map((e) => {
      const start = Math.floor(e.offset / granularity) * granularity;
      const end = Math.min(limit, Math.ceil((e.offset + e.length) / granularity) * granularity);
      return { offset: start, length: end - start };
    }),
  );
}

interface Mapped {
  start: number;
  end: number;
  physical: number;
}

/** Extents that hold data (unwritten ones read as zeros, like holes), sorted. */
function mapped(extents: PhysicalExtent[]): Mapped[] {
  return extents
    .filter((e) => (e.flags & FIEMAP_FLAGS.unwritten) === 0 && e.length > 0)
    .map((e) => ({ start: e.logical, end: e.logical + e.length, physical: e.physical }))
    .sort((a, b) => a.start - b.start);
}

/**
 * Logical ranges where `before` and `after` map to different physical blocks, or where one has data and the other
 * a hole. Extents whose location is unknown (delalloc, physical 0, encoded, inline) always count as changed.
 */
export function diffPhysicalExtents(before: PhysicalExtent[], after: PhysicalExtent[]): Extent[] {
  const unreliable = FIEMAP_FLAGS.unknown_loc | FIEMAP_FLAGS.delalloc | FIEMAP_FLAGS.encoded | FIEMAP_FLAGS.data_inline;
  const forced: Extent[] = [];
  for (const e of [...before, ...after]) {
    if ((e.flags & unreliable) !== 0 || (e.physical === 0 && (e.flags & FIEMAP_FLAGS.unwritten) === 0)) {
      forced.push({ offset: e.logical, length: e.length });
    }
  }
  const a = mapped(before);
  const b = mapped(after);
  const points = [...new Set([...a, ...b].flatMap((e) => [e.start, e.end]))].sort((x, y) => x - y);
  const out: Extent[] = [];
  let ia = 0;
  let ib = 0;
  for (let i = 0; i + 1 < points.length; i++) {
    const p = points[i]!;
    const q = points[i + 1]!;
    while (ia < a.length && a[ia]!.end <= p) ia++;
    while (ib < b.length && b[ib]!.end <= p) ib++;
    const ea = ia < a.length && a[ia]!.start <= p ? a[ia]! : null;
    const eb = ib < b.length && b[ib]!.start <= p ? b[ib]! : null;
    if (!ea && !eb) continue;
    const pa = ea ? ea.physical + (p - ea.start) : -1;
    const pb = eb ? eb.physical + (p - eb.start) : -1;
    if (pa !== pb) out.push({ offset: p, length: q - p });
  }
  return mergeExtents([...out, ...forced]);
}
