/**
 * A fresh filesystem image mounted through a loop device, for tests and benchmarks that need a filesystem the host
 * root does not give them (XFS with reflinks, a small ext4 to fill). Needs root, a free loop device and the mkfs
 * tool; attaches with `losetup -f --show` and detaches exactly that device afterwards.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface LoopMount {
  mountPoint: string;
  device: string;
  release(): Promise<void>;
}

export interface LoopImage {
  /** Filesystem type for `mount -t` and the `mkfs.<type>` tool. */
  type: string;
  /** Size of the sparse image. */
  bytes: number;
  /** Options for mkfs before the image path. */
  mkfsArgs: string[];
  /** Where the scratch directory goes (default: the OS temporary directory). */
  dir?: string;
}

/** Makes, formats and mounts a sparse image; `{ skipped }` with the reason when that is impossible here. */
export async function mountLoopImage(img: LoopImage): Promise<LoopMount | { skipped: string }> {
  if (process.getuid?.() !== 0) return { skipped: 'not running as root (loop devices and mount need it)' };
  const work = await mkdtemp(join(img.dir ?? tmpdir(), `cinderbox-${img.type}-`));
  const image = join(work, 'fs.img');
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
    await fh.truncate(img.bytes);
    await fh.close();
    await run('mkdir', ['-p', mountPoint]);
    await run(`mkfs.${img.type}`, [...img.mkfsArgs, image]);
    device = (await run('losetup', ['-f', '--show', image])).stdout.trim();
    await run('mount', ['-t', img.type, device, mountPoint]);
    mounted = true;
    return { mountPoint, device, release };
  } catch (e) {
    await release();
    const msg = ((e as { stderr?: string }).stderr || (e as Error).message).trim().split('\n')[0];
    return { skipped: `no ${img.type} loop mount here: ${msg}` };
  }
}
