/**
 * bench/backup's object stores for the throughput rows: the filesystem or S3 (radosgw), both counting the calls
 * and objects a phase makes, the S3 server's own ceiling under the same load, and the run's bucket.
 */
import { DeleteBucketCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { BackupRepository, type Compression } from '../../packages/server/src/backup-repo/index.js';
import { chunkWorkerAddon } from '../../packages/server/src/backup-repo-open.js';
import type { ObjectStore } from '../../packages/server/src/domain/ports/object-store.js';
import { FsObjectStore } from '../../packages/server/src/drivers/objects/fs/index.js';
import { countRequests, type RequestCounts } from '../../packages/server/src/drivers/objects/s3/request-counter.js';
import { S3ObjectStore } from '../../packages/server/src/drivers/objects/s3/s3-object-store.js';
import { CHUNK, MiB, secs } from './measure.js';
import { args, S3_BUCKET, S3_ENV, type Target, WORKERS } from './options.js';

/**
 * The repository a run backs up into, with its node-local chunk index in `work` unless --no-index, opened and
 * warmed as a server opens it once: worker start-up is not part of a backup.
 */
export async function openRunRepo(store: ObjectStore, work: string, compression: Compression): Promise<BackupRepository> {
  const repo = await BackupRepository.open({
    store,
    ...(WORKERS ? { workers: WORKERS } : {}),
    ...chunkWorkerAddon(),
    compression,
    ...(args['no-index'] ? {} : { indexDir: join(work, 'index') }),
  });
  await repo.warmUp();
  return repo;
}

/** Store calls and objects created through `store` (the fs target's "requests"; S3 counts HTTP requests too). */
function instrument<T extends ObjectStore>(store: T, t: { calls: number; written: number }): T {
  const counted = new Set(['put', 'get', 'getInto', 'getStream', 'head', 'list', 'delete', 'touch']);
  return new Proxy(store, {
    get(target, prop, _receiver) {
      const v = Reflect.get(target, prop, target) as unknown;
      if (typeof v !== 'function') return v;
      const fn = v as (...a: unknown[]) => unknown;
      if (typeof prop !== 'string' || !counted.has(prop)) return fn.bind(target);
      return (...a: unknown[]) => {
        t.calls++;
        const r = fn.apply(target, a);
        if (prop === 'put') {
          return (r as Promise<{ existed: boolean }>).then((res) => {
            if (!res.existed) t.written++;
            return res;
          });
        }
        return r;
      };
    },
  });
}

let s3BucketReady: Promise<void> | undefined;

export async function openTarget(target: Target, work: string, row: string) {
  const t = { calls: 0, written: 0 };
  if (target === 'fs') {
    return { store: instrument(new FsObjectStore(join(work, 'repo')), t), t, http: undefined, close: async () => {} };
  }
  const raw = new S3ObjectStore({
    bucket: S3_BUCKET,
    prefix: `${row}-${randomBytes(4).toString('hex')}`,
    endpoint: S3_ENV.endpoint,
    region: S3_ENV.region,
    credentials: { accessKeyId: S3_ENV.accessKeyId, secretAccessKey: S3_ENV.secretAccessKey },
  });
  s3BucketReady ??= raw.ensureBucket();
  await s3BucketReady;
  const http: RequestCounts = countRequests(raw.client);
  return {
    store: instrument(raw, t),
    t,
    http,
    close: async () => {
      // memstore keeps objects in RAM: empty the row's prefix.
      for await (const o of raw.list('')) await raw.delete(o.key);
      raw.destroy();
    },
  };
}

/**
 * The S3 server's own ceiling right after a row, under the same load: 32 objects of 4 MiB (random bytes, like a
 * stored chunk), put then got with `inFlight` requests at once through the same client settings. A backup cannot
 * store faster than the PUT figure, nor a restore fetch faster than the GET figure.
 */
export async function s3Ceiling(inFlight: number): Promise<{ putMiBs: number; getMiBs: number }> {
  const store = new S3ObjectStore({
    bucket: S3_BUCKET,
    prefix: `ceiling-${randomBytes(4).toString('hex')}`,
    endpoint: S3_ENV.endpoint,
    region: S3_ENV.region,
    credentials: { accessKeyId: S3_ENV.accessKeyId, secretAccessKey: S3_ENV.secretAccessKey },
  });
  const n = 32;
  const data = randomBytes(CHUNK);
  const bufs = Array.from({ length: inFlight }, () => Buffer.alloc(CHUNK + 4096));
  const run = async (fn: (i: number, slot: number) => Promise<unknown>) => {
    let next = 0;
    const t0 = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: inFlight }, async (_, slot) => {
        while (next < n) await fn(next++, slot);
      }),
    );
    return (n * CHUNK) / MiB / secs(t0);
  };
  try {
    const putMiBs = await run((i) => store.put(`o/${i}`, data));
    const getMiBs = await run((i, slot) => store.getInto(`o/${i}`, bufs[slot] as Buffer));
    return { putMiBs, getMiBs };
  } finally {
    for (let i = 0; i < n; i++) await store.delete(`o/${i}`).catch(() => false);
    store.destroy();
  }
}

/** Every row emptied its prefix: the run's bucket goes too (nothing to do if no row used S3). */
export async function deleteRunBucket(): Promise<void> {
  if (!s3BucketReady) return;
  const store = new S3ObjectStore({
    bucket: S3_BUCKET,
    endpoint: S3_ENV.endpoint,
    region: S3_ENV.region,
    credentials: { accessKeyId: S3_ENV.accessKeyId, secretAccessKey: S3_ENV.secretAccessKey },
  });
  await store.client.send(new DeleteBucketCommand({ Bucket: S3_BUCKET })).catch((e: unknown) => {
    console.log(`could not delete bucket ${S3_BUCKET}: ${(e as Error).message}`);
  });
  store.destroy();
}
