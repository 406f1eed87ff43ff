/**
 * Restore from S3 (radosgw) against the filesystem, and the S3 read path before and after the getInto change, in
 * one run: one volume (half compressible text, half random, no holes) is backed up to a filesystem repository and
 * to an S3 one; then rounds of restores interleave fs, S3 with the previous read path (the body read by `for
 * await`, patched onto the store), and S3 as it is now, so all three share the host's load. Then the server's GET
 * ceiling (4 MiB objects, as many in flight as a restore, thinnest SDK path). Prints MiB/s and CPU s per GiB of
 * volume (user+sys of this process, chunk workers included), the S3/fs ratio and the load average.
 *
 *   CINDERBOX_TEST_S3_ENDPOINT=… _ACCESS_KEY=… _SECRET_KEY=… node --import tsx bench/backup/s3-restore.ts
 *     [--mib 256] [--rounds 3] [--dir /var/tmp/cbx-bench-s3-restore] [--s3-workers N]
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { DeleteBucketCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { BackupRepository } from '../../packages/server/src/backup-repo/index.js';
import { chunkWorkerAddon } from '../../packages/server/src/backup-repo-open.js';
import { FsObjectStore } from '../../packages/server/src/drivers/objects/fs/index.js';
import { S3ObjectStore } from '../../packages/server/src/drivers/objects/s3/s3-object-store.js';

const { values: args } = parseArgs({
  options: {
    mib: { type: 'string', default: '256' },
    rounds: { type: 'string', default: '3' },
    dir: { type: 'string', default: '/var/tmp/cbx-bench-s3-restore' },
    /** Chunk workers of the S3 repository (chunks in flight: 4 per worker + 2); the fs one keeps the default. */
    's3-workers': { type: 'string' },
  },
});
const MiB = 1024 * 1024;
const SIZE = Math.max(4, Math.round(Number(args.mib) / 4) * 4) * MiB;
const ROUNDS = Number(args.rounds);
const DIR = args.dir as string;
const endpoint = process.env.CINDERBOX_TEST_S3_ENDPOINT;
if (!endpoint) throw new Error('CINDERBOX_TEST_S3_ENDPOINT (+ _ACCESS_KEY, _SECRET_KEY) needed');
const s3opts = {
  endpoint,
  region: process.env.CINDERBOX_TEST_S3_REGION ?? 'default',
  credentials: { accessKeyId: process.env.CINDERBOX_TEST_S3_ACCESS_KEY ?? '', secretAccessKey: process.env.CINDERBOX_TEST_S3_SECRET_KEY ?? '' },
};

await rm(DIR, { recursive: true, force: true });
await mkdir(DIR, { recursive: true });
const vol = join(DIR, 'vol.raw');
{
  const buf = Buffer.alloc(SIZE);
  for (let off = 0, i = 0; off < SIZE; off += 4 * MiB, i++) {
    if (i % 2) randomBytes(4 * MiB).copy(buf, off);
    else buf.fill(`chunk ${i}: some compressible text for the codec, `, off, off + 4 * MiB);
  }
  writeFileSync(vol, buf);
}

const s3 = new S3ObjectStore({ bucket: `cbx-bench-restore-${process.pid}`, prefix: 'r', ...s3opts });
await s3.ensureBucket();
const nowGetInto = s3.getInto.bind(s3);
/** The read path before: the SDK body iterated with `for await`, each part copied into the buffer. */
async function asyncIterGetInto(key: string, into: Uint8Array): Promise<number> {
  const out = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: s3.objectName(key) }));
  let size = 0;
  for await (const part of out.Body as Readable) {
    const p = part as Buffer;
    if (size < into.length) into.set(p.subarray(0, into.length - size), size);
    size += p.length;
  }
  return size;
}

const fsRepo = await BackupRepository.open({ store: new FsObjectStore(join(DIR, 'repo')), ...chunkWorkerAddon() });
const s3Repo = await BackupRepository.open({
  store: s3,
  ...chunkWorkerAddon(),
  ...(args['s3-workers'] ? { workers: Number(args['s3-workers']) } : {}),
});
try {
  await fsRepo.warmUp();
  await s3Repo.warmUp();
  const fsB = await fsRepo.backup({ id: 'b', container: 'bench', sourcePath: vol });
  const s3B = await s3Repo.backup({ id: 'b', container: 'bench', sourcePath: vol });
  const ways: Array<[string, () => Promise<unknown>]> = [
    ['fs', () => fsRepo.restore({ locator: fsB.locator, targetPath: join(DIR, 'out-fs.raw'), targetIsFresh: true })],
    [
      's3 async-iter (before)',
      () => {
        s3.getInto = asyncIterGetInto;
        return s3Repo.restore({ locator: s3B.locator, targetPath: join(DIR, 'out-s3a.raw'), targetIsFresh: true });
      },
    ],
    [
      's3 getInto (now)',
      () => {
        s3.getInto = nowGetInto;
        return s3Repo.restore({ locator: s3B.locator, targetPath: join(DIR, 'out-s3b.raw'), targetIsFresh: true });
      },
    ],
  ];
  const totals = new Map<string, { s: number; cpu: number; bytes: number }>();
  const loads: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, run] of ways) {
      await rm(join(DIR, 'out-fs.raw'), { force: true });
      await rm(join(DIR, 'out-s3a.raw'), { force: true });
      await rm(join(DIR, 'out-s3b.raw'), { force: true });
      const t0 = process.hrtime.bigint();
      const c0 = process.cpuUsage();
      await run();
      const c = process.cpuUsage(c0);
      const t = totals.get(name) ?? { s: 0, cpu: 0, bytes: 0 };
      t.s += Number(process.hrtime.bigint() - t0) / 1e9;
      t.cpu += (c.user + c.system) / 1e6;
      t.bytes += SIZE;
      totals.set(name, t);
    }
    loads.push(loadavg()[0] ?? 0);
  }
  // The server's GET ceiling: the volume's chunk objects fetched with a restore's parallelism (and twice that),
  // nothing decoded or written; in MiB/s of volume, the unit of the rows above.
  const ids = [...(await s3Repo.readManifest(s3B.locator)).ids()];
  const ceilings: string[] = [];
  for (const inFlight of [10, 20]) {
    const bufs = Array.from({ length: inFlight }, () => Buffer.alloc(4 * MiB + 4096));
    let next = 0;
    const t0 = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: inFlight }, async (_, slot) => {
        while (next < ids.length) {
          const id = ids[next++]!;
          await nowGetInto(`chunks/${id.slice(0, 2)}/${id}`, bufs[slot] as Buffer);
        }
      }),
    );
    ceilings.push(`${(SIZE / MiB / (Number(process.hrtime.bigint() - t0) / 1e9)).toFixed(0)} MiB/s with ${inFlight} in flight`);
  }

  const fsRate = (() => {
    const t = totals.get('fs')!;
    return t.bytes / MiB / t.s;
  })();
  console.log(`volume ${SIZE / MiB} MiB, ${ROUNDS} interleaved rounds; load (1 min) ${loads.map((l) => l.toFixed(1)).join(', ')}`);
  console.log('| restore                | MiB/s | CPU s/GiB | vs fs  |');
  console.log('|------------------------|-------|-----------|--------|');
  for (const [name, t] of totals) {
    const rate = t.bytes / MiB / t.s;
    console.log(
      `| ${name.padEnd(22)} | ${rate.toFixed(0).padStart(5)} | ${(t.cpu / (t.bytes / 1024 / MiB)).toFixed(2).padStart(9)} | ${`${((rate / fsRate) * 100).toFixed(0)} %`.padStart(6)} |`,
    );
  }
  console.log(`S3 GET ceiling (the volume's chunk objects only, after the rounds, MiB/s of volume): ${ceilings.join(', ')}`);
} finally {
  await fsRepo.close();
  await s3Repo.close();
  for await (const o of s3.list('')) await s3.delete(o.key);
  await s3.client.send(new DeleteBucketCommand({ Bucket: s3.bucket })).catch(() => undefined);
  s3.destroy();
  await rm(DIR, { recursive: true, force: true });
}
