/**
 * Would packing chunks into larger objects (restic-style packs) pay on this S3 server? Moves the same bytes as
 * objects of 1, 4 (a loose chunk), 16 and 64 MiB (packs) with the repository's number of requests in flight, and
 * prints PUT and GET MiB/s and requests per GiB. Random bytes (stored chunks are compressed or incompressible).
 *
 *   CINDERBOX_TEST_S3_ENDPOINT=… _ACCESS_KEY=… _SECRET_KEY=… node --import tsx bench/backup/s3-object-size.ts
 *     [--mib 256] [--in-flight 10] [--rounds 2]
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { DeleteBucketCommand } from '@aws-sdk/client-s3';
import { countRequests } from '../../packages/server/src/drivers/objects/s3/request-counter.js';
import { S3ObjectStore } from '../../packages/server/src/drivers/objects/s3/s3-object-store.js';

const { values: args } = parseArgs({
  options: {
    mib: { type: 'string', default: '256' },
    'in-flight': { type: 'string', default: '10' },
    rounds: { type: 'string', default: '2' },
  },
});
const MiB = 1024 * 1024;
const TOTAL = Number(args.mib) * MiB;
const IN_FLIGHT = Number(args['in-flight']);
if (!process.env.CINDERBOX_TEST_S3_ENDPOINT) throw new Error('CINDERBOX_TEST_S3_ENDPOINT (+ _ACCESS_KEY, _SECRET_KEY) needed');
const store = new S3ObjectStore({
  bucket: `cbx-bench-${process.pid}`,
  prefix: 'sizes',
  endpoint: process.env.CINDERBOX_TEST_S3_ENDPOINT,
  region: process.env.CINDERBOX_TEST_S3_REGION ?? 'default',
  credentials: {
    accessKeyId: process.env.CINDERBOX_TEST_S3_ACCESS_KEY ?? '',
    secretAccessKey: process.env.CINDERBOX_TEST_S3_SECRET_KEY ?? '',
  },
});
const counts = countRequests(store.client);
await store.ensureBucket();

async function run(n: number, fn: (i: number, slot: number) => Promise<unknown>, inFlight: number): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(inFlight, n) }, async (_, slot) => {
      while (next < n) await fn(next++, slot);
    }),
  );
  return TOTAL / MiB / ((performance.now() - t0) / 1000);
}

const rows: string[][] = [];
try {
  for (let round = 0; round < Number(args.rounds); round++) {
    for (const sizeMiB of [1, 4, 16, 64]) {
      const size = sizeMiB * MiB;
      const n = TOTAL / size;
      // The same bytes in flight whatever the object size (the memory a backup would spend on them).
      const inFlight = Math.max(1, Math.round((IN_FLIGHT * 4) / sizeMiB));
      const data = randomBytes(size);
      const bufs = Array.from({ length: inFlight }, () => Buffer.alloc(size));
      counts.reset();
      const put = await run(n, (i) => store.put(`o/${sizeMiB}/${i}`, data), inFlight);
      const putReq = counts.total();
      counts.reset();
      const get = await run(n, (i, slot) => store.getInto(`o/${sizeMiB}/${i}`, bufs[slot] as Buffer), inFlight);
      const getReq = counts.total();
      for (let i = 0; i < n; i++) await store.delete(`o/${sizeMiB}/${i}`);
      const perGiB = (r: number) => ((r * 1024 * MiB) / TOTAL).toFixed(0);
      rows.push([String(round + 1), `${sizeMiB} MiB`, String(inFlight), put.toFixed(0), perGiB(putReq), get.toFixed(0), perGiB(getReq)]);
    }
  }
} finally {
  await store.client.send(new DeleteBucketCommand({ Bucket: store.bucket })).catch(() => {});
  store.destroy();
}
const head = ['round', 'object size', 'in flight', 'PUT MiB/s', 'PUT req/GiB', 'GET MiB/s', 'GET req/GiB'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
console.log(`${TOTAL / MiB} MiB moved per object size, ${process.env.CINDERBOX_TEST_S3_ENDPOINT}`);
console.log(line(head));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
