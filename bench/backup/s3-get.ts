/**
 * Client CPU of fetching chunk objects from S3 (radosgw), the restore's read path: GETs of 4 MiB objects into
 * reused buffers, `--in-flight` at once, three ways interleaved round by round so they share the host's load:
 *   - "async-iter": the body read with `for await` (how S3ObjectStore.getInto read it before),
 *   - "getInto": S3ObjectStore.getInto as it is now,
 *   - "raw http": one SigV4-signed node:http GET per object, no SDK middleware: the server's GET ceiling with the
 *     thinnest client, what no SDK-based path can beat.
 * Then PUTs of the same objects with the SDK's `Expect: 100-continue` and without (the store's default now).
 * Prints MiB/s and client CPU s per GiB moved (user+sys of this process) and the load average.
 *
 *   CINDERBOX_TEST_S3_ENDPOINT=… _ACCESS_KEY=… _SECRET_KEY=… node --import tsx bench/backup/s3-get.ts
 *     [--mib 192] [--in-flight 10] [--rounds 4]
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { loadavg } from 'node:os';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { DeleteBucketCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { S3ObjectStore } from '../../packages/server/src/drivers/objects/s3/s3-object-store.js';

const { values: args } = parseArgs({
  options: {
    mib: { type: 'string', default: '192' },
    'in-flight': { type: 'string', default: '10' },
    rounds: { type: 'string', default: '4' },
  },
});
const MiB = 1024 * 1024;
const OBJ = 4 * MiB;
const N = Math.max(1, Math.round(Number(args.mib) / 4));
const IN_FLIGHT = Number(args['in-flight']);
const ROUNDS = Number(args.rounds);
const endpoint = process.env.CINDERBOX_TEST_S3_ENDPOINT;
if (!endpoint) throw new Error('CINDERBOX_TEST_S3_ENDPOINT (+ _ACCESS_KEY, _SECRET_KEY) needed');
const credentials = {
  accessKeyId: process.env.CINDERBOX_TEST_S3_ACCESS_KEY ?? '',
  secretAccessKey: process.env.CINDERBOX_TEST_S3_SECRET_KEY ?? '',
};
const region = process.env.CINDERBOX_TEST_S3_REGION ?? 'default';
const store = new S3ObjectStore({ bucket: `cbx-bench-get-${process.pid}`, prefix: 'g', endpoint, region, credentials });
await store.ensureBucket();

async function asyncIter(key: string, into: Buffer): Promise<number> {
  const out = await store.client.send(new GetObjectCommand({ Bucket: store.bucket, Key: store.objectName(key) }));
  let size = 0;
  for await (const part of out.Body as Readable) {
    if (size < into.length) into.set((part as Buffer).subarray(0, into.length - size), size);
    size += (part as Buffer).length;
  }
  return size;
}

const ep = new URL(endpoint);
const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });
const signer = new SignatureV4({
  credentials,
  region,
  service: 's3',
  sha256: (store.client.config as unknown as { sha256: ConstructorParameters<typeof SignatureV4>[0]['sha256'] }).sha256,
  uriEscapePath: false,
});
async function rawHttp(key: string, into: Buffer): Promise<number> {
  const path = `/${store.bucket}/${store.objectName(key)}`;
  const signed = await signer.sign({
    method: 'GET',
    protocol: ep.protocol,
    hostname: ep.hostname,
    port: Number(ep.port),
    path,
    query: {},
    headers: { host: ep.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
  } as unknown as Parameters<SignatureV4['sign']>[0]);
  return new Promise<number>((resolve, reject) => {
    http
      .get({ host: ep.hostname, port: ep.port, path, headers: (signed as unknown as { headers: http.OutgoingHttpHeaders }).headers, agent }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`HTTP ${res.statusCode}`));
          return;
        }
        let size = 0;
        res.on('data', (part: Buffer) => {
          if (size < into.length) into.set(part.subarray(0, into.length - size), size);
          size += part.length;
        });
        res.once('end', () => resolve(size));
        res.once('error', reject);
      })
      .once('error', reject);
  });
}

const ways: Array<[string, (key: string, into: Buffer) => Promise<number>]> = [
  ['async-iter (before)', asyncIter],
  ['getInto (now)', (k, b) => store.getInto(k, b)],
  ['raw http (ceiling)', rawHttp],
];
const data = randomBytes(OBJ);
const bufs = Array.from({ length: IN_FLIGHT }, () => Buffer.alloc(OBJ + 4096));
try {
  for (let i = 0; i < N; i++) await store.put(`o/${i}`, data);
  const totals = new Map<string, { s: number; cpu: number; bytes: number }>();
  const loads: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, fn] of ways) {
      let next = 0;
      const t0 = process.hrtime.bigint();
      const c0 = process.cpuUsage();
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async (_, slot) => {
          while (next < N) {
            const n = await fn(`o/${next++}`, bufs[slot] as Buffer);
            if (n !== OBJ) throw new Error(`${name}: ${n} bytes, expected ${OBJ}`);
          }
        }),
      );
      const c = process.cpuUsage(c0);
      const t = totals.get(name) ?? { s: 0, cpu: 0, bytes: 0 };
      t.s += Number(process.hrtime.bigint() - t0) / 1e9;
      t.cpu += (c.user + c.system) / 1e6;
      t.bytes += N * OBJ;
      totals.set(name, t);
    }
    loads.push(loadavg()[0] ?? 0);
  }
  // PUTs of the same objects with and without `Expect: 100-continue` (S3ObjectStoreOptions.expectContinue),
  // interleaved the same way; overwrite, so that every PUT sends its body.
  const expecting = new S3ObjectStore({ bucket: store.bucket, prefix: 'g', endpoint, region, credentials, expectContinue: true });
  const puts = new Map<string, { s: number; cpu: number; bytes: number }>();
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, s] of [
      ['PUT, Expect: 100-continue (SDK default)', expecting],
      ['PUT, no Expect (now)', store],
    ] as const) {
      let next = 0;
      const t0 = process.hrtime.bigint();
      const c0 = process.cpuUsage();
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (next < N) await s.put(`o/${next++}`, data, { overwrite: true });
        }),
      );
      const c = process.cpuUsage(c0);
      const t = puts.get(name) ?? { s: 0, cpu: 0, bytes: 0 };
      t.s += Number(process.hrtime.bigint() - t0) / 1e9;
      t.cpu += (c.user + c.system) / 1e6;
      t.bytes += N * OBJ;
      puts.set(name, t);
    }
  }
  expecting.destroy();
  for (const [name, t] of puts) totals.set(name, t);

  console.log(`${N} objects of 4 MiB, ${IN_FLIGHT} GETs in flight, ${ROUNDS} interleaved rounds; load (1 min) ${loads.map((l) => l.toFixed(1)).join(', ')}`);
  console.log('| path                                    | MiB/s | client CPU s/GiB |');
  console.log('|-----------------------------------------|-------|------------------|');
  for (const [name, t] of totals) {
    console.log(`| ${name.padEnd(39)} | ${(t.bytes / MiB / t.s).toFixed(0).padStart(5)} | ${(t.cpu / (t.bytes / 1024 / MiB)).toFixed(2).padStart(16)} |`);
  }
} finally {
  for (let i = 0; i < N; i++) await store.delete(`o/${i}`).catch(() => false);
  await store.client.send(new DeleteBucketCommand({ Bucket: store.bucket })).catch(() => undefined);
  agent.destroy();
  store.destroy();
}
