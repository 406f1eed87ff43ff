/**
 * bench/backup's test volumes: building the mixed, dense and compressible files (kept in --dir between runs),
 * dropping a volume from the page cache before a backup reads it, and the 1 % change an incremental backs up.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { CHUNK, MiB } from './measure.js';
import { args, DIR, SIZE } from './options.js';
import { sh } from './shell.js';

/**
 * Drops one file's pages from the page cache so backups read from the disk, not from memory. The file is
 * synced first: the volume was just copied, and dirty pages can be neither dropped nor read past the cache
 * without first waiting for their writeback, which would time the copy instead of the backup.
 */
export function dropCache(path: string): void {
  spawnSync('sync', [path]);
  if (args['warm-cache']) {
    spawnSync('cat', [path], { stdio: 'ignore' });
    return;
  }
  spawnSync('dd', [`if=${path}`, 'iflag=nocache', 'count=0', 'status=none']);
}

export async function buildVolumes(): Promise<{
  mixed: string;
  dense: string;
  compressible: string;
  dataBytes: Record<string, number>;
}> {
  await mkdir(DIR, { recursive: true });
  // Named by size: a volume built by an earlier run with another --size-gib is not reused.
  const mb = `${SIZE / MiB}M`;
  const mixed = join(DIR, `mixed-${mb}.raw`);
  const dense = join(DIR, `dense-${mb}.raw`);
  const q = SIZE / 4;
  if (!existsSync(mixed)) {
    console.log(`building ${mixed} (${SIZE / MiB} MiB: 1/4 hole, 1/2 compressible, 1/4 random)`);
    sh(`truncate -s ${q} ${mixed}.tmp`);
    sh(`(tar cf - /usr/lib /usr/share /usr/bin 2>/dev/null || true) | head -c ${2 * q} >> ${mixed}.tmp`);
    sh(`head -c ${q} /dev/urandom >> ${mixed}.tmp && mv ${mixed}.tmp ${mixed}`);
  }
  if (!existsSync(dense)) {
    console.log(`building ${dense} (${SIZE / MiB} MiB, no holes: compressible and random alternating)`);
    const block = Math.min(256 * MiB, SIZE / 4);
    sh(
      `(tar cf - /usr/share /usr/lib /usr/bin 2>/dev/null || true) | tail -c +${1 + 7 * MiB} | head -c ${SIZE / 2} > ${dense}.text`,
    );
    sh(`: > ${dense}.tmp`);
    for (let off = 0, i = 0; off < SIZE; off += block, i++) {
      const n = Math.min(block, SIZE - off);
      if (i % 2 === 0)
        sh(`dd if=${dense}.text bs=1M skip=${(i / 2) * (block / MiB)} count=${n / MiB} status=none >> ${dense}.tmp`);
      else sh(`head -c ${n} /dev/urandom >> ${dense}.tmp`);
    }
    sh(`rm ${dense}.text && mv ${dense}.tmp ${dense}`);
  }
  const compressible = join(DIR, `compressible-${mb}.raw`);
  if (!existsSync(compressible)) {
    console.log(`building ${compressible} (${SIZE / MiB} MiB, no holes, all compressible: a tar of /usr)`);
    sh(`(tar cf - /usr 2>/dev/null || true) | head -c ${SIZE} > ${compressible}.tmp`);
    sh(`truncate -s ${SIZE} ${compressible}.tmp && mv ${compressible}.tmp ${compressible}`);
  }
  return { mixed, dense, compressible, dataBytes: { mixed: (SIZE * 3) / 4, dense: SIZE, compressible: SIZE } };
}

/** Overwrites 64 KiB at a random place in 1 % of the chunks that hold data; returns the changed extents. */
export async function change1Percent(path: string, dataExtents: Array<{ offset: number; length: number }>) {
  const chunks = new Set<number>();
  for (const e of dataExtents) {
    for (let c = Math.floor(e.offset / CHUNK); c * CHUNK < e.offset + e.length; c++) chunks.add(c);
  }
  const all = [...chunks];
  const n = Math.max(1, Math.ceil((SIZE / CHUNK) * 0.01));
  const picked = new Set<number>();
  while (picked.size < Math.min(n, all.length)) picked.add(all[randomInt(all.length)] as number);
  const fh = await open(path, 'r+');
  const changed: Array<{ offset: number; length: number }> = [];
  try {
    for (const c of picked) {
      const offset = c * CHUNK + randomInt(CHUNK / 65536) * 65536;
      await fh.write(randomBytes(65536), 0, 65536, offset);
      changed.push({ offset, length: 65536 });
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  return changed;
}
