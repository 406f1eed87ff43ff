/** Fixtures shared by the backup repository tests (not part of the runtime). */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsObjectStore } from '../../drivers/objects/fs/fs-object-store.js';
import type { OpenOptions } from '../repo-open.js';
import { BackupRepository } from '../repository.js';

export const MiB = 1024 * 1024;

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Writes `parts` at their offsets into a new sparse file of `size` bytes (unwritten ranges are holes). */
export async function writeSparse(
  path: string,
  size: number,
  parts: Array<{ offset: number; data: Buffer }>,
): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.truncate(size);
    for (const p of parts) await fh.write(p.data, 0, p.data.length, p.offset);
  } finally {
    await fh.close();
  }
}

/** Compressible but not trivially repetitive bytes. */
export function textish(length: number, seed = 0): Buffer {
  const words = ['volume', 'backup', 'chunk', 'cinder', 'snapshot', 'restore', 'block', 'zstd', 'manifest'];
  const out = Buffer.alloc(length);
  let pos = 0;
  let x = seed * 7919 + 17;
  while (pos < length) {
    x = (x * 1103515245 + 12345) >>> 0;
    pos += out.write(`${words[x % words.length]} ${x % 1000} `, pos);
  }
  return out;
}

export { randomBytes };

export interface RepoFixture {
  dir: string;
  repoDir: string;
  store: FsObjectStore;
  repo: BackupRepository;
  reopen(opts?: Partial<OpenOptions>): Promise<BackupRepository>;
  cleanup(): Promise<void>;
}

/** A fresh repository (1 MiB chunks unless told otherwise, to keep test files small) in a temp directory. */
export async function repoFixture(opts: Partial<OpenOptions> = {}): Promise<RepoFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'cbx-backup-repo-'));
  const repoDir = join(dir, 'repo');
  const store = new FsObjectStore(repoDir);
  const opened: BackupRepository[] = [];
  const reopen = async (more: Partial<OpenOptions> = {}) => {
    const r = await BackupRepository.open({ store, workers: 2, chunkSize: MiB, ...opts, ...more });
    opened.push(r);
    return r;
  };
  const repo = await reopen().catch(async (e: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw e;
  });
  return {
    dir,
    repoDir,
    store,
    repo,
    reopen,
    cleanup: async () => {
      for (const r of opened) await r.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function listKeys(store: FsObjectStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.list(prefix)) keys.push(o.key);
  return keys.sort();
}
