/**
 * A scratch XFS filesystem with reflinks on a loop device, for tests and benchmarks of the raw driver's reflink
 * path on machines whose root filesystem cannot reflink. Needs root, a free loop device and mkfs.xfs; attaches with
 * `losetup -f --show` and detaches exactly that device afterwards.
 */
import { type LoopMount, mountLoopImage } from './loop-mount.js';

export type XfsLoop = LoopMount;

/** Mounts a fresh sparse XFS image of `sizeGiB`; returns the reason when that is impossible here. */
export function mountXfsLoop(sizeGiB = 8, dir?: string): Promise<XfsLoop | { skipped: string }> {
  return mountLoopImage({ type: 'xfs', bytes: sizeGiB * 1024 ** 3, mkfsArgs: ['-q', '-m', 'reflink=1'], ...(dir ? { dir } : {}) });
}
