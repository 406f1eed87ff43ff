/**
 * A small ext4 filesystem on a loop device, for tests that fill a disk. ext4 rather than tmpfs: the backup
 * repository and restores use O_DIRECT, which tmpfs refuses. `-m 0` leaves no root-only blocks, so "full" is full
 * for the root user the tests run as. Needs root, a free loop device and mkfs.ext4.
 */
import { open, rm, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { mountLoopImage } from '../../drivers/volume/loop-mount.js';

export interface SmallFs {
  mountPoint: string;
  /** Fills the filesystem to its last block with a file `filler` (returns its path). */
  fill(): Promise<string>;
  /** Removes the filler. */
  unfill(): Promise<void>;
  /** Shrinks the filler so that about `bytes` more are free. */
  free(bytes: number): Promise<void>;
  freeBytes(): Promise<number>;
  release(): Promise<void>;
}

export async function mountSmallFs(sizeMiB: number): Promise<SmallFs | { skipped: string }> {
  const fs = await mountLoopImage({
    type: 'ext4',
    bytes: sizeMiB * 1024 * 1024,
    mkfsArgs: ['-q', '-F', '-m', '0', '-E', 'lazy_itable_init=0,lazy_journal_init=0'],
  });
  if ('skipped' in fs) return fs;
  const { mountPoint, release } = fs;
  const filler = join(mountPoint, 'filler');
  const freeBytes = async () => {
    const s = await statfs(mountPoint);
    return s.bavail * s.bsize;
  };
  return {
    mountPoint,
    freeBytes,
    async fill() {
      // Big writes until ENOSPC, then ever smaller ones for the last partial blocks.
      const fh = await open(filler, 'a');
      try {
        for (let size = 4 * 1024 * 1024; size >= 512; size /= 2) {
          const buf = Buffer.alloc(size, 0x5a);
          for (;;) {
            try {
              await fh.write(buf);
            } catch (e) {
              if ((e as { code?: string }).code !== 'ENOSPC') throw e;
              break;
            }
          }
        }
        await fh.sync().catch(() => {});
      } finally {
        await fh.close();
      }
      return filler;
    },
    async unfill() {
      await rm(filler, { force: true });
    },
    async free(bytes: number) {
      const fh = await open(filler, 'r+');
      try {
        const { size } = await fh.stat();
        await fh.truncate(Math.max(0, size - bytes));
        await fh.sync();
      } finally {
        await fh.close();
      }
    },
    release,
  };
}
