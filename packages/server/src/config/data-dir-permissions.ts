import { chmod, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';

/** Files and directories the server creates: its own user only (volumes, snapshots and chunks are tenants' data). */
export const DATA_UMASK = 0o077;

/** What the server keeps at the top of its data directory (SQLite's -wal/-shm included). */
const OWN_ENTRIES = new Set(['cinderbox.db', 'cinderbox.db-wal', 'cinderbox.db-shm', 'clouds.yaml', 'server.lock', 'volumes', 'repo']);

/**
 * Takes group and other permissions off the data directory and the server's own top-level entries (left 0755/0644
 * by an older version or by hand), so nothing below them is reachable by other users whatever its own mode.
 * Other entries (a data directory shared with other files) are only named in the log: the directory's own 0700
 * already keeps others out. Symbolic links are left alone (chmod would follow them). Returns what was changed.
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
  const foreign: string[] = [];
  for (const name of await readdir(dataDir)) {
    if (OWN_ENTRIES.has(name)) await tighten(join(dataDir, name));
    else foreign.push(name);
  }
  if (foreign.length > 0) logger.info({ dataDir, entries: foreign }, 'data directory holds entries that are not the server\'s; left as they are');
  if (changed.length > 0) {
    logger.warn(
      { changed: changed.map((c) => `${c.path} ${c.from.toString(8)} -> ${c.to.toString(8)}`) },
      'data directory entries were readable by other users; permissions tightened',
    );
  }
  return changed;
}
