/**
 * A scratch XFS filesystem with reflinks on a loop device, for tests and benchmarks of the raw driver's reflink
 * path on machines whose root filesystem cannot reflink. Needs root, a free loop device and mkfs.xfs; attaches with
 * `losetup -f --show` and detaches exactly that device afterwards.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface XfsLoop {
  mountPoint: string;
  device: string;
  release(): Promise<void>;
}

/** Mounts a fresh sparse XFS image of `sizeGiB`; returns null with the reason when that is impossible here. */
export async function mountXfsLoop(sizeGiB = 8, dir = tmpdir()): Promise<XfsLoop | { skipped: string }> {
  if (process.getuid?.() !== 0) return { skipped: 'not running as root (loop devices and mount need it)' };
  const work = await mkdtemp(join(dir, 'cinderbox-xfs-'));
  const image = join(work, 'xfs.img');
  const mountPoint = join(work, 'mnt');
  let device: string | null = null;
  let mounted = false;
  const release = async () => {
    if (mounted) await run('umount', [mountPoint]).catch(() => run('umount', ['-l', mountPoint]));
    if (device) await run('losetup', ['-d', device]).catch(() => {});
    await rm(work, { recursive: true, force: true });
  };
  try {
    const fh = await open(image, 'w');
    await fh.truncate(sizeGiB * 1024 ** 3);
    await fh.close();
    await run('mkdir', ['-p', mountPoint]);
    await run('mkfs.xfs', ['-q', '-m', 'reflink=1', image]);
    device = (await run('losetup', ['-f', '--show', image])).stdout.trim();
    await run('mount', ['-t', 'xfs', device, mountPoint]);
    mounted = true;
    return { mountPoint, device, release };
  } catch (e) {
    await release();
    const msg = ((e as { stderr?: string }).stderr || (e as Error).message).trim().split('\n')[0];
    return { skipped: `no XFS loop mount here: ${msg}` };
  }
}
