/**
 * Claims: how a qcow2 snapshot batch survives a power cut between its renames and its flushes. Before an empty
 * overlay is renamed onto a layer name, the batch leaves a claim, a symlink whose name alone says "the layer at
 * these names is an empty overlay of this size on this backing" (qcow2-snapshot-batch.ts has the durability
 * argument). An empty overlay is fully determined by its size and backing, so at start a torn layer a claim
 * names is rewritten from the claim, and then every claim is dropped.
 */
import { open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type BackendDirectory, isNotFound } from '../backend-directory.js';
import { isTornOverlay, OVERLAY_PROBE, parseHeader, type Qcow2Header, writeEmptyImage } from './qcow2-format.js';

const CLAIM_PREFIX = '.overlay+';
/** What a claim symlink points at: nothing (recovery reads names only, and nothing follows the link). */
export const CLAIM_TARGET = 'claim';
/** The cluster size writeEmptyImage gives an overlay (what a repaired layer's header says). */
const OVERLAY_CLUSTER = 64 * 1024;

/**
 * The name of a claim: `.overlay+<size>+<backing>+<location>[+<location>]`. Layer names hold no '+' (ids are
 * UUIDs), and the longest claim (two snapshot names and a volume name) stays far below NAME_MAX.
 */
export function claimName(size: number, backing: string, locations: string[]): string {
  return `${CLAIM_PREFIX}${size}+${backing}+${locations.join('+')}`;
}

function parseClaim(name: string): { name: string; size: number; backing: string; locations: string[] } | null {
  if (!name.startsWith(CLAIM_PREFIX)) return null;
  const [size, backing, ...locations] = name.slice(CLAIM_PREFIX.length).split('+');
  const layerName = (n: string | undefined): n is string => !!n && /^(volume-|_snapshot-)[^/\\\0]+$/.test(n);
  if (!size || !/^\d+$/.test(size) || !layerName(backing) || locations.length === 0 || !locations.every(layerName)) return null;
  const bytes = Number(size);
  if (!Number.isSafeInteger(bytes) || bytes % 512 !== 0) return null;
  return { name, size: bytes, backing, locations };
}

/**
 * Rewrites every layer a claim names that is not a whole empty overlay while its length says it was one, from
 * the claim's (size, backing), and returns the rewritten names. A claim only fits a layer whose backing exists
 * and has no whole layer on it already (a claim left by an earlier, completed batch names a backing that has its
 * child), and, when the layer's header survived, only the claim that header agrees with. Snapshot layers are
 * repaired before the active one, so a layer both names still hold (a create cut between its link and its
 * rename) comes back as one line.
 */
export async function repairTornOverlays(files: BackendDirectory): Promise<string[]> {
  const directory = files.directory;
  let entries: string[];
  try {
    entries = await readdir(directory);
  } catch (e) {
    if (isNotFound(e)) return [];
    throw e;
  }
  const claims = entries.flatMap((n) => {
    const c = parseClaim(n);
    return c ? [c] : [];
  });
  if (claims.length === 0) return [];
  const names = new Set(claims.flatMap((c) => [c.backing, ...c.locations]));
  const layers = new Map<string, { torn: boolean; header: Qcow2Header | null }>();
  for (const n of names) {
    const fh = await open(join(directory, n), 'r').catch((e: unknown) => (isNotFound(e) ? null : Promise.reject(e)));
    if (!fh) continue;
    try {
      const buf = Buffer.alloc(OVERLAY_PROBE);
      const { bytesRead } = await fh.read(buf, 0, OVERLAY_PROBE, 0);
      const probe = buf.subarray(0, bytesRead);
      let header: Qcow2Header | null = null;
      try {
        header = parseHeader(probe);
      } catch {
        header = null;
      }
      layers.set(n, { torn: isTornOverlay(probe, (await fh.stat()).size), header });
    } finally {
      await fh.close();
    }
  }
  const hasChild = new Set<string>();
  for (const l of layers.values()) if (!l.torn && l.header?.backingFile) hasChild.add(l.header.backingFile);
  const torn = [...layers].filter(([, l]) => l.torn).map(([n]) => n);
  torn.sort((a, b) => Number(a.startsWith('volume-')) - Number(b.startsWith('volume-')) || a.localeCompare(b));
  const repaired: string[] = [];
  for (const n of torn) {
    const h = layers.get(n)!.header;
    const claim = claims
      .filter(
        (c) =>
          c.locations.includes(n) &&
          c.backing !== n &&
          layers.has(c.backing) &&
          !hasChild.has(c.backing) &&
          (h === null || (h.backingFile === c.backing && h.size === c.size)),
      )
      .sort((a, b) => a.backing.localeCompare(b.backing))[0];
    if (!claim) continue;
    const path = join(directory, n);
    const temp = files.temporaryFor(path);
    try {
      await writeEmptyImage(temp, claim.size, { file: claim.backing, format: 'qcow2' });
      await rename(temp, path);
    } catch (e) {
      await rm(temp, { force: true });
      throw e;
    }
    layers.set(n, { torn: false, header: { size: claim.size, clusterSize: OVERLAY_CLUSTER, backingFile: claim.backing, backingFormat: 'qcow2' } });
    hasChild.add(claim.backing);
    repaired.push(n);
  }
  // The repairs are durable before the claims go: a claim that outlives a crash here is simply used again.
  if (repaired.length > 0) await files.sync();
  await Promise.all(claims.map((c) => rm(join(directory, c.name), { force: true })));
  return repaired;
}
