import { open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { processAlive } from './process-alive.js';

export interface DataDirLock {
  release(): Promise<void>;
}

/**
 * One server per data directory: SQLite, the volume files and the task recovery rule ("every running task is
 * an orphan at start") all assume it. The lock is a pid file; a stale one (its process is gone) is taken over.
 */
export async function acquireDataDirLock(dataDir: string): Promise<DataDirLock> {
  const path = join(dataDir, 'server.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o600);
      await fh.writeFile(String(process.pid));
      await fh.sync();
      await fh.close();
      return {
        release: async () => {
          await unlink(path).catch(() => {});
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && processAlive(pid) && pid !== process.pid) {
        throw new Error(`data directory ${dataDir} is in use by process ${pid} (remove ${path} if that is wrong)`);
      }
      await unlink(path).catch(() => {});
    }
  }
  throw new Error(`could not lock data directory ${dataDir}`);
}
