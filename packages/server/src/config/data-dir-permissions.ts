import { chmod, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';

/** Files and directories the server creates: its own user only (volumes, snapshots and chunks are tenants' data). */
export const DATA_UMASK = 0o077;

/**
 * Takes group and other permissions off the data directory and its top-level entries (a directory left 0755 by an
 * older version or by hand), so nothing below them is reachable by other users whatever its own mode. Symbolic
 * links are left alone (chmod would follow them out of the directory). Returns what was changed.
 */
export async function tightenDataDir(dataDir: string, logger: Logger): Promise<{ path: string; from: number; to: number }[]> {
  const changed: { path: string; from: number; to: number }[] = [];
  const tighten = async (path: string) => {
    const st = await lstat(path).catch(() => null);
    if (!st || st.isSymbolicLink() || (st.mode & 0o077) === 0) return;
    const from = st.mode & 0o7777;
    const to = from & ~0o077;
    await chmod(path, to);
    changed.push({ path, from, to });
  };
  await tighten(dataDir);
  for (const name of await readdir(dataDir)) await tighten(join(dataDir, name));
  if (changed.length > 0) {
    logger.warn(
      { changed: changed.map((c) => `${c.path} ${c.from.toString(8)} -> ${c.to.toString(8)}`) },
      'data directory entries were readable by other users; permissions tightened',
    );
  }
  return changed;
}
